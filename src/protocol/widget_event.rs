//! The `detail` of the widget's own `wa-signup:*` events (docs/API.md, "Events").

use serde::Serialize;

/// The events a widget dispatches on its root element (bubbling `CustomEvent`s). The typed
/// package's `WaSignupEventMap` lists exactly these (a test compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidgetEvent {
    /// The popup finished; detail: [`crate::protocol::Finish`].
    Finish,
    /// The customer closed the popup; detail: [`CancelDetail`].
    Cancel,
    /// Something failed; detail: `crate::screen::ErrorEvent`.
    Error,
    /// The onboarding changed; detail: the onboarding.
    Onboarding,
    /// The onboarding is connected; detail: the onboarding.
    Connected,
}

impl WidgetEvent {
    /// Every event, in the order a sign-up usually sees them.
    pub const ALL: [WidgetEvent; 5] = [
        WidgetEvent::Finish,
        WidgetEvent::Cancel,
        WidgetEvent::Error,
        WidgetEvent::Onboarding,
        WidgetEvent::Connected,
    ];

    /// The DOM event type, e.g. `wa-signup:finish`.
    pub fn name(self) -> &'static str {
        match self {
            WidgetEvent::Finish => "wa-signup:finish",
            WidgetEvent::Cancel => "wa-signup:cancel",
            WidgetEvent::Error => "wa-signup:error",
            WidgetEvent::Onboarding => "wa-signup:onboarding",
            WidgetEvent::Connected => "wa-signup:connected",
        }
    }
}

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
