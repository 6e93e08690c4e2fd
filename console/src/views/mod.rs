//! The console's pages, each reading the partner API, and what they share.

use std::time::Duration;

use leptos::prelude::*;

use crate::api::ApiError;
use crate::i18n::{t, Msg};

pub mod deliveries;
pub mod funnel;
pub mod links;
pub mod onboarding;
pub mod onboardings;
pub mod setup;

/// How often the live pages read again.
pub const POLL: Duration = Duration::from_secs(2);

/// A refusal as one sentence: the proxy's own, else one naming its code.
pub fn error_text(e: &ApiError) -> String {
    match (e.status, e.message.is_empty()) {
        (0, _) => t(Msg::NetworkError).to_owned(),
        (_, false) => e.message.clone(),
        (_, true) => format!("{} ({})", t(Msg::Refused), e.code),
    }
}

/// Calls `tick` now and every [`POLL`] while the calling view is shown.
pub fn every_poll(tick: impl Fn() + Clone + 'static) {
    tick();
    if let Ok(handle) = set_interval_with_handle(tick, POLL) {
        on_cleanup(move || handle.clear());
    }
}

/// Asks the person to confirm an action, naming it (the browser's own dialog: keyboard and
/// screen reader friendly everywhere).
pub fn confirmed(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

/// The states an onboarding can be in, for filters.
pub const STATES: [&str; 8] = [
    "binding",
    "registering",
    "pending",
    "connected",
    "action_required",
    "failed",
    "deregistered",
    "disconnected",
];

/// A status line for a view: what happened last, read politely by screen readers.
#[component]
pub fn Notice(message: RwSignal<Option<(bool, String)>>) -> impl IntoView {
    view! {
        <p role="status" data-testid="notice"
            class=move || match message.get() { Some((false, _)) => "notice error", _ => "notice" }>
            {move || message.get().map(|(_, m)| m)}
        </p>
    }
}

/// A state as a badge.
pub fn state_badge(state: String) -> impl IntoView {
    view! { <span class=format!("badge state-{state}") data-state=state.clone()>{state.replace('_', " ")}</span> }
}
