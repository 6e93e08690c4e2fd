//! What a YCloud webhook changes on an onboarding: pure functions of the event and the
//! onboarding as stored, free of the database and of HTTP, so each rule is tested alone
//! (below). `Pipeline::apply_event` finds the onboardings and stores what these functions
//! answer; the rules every provider shares are in `crate::rules`.

use serde_json::Value;
use wire::{ErrorCode, OnboardingState};

use crate::providers::ycloud::webhook::{BusinessAccountEvent, Event, EventType, PhoneNumberEvent};
use crate::rules::{
    disconnected, enforcement, merged, person_error, str_field, webhook_status_change,
};
use crate::store::{EventObject, Record, Update};

/// What an event is about: the object it carries, whose ids find its onboardings.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// `whatsapp.phone_number.*`: YCloud's number object (`id`, `wabaId`, `status`, ...).
    PhoneNumber(&'a PhoneNumberEvent, &'a Value),
    /// `whatsapp.business_account.*`: YCloud's WABA object (`id`, `updateEvent`, ...).
    BusinessAccount(&'a BusinessAccountEvent, &'a Value),
}

impl<'a> Subject<'a> {
    /// What `event` is about; `None` when it cannot be about an onboarding: a type the
    /// proxy does not act on, no object, or an object without the ids that find one.
    pub(crate) fn of(event: &'a Event) -> Option<Self> {
        let env = &event.envelope;
        let subject = match &event.kind {
            EventType::PhoneNumber(kind) => Subject::PhoneNumber(
                kind,
                env.whatsapp_phone_number
                    .as_ref()
                    .filter(|p| p.is_object())?,
            ),
            EventType::BusinessAccount(kind) => Subject::BusinessAccount(
                kind,
                env.whatsapp_business_account
                    .as_ref()
                    .filter(|w| w.is_object())?,
            ),
            EventType::Other(_) => return None,
        };
        (subject.waba_id().is_some() || subject.phone_number_id().is_some()).then_some(subject)
    }

    /// The WABA's id: a number's `wabaId`, a WABA's `id`.
    pub(crate) fn waba_id(&self) -> Option<&'a str> {
        match self {
            Subject::PhoneNumber(_, number) => str_field(number, "wabaId"),
            Subject::BusinessAccount(_, waba) => str_field(waba, "id"),
        }
    }

    /// Which object of an onboarding the event is about (its events are ordered per object).
    pub(crate) fn object(&self) -> EventObject {
        match self {
            Subject::PhoneNumber(..) => EventObject::PhoneNumber,
            Subject::BusinessAccount(..) => EventObject::Waba,
        }
    }

    /// The number's id (number events only).
    pub(crate) fn phone_number_id(&self) -> Option<&'a str> {
        match self {
            Subject::PhoneNumber(_, number) => str_field(number, "id"),
            Subject::BusinessAccount(..) => None,
        }
    }

    /// Whether the event is about `o`: a number event about its number (the posted id, or
    /// the id of the number object stored), a WABA event about its WABA.
    pub(crate) fn is_about(&self, o: &Record) -> bool {
        match self {
            Subject::PhoneNumber(..) => self.phone_number_id().is_some_and(|p| {
                o.phone_number_id
                    .as_ref()
                    .is_some_and(|id| id.as_str() == p)
                    || o.phone_number.as_ref().and_then(|n| str_field(n, "id")) == Some(p)
            }),
            Subject::BusinessAccount(..) => self.waba_id() == Some(o.waba_id.as_str()),
        }
    }

    /// What the event changes on `o` (new state, error, the merged object); `None` when
    /// nothing. Whether `o` may be changed at all is [`may_change`]'s question.
    pub(crate) fn change(&self, o: &Record) -> Option<Update> {
        match *self {
            Subject::PhoneNumber(kind, number) => phone_event_update(o, kind, number),
            Subject::BusinessAccount(kind, waba) => waba_event_update(o, kind, waba),
        }
    }
}

