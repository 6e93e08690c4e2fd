//! The YCloud objects and error bodies the proxy reads, each field optional: YCloud may
//! answer a thinner object than documented, and unknown fields are kept in `raw`. The WABA and
//! number objects are the kit's stored shape too, so they live in [`crate::objects`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::objects::{PhoneNumber, Waba};

/// A typed view of a YCloud object plus the object itself, as returned to the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T> {
    /// The fields the proxy reads.
    pub typed: T,
    /// The whole JSON object, unknown fields included.
    pub raw: Value,
}

/// Whether a YCloud number's display name lets it be registered: `nameStatus` (or, for an
/// object that carries only the newer field, `newNameStatus`) `APPROVED` or
/// `AVAILABLE_WITHOUT_REVIEW`; `None` when the object says neither.
pub fn name_ready(raw: &Value) -> Option<bool> {
    let status = ["nameStatus", "newNameStatus"]
        .iter()
        .find_map(|k| raw.get(*k).and_then(Value::as_str))?;
    Some(matches!(status, "APPROVED" | "AVAILABLE_WITHOUT_REVIEW"))
}

/// A page of YCloud's numbers (`WhatsappPhoneNumberPage`): each object as answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumberPage {
    /// The numbers.
    #[serde(default)]
    pub items: Vec<Value>,
}

/// YCloud's error body: `{"error": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorDetail,
}

/// YCloud's `Error` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// HTTP status, repeated.
    pub status: Option<i64>,
    /// e.g. `NOT_FOUND`.
    pub code: Option<String>,
    /// For developers.
    pub message: Option<String>,
    /// What the error is about.
    pub target: Option<String>,
    /// More information.
    pub doc_url: Option<String>,
    /// Mirrors the `YCloud-Request-ID` header.
    pub request_id: Option<String>,
    /// Meta's original error, when the call went through to Meta.
    pub whatsapp_api_error: Option<WhatsappApiError>,
}

/// Meta's original error object as YCloud relays it. Codes are strings in YCloud's spec
/// and numbers in Meta's answers: both are accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhatsappApiError {
    /// Meta's message.
    pub message: Option<String>,
    /// e.g. `133016` (register limit) or `1005`.
    pub code: Option<Value>,
    /// e.g. `OAuthException`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Sub-code.
    pub error_subcode: Option<Value>,
    /// Message for the user.
    pub error_user_msg: Option<String>,
    /// Title for the user.
    pub error_user_title: Option<String>,
    /// Meta's trace id.
    pub fbtrace_id: Option<String>,
    /// A string or a map with `details`.
    pub error_data: Option<Value>,
}
