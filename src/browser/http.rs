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

/// `fetch(url, {method, headers, body, signal})`: the body sent as JSON when there is one,
/// `bearer` as `Authorization: Bearer …` (a header, so it is in no URL, history or log).
///
/// # Errors
/// `Err(())` when nothing came back: the network, CORS, an abort.
pub async fn send(
    method: &str,
    url: &str,
    json_body: Option<&str>,
    bearer: Option<&str>,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<web_sys::Response, ()> {
    let window = web_sys::window().ok_or(())?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = Object::new();
    if let Some(body) = json_body {
        Reflect::set(&headers, &"Content-Type".into(), &"application/json".into())
            .map_err(|_| ())?;
        init.set_body(&body.into());
    }
    if let Some(token) = bearer {
        Reflect::set(
            &headers,
            &"Authorization".into(),
            &format!("Bearer {token}").into(),
        )
        .map_err(|_| ())?;
    }
    init.set_headers(&headers);
    init.set_signal(signal);
    JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())
}

/// [`send`], the whole body read as text.
///
/// # Errors
/// `Err(())` when nothing came back: the network, CORS, or a body that could not be read.
pub async fn fetch(
    method: &str,
    url: &str,
    json_body: Option<&str>,
    bearer: Option<&str>,
) -> Result<Answer, ()> {
    let response = send(method, url, json_body, bearer, None).await?;
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
