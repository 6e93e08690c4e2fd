//! The embedding surface for partners' pages: `mount(element, options)` and auto-mounting
//! on `[data-wa-signup]` elements (options and events: docs/API.md).

use std::cell::RefCell;

use js_sys::{Object, Reflect};
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyViewState;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::dom;
use crate::components::Widget;
use crate::embed::{parse_options, OptionError, Source};
use crate::flow::WidgetOptions;

/// Set on an element once a widget lives in it, so auto-mounting never mounts twice.
const MOUNTED_ATTR: &str = "data-wa-signup-mounted";
/// Set by the standalone page on its element: the session comes from the page's address
/// (`?session=`, the hosted link). Partners' widgets never read their page's address.
const SESSION_FROM_URL_ATTR: &str = "data-session-from-url";

thread_local! {
    // Auto-mounted widgets live as long as the page.
    static AUTO: RefCell<Vec<WidgetHandle>> = const { RefCell::new(Vec::new()) };
}

/// A mounted widget; `unmount()` removes it and every listener it added.
#[wasm_bindgen]
pub struct WidgetHandle {
    element: web_sys::Element,
    handle: Option<leptos::mount::UnmountHandle<AnyViewState>>,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Removes the widget from its element, with its message listener, timers and streams.
    pub fn unmount(&mut self) {
        if self.handle.take().is_some() {
            let _ = self.element.remove_attribute(MOUNTED_ATTR);
        }
    }
}

/// The proxy the embedding script came from (`window.__WA_SIGNUP_BASE`, set by `embed.js`),
/// else the page's own origin.
fn default_proxy() -> String {
    web_sys::window()
        .and_then(|w| Reflect::get(&w, &"__WA_SIGNUP_BASE".into()).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// `(key, value)` pairs of a plain JS object; non-string values are refused by name.
fn object_pairs(options: &JsValue) -> Result<Vec<(String, String)>, OptionError> {
    if options.is_undefined() || options.is_null() {
        return Ok(Vec::new());
    }
    let Some(object) = options.dyn_ref::<Object>() else {
        return Err(OptionError {
            option: "options".into(),
            reason: "must be an object",
        });
    };
    Object::entries(object)
        .iter()
        .filter_map(|entry| {
            let entry: js_sys::Array = entry.unchecked_into();
            let key = entry.get(0).as_string()?;
            let value = entry.get(1);
            if value.is_undefined() || value.is_null() {
                return None;
            }
            Some(match value.as_string() {
                Some(v) => Ok((key, v)),
                None => Err(OptionError {
                    option: key,
                    reason: "must be a string",
                }),
            })
        })
        .collect()
}

/// Mounts a widget in `element` and returns its handle.
pub fn mount_with(element: web_sys::Element, options: WidgetOptions) -> WidgetHandle {
    let _ = element.set_attribute(MOUNTED_ATTR, "");
    let parent: web_sys::HtmlElement = element.clone().unchecked_into();
    let handle = leptos::mount::mount_to(parent, move || {
        view! { <Widget options=options /> }.into_any()
    });
    WidgetHandle {
        element,
        handle: Some(handle),
    }
}

/// `mount(element, options)` for partners' JavaScript; missing options come from
/// `{proxyUrl}/api/config`.
///
/// # Errors
/// A JS `Error` naming the bad option, or when the element already holds a widget.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<WidgetHandle, JsError> {
    if element.has_attribute(MOUNTED_ATTR) {
        return Err(JsError::new(
            "wa-signup: this element already holds a widget",
        ));
    }
    let pairs = object_pairs(&options).map_err(|e| JsError::new(&e.to_string()))?;
    let options = parse_options(pairs, Source::Object, &default_proxy())
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(mount_with(element, options))
}

/// Mounts a widget on every `[data-wa-signup]` element not holding one yet; returns how
/// many were mounted. Elements with bad attributes are skipped with a console error.
#[wasm_bindgen(js_name = autoMount)]
pub fn auto_mount() -> u32 {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return 0;
    };
    let Ok(found) = document.query_selector_all("[data-wa-signup]") else {
        return 0;
    };
    let mut mounted = 0;
    for i in 0..found.length() {
        let Some(element) = found
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            continue;
        };
        if element.has_attribute(MOUNTED_ATTR) {
            continue;
        }
        let dataset = element.dataset();
        let mut pairs: Vec<(String, String)> = Object::keys(&dataset)
            .iter()
            .filter_map(|k| k.as_string())
            .filter_map(|k| dataset.get(&k).map(|v| (k, v)))
            .collect();
        if element.has_attribute(SESSION_FROM_URL_ATTR) {
            // Out of the address bar at once, even when `data-session` wins.
            let from_address = dom::take_session_from_address();
            if dataset.get("session").is_none() {
                pairs.extend(from_address.map(|token| ("session".to_owned(), token)));
            }
        }
        match parse_options(pairs, Source::Dataset, &default_proxy()) {
            Ok(options) => {
                let handle = mount_with(element.into(), options);
                AUTO.with(|auto| auto.borrow_mut().push(handle));
                mounted += 1;
            }
            Err(e) => web_sys::console::error_1(&e.to_string().into()),
        }
    }
    mounted
}
