//! The WABA and phone number objects as an onboarding stores them, whichever provider read
//! them: YCloud's camelCase shape, which Meta's snake_case objects also read into (aliases).
//! The store turns them into what the browser may know ([`wire::WabaSummary`],
//! [`wire::PhoneNumberSummary`]); the providers read and write them. Living below both keeps
//! the store from naming a provider.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

    /// What the browser may know of a stored phone number object (unreadable: empty).
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

impl Waba {
    /// What the browser may know of a stored WABA object (unreadable: empty).
    pub fn summary_of(raw: &Value) -> wire::WabaSummary {
        let w = Self::deserialize(raw).unwrap_or_default();
        wire::WabaSummary {
            name: w.name,
            account_review_status: w.account_review_status,
            payment_method_attached: w.payment_method_attached,
        }
    }
}
