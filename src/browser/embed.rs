//! What partners' pages hand over and where widgets live: `mount`'s options object, the
//! `[data-wa-signup]` elements and their attributes, and the registry of mounted widgets
//! with its `WidgetHandle` (options and events: docs/API.md). `crate::mount` puts the
//! widget itself on an element.

use std::cell::{Cell, RefCell};

use js_sys::{Object, Reflect};
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyViewState;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::dom;
use crate::embed::{parse_options, OptionError, Source, WidgetOptions};

/// Set on an element once a widget lives in it, so auto-mounting never mounts twice.
const MOUNTED_ATTR: &str = "data-wa-signup-mounted";
/// Set by the standalone page on its element: the session comes from the page's address
/// (`?session=`, the hosted link). Partners' widgets never read their page's address.
const SESSION_FROM_URL_ATTR: &str = "data-session-from-url";
/// Where the hosted page keeps its link's session token for the tab.
const HOSTED_SESSION_KEY: &str = "wa-signup:session";

thread_local! {
    // Every mounted widget, by the id its handle holds. The page's JavaScript need not keep
    // the handle: when it is garbage-collected only the id goes, and the widget lives on
    // until `unmount()` or until its element leaves the document.
    static MOUNTED: RefCell<Vec<Mounted>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
    // Watches the document for widgets whose element was removed (one observer per page).
    static OBSERVER: RefCell<Option<web_sys::MutationObserver>> = const { RefCell::new(None) };
}

/// A widget in the registry.
struct Mounted {
    id: u32,
    element: web_sys::Element,
    /// Whether the element has been in the document: one mounted before being inserted is
    /// not gone yet.
    was_connected: bool,
    handle: leptos::mount::UnmountHandle<AnyViewState>,
}

/// A mounted widget; `unmount()` removes it and every listener it added. Dropping the
/// handle (or JavaScript collecting it) leaves the widget mounted.
#[wasm_bindgen]
pub struct WidgetHandle {
    id: u32,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Removes the widget from its element, with its message listener, timers and streams.
    pub fn unmount(&mut self) {
        remove(|m| m.id == self.id);
    }
}

/// Unmounts every widget `gone` picks. Their views are dropped after the registry is
/// released, so a view's cleanup may mount or unmount in turn.
fn remove(gone: impl Fn(&Mounted) -> bool) {
    let removed: Vec<Mounted> = MOUNTED.with(|mounted| {
        let mut mounted = mounted.borrow_mut();
        let (out, keep) = mounted.drain(..).partition(|m| gone(m));
        *mounted = keep;
        out
    });
    for widget in removed {
        let _ = widget.element.remove_attribute(MOUNTED_ATTR);
        drop(widget.handle);
    }
}

/// Unmounts the widgets whose element left the document (after having been in it).
fn sweep() {
    MOUNTED.with(|mounted| {
        for m in mounted.borrow_mut().iter_mut() {
            m.was_connected |= m.element.is_connected();
        }
    });
    remove(|m| m.was_connected && !m.element.is_connected());
}

/// Starts watching the document for removed widgets, once per page.
fn observe_document() {
    if OBSERVER.with(|o| o.borrow().is_some()) {
        return;
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    // Lives as long as the page: the observer is never disconnected.
    let callback = Closure::<dyn FnMut()>::new(sweep).into_js_value();
    let Ok(observer) = web_sys::MutationObserver::new(callback.unchecked_ref()) else {
        return;
    };
    let init = web_sys::MutationObserverInit::new();
    init.set_child_list(true);
    init.set_subtree(true);
    if observer.observe_with_options(&document, &init).is_ok() {
        OBSERVER.with(|o| *o.borrow_mut() = Some(observer));
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

/// `(key, value)` pairs of a plain JS object; non-string values are refused by name, except
/// a number for `headingLevel`.
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
            // `headingLevel: 2` as well as `"2"`: a level is a number in JavaScript.
            let number = match key.as_str() {
                // As JavaScript writes it (`String(n)`): no float formatting in the bundle.
                "headingLevel" => value
                    .dyn_ref::<js_sys::Number>()
                    .and_then(|n| n.to_string_with_radix(10).ok())
                    .map(String::from),
                _ => None,
            };
            Some(match value.as_string().or(number) {
                Some(v) => Ok((key, v)),
                None => Err(OptionError {
                    option: key,
                    reason: "must be a string",
                }),
            })
        })
        .collect()
}

