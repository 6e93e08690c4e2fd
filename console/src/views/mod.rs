//! The console's pages, each reading the partner API, and what they share.

use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

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

/// An action waiting for the person's confirmation.
#[derive(Clone)]
struct Ask {
    /// What is asked.
    question: &'static str,
    /// The confirming button's words: the action's name.
    confirm: &'static str,
    /// The id of the element focus returns to when the dialog closes (found again by id: the
    /// element may have been drawn anew meanwhile).
    return_to: String,
    /// The action.
    yes: Arc<dyn Fn() + Send + Sync>,
}

/// The console's one confirmation dialog, shared by every view (provided by the shell).
#[derive(Clone, Copy)]
pub struct Confirm(RwSignal<Option<Ask>>);

impl Confirm {
    /// A closed dialog.
    pub fn new() -> Self {
        Self(RwSignal::new(None))
    }

    /// Asks `question` in the dialog; `yes` runs only when the person confirms with the
    /// button named `confirm`. Focus goes back to the element with id `return_to` either way.
    pub fn ask(
        self,
        question: Msg,
        confirm: Msg,
        return_to: String,
        yes: impl Fn() + Send + Sync + 'static,
    ) {
        self.0.set(Some(Ask {
            question: t(question),
            confirm: t(confirm),
            return_to,
            yes: Arc::new(yes),
        }));
    }
}

impl Default for Confirm {
    fn default() -> Self {
        Self::new()
    }
}

/// Focuses the element with id `id`, if it is on the page.
pub fn focus_id(id: &str) {
    if let Some(el) = document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// The confirmation dialog: modal (the page behind is inert), Tab and Shift+Tab cycle its
/// two buttons, Escape or "Cancel" closes it without acting, and focus returns to what
/// opened it. "Cancel" has the focus first, so Enter alone never acts.
#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let confirm = expect_context::<Confirm>();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let cancel = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        let asking = confirm.0.with(Option::is_some);
        if let (true, Some(d)) = (asking, dialog.get()) {
            if !d.open() {
                let _ = d.show_modal();
            }
            if let Some(c) = cancel.get() {
                let _ = c.focus();
            }
        }
    });
    let finish = move |act: bool| {
        let Some(ask) = confirm.0.get_untracked() else {
            return;
        };
        if let Some(d) = dialog.get_untracked() {
            d.close();
        }
        confirm.0.set(None);
        focus_id(&ask.return_to);
        if act {
            (ask.yes)();
        }
    };
    // Escape cancels (the dialog closing by itself, in a browser that insists, cancels too);
    // Tab is trapped: the page behind is inert, but Tab would still leave for the browser's
    // own controls after the last button.
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            finish(false);
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        let Some(d) = dialog.get_untracked() else {
            return;
        };
        let Ok(buttons) = d.query_selector_all("button") else {
            return;
        };
        let count = buttons.length();
        if count == 0 {
            return;
        }
        let active = document().active_element();
        let at = (0..count).find(|i| {
            buttons
                .item(*i)
                .zip(active.as_ref())
                .is_some_and(|(b, a)| b.is_same_node(Some(a.as_ref())))
        });
        let next = match (at, ev.shift_key()) {
            (Some(0) | None, true) => count - 1,
            (Some(i), true) => i - 1,
            (Some(i), false) if i + 1 < count => i + 1,
            (_, false) => 0,
        };
        ev.prevent_default();
        if let Some(b) = buttons
            .item(next)
            .and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = b.focus();
        }
    };
    view! {
        <dialog node_ref=dialog class="confirm" aria-labelledby="confirm-question"
            data-testid="confirm-dialog" on:keydown=keys
            on:close=move |_| finish(false)>
            <p id="confirm-question">{move || confirm.0.with(|a| a.as_ref().map(|a| a.question))}</p>
            <div class="actions">
                <button type="button" class="secondary" node_ref=cancel data-testid="confirm-no"
                    on:click=move |_| finish(false)>{t(Msg::Cancel)}</button>
                <button type="button" data-testid="confirm-yes"
                    on:click=move |_| finish(true)>{move || confirm.0.with(|a| a.as_ref().map(|a| a.confirm))}</button>
            </div>
        </dialog>
    }
}

/// Sets `signal` to `value` only when it differs (so a list read again unchanged is not drawn
/// anew, and keeps the focus and any opened disclosure); when it is drawn anew, the focus
/// goes back to the element of the same id, if the redraw took it away, or, when that
/// element is gone (a redelivered event's row leaving the failed list), to the heading of
/// its section, so a keyboard user is not thrown back to the top of the page.
pub fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if signal.with_untracked(|now| *now == value) {
        return;
    }
    let focused = document().active_element().filter(|e| !e.id().is_empty());
    let heading = focused
        .as_ref()
        .and_then(|e| e.closest("section").ok().flatten())
        .and_then(|section| section.query_selector("h2").ok().flatten());
    let focused = focused.map(|e| e.id());
    signal.set(value);
    if let Some(id) = focused {
        request_animation_frame(move || {
            let lost = document()
                .active_element()
                .is_none_or(|e| e.id() != id && e.tag_name() == "BODY");
            if !lost {
                return;
            }
            if document().get_element_by_id(&id).is_some() {
                focus_id(&id);
            } else if let Some(heading) = heading.filter(|h| h.is_connected()) {
                // Focusable by script only, not a Tab stop.
                let _ = heading.set_attribute("tabindex", "-1");
                if let Ok(heading) = heading.dyn_into::<web_sys::HtmlElement>() {
                    let _ = heading.focus();
                }
            }
        });
    }
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