/// What a `whatsapp.phone_number.*` event changes; `None` when nothing.
fn phone_event_update(o: &Record, kind: &PhoneNumberEvent, object: &Value) -> Option<Update> {
    let number = merged(o.phone_number.as_ref(), object);
    let status = str_field(object, "status");
    let (state, error) = if *kind == PhoneNumberEvent::Deleted {
        (
            Some(OnboardingState::Failed),
            Some(Some(person_error(
                ErrorCode::PhoneNumberDeleted,
                "The phone number was deleted from the WhatsApp Business Account; sign up again \
                 with a number."
                    .to_owned(),
            ))),
        )
    } else if str_field(object, "updateEvent") == Some("ACCOUNT_OFFBOARDED") {
        let (state, error) = disconnected(ErrorCode::AccountOffboarded, None);
        (Some(state), Some(Some(error)))
    } else if str_field(object, "updateEvent") == Some("ACCOUNT_RECONNECTED")
        && o.state == OnboardingState::Disconnected
    {
        (Some(OnboardingState::Connected), Some(None))
    } else {
        webhook_status_change(o.state, o.error.as_ref(), status)
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
fn waba_event_update(o: &Record, kind: &BusinessAccountEvent, object: &Value) -> Option<Update> {
    let waba = merged(o.waba.as_ref(), object);
    let action = |code: ErrorCode, message: &str| {
        Some((
            OnboardingState::ActionRequired,
            person_error(code, message.to_owned()),
        ))
    };
    let outcome = match kind {
        // YCloud reports a removed partner (and a deleted account) this way, with
        // `removedReason` and `removedInitiatedBy` when known.
        BusinessAccountEvent::Deleted => {
            let reason = str_field(object, "removedReason");
            let by = str_field(object, "removedInitiatedBy");
            let code = match (reason, by) {
                (None, None) => ErrorCode::WabaDeleted,
                _ => ErrorCode::PartnerRemoved,
            };
            let why = match (reason, by) {
                (Some(r), Some(b)) => Some(format!("{r}, initiated by {b}")),
                (Some(r), None) => Some(r.to_owned()),
                (None, Some(b)) => Some(format!("initiated by {b}")),
                (None, None) => None,
            };
            Some(disconnected(code, why.as_deref()))
        }
        BusinessAccountEvent::Updated => match str_field(object, "updateEvent") {
            Some("PARTNER_REMOVED") => Some(disconnected(ErrorCode::PartnerRemoved, None)),
            Some("ACCOUNT_RESTRICTION") => Some(enforcement(ErrorCode::WabaRestricted, None)),
            Some("ACCOUNT_VIOLATION") => Some(enforcement(
                ErrorCode::WabaViolation,
                str_field(object, "violationType"),
            )),
            Some("PARTNER_APP_UNINSTALLED") => action(
                ErrorCode::PartnerAppUninstalled,
                "The customer uninstalled the partner app from this WhatsApp Business Account; \
                 they must sign up again to reconnect it.",
            ),
            Some("DISABLED_UPDATE") => match str_field(object, "banState") {
                Some("SCHEDULE_FOR_DISABLE") => action(
                    ErrorCode::WabaBanScheduled,
                    "Meta scheduled this WhatsApp Business Account to be disabled for a policy \
                     violation; appeal in WhatsApp Manager before the ban date.",
                ),
                // A reinstatement lifts the ban; the number's own events say when it
                // connects again.
                Some("REINSTATE") => None,
                _ => Some((
                    OnboardingState::Failed,
                    person_error(
                        ErrorCode::WabaBanned,
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
                ErrorCode::WabaRejected,
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wire::{Mode, PhoneNumberId, WabaId};

    use super::*;

    const WABA: &str = "104996122399160";
    const NUMBER: &str = "106540352242922";

    fn onboarding(state: OnboardingState) -> Record {
        let waba = json!({"id": WABA, "name": "Cake shop"});
        let phone_number = json!({"id": NUMBER, "phoneNumber": "+16315551111",
                                  "status": "PENDING"});
        let onboarding = wire::Onboarding {
            id: "7c0e1f7a-3a53-4a4e-9d55-0f4b8d0c1a11".to_owned(),
            mode: Mode::Standard,
            launched_mode: None,
            waba_id: WabaId::parse(WABA).unwrap(),
            phone_number_id: Some(PhoneNumberId::parse(NUMBER).unwrap()),
            business_id: None,
            customer_ref: None,
            state,
            steps: Vec::new(),
            waba: Some(crate::providers::ycloud::Waba::summary_of(&waba)),
            phone_number: Some(crate::providers::ycloud::PhoneNumber::summary_of(
                &phone_number,
            )),
            error: None,
            previous_onboarding_id: None,
            inbound_verified_at: None,
            sync: None,
            created_at: "2026-01-01T00:00:00.000000Z".to_owned(),
            updated_at: "2026-01-01T00:00:00.000000Z".to_owned(),
        };
        Record {
            onboarding,
            waba: Some(waba),
            phone_number: Some(phone_number),
            session_id: None,
            customer_ref_verified: false,
        }
    }

    fn with_error(mut o: Record, code: ErrorCode) -> Record {
        o.onboarding.error = Some(person_error(code, "earlier.".to_owned()));
        o
    }

    fn event(kind: &str, object: Value) -> Event {
        let key = if kind.starts_with("whatsapp.phone_number.") {
            "whatsappPhoneNumber"
        } else {
            "whatsappBusinessAccount"
        };
        let body = json!({"id": "evt_1", "type": kind, key: object});
        Event::parse(body.to_string().as_bytes()).unwrap()
    }

    fn number_event(kind: &str, status: &str) -> Event {
        event(
            &format!("whatsapp.phone_number.{kind}"),
            json!({"id": NUMBER, "wabaId": WABA, "status": status}),
        )
    }

    fn waba_event(kind: &str, fields: Value) -> Event {
        let mut waba = json!({"id": WABA});
        waba.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        event(&format!("whatsapp.business_account.{kind}"), waba)
    }

    /// The state and error code `event` leaves on `o`; `None` when nothing changes.
    fn outcome(event: &Event, o: &Record) -> Option<(Option<OnboardingState>, Option<String>)> {
        let subject = Subject::of(event).expect("a subject");
        assert!(subject.is_about(o));
        let update = subject.change(o)?;
        let code = update.error.clone().flatten().map(|e| e.code.to_string());
        Some((update.state, code))
    }

    #[test]
    fn a_connected_number_connects_a_pending_onboarding_and_clears_its_error() {
        let o = onboarding(OnboardingState::Pending);
        let update = Subject::of(&number_event("quality_updated", "CONNECTED"))
            .unwrap()
            .change(&o)
            .unwrap();
        assert_eq!(update.state, Some(OnboardingState::Connected));
        assert!(matches!(update.error, Some(None)));
        // The stored object is kept, the event's fields written over it.
        let number = update.phone_number.unwrap();
        assert_eq!(number["status"], "CONNECTED");
        assert_eq!(number["phoneNumber"], "+16315551111");
    }

    #[test]
    fn a_connected_number_lifts_only_a_block() {
        let connected = number_event("quality_updated", "CONNECTED");
        let blocked = with_error(
            onboarding(OnboardingState::ActionRequired),
            ErrorCode::PhoneNumberBlocked,
        );
        assert_eq!(
            outcome(&connected, &blocked),
            Some((Some(OnboardingState::Connected), None))
        );
        // Another reason for action stays; only the number object is merged.
        let removed = with_error(
            onboarding(OnboardingState::ActionRequired),
            ErrorCode::PartnerRemoved,
        );
        assert_eq!(outcome(&connected, &removed), Some((None, None)));
        assert_eq!(
            outcome(&connected, &onboarding(OnboardingState::Failed)),
            Some((None, None))
        );
    }

    #[test]
    fn a_banned_or_blocked_number_needs_action_unless_the_onboarding_failed() {
        for status in ["BANNED", "BLOCKED"] {
            let e = number_event("quality_updated", status);
            for state in [
                OnboardingState::Pending,
                OnboardingState::Connected,
                OnboardingState::ActionRequired,
            ] {
                assert_eq!(
                    outcome(&e, &onboarding(state)),
                    Some((
                        Some(OnboardingState::ActionRequired),
                        Some("phone_number_blocked".to_owned())
                    )),
                    "{status} in {state}"
                );
            }
            assert_eq!(
                outcome(&e, &onboarding(OnboardingState::Failed)),
                Some((None, None))
            );
        }
        let o = onboarding(OnboardingState::Pending);
        let update = Subject::of(&number_event("quality_updated", "BANNED"))
            .unwrap()
            .change(&o)
            .unwrap();
        let error = update.error.flatten().unwrap();
        assert!(error.message.contains("BANNED"), "{}", error.message);
        assert!(!error.retryable);
    }

    #[test]
    fn a_deleted_number_fails_the_onboarding() {
        let e = number_event("deleted", "CONNECTED");
        assert_eq!(
            outcome(&e, &onboarding(OnboardingState::Connected)),
            Some((
                Some(OnboardingState::Failed),
                Some("phone_number_deleted".to_owned())
            ))
        );
    }

    #[test]
    fn an_event_that_changes_nothing_is_no_update() {
        let mut o = onboarding(OnboardingState::Pending);
        let e = number_event("name_updated", "PENDING");
        o.phone_number = Some(json!({"id": NUMBER, "wabaId": WABA, "status": "PENDING"}));
        assert_eq!(outcome(&e, &o), None);
        // A new field is merged without a change of state.
        let e = number_event("quality_updated", "FLAGGED");
        assert_eq!(outcome(&e, &o), Some((None, None)));
    }

    #[test]
    fn waba_events_say_what_the_person_must_do() {
        let connected = onboarding(OnboardingState::Connected);
        let action = Some(OnboardingState::ActionRequired);
        let failed = Some(OnboardingState::Failed);
        let gone = Some(OnboardingState::Disconnected);
        let cases = [
            (
                "updated",
                json!({"updateEvent": "PARTNER_REMOVED"}),
                gone,
                "partner_removed",
            ),
            (
                "updated",
                json!({"updateEvent": "ACCOUNT_RESTRICTION"}),
                action,
                "waba_restricted",
            ),
            (
                "updated",
                json!({"updateEvent": "ACCOUNT_VIOLATION", "violationType": "SCAM"}),
                action,
                "waba_violation",
            ),
            (
                "deleted",
                json!({"removedReason": "ACCOUNT_DISCONNECTED", "removedInitiatedBy": "USER"}),
                gone,
                "partner_removed",
            ),
            (
                "updated",
                json!({"updateEvent": "PARTNER_APP_UNINSTALLED"}),
                action,
                "partner_app_uninstalled",
            ),
            (
                "updated",
                json!({"updateEvent": "DISABLED_UPDATE", "banState": "DISABLE"}),
                failed,
                "waba_banned",
            ),
            (
                "updated",
                json!({"updateEvent": "DISABLED_UPDATE"}),
                failed,
                "waba_banned",
            ),
            (
                "updated",
                json!({"updateEvent": "DISABLED_UPDATE", "banState": "SCHEDULE_FOR_DISABLE"}),
                action,
                "waba_ban_scheduled",
            ),
            (
                "reviewed",
                json!({"accountReviewStatus": "REJECTED"}),
                action,
                "waba_rejected",
            ),
            ("deleted", json!({}), gone, "waba_deleted"),
        ];
        for (kind, fields, state, code) in cases {
            let e = waba_event(kind, fields.clone());
            assert_eq!(
                outcome(&e, &connected),
                Some((state, Some(code.to_owned()))),
                "{kind} {fields}"
            );
        }
        // A reinstatement or an approval only merges the object.
        for (kind, fields) in [
            (
                "updated",
                json!({"updateEvent": "DISABLED_UPDATE", "banState": "REINSTATE"}),
            ),
            ("reviewed", json!({"accountReviewStatus": "APPROVED"})),
        ] {
            assert_eq!(
                outcome(&waba_event(kind, fields), &connected),
                Some((None, None))
            );
        }
    }

    #[test]
    fn events_are_about_their_own_number_or_waba() {
        let o = onboarding(OnboardingState::Pending);
        let other_number = event(
            "whatsapp.phone_number.quality_updated",
            json!({"id": "999", "wabaId": WABA, "status": "CONNECTED"}),
        );
        assert!(!Subject::of(&other_number).unwrap().is_about(&o));
        // Found by the stored number object's id when no number id was posted.
        let mut without_id = o.clone();
        without_id.onboarding.phone_number_id = None;
        assert!(Subject::of(&number_event("quality_updated", "CONNECTED"))
            .unwrap()
            .is_about(&without_id));
        let other_waba = event(
            "whatsapp.business_account.updated",
            json!({"id": "999", "updateEvent": "PARTNER_REMOVED"}),
        );
        assert!(!Subject::of(&other_waba).unwrap().is_about(&o));
        let connected = number_event("quality_updated", "CONNECTED");
        let s = Subject::of(&connected).unwrap();
        assert_eq!(
            (s.waba_id(), s.phone_number_id()),
            (Some(WABA), Some(NUMBER))
        );
    }

    #[test]
    fn events_without_a_subject_change_nothing() {
        let template = event("whatsapp.template.reviewed", json!({"id": WABA}));
        assert!(Subject::of(&template).is_none());
        let no_ids = event(
            "whatsapp.phone_number.quality_updated",
            json!({"status": "CONNECTED"}),
        );
        assert!(Subject::of(&no_ids).is_none());
        let no_object =
            Event::parse(br#"{"id":"evt","type":"whatsapp.business_account.updated"}"#).unwrap();
        assert!(Subject::of(&no_object).is_none());
    }
}
