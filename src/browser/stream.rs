//! Server-sent events from the proxy, read with `fetch` (the client token goes in a header:
//! `EventSource` can only carry it in the URL), as an RAII guard: dropping it closes the
//! stream.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::protocol::sse::SseBuffer;

/// An open event stream delivering each parsed `data:` payload.
pub struct EventStream {
    abort: web_sys::AbortController,
}

impl EventStream {
    /// Opens `url` with `bearer`; `on_data` gets every `data:` payload parsed as `T` (others
    /// are dropped), `on_error` is called once when the stream fails or ends (no silent
    /// reconnects), unless it was dropped first.
    ///
    /// # Errors
    /// None when the browser cannot abort requests (no `AbortController`).
    pub fn open<T: serde::de::DeserializeOwned + 'static>(
        url: &str,
        bearer: &str,
        mut on_data: impl FnMut(T) + 'static,
        on_error: impl FnOnce() + 'static,
    ) -> Option<EventStream> {
        let abort = web_sys::AbortController::new().ok()?;
        let signal = abort.signal();
        let (url, bearer) = (url.to_owned(), bearer.to_owned());
        wasm_bindgen_futures::spawn_local(async move {
            let _ = read(&url, &bearer, &signal, &mut on_data).await;
            if !signal.aborted() {
                on_error();
            }
        });
        Some(EventStream { abort })
    }
}

/// Reads the stream to its end, handing each event's data to `on_data`.
async fn read<T: serde::de::DeserializeOwned>(
    url: &str,
    bearer: &str,
    signal: &web_sys::AbortSignal,
    on_data: &mut impl FnMut(T),
) -> Result<(), JsValue> {
    let response = super::http::send("GET", url, None, Some(bearer), Some(signal))
        .await
        .map_err(|()| JsValue::NULL)?;
    if !response.ok() {
        return Err(JsValue::NULL);
    }
    // `response.body.getReader()`, through Reflect: no stream types in the bundle.
    let body = Reflect::get(&response, &"body".into())?;
    let reader = call(&body, "getReader")?;
    let mut buffer = SseBuffer::default();
    loop {
        let next = JsFuture::from(Promise::from(call(&reader, "read")?)).await?;
        if Reflect::get(&next, &"done".into())?.is_truthy() {
            return Ok(());
        }
        let chunk: Uint8Array = Reflect::get(&next, &"value".into())?.dyn_into()?;
        for data in buffer.push(&chunk.to_vec()) {
            if let Some(parsed) = super::json::from_text(&data) {
                on_data(parsed);
            }
        }
    }
}

/// `target[method]()`.
fn call(target: &JsValue, method: &str) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &method.into())?.dyn_into()?;
    f.call0(target)
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.abort.abort();
    }
}
