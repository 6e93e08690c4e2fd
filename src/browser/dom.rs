//! Small DOM services for the widget: custom events, timers, session storage, the clock.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Milliseconds since the epoch, for the correlator's injected clock.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// The configuration the standalone page started fetching before the wasm loaded
/// (`window.__WA_CONFIG`, a promise of `/api/config`'s JSON or `null`).
pub async fn prefetched_config() -> Option<wire::PublicConfig> {
    let window = web_sys::window()?;
    let promise = js_sys::Reflect::get(&window, &"__WA_CONFIG".into())
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    super::json::from_js(value)
}

/// Takes the `session` parameter out of the page's address and returns its value: the
/// address bar, the history entry and later `Referer` headers no longer carry the token
/// (`history.replaceState`, no reload). Every other parameter and the fragment stay.
pub fn take_session_from_address() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let (token, rest) = crate::embed::take_session_param(&location.search().ok()?);
    let token = token?;
    let address = format!(
        "{}{rest}{}",
        location.pathname().ok()?,
        location.hash().unwrap_or_default()
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&address));
    }
    Some(token)
}

/// Takes a finished redirect flow's result handle out of the page's fragment
/// (`#wa-signup-result=<handle>`), leaving an address without it (`history.replaceState`).
pub fn take_redirect_result() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let hash = location.hash().ok()?;
    let handle = hash
        .strip_prefix('#')?
        .strip_prefix(wire::RESULT_FRAGMENT)?
        .strip_prefix('=')?
        .to_owned();
    let address = format!(
        "{}{}",
        location.pathname().ok()?,
        location.search().unwrap_or_default()
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&address));
    }
    (!handle.is_empty()).then_some(handle)
}

/// The browser's user agent (empty when unknown).
pub fn user_agent() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default()
}

/// Leaves the page for `base` with `query`, encoded by the browser's `URLSearchParams`
/// (every value, JSON included, percent-encoded as a form would). False when it could not.
pub fn leave_for(base: &str, query: &[(&str, String)]) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Ok(params) = web_sys::UrlSearchParams::new() else {
        return false;
    };
    for (name, value) in query {
        params.append(name, value);
    }
    let target = format!("{base}?{}", String::from(params.to_string()));
    window.location().assign(&target).is_ok()
}

/// The page's own origin, e.g. `http://127.0.0.1:8080`.
pub fn page_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}

/// The browser's preferred languages, most preferred first.
pub fn browser_languages() -> Vec<String> {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return Vec::new();
    };
    let mut langs: Vec<String> = navigator
        .languages()
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    if langs.is_empty() {
        langs.extend(navigator.language());
    }
    langs
}

/// Dispatches a bubbling `CustomEvent` named `name` on `target` with `detail` (a JS object),
/// marked `sandbox: true` in sandbox mode ([`crate::protocol::SANDBOX_MARK`]).
pub fn dispatch(target: &web_sys::Element, name: &str, detail: &JsValue, sandbox: bool) {
    if sandbox {
        let mark = JsValue::from_str(crate::protocol::SANDBOX_MARK);
        let _ = js_sys::Reflect::set(detail, &mark, &JsValue::TRUE);
    }
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = target.dispatch_event(&event);
    }
}

/// A `setTimeout` that is cleared when dropped.
pub struct Timeout {
    id: Option<i32>,
    // Kept alive until the timer fires or is cleared.
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `f` once after `ms` milliseconds, unless the guard is dropped first.
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Timeout {
        let mut f = Some(f);
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = f.take() {
                f();
            }
        });
        let id = web_sys::window().and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(
                callback.as_ref().unchecked_ref(),
                ms.min(i32::MAX as u32) as i32,
            )
            .ok()
        });
        Timeout {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let (Some(id), Some(window)) = (self.id, web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// `sessionStorage`, so a reload finds the onboarding again (absent in private modes: no-op).
pub mod session {
    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.session_storage().ok()?
    }

    /// The stored value of `key`.
    pub fn get(key: &str) -> Option<String> {
        storage()?.get_item(key).ok()?
    }

    /// Stores `value` under `key`.
    pub fn set(key: &str, value: &str) {
        if let Some(s) = storage() {
            let _ = s.set_item(key, value);
        }
    }

    /// Forgets `key`.
    pub fn remove(key: &str) {
        if let Some(s) = storage() {
            let _ = s.remove_item(key);
        }
    }
}

/// A warning in the browser's console, for the page's developers (never shown to customers).
pub fn console_warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}

/// An RFC 3339 instant as a date and time in the customer's language (`locale_tag`) and
/// the browser's time zone (`Intl`); the text as given when it is no date (and natively).
pub fn local_date_time(rfc3339: &str, locale_tag: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        // `Date` reads milliseconds; the proxy may send microseconds.
        let (head, tail) = rfc3339.split_once('.').unwrap_or((rfc3339, ""));
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let text = match tail.is_empty() {
            true => rfc3339.to_owned(),
            false => format!("{head}.{}{}", &tail[..digits.min(3)], &tail[digits..]),
        };
        let date = js_sys::Date::new(&JsValue::from_str(&text));
        if !date.get_time().is_nan() {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"long".into());
            let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
            return String::from(date.to_locale_string(locale_tag, &options));
        }
    }
    let _ = locale_tag;
    rfc3339.to_owned()
}
