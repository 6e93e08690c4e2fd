//! Wire types shared by the browser app and the proxy.
//!
//! Everything here is plain serde with no web or server dependencies, so it builds for
//! `wasm32-unknown-unknown` and natively. Ids are validated newtypes: once a value of one of
//! these types exists, it is known to be well formed, and inner code never checks it again.

use std::fmt;

use serde::{Deserialize, Serialize};

mod ids;

pub use ids::{AuthCode, BusinessId, CustomerRef, EventName, IdError, PhoneNumberId, WabaId};

/// Longest id accepted anywhere (Meta's ids are 15–17 digits today).
pub const MAX_ID_DIGITS: usize = 32;
/// Longest `customer_ref` a partner may attach to an onboarding, in characters.
pub const MAX_CUSTOMER_REF_CHARS: usize = 128;
/// Largest request body the proxy accepts, and largest postMessage payload the app reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The two Embedded Signup flows.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A new WhatsApp Cloud API account: bind the WABA, then register the number.
    Standard,
    /// Keep the WhatsApp Business App on the same number: smb/bind, no register.
    Coexistence,
}

impl Mode {
    /// Every mode, in the order the app shows them.
    pub const ALL: [Mode; 2] = [Mode::Standard, Mode::Coexistence];

    /// The wire spelling (`standard` / `coexistence`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Standard => "standard",
            Mode::Coexistence => "coexistence",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Embedded Signup version the launch button asks Meta for (`extras.version`).
///
/// Meta retired v2 (no `version` key: the shape of YCloud's original samples) on 15 October
/// 2026; v4 is current. The proxy reads it from `FB_ES_VERSION` and publishes it in
/// `/api/config`; the app builds `FB.login`'s options from it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EsVersion {
    /// `v4`: products come from the login configuration; no `features` in `extras`.
    #[default]
    #[serde(rename = "v4")]
    V4,
    /// `v4-public-preview`: v4 with Meta's phone-number-first screens.
    #[serde(rename = "v4-public-preview")]
    V4PublicPreview,
    /// `v3`: `version: "v3"`, `features` still allowed in `extras`.
    #[serde(rename = "v3")]
    V3,
    /// `v2`: exactly YCloud's original samples, no `version` key (retired by Meta).
    #[serde(rename = "v2")]
    V2,
}

impl EsVersion {
    /// Every version, newest first.
    pub const ALL: [EsVersion; 4] = [
        EsVersion::V4,
        EsVersion::V4PublicPreview,
        EsVersion::V3,
        EsVersion::V2,
    ];

    /// Meta's spelling, as in `extras.version` and `FB_ES_VERSION`.
    pub fn as_str(self) -> &'static str {
        match self {
            EsVersion::V4 => "v4",
            EsVersion::V4PublicPreview => "v4-public-preview",
            EsVersion::V3 => "v3",
            EsVersion::V2 => "v2",
        }
    }
}

impl fmt::Display for EsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Embedded Signup version that is not one of [`EsVersion::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEsVersion;

impl fmt::Display for UnknownEsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected v4, v4-public-preview, v3 or v2")
    }
}

impl std::error::Error for UnknownEsVersion {}

impl std::str::FromStr for EsVersion {
    type Err = UnknownEsVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EsVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(UnknownEsVersion)
    }
}

/// Where an onboarding stands (the states: docs/API.md, "The onboarding").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingState {
    /// Stored; nothing called yet.
    Received,
    /// Checking the browser's code against the Graph API (ownership of the WABA).
    Verifying,
    /// Binding the WABA at YCloud (tp/bind or smb/bind).
    Binding,
    /// Registering the phone number for Cloud API.
    Registering,
    /// Bound and registered; waiting for the number to turn `CONNECTED`.
    Pending,
    /// The number is connected: done.
    Connected,
    /// A person must act (e.g. no payment method attached: contact YCloud).
    ActionRequired,
    /// A step failed; `error` says which and whether a retry may help.
    Failed,
}

impl OnboardingState {
    /// The wire spelling, e.g. `action_required`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnboardingState::Received => "received",
            OnboardingState::Verifying => "verifying",
            OnboardingState::Binding => "binding",
            OnboardingState::Registering => "registering",
            OnboardingState::Pending => "pending",
            OnboardingState::Connected => "connected",
            OnboardingState::ActionRequired => "action_required",
            OnboardingState::Failed => "failed",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => OnboardingState::Received,
            "verifying" => OnboardingState::Verifying,
            "binding" => OnboardingState::Binding,
            "registering" => OnboardingState::Registering,
            "pending" => OnboardingState::Pending,
            "connected" => OnboardingState::Connected,
            "action_required" => OnboardingState::ActionRequired,
            "failed" => OnboardingState::Failed,
            _ => return None,
        })
    }

    /// True when no further change will come without a person acting (ends an event stream).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OnboardingState::Connected | OnboardingState::Failed | OnboardingState::ActionRequired
        )
    }
}

impl fmt::Display for OnboardingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Body of `POST /api/onboardings`: the ids the browser received from Meta's popup.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOnboarding {
    /// Which flow the customer went through.
    pub mode: Mode,
    /// The WhatsApp Business Account id (always present in a finish).
    pub waba_id: WabaId,
    /// The phone number id, when the customer added a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<PhoneNumberId>,
    /// The customer's Meta business portfolio id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<BusinessId>,
    /// The `FB.login` authorization code (short-lived; used for ownership verification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<AuthCode>,
    /// The session-info event that finished the popup, e.g. `FINISH_ONLY_WABA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventName>,
    /// The partner's own reference for this customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<CustomerRef>,
}

