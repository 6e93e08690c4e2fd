//! The `detail` of the widget's own `wa-signup:*` events (docs/API.md, "Events").

use serde::Serialize;

/// `detail` as sent, marked in sandbox mode so that no listener can take a simulated
/// onboarding for a real one: the detail's own fields plus `"sandbox": true`. Outside the
/// sandbox the detail is unchanged and has no `sandbox` field. Every detail is an object (a
/// struct or a map), so there is always a place for the mark.
pub fn event_detail<T: Serialize>(detail: &T, sandbox: bool) -> EventDetail<'_, T> {
    match sandbox {
        false => EventDetail::Live(detail),
        true => EventDetail::Sandbox {
            detail,
            sandbox: true,
        },
    }
}

/// What [`event_detail`] makes: serialized as the browser's event `detail`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EventDetail<'a, T> {
    /// Unchanged.
    Live(&'a T),
    /// The fields of `detail`, then `sandbox`.
    Sandbox {
        /// The detail's own fields.
        #[serde(flatten)]
        detail: &'a T,
        /// Always true.
        sandbox: bool,
    },
}

/// `wa-signup:cancel`'s detail: where the customer left, when Meta said so (else `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelDetail<'a> {
    /// Meta's spelling of the step, e.g. `PHONE_NUMBER_SETUP`.
    pub current_step: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, to_value};

    #[test]
    fn live_details_are_unchanged() {
        let detail = CancelDetail { current_step: None };
        assert_eq!(
            to_value(event_detail(&detail, false)).unwrap(),
            json!({"current_step": null})
        );
        let detail = json!({"id": "b7a1", "state": "pending"});
        assert_eq!(to_value(event_detail(&detail, false)).unwrap(), detail);
    }

    #[test]
    fn sandbox_details_say_so() {
        assert_eq!(
            to_value(event_detail(&json!({"id": "b7a1"}), true)).unwrap(),
            json!({"id": "b7a1", "sandbox": true})
        );
        let detail = CancelDetail {
            current_step: Some("PERMISSIONS"),
        };
        assert_eq!(
            to_value(event_detail(&detail, true)).unwrap(),
            json!({"current_step": "PERMISSIONS", "sandbox": true})
        );
    }
}
