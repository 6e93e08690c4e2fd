//! Server-sent events from the proxy, as an RAII guard: dropping it closes the stream.

use wasm_bindgen::prelude::*;
use web_sys::{Event, EventSource, MessageEvent};

/// An open `EventSource` delivering each parsed `data:` payload.
pub struct EventStream {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl EventStream {
    /// Opens `url`; `on_data` gets every `data:` payload parsed as `T` (others are dropped),
    /// `on_error` the first failure, after which the stream is closed (no silent reconnects).
    ///
    /// # Errors
    /// None when the browser refuses to open the stream (bad URL).
    pub fn open<T: serde::de::DeserializeOwned + 'static>(
        url: &str,
        mut on_data: impl FnMut(T) + 'static,
        on_error: impl FnOnce() + 'static,
    ) -> Option<EventStream> {
        let source = EventSource::new(url).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(parsed) = e
                .data()
                .as_string()
                .and_then(|s| super::json::from_text(&s))
            {
                on_data(parsed);
            }
        });
        let mut on_error = Some(on_error);
        let closing = source.clone();
        let on_err = Closure::<dyn FnMut(Event)>::new(move |_e: Event| {
            closing.close();
            if let Some(f) = on_error.take() {
                f();
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_err.as_ref().unchecked_ref()));
        Some(EventStream {
            source,
            _on_message: on_message,
            _on_error: on_err,
        })
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        self.source.close();
    }
}
