//! The YCloud objects and error bodies the proxy reads, each field optional: YCloud may
//! answer a thinner object than documented, and unknown fields are kept in `raw`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A typed view of a YCloud object plus the object itself, as returned to the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T> {
    /// The fields the proxy reads.
    pub typed: T,
    /// The whole JSON object, unknown fields included.
    pub raw: Value,
}

/// The WABA fields the proxy reads (`WhatsappBusinessAccount` in YCloud's spec).
/// Every field is optional: the proxy must not fail on a thinner object than documented.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waba {
    /// WABA id.
    pub id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// e.g. `APPROVED`.
    pub account_review_status: Option<String>,
    /// False: YCloud could not attach its credit line; the partner must contact YCloud.
    pub payment_method_attached: Option<bool>,
    /// Billing currency.
    pub currency: Option<String>,
    /// Meta timezone id.
    pub timezone_id: Option<String>,
}

/// The phone number fields the proxy reads (`WhatsappPhoneNumber` in YCloud's spec). Meta's
/// own phone number object (snake_case, `WHATSAPP_PROVIDER=meta`) reads the same way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    /// Phone number id.
    pub id: Option<String>,
    /// E.164, e.g. `+16315551111`; needed to retrieve the number later.
    pub phone_number: Option<String>,
    /// e.g. `+1 631-555-1111`.
    #[serde(alias = "display_phone_number")]
    pub display_phone_number: Option<String>,
    /// The WABA it belongs to.
    #[serde(alias = "waba_id")]
    pub waba_id: Option<String>,
    /// The verified display name.
    #[serde(alias = "verified_name")]
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, ...
    #[serde(alias = "quality_rating")]
    pub quality_rating: Option<String>,
    /// e.g. `TIER_250`.
    #[serde(alias = "messaging_limit")]
    pub messaging_limit: Option<String>,
    /// `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    #[serde(alias = "code_verification_status")]
    pub code_verification_status: Option<String>,
    /// Display name review status.
    #[serde(alias = "name_status")]
    pub name_status: Option<String>,
    /// `PENDING` → `CONNECTED`, or one of the other statuses.
    pub status: Option<String>,
}

impl PhoneNumber {
    /// True when the number can send messages.
    pub fn is_connected(&self) -> bool {
        self.status.as_deref() == Some("CONNECTED")
    }

    /// What the browser may know of a stored YCloud phone number object (unreadable: empty).
    pub fn summary_of(raw: &Value) -> wire::PhoneNumberSummary {
        let n = Self::deserialize(raw).unwrap_or_default();
        wire::PhoneNumberSummary {
            display_phone_number: n.display_phone_number,
            verified_name: n.verified_name,
            status: n.status,
            quality_rating: n.quality_rating,
        }
    }
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

impl Waba {
    /// What the browser may know of a stored YCloud WABA object (unreadable: empty).
    pub fn summary_of(raw: &Value) -> wire::WabaSummary {
        let w = Self::deserialize(raw).unwrap_or_default();
        wire::WabaSummary {
            name: w.name,
            account_review_status: w.account_review_status,
            payment_method_attached: w.payment_method_attached,
        }
    }
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
