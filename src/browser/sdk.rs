//! The Facebook JS SDK: injected once, initialised through `window.fbAsyncInit`, and
//! `FB.login` called synchronously with a plain-function callback.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The `<script>` id the real SDK snippet uses, so a page never loads it twice.
const SCRIPT_ID: &str = "facebook-jssdk";

/// What `FB.init` needs, and where the SDK comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkSettings {
    /// URL of `sdk.js` (or the sandbox stand-in).
    pub sdk_url: String,
    /// Meta app id.
    pub app_id: String,
    /// Graph API version, e.g. `v22.0`.
    pub version: String,
    /// How long to wait for `fbAsyncInit` before calling the SDK blocked.
    pub timeout_ms: i32,
}

/// Why the SDK is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkError {
    /// The script failed to load (an ad blocker or tracking protection, usually).
    Blocked,
    /// The script never called `fbAsyncInit` in time.
    TimedOut,
    /// `FB.init` or `FB.login` threw, or `FB` is not what the SDK defines.
    Broken,
}

/// What `window.open` answered while `FB.login` ran: whether the SDK's popup exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopupWindow {
    /// `window.open` gave a window: the popup opened (however soon it was closed).
    Opened,
    /// `window.open` answered `null`: the browser or an extension blocked the popup.
    Refused,
    /// `FB.login` did not call `window.open` while it ran, so nothing is known.
    Unseen,
}

/// What `FB.login` reported to its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginResponse {
    /// `connected`, `not_authorized` or `unknown` (popup closed or blocked).
    pub status: String,
    /// `authResponse.code` when the status is `connected`.
    pub code: Option<String>,
    /// What `window.open` answered during the `FB.login` call.
    pub window: PopupWindow,
}

thread_local! {
    // One load per page, shared by every widget on it; cleared on failure so a retry reloads.
    static LOADING: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// Loads and initialises the SDK once per page.
///
/// # Errors
/// [`SdkError::Blocked`] when the script does not load, [`SdkError::TimedOut`] when it never
/// initialises, [`SdkError::Broken`] when `FB.init` throws.
pub async fn load(settings: &SdkSettings) -> Result<(), SdkError> {
    let promise = LOADING.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| start_loading(settings))
            .clone()
    });
    match JsFuture::from(promise).await {
        Ok(_) => Ok(()),
        Err(reason) => {
            LOADING.with(|cell| cell.borrow_mut().take());
            if let Some(script) = document().and_then(|d| d.get_element_by_id(SCRIPT_ID)) {
                script.remove();
            }
            Err(match reason.as_string().as_deref() {
                Some("blocked") => SdkError::Blocked,
                Some("timeout") => SdkError::TimedOut,
                _ => SdkError::Broken,
            })
        }
    }
}

fn start_loading(settings: &SdkSettings) -> Promise {
    let settings = settings.clone();
    Promise::new(&mut |resolve: Function, reject: Function| {
        let Some(window) = web_sys::window() else {
            let _ = reject.call1(&JsValue::NULL, &"broken".into());
            return;
        };
        // The SDK may already be there (the host page loaded it, or a previous widget).
        if fb_function("login").is_some() {
            settle(init(&settings), &resolve, &reject);
            return;
        }
        let on_init = {
            let (settings, resolve, reject) = (settings.clone(), resolve.clone(), reject.clone());
            Closure::once_into_js(move || settle(init(&settings), &resolve, &reject))
        };
        let _ = Reflect::set(&window, &"fbAsyncInit".into(), &on_init);

        let rejecting = |why: &'static str| {
            let reject = reject.clone();
            Closure::once_into_js(move || {
                let _ = reject.call1(&JsValue::NULL, &why.into());
            })
        };
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            rejecting("timeout").unchecked_ref(),
            settings.timeout_ms,
        );
        // A script of the SDK's already on its way (the standalone page starts it while the
        // wasm loads; a host page may have Meta's snippet): wait for it instead of adding a
        // second. A failed one is reported blocked (the page removes its own on failure, so
        // a retry, or a widget starting after, adds a new one).
        if let Some(existing) = document().and_then(|d| d.get_element_by_id(SCRIPT_ID)) {
            let _ = existing
                .add_event_listener_with_callback("error", rejecting("blocked").unchecked_ref());
            return;
        }
        let script = document()
            .and_then(|d| d.create_element("script").ok())
            .and_then(|e| e.dyn_into::<web_sys::HtmlScriptElement>().ok());
        let Some(script) = script else {
            let _ = reject.call1(&JsValue::NULL, &"broken".into());
            return;
        };
        script.set_id(SCRIPT_ID);
        script.set_src(&settings.sdk_url);
        script.set_async(true);
        script.set_cross_origin(Some("anonymous"));
        script.set_onerror(Some(rejecting("blocked").unchecked_ref()));
        let parent = document().and_then(|d| d.head().map(web_sys::Node::from));
        if parent.and_then(|p| p.append_child(&script).ok()).is_none() {
            let _ = reject.call1(&JsValue::NULL, &"broken".into());
        }
    })
}

fn settle(result: Result<(), SdkError>, resolve: &Function, reject: &Function) {
    let _ = match result {
        Ok(()) => resolve.call0(&JsValue::NULL),
        Err(_) => reject.call1(&JsValue::NULL, &"broken".into()),
    };
}

