//! The partner API, as the console calls it: same-origin `fetch` with the sign-in's cookie
//! (sent by the browser, never readable here) and, on writes, its CSRF token. Answers are
//! read as JSON values, so fields a newer proxy adds are shown without a new console.

use js_sys::{Object, Reflect};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// A refusal, in the proxy's error shape (or a network failure, status 0).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status; 0 when nothing came back.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`: one sentence from the proxy.
    pub message: String,
}

impl ApiError {
    /// Whether the proxy does not offer this route (an older or differently built proxy).
    pub fn not_offered(&self) -> bool {
        matches!(self.status, 404 | 405)
            && matches!(self.code.as_str(), "not_found" | "method_not_allowed")
    }
}

/// Reads an error body; anything else becomes a generic refusal with the status.
pub fn error_of(status: u16, text: &str) -> ApiError {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let field = |name: &str| body["error"][name].as_str().unwrap_or_default().to_owned();
    let (code, message) = (field("code"), field("message"));
    ApiError {
        status,
        code: if code.is_empty() {
            format!("http_{status}")
        } else {
            code
        },
        message,
    }
}

/// `fetch(path, {method, body})`; writes carry `csrf` as `X-CSRF-Token`. A 2xx answers its
/// JSON body (`null` when empty).
///
/// # Errors
/// The proxy's refusal, or status 0 when nothing came back.
pub async fn call(
    method: &str,
    path: &str,
    body: Option<&Value>,
    csrf: Option<&str>,
) -> Result<Value, ApiError> {
    let network = || ApiError {
        status: 0,
        code: "network".to_owned(),
        message: String::new(),
    };
    let window = web_sys::window().ok_or_else(network)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = Object::new();
    let set = |k: &str, v: &str| {
        Reflect::set(&headers, &k.into(), &v.into())
            .map(|_| ())
            .map_err(|_| network())
    };
    set("Accept", "application/json")?;
    if let Some(body) = body {
        set("Content-Type", "application/json")?;
        init.set_body(&body.to_string().into());
    }
    if method != "GET" {
        if let Some(token) = csrf {
            set("X-CSRF-Token", token)?;
        }
    }
    init.set_headers(&headers);
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| network())?
        .dyn_into()
        .map_err(|_| network())?;
    let text = JsFuture::from(response.text().map_err(|_| network())?)
        .await
        .map_err(|_| network())?
        .as_string()
        .unwrap_or_default();
    match response.ok() {
        true => Ok(serde_json::from_str(&text).unwrap_or(Value::Null)),
        false => Err(error_of(response.status(), &text)),
    }
}

/// A query string value, percent-encoded.
pub fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}