/// What went wrong in an onboarding step, as stored and returned.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingError {
    /// Stable snake_case code, e.g. `payment_method_missing`.
    pub code: String,
    /// One human sentence.
    pub message: String,
    /// Whether `POST /api/onboardings/{id}/retry` may help.
    pub retryable: bool,
    /// YCloud's request id, to quote to YCloud support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_request_id: Option<String>,
    /// When a refused step may be tried again (RFC 3339), e.g. after the register budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
}

/// An onboarding record as the API returns it (docs/API.md, "The onboarding").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onboarding {
    /// The proxy's id for this onboarding (a UUID).
    pub id: String,
    /// The flow.
    pub mode: Mode,
    /// The WABA being onboarded.
    pub waba_id: WabaId,
    /// The number being registered, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<PhoneNumberId>,
    /// The business portfolio, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<BusinessId>,
    /// The partner's reference, as posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<CustomerRef>,
    /// Where it stands.
    pub state: OnboardingState,
    /// YCloud's WABA object, once bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub waba: Option<serde_json::Value>,
    /// YCloud's phone number object, once registered or smb-bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub phone_number: Option<serde_json::Value>,
    /// The last failure, when `state` is `failed` or `action_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OnboardingError>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `GET /api/config`: the public settings the browser needs (never a secret).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicConfig {
    /// Meta app id for `FB.init`.
    pub app_id: String,
    /// Embedded Signup configuration id for `FB.login`.
    pub config_id: String,
    /// YCloud's solution id (`extras.setup.solutionID`).
    pub solution_id: String,
    /// Graph API version, e.g. `v26.0`.
    pub graph_version: String,
    /// Embedded Signup version the launch button asks for (absent from older proxies: v4).
    #[serde(default)]
    pub es_version: EsVersion,
    /// Where to load the Facebook SDK from.
    pub sdk_url: String,
    /// True when the proxy runs with a fake YCloud and the local SDK stand-in.
    pub sandbox: bool,
    /// True when the proxy verifies WABA ownership through the code exchange.
    pub verification: bool,
}

/// The project's error body: `{"error": {...}}` on every 4xx/5xx.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ApiError,
}

/// One error, as every rejection and failure is answered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable snake_case code, e.g. `invalid_body`.
    pub code: String,
    /// One human sentence.
    pub message: String,
    /// Whether sending the same request later may succeed.
    pub retryable: bool,
    /// When it may be tried again (RFC 3339), for budget refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_onboarding_parses_the_documented_shape() {
        let body = r#"{"mode":"standard","waba_id":"104996122399160",
            "phone_number_id":"106540352242922","business_id":"2729063490586005",
            "code":"AQB_x-1","event":"FINISH","customer_ref":"cust-42"}"#;
        let req: CreateOnboarding = serde_json::from_str(body).unwrap();
        assert_eq!(req.mode, Mode::Standard);
        assert_eq!(req.waba_id.as_str(), "104996122399160");
        assert_eq!(req.phone_number_id.unwrap().as_str(), "106540352242922");
        assert_eq!(req.customer_ref.unwrap().as_str(), "cust-42");
    }

    #[test]
    fn create_onboarding_rejects_bad_ids_modes_and_unknown_fields() {
        for body in [
            r#"{"mode":"standard","waba_id":"12a"}"#,
            r#"{"mode":"standard","waba_id":123}"#,
            r#"{"mode":"premium","waba_id":"123"}"#,
            r#"{"mode":"standard"}"#,
            r#"{"mode":"standard","waba_id":"123","phone_number_id":""}"#,
            r#"{"mode":"standard","waba_id":"123","wabaId":"123"}"#,
            r#"{"mode":"standard","waba_id":"123456789012345678901234567890123"}"#,
        ] {
            assert!(
                serde_json::from_str::<CreateOnboarding>(body).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn es_versions_round_trip_and_unknown_ones_are_refused() {
        for v in EsVersion::ALL {
            assert_eq!(v.as_str().parse::<EsVersion>(), Ok(v));
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{v}\""));
            assert_eq!(
                serde_json::from_str::<EsVersion>(&format!("\"{v}\"")).unwrap(),
                v
            );
        }
        assert_eq!(EsVersion::default(), EsVersion::V4);
        for bad in ["", "v5", "V4", "4", "v4 ", "v3-public-preview", "v1"] {
            assert_eq!(bad.parse::<EsVersion>(), Err(UnknownEsVersion), "{bad:?}");
        }
    }

    #[test]
    fn states_round_trip_through_their_wire_spelling() {
        for state in [
            OnboardingState::Received,
            OnboardingState::Verifying,
            OnboardingState::Binding,
            OnboardingState::Registering,
            OnboardingState::Pending,
            OnboardingState::Connected,
            OnboardingState::ActionRequired,
            OnboardingState::Failed,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(OnboardingState::parse(state.as_str()), Some(state));
        }
    }
}
