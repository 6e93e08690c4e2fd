//! Rust values to and from JavaScript's own JSON values: the browser parses and writes the
//! text (`JSON.parse`, `JSON.stringify`), and serde-wasm-bindgen moves the values across, so
//! the bundle carries no JSON parser or formatter of its own.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// `value` as the plain JavaScript value its JSON would parse to: structs and maps as
/// objects, `None` as `null`, numbers as numbers.
pub fn to_js(value: &(impl Serialize + ?Sized)) -> Option<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()
}

/// `value`'s JSON text (`JSON.stringify`).
pub fn to_text(value: &(impl Serialize + ?Sized)) -> Option<String> {
    js_sys::JSON::stringify(&to_js(value)?).ok()?.as_string()
}

/// A plain JavaScript value (what `JSON.parse` makes) read as `T`, with serde's checks.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    serde_wasm_bindgen::from_value(value).ok()
}

/// JSON text as the value `JSON.parse` makes of it.
pub fn parse(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// JSON text read as `T`.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Option<T> {
    from_js(parse(text)?)
}
