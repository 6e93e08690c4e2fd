//! The `message` listener that turns Meta's `postMessage` events into [`SessionInfo`].
//!
//! All decisions live in [`crate::protocol`]; this file only moves values across the JS
//! boundary: it reads `event.origin` and `event.data`, asks the policy and the parser, and
//! hands typed values to a Rust callback.

use std::fmt;

use js_sys::{JsString, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

use crate::protocol::{session_info, OriginPolicy, SessionInfo};

/// Why the listener could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerError {
    /// There is no `window` (e.g. inside a worker).
    NoWindow,
    /// `addEventListener` threw.
    AddFailed,
}

impl fmt::Display for ListenerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListenerError::NoWindow => "no window to listen on",
            ListenerError::AddFailed => "could not add the message listener",
        })
    }
}

impl std::error::Error for ListenerError {}

/// A `message` listener on `window` that delivers trusted session info; dropping it
/// removes the listener (like gloo's `EventListener`).
///
/// Messages from origins the policy refuses, and messages that are not session info, are
/// ignored silently: Facebook's SDK uses the same channel for its own traffic. A widget keeps
/// one for its whole life (popups come and go, the listener stays). The callback may drop its
/// own listener; nothing is delivered after.
#[must_use = "dropping the listener removes it at once"]
pub struct SessionInfoListener {
    window: web_sys::Window,
    closure: Closure<dyn FnMut(MessageEvent)>,
}

impl SessionInfoListener {
    /// Starts listening; `callback` gets each trusted session-info message, in order.
    ///
    /// # Errors
    /// [`ListenerError::NoWindow`] outside a window, [`ListenerError::AddFailed`] when the
    /// browser refuses the listener.
    pub fn new<F>(policy: OriginPolicy, mut callback: F) -> Result<Self, ListenerError>
    where
        F: FnMut(SessionInfo) + 'static,
    {
        let window = web_sys::window().ok_or(ListenerError::NoWindow)?;
        let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            // Origin first: data from an untrusted page is never even read.
            if !policy.allows(&event.origin()) {
                return;
            }
            if let Some(info) = read_data(&event.data()) {
                callback(info);
            }
        });
        window
            .add_event_listener_with_callback("message", closure.as_ref().unchecked_ref())
            .map_err(|_| ListenerError::AddFailed)?;
        Ok(Self { window, closure })
    }
}

impl Drop for SessionInfoListener {
    fn drop(&mut self) {
        // Removing can only fail for a listener that is not there; nothing to do then.
        let _ = self
            .window
            .remove_event_listener_with_callback("message", self.closure.as_ref().unchecked_ref());
    }
}

impl fmt::Debug for SessionInfoListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionInfoListener")
            .finish_non_exhaustive()
    }
}

/// Parses `event.data`: a string as it is, an object through `JSON.stringify`; the browser's
/// own `JSON.parse` reads the text, and the protocol reads the resulting [`crate::protocol::Json`].
fn read_data(data: &JsValue) -> Option<SessionInfo> {
    let text: JsString = if data.is_string() {
        data.clone().unchecked_into()
    } else if data.is_object() {
        // Throws on cycles and BigInts: such data is not session info.
        JSON::stringify(data).ok()?
    } else {
        return None;
    };
    // UTF-16 length never exceeds the UTF-8 length, so this refuses only what the parser
    // would refuse too, before copying it into wasm memory.
    if text.length() as usize > wire::MAX_BODY_BYTES {
        return None;
    }
    // Parsed again even for an object: a plain copy, with no getters or prototypes.
    let value = JSON::parse(&String::from(text)).ok()?;
    session_info(&super::json::to_json(&value))
}
