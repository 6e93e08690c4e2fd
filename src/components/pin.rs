use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;

use super::status::pin_error;
use super::text;
use crate::flow::Flow;
use crate::i18n::{Locale, Msg};
use crate::screen::{parse_pin, PinTry};

/// The two-step verification PIN form, shown while the onboarding waits for the customer's
/// existing PIN (`pin_required`). The status region above it says what became of the PIN.
///
/// The input has no `name`, so even a submit the page did not intercept (the app not loaded
/// yet) puts no digits in the address; the value is read once, on submit, and parsed into a
/// [`wire::Pin`] that only the request's body carries.
#[component]
pub fn PinForm(
    /// The widget's flow.
    flow: Flow,
    /// The language to speak.
    locale: RwSignal<Locale>,
) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let tried = move || flow.screen.with(|s| s.pin_try().cloned());
    let sending = move || tried() == Some(PinTry::Sending);
    let error = move || tried().and_then(|tried| pin_error(&tried, locale.get()));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = input
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        flow.submit_pin(parse_pin(&typed).ok());
    };
    view! {
        <Show when=move || tried().is_some()>
            <form class="wa-pin" data-testid="pin-form" novalidate on:submit=on_submit>
                <label class="wa-pin-label" for="wa-pin-input">{text(locale, Msg::PinLabel)}</label>
                <p class="wa-pin-hint" id="wa-pin-hint">{text(locale, Msg::PinHint)}</p>
                <input class="wa-pin-input" id="wa-pin-input" data-testid="pin-input"
                    node_ref=input type="text" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9]{6}" maxlength="6" required spellcheck="false"
                    aria-describedby=move || match error() {
                        Some(_) => "wa-pin-hint wa-pin-error",
                        None => "wa-pin-hint",
                    }
                    aria-invalid=move || if error().is_some() { "true" } else { "false" }
                    readonly=sending />
                <p class="wa-pin-error" id="wa-pin-error" data-testid="pin-error"
                    hidden=move || error().is_none()>
                    {error}
                </p>
                <button type="submit" class="wa-button wa-pin-submit" data-testid="pin-submit"
                    disabled=sending>
                    {text(locale, Msg::PinSubmit)}
                </button>
            </form>
        </Show>
    }
}