/// `FB.init({appId, cookie: true, xfbml: true, version})`.
fn init(settings: &SdkSettings) -> Result<(), SdkError> {
    let (fb, init) = fb_function("init").ok_or(SdkError::Broken)?;
    let options = Object::new();
    let set = |k: &str, v: JsValue| Reflect::set(&options, &k.into(), &v).map(|_| ());
    set("appId", settings.app_id.as_str().into())
        .and_then(|_| set("cookie", true.into()))
        .and_then(|_| set("xfbml", true.into()))
        .and_then(|_| set("version", settings.version.as_str().into()))
        .and_then(|_| init.call1(&fb, &options).map(|_| ()))
        .map_err(|_| SdkError::Broken)
}

/// Calls `FB.login(callback, options)` now, synchronously: call it straight from a click
/// handler, with no `await` before it, or the browser blocks the popup. Answers what
/// `window.open` returned while it ran (the SDK opens its popup within the call, as a popup
/// opened later would be blocked); the callback's [`LoginResponse::window`] says the same.
///
/// # Errors
/// [`SdkError::Broken`] when `FB.login` is missing or throws; `on_result` is then never called.
pub fn login(
    options: &impl Serialize,
    on_result: impl FnOnce(LoginResponse) + 'static,
) -> Result<PopupWindow, SdkError> {
    let (fb, login) = fb_function("login").ok_or(SdkError::Broken)?;
    let options = super::json::to_js(options).ok_or(SdkError::Broken)?;
    let window = Rc::new(Cell::new(PopupWindow::Unseen));
    // A plain function: the SDK refuses anything else (async functions included).
    let callback = {
        let window = window.clone();
        Closure::once_into_js(move |response: JsValue| {
            let mut response = read_login_response(&response);
            response.window = window.get();
            on_result(response);
        })
    };
    let watch = OpenWatch::install(window.clone());
    let called = login.call2(&fb, &callback, &options);
    drop(watch);
    called.map(|_| window.get()).map_err(|_| SdkError::Broken)
}

/// `window.open` wrapped for the length of one `FB.login` call, to see whether the browser
/// gave the popup a window; the page's own `window.open` is put back when this is dropped.
struct OpenWatch {
    window: web_sys::Window,
    original: Function,
    wrapper: JsValue,
}

impl OpenWatch {
    /// `None` when `window.open` is not a function or cannot be replaced: then nothing is
    /// observed, and [`PopupWindow::Unseen`] stands.
    fn install(seen: Rc<Cell<PopupWindow>>) -> Option<OpenWatch> {
        let window = web_sys::window()?;
        let original = Reflect::get(&window, &"open".into())
            .ok()?
            .dyn_into::<Function>()
            .ok()?;
        let wrapper = {
            let (window, original) = (window.clone(), original.clone());
            // Kept by JavaScript, not freed on drop: a script that copied the wrapper while
            // it was installed can still call it afterwards.
            Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
                move |url: JsValue, target: JsValue, features: JsValue| {
                    let opened = original.call3(&window, &url, &target, &features)?;
                    // The first window asked for is the popup.
                    if seen.get() == PopupWindow::Unseen {
                        seen.set(match opened.is_null() || opened.is_undefined() {
                            true => PopupWindow::Refused,
                            false => PopupWindow::Opened,
                        });
                    }
                    Ok(opened)
                },
            )
            .into_js_value()
        };
        match Reflect::set(&window, &"open".into(), &wrapper) {
            Ok(true) => Some(OpenWatch {
                window,
                original,
                wrapper,
            }),
            _ => None,
        }
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        // Put back only our own wrapper: a script that replaced it meanwhile keeps its own.
        let current = Reflect::get(&self.window, &"open".into()).unwrap_or(JsValue::UNDEFINED);
        if Object::is(&current, &self.wrapper) {
            let _ = Reflect::set(&self.window, &"open".into(), &self.original);
        }
    }
}

/// Reads the callback's `{status, authResponse: {code}}` without trusting its shape.
fn read_login_response(response: &JsValue) -> LoginResponse {
    let get = |v: &JsValue, k: &str| {
        Reflect::get(v, &k.into())
            .ok()
            .filter(|v| !v.is_undefined())
    };
    LoginResponse {
        status: get(response, "status")
            .and_then(|s| s.as_string())
            .unwrap_or_else(|| "unknown".to_string()),
        code: get(response, "authResponse")
            .filter(|a| a.is_object())
            .and_then(|a| get(&a, "code"))
            .and_then(|c| c.as_string()),
        window: PopupWindow::Unseen,
    }
}

/// `window.FB` and one of its functions, when the SDK defines it.
fn fb_function(name: &str) -> Option<(JsValue, Function)> {
    let window: JsValue = web_sys::window()?.into();
    let fb = Reflect::get(&window, &"FB".into()).ok()?;
    if !fb.is_object() {
        return None;
    }
    let f = Reflect::get(&fb, &name.into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    Some((fb, f))
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

#[doc(hidden)]
/// Forgets the page's SDK state (tests load several fake SDKs on one page).
pub fn reset_for_tests() {
    LOADING.with(|cell| cell.borrow_mut().take());
    if let Some(window) = web_sys::window() {
        let _ = Reflect::delete_property(&window, &"FB".into());
        let _ = Reflect::delete_property(&window, &"fbAsyncInit".into());
    }
    if let Some(script) = document().and_then(|d| d.get_element_by_id(SCRIPT_ID)) {
        script.remove();
    }
}
