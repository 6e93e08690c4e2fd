use leptos::prelude::*;

/// Where the customer stands; its `data_state` is the `data-state` of the status region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The Facebook SDK is loading.
    LoadingSdk,
    /// Ready to launch.
    Ready,
    /// Meta's popup is open.
    InPopup,
}

impl Phase {
    /// The `data-state` value of CONTRACT §4.
    pub fn data_state(self) -> &'static str {
        match self {
            Phase::LoadingSdk => "loading-sdk",
            Phase::Ready => "ready",
            Phase::InPopup => "in-popup",
        }
    }

    fn sentence(self) -> &'static str {
        match self {
            Phase::LoadingSdk => "Loading Facebook…",
            Phase::Ready => "Choose how to connect your number.",
            Phase::InPopup => "Continue in the Facebook window.",
        }
    }
}

/// The status region: announced politely to screen readers.
#[component]
pub fn Status(
    /// The phase to show.
    phase: ReadSignal<Phase>,
) -> impl IntoView {
    view! {
        <p class="wa-status" data-testid="status" aria-live="polite" role="status"
            data-state=move || phase.get().data_state()>
            {move || phase.get().sentence()}
        </p>
    }
}
