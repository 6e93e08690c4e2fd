//! The entry points partners' pages call: `mount(element, options)` and `autoMount()` put a
//! [`Widget`] on elements. Reading the page and keeping the mounted widgets is
//! `browser::embed`'s part, the options `embed`'s; this module only joins them to the view.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::browser::embed::{self, WidgetHandle};
use crate::components::Widget;
use crate::embed::WidgetOptions;

/// Mounts a widget in `element` and returns its handle; the widget stays until
/// `unmount()` or until the element leaves the document.
pub fn mount_with(element: web_sys::Element, options: WidgetOptions) -> WidgetHandle {
    embed::mount_view(element, move || {
        view! { <Widget options=options /> }.into_any()
    })
}

/// `mount(element, options)` for partners' JavaScript; missing options come from
/// `{proxyUrl}/api/config`.
///
/// # Errors
/// A JS `Error` naming the bad option, or when the element already holds a widget.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<WidgetHandle, JsError> {
    let options = embed::mount_options(&element, &options)?;
    Ok(mount_with(element, options))
}

/// Mounts a widget on every `[data-wa-signup]` element not holding one yet; returns how
/// many were mounted. Elements with bad attributes are skipped with a console error.
/// `options.sessionFromMarkup: true` lets `data-session` choose the session; without it an
/// element carrying one is left unmounted (with a console warning) for a call that allows
/// it, since markup injected into the partner's page could otherwise record a customer's
/// sign-up under someone else's session.
#[wasm_bindgen(js_name = autoMount)]
pub fn auto_mount(options: JsValue) -> u32 {
    embed::each_marked(&options, |element, options| {
        mount_with(element, options);
    })
}
