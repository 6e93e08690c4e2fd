//! Rust values to and from JavaScript's own JSON values: the browser parses and writes the
//! text (`JSON.parse`, `JSON.stringify`), so the bundle carries no JSON parser or formatter
//! of its own. Values go out through serde-wasm-bindgen; they come in as the protocol's
//! [`Json`] and are read by `protocol::json_de` (pure Rust, tested natively).

use js_sys::{Array, Object};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::{from_json, Json};

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
    from_json(&to_json(&value))
}

/// JSON text as the value `JSON.parse` makes of it.
pub fn parse(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// JSON text read as `T`.
pub fn from_text<T: DeserializeOwned>(text: &str) -> Option<T> {
    from_js(parse(text)?)
}

/// Deeper than this is in no message or answer the app reads (Meta's messages are three
/// levels deep, the proxy's answers five); it reads as `null` rather than recursing without
/// bound.
const MAX_DEPTH: u32 = 32;

/// A parsed JSON value (only what `JSON.parse` makes) as the protocol's [`Json`].
pub fn to_json(value: &JsValue) -> Json {
    json(value, 0)
}

fn json(value: &JsValue, depth: u32) -> Json {
    if depth > MAX_DEPTH {
        return Json::Null;
    }
    if let Some(s) = value.as_string() {
        Json::String(s)
    } else if let Some(b) = value.as_bool() {
        Json::Bool(b)
    } else if value.as_f64().is_some() {
        // As JavaScript writes it (`String(n)`): ids keep their digits.
        let number: &js_sys::Number = value.unchecked_ref();
        number
            .to_string_with_radix(10)
            .map_or(Json::Null, |text| Json::Number(text.into()))
    } else if Array::is_array(value) {
        let items: &Array = value.unchecked_ref();
        Json::Array(items.iter().map(|v| json(&v, depth + 1)).collect())
    } else if value.is_object() {
        let object: &Object = value.unchecked_ref();
        let members = Object::entries(object)
            .iter()
            .filter_map(|entry| {
                let entry: Array = entry.unchecked_into();
                Some((entry.get(0).as_string()?, json(&entry.get(1), depth + 1)))
            })
            .collect();
        Json::Object(members)
    } else {
        Json::Null
    }
}