/// Mounts `view` (a widget) in `element` and returns its handle; the widget stays until
/// `unmount()` or until the element leaves the document.
pub fn mount_view(
    element: web_sys::Element,
    view: impl FnOnce() -> AnyView + 'static,
) -> WidgetHandle {
    let _ = element.set_attribute(MOUNTED_ATTR, "");
    let parent: web_sys::HtmlElement = element.clone().unchecked_into();
    let handle = leptos::mount::mount_to(parent, view);
    let id = NEXT_ID.with(|n| {
        n.set(n.get().wrapping_add(1));
        n.get()
    });
    MOUNTED.with(|mounted| {
        mounted.borrow_mut().push(Mounted {
            id,
            was_connected: element.is_connected(),
            element,
            handle,
        })
    });
    observe_document();
    WidgetHandle { id }
}

/// How many widgets are mounted on the page (tests watch widgets come and go).
pub fn mounted_count() -> usize {
    MOUNTED.with(|mounted| mounted.borrow().len())
}

/// The options of `mount(element, options)`; missing ones come from `{proxyUrl}/api/config`.
///
/// # Errors
/// A JS `Error` naming the bad option, or when the element already holds a widget.
pub fn mount_options(
    element: &web_sys::Element,
    options: &JsValue,
) -> Result<WidgetOptions, JsError> {
    if element.has_attribute(MOUNTED_ATTR) {
        return Err(JsError::new(
            "wa-signup: this element already holds a widget",
        ));
    }
    let pairs = object_pairs(options).map_err(|e| JsError::new(&e.to_string()))?;
    parse_options(pairs, Source::Object, &default_proxy()).map_err(|e| JsError::new(&e.to_string()))
}

/// Calls `mount` with every `[data-wa-signup]` element not holding a widget yet and the
/// options its attributes give (`autoMount(options)`); returns how many were mounted.
/// Elements with bad attributes are skipped with a console error.
/// `options.sessionFromMarkup: true` lets `data-session` choose the session; without it an
/// element carrying one is left unmounted (with a console warning) for a call that allows
/// it, since markup injected into the partner's page could otherwise record a customer's
/// sign-up under someone else's session.
pub fn each_marked(
    options: &JsValue,
    mut mount: impl FnMut(web_sys::Element, WidgetOptions),
) -> u32 {
    let session_from_markup = options.is_object()
        && Reflect::get(options, &JsValue::from_str("sessionFromMarkup"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
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
        // The proxy's own page: no partner's markup there, and its session is its link's.
        let hosted = element.has_attribute(SESSION_FROM_URL_ATTR);
        if dataset.get("session").is_some() && !hosted && !session_from_markup {
            web_sys::console::warn_1(
                &"wa-signup: data-session is honoured only after \
                  WaSignup.autoMount({sessionFromMarkup: true}), or pass the session to \
                  WaSignup.mount(element, {session}); this element was left unmounted"
                    .into(),
            );
            continue;
        }
        if hosted {
            // Out of the address bar at once, even when `data-session` wins; kept for the
            // tab (`sessionStorage`), so reloading the hosted page continues the sign-up.
            let from_address = match dom::take_session_from_address() {
                Some(token) => {
                    dom::session::set(HOSTED_SESSION_KEY, &token);
                    Some(token)
                }
                None => dom::session::get(HOSTED_SESSION_KEY),
            };
            if dataset.get("session").is_none() {
                pairs.extend(from_address.map(|token| ("session".to_owned(), token)));
            }
        }
        let source = Source::Dataset {
            session: hosted || session_from_markup,
        };
        match parse_options(pairs, source, &default_proxy()) {
            Ok(options) => {
                mount(element.into(), options);
                mounted += 1;
            }
            Err(e) => web_sys::console::error_1(&e.to_string().into()),
        }
    }
    mounted
}
