use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::status::pin_error;
use super::tree::{el, Node};
use super::Ctx;
use crate::i18n::Msg;
use crate::screen::{parse_pin, PinTry};

/// The two-step verification PIN form, shown while the onboarding waits for the customer's
/// existing PIN (`pin_required`). The status region above it says what became of the PIN.
///
/// The input has no `name`, so even a submit the page did not intercept (the app not loaded
/// yet) puts no digits in the address; the value is read once, on submit, and parsed into a
/// [`wire::Pin`] that only the request's body carries.
pub(super) fn pin_form(cx: Ctx) -> Option<Node> {
    let flow = cx.flow;
    let tried = flow.screen.with(|s| s.pin_try().cloned())?;
    let l = cx.locale.get();
    let sending = tried == PinTry::Sending;
    let error = pin_error(&tried, l);
    let on_submit = move |ev: web_sys::Event| {
        ev.prevent_default();
        let typed = ev
            .target()
            .and_then(|f| f.dyn_into::<web_sys::Element>().ok())
            .and_then(|f| f.query_selector("input").ok().flatten())
            .and_then(|i| i.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|i| i.value())
            .unwrap_or_default();
        flow.submit_pin(parse_pin(&typed).ok());
    };
    let input = el(
        "input",
        &[
            ("class", "wa-pin-input"),
            ("id", "wa-pin-input"),
            ("data-testid", "pin-input"),
            ("type", "text"),
            ("inputmode", "numeric"),
            ("autocomplete", "one-time-code"),
            ("pattern", "[0-9]{6}"),
            ("maxlength", "6"),
            ("required", ""),
            ("spellcheck", "false"),
        ],
    )
    .attr(
        "aria-describedby",
        match error {
            Some(_) => "wa-pin-hint wa-pin-error",
            None => "wa-pin-hint",
        },
    )
    .attr(
        "aria-invalid",
        match error {
            Some(_) => "true",
            None => "false",
        },
    )
    .flag("readonly", sending);
    Some(
        el(
            "form",
            &[
                ("class", "wa-pin"),
                ("data-testid", "pin-form"),
                ("novalidate", ""),
            ],
        )
        .on("submit", on_submit)
        .kids([
            el(
                "label",
                &[("class", "wa-pin-label"), ("for", "wa-pin-input")],
            )
            .text(l.t(Msg::PinLabel)),
            el("p", &[("class", "wa-pin-hint"), ("id", "wa-pin-hint")]).text(l.t(Msg::PinHint)),
            input,
            el(
                "p",
                &[
                    ("class", "wa-pin-error"),
                    ("id", "wa-pin-error"),
                    ("data-testid", "pin-error"),
                ],
            )
            .flag("hidden", error.is_none())
            .text(error.unwrap_or_default()),
            el(
                "button",
                &[
                    ("type", "submit"),
                    ("class", "wa-button wa-pin-submit"),
                    ("data-testid", "pin-submit"),
                ],
            )
            .flag("disabled", sending)
            .text(l.t(Msg::PinSubmit)),
        ]),
    )
}
