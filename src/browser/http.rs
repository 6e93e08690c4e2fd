//! `fetch` for the proxy's JSON API: the browser's own, called through web-sys (a client
//! crate added its streams and request types to the bundle for four calls).

use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// An answer: its status and its body as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// True for 2xx.
    pub ok: bool,
    /// The body.
    pub text: String,
}

/// `fetch(url, {method, body})`, the body sent as JSON when there is one.
///
/// # Errors
/// `Err(())` when nothing came back: the network, CORS, or a body that could not be read.
pub async fn fetch(method: &str, url: &str, json_body: Option<&str>) -> Result<Answer, ()> {
    let window = web_sys::window().ok_or(())?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = json_body {
        let headers = Object::new();
        Reflect::set(&headers, &"Content-Type".into(), &"application/json".into())
            .map_err(|_| ())?;
        init.set_headers(&headers);
        init.set_body(&body.into());
    }
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    let text = JsFuture::from(response.text().map_err(|_| ())?)
        .await
        .map_err(|_| ())?
        .as_string()
        .ok_or(())?;
    Ok(Answer {
        status: response.status(),
        ok: response.ok(),
        text,
    })
}
