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

/// The field every `detail` gains in sandbox mode, `"sandbox": true`, so that no listener
/// can take a simulated onboarding for a real one: the detail's own fields, then this one
/// (`browser::dom::dispatch` adds it to the serialized object). Outside the sandbox the
/// detail is unchanged and has no `sandbox` field. Every detail is an object (a struct or a
/// map), so there is always a place for the mark.
///
/// Added to the serialized value rather than by a `#[serde(flatten)]` wrapper: that
/// compiled every detail type's serialization a second time into the bundle (1.4 KB gzip).
pub const SANDBOX_MARK: &str = "sandbox";

/// `wa-signup:cancel`'s detail: where the customer left, when Meta said so (else `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelDetail<'a> {
    /// Meta's spelling of the step, e.g. `PHONE_NUMBER_SETUP`.
    pub current_step: Option<&'a str>,
}
