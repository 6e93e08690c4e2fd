//! The onboarding rules every provider's signals share, over provider-neutral values: whether
//! a change may land now, and what a blocked number, a removed account or an enforcement
//! means for the person. Each provider turns its own webhooks and answers into these
//! (`providers::ycloud::rules`, `providers::meta::rules`); the sentences live here once.

use serde_json::Value;
use wire::{ErrorCode, OnboardingError, OnboardingState};

/// The detail Meta answers when the retired On-Premises registration is used, whichever
/// provider passes it on.
pub const ON_PREM_BLOCKED: &str = "biz_link_on_prem_reg_blocked";

/// Whether a webhook may change an onboarding in `state`: only when no runner owns it
/// (`pending`, `connected`, `action_required`, `failed`). A runner mid-step would overwrite
/// the change, and its own answer, or the follower, brings the news anyway.
pub fn may_change(state: OnboardingState) -> bool {
    matches!(
        state,
        OnboardingState::Pending
            | OnboardingState::Connected
            | OnboardingState::ActionRequired
            | OnboardingState::Failed
            | OnboardingState::Disconnected
    )
}

/// The customer removed the partner (or the account went): `disconnected`, saying why when
/// the provider does (`removedReason`, Meta's `disconnection_info`).
pub fn disconnected(code: ErrorCode, reason: Option<&str>) -> (OnboardingState, OnboardingError) {
    let what = match code {
        ErrorCode::WabaDeleted => "The WhatsApp Business Account was deleted",
        ErrorCode::AccountOffboarded => "The number was taken off the WhatsApp Cloud API",
        _ => "The WhatsApp Business Account was removed from the partner connection",
    };
    let why = reason
        .map(|r| format!(" (reason: {r})"))
        .unwrap_or_default();
    let message = match code {
        ErrorCode::AccountOffboarded => format!(
            "{what}{why}; it comes back when the customer reconnects it in the WhatsApp \
             Business App, else they sign up again."
        ),
        _ => format!("{what}{why}; the customer must sign up again to reconnect it."),
    };
    (OnboardingState::Disconnected, person_error(code, message))
}

/// A WABA-level enforcement that needs the customer's attention, not a new sign-up.
pub fn enforcement(code: ErrorCode, detail: Option<&str>) -> (OnboardingState, OnboardingError) {
    let what = match code {
        ErrorCode::WabaRestricted => "Meta restricted this WhatsApp Business Account",
        _ => "Meta reports a policy violation on this WhatsApp Business Account",
    };
    let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
    (
        OnboardingState::ActionRequired,
        person_error(
            code,
            format!("{what}{detail}; see WhatsApp Manager for what to do."),
        ),
    )
}

/// A non-empty text field of a provider's object.
pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `stored` with `fresh`'s fields written over it: events may carry a thinner object than
/// the one stored, and what they omit is still true.
pub fn merged(stored: Option<&Value>, fresh: &Value) -> Value {
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

/// An error only a person can resolve (never retryable by the proxy).
pub fn person_error(code: ErrorCode, message: String) -> OnboardingError {
    OnboardingError {
        code,
        message,
        retryable: false,
        upstream_request_id: None,
        retry_after: None,
        candidates: Vec::new(),
    }
}

/// What a number's `status` in a provider's webhook changes on an onboarding in `state`
/// whose error is `error`: `CONNECTED`
/// connects a pending number (or one blocked before), `BANNED`/`BLOCKED` needs action unless
/// the onboarding failed; anything else changes no state. The error is `Some(None)` when it
/// is cleared.
pub fn webhook_status_change(
    state: OnboardingState,
    error: Option<&OnboardingError>,
    status: Option<&str>,
) -> (Option<OnboardingState>, Option<Option<OnboardingError>>) {
    let blocked_before = error.is_some_and(|e| e.code == ErrorCode::PhoneNumberBlocked);
    match status {
        Some("CONNECTED")
            if state == OnboardingState::Pending
                || (state == OnboardingState::ActionRequired && blocked_before) =>
        {
            (Some(OnboardingState::Connected), Some(None))
        }
        Some(s @ ("BANNED" | "BLOCKED")) if state != OnboardingState::Failed => (
            Some(OnboardingState::ActionRequired),
            Some(Some(number_blocked(s))),
        ),
        _ => (None, None),
    }
}

/// A number WhatsApp reports `status` (`BANNED`, `BLOCKED`): what the person must do. The
/// follower records a polled status the same way.
pub fn number_blocked(status: &str) -> OnboardingError {
    person_error(
        ErrorCode::PhoneNumberBlocked,
        format!("WhatsApp reports this number as {status}; see WhatsApp Manager for the reason."),
    )
}

/// What a number's status means: its new state (when it settles) and its error.
pub fn number_outcome(status: Option<&str>) -> (Option<OnboardingState>, Option<OnboardingError>) {
    match status {
        Some("CONNECTED") => (Some(OnboardingState::Connected), None),
        Some(s @ ("BANNED" | "BLOCKED")) => (
            Some(OnboardingState::ActionRequired),
            Some(number_blocked(s)),
        ),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_onboardings_no_runner_owns_may_change() {
        use OnboardingState::*;
        for state in [Pending, Connected, ActionRequired, Failed] {
            assert!(may_change(state), "{state}");
        }
        for state in [Binding, Registering] {
            assert!(!may_change(state), "{state}");
        }
    }
}
