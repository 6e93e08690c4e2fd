//! What a YCloud webhook changes on an onboarding: pure functions of the event and the
//! onboarding as stored, free of the database and of HTTP.

use serde_json::Value;
use wire::{Onboarding, OnboardingError, OnboardingState};

use crate::store::Update;
use crate::webhook::{BusinessAccountEvent, PhoneNumberEvent};

pub(super) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `stored` with `fresh`'s fields written over it: events may carry a thinner object than
/// the one stored, and what they omit is still true.
pub(super) fn merged(stored: Option<&Value>, fresh: &Value) -> Value {
    let mut out = stored
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if let (Some(out), Some(fresh)) = (out.as_object_mut(), fresh.as_object()) {
        for (k, v) in fresh {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

pub(super) fn person_error(code: &str, message: String) -> OnboardingError {
    OnboardingError {
        code: code.to_owned(),
        message,
        retryable: false,
        upstream_request_id: None,
        retry_after: None,
    }
}

/// What a `whatsapp.phone_number.*` event changes; `None` when nothing.
pub(super) fn phone_event_update(
    o: &Onboarding,
    kind: &PhoneNumberEvent,
    object: &Value,
) -> Option<Update> {
    let number = merged(o.phone_number.as_ref(), object);
    let status = str_field(object, "status");
    let blocked_before = o
        .error
        .as_ref()
        .is_some_and(|e| e.code == "phone_number_blocked");
    let (state, error) = if *kind == PhoneNumberEvent::Deleted {
        (
            Some(OnboardingState::Failed),
            Some(Some(person_error(
                "phone_number_deleted",
                "The phone number was deleted from the WhatsApp Business Account; sign up again \
                 with a number."
                    .to_owned(),
            ))),
        )
    } else {
        match status {
            Some("CONNECTED")
                if o.state == OnboardingState::Pending
                    || (o.state == OnboardingState::ActionRequired && blocked_before) =>
            {
                (Some(OnboardingState::Connected), Some(None))
            }
            Some(s @ ("BANNED" | "BLOCKED")) if o.state != OnboardingState::Failed => (
                Some(OnboardingState::ActionRequired),
                Some(Some(person_error(
                    "phone_number_blocked",
                    format!(
                        "WhatsApp reports this number as {s}; see WhatsApp Manager for the reason."
                    ),
                ))),
            ),
            _ => (None, None),
        }
    };
    if state.is_none() && o.phone_number.as_ref() == Some(&number) {
        return None;
    }
    Some(Update {
        state,
        phone_number: Some(number),
        error,
        ..Update::default()
    })
}

/// What a `whatsapp.business_account.*` event changes; `None` when nothing.
pub(super) fn waba_event_update(
    o: &Onboarding,
    kind: &BusinessAccountEvent,
    object: &Value,
) -> Option<Update> {
    let waba = merged(o.waba.as_ref(), object);
    let action = |code: &str, message: &str| {
        Some((
            OnboardingState::ActionRequired,
            person_error(code, message.to_owned()),
        ))
    };
    let outcome = match kind {
        BusinessAccountEvent::Deleted => Some((
            OnboardingState::Failed,
            person_error(
                "waba_deleted",
                "The WhatsApp Business Account was deleted; the customer must sign up again."
                    .to_owned(),
            ),
        )),
        BusinessAccountEvent::Updated => match str_field(object, "updateEvent") {
            Some("PARTNER_REMOVED") => action(
                "partner_removed",
                "The WhatsApp Business Account was removed from the partner connection; the \
                 customer must sign up again to reconnect it.",
            ),
            Some("PARTNER_APP_UNINSTALLED") => action(
                "partner_app_uninstalled",
                "The customer uninstalled the partner app from this WhatsApp Business Account; \
                 they must sign up again to reconnect it.",
            ),
            Some("DISABLED_UPDATE") => match str_field(object, "banState") {
                Some("SCHEDULE_FOR_DISABLE") => action(
                    "waba_ban_scheduled",
                    "Meta scheduled this WhatsApp Business Account to be disabled for a policy \
                     violation; appeal in WhatsApp Manager before the ban date.",
                ),
                // A reinstatement lifts the ban; the number's own events say when it
                // connects again.
                Some("REINSTATE") => None,
                _ => Some((
                    OnboardingState::Failed,
                    person_error(
                        "waba_banned",
                        "Meta disabled this WhatsApp Business Account for a policy violation; \
                         see WhatsApp Manager to appeal."
                            .to_owned(),
                    ),
                )),
            },
            _ => None,
        },
        BusinessAccountEvent::Reviewed => match str_field(object, "accountReviewStatus") {
            Some("REJECTED") => action(
                "waba_rejected",
                "Meta rejected the review of this WhatsApp Business Account; see WhatsApp \
                 Manager for the reason.",
            ),
            _ => None,
        },
        BusinessAccountEvent::Other(_) => None,
    };
    if outcome.is_none() && o.waba.as_ref() == Some(&waba) {
        return None;
    }
    let (state, error) = match outcome {
        Some((state, error)) => (Some(state), Some(Some(error))),
        None => (None, None),
    };
    Some(Update {
        state,
        waba: Some(waba),
        error,
        ..Update::default()
    })
}
