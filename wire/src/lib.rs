//! Wire types shared by the browser app and the proxy.
//!
//! Everything here is plain serde with no web or server dependencies, so it builds for
//! `wasm32-unknown-unknown` and natively. Ids are validated newtypes: once a value of one of
//! these types exists, it is known to be well formed, and inner code never checks it again.

use serde::{Deserialize, Serialize};

#[macro_use]
mod names;
mod codes;
mod console;
mod health;
mod ids;
mod meta;
mod partner;
mod prefill;
mod redirect;
mod sync;

pub use codes::ErrorCode;
pub use console::{
    ConsoleLogin, ConsoleSession, Funnel, FunnelCount, LastDelivery, Setup, SetupSetting,
    WebhookTest,
};
pub use health::{HealthChange, NumberHealth};
pub use ids::{
    AuthCode, BusinessId, CustomerName, CustomerRef, EventName, FlowErrorCode, FlowStep, IdError,
    MetaSessionId, PhoneNumberId, WabaId,
};
pub use meta::{Credentials, Pin, SetPin, StorageRegion};
pub use names::UnknownName;
pub use partner::{
    ClientToken, CountryCode, CreateSession, CreatedOnboarding, Delivery, DeliveryAttempt,
    DeliveryState, ErrorMessage, EventData, EventPage, EventType, Locale, Metadata, OnboardingPage,
    PartnerEvent, PartnerOnboarding, ReauthorizeTarget, ReportSignupEvent, Session, SessionInfo,
    SessionLifetime, SessionLookup, SessionPage, SessionToken, SignupEventKind, SignupOutcome,
    DEFAULT_PAGE, DEFAULT_SESSION_SECONDS, MAX_DELIVERY_HISTORY, MAX_ERROR_MESSAGE_CHARS,
    MAX_METADATA_BYTES, MAX_ONBOARDINGS_PER_SESSION, MAX_PAGE, MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
};
pub use prefill::{
    Prefill, PrefillAddress, PrefillBusiness, PrefillBusinessPhone, PrefillFields, PrefillPhone,
    MAX_PREFILL_DESCRIPTION_CHARS, MAX_PREFILL_TEXT_CHARS,
};
pub use redirect::{RedirectResult, RedirectStarted, StartRedirect, RESULT_FRAGMENT};
pub use sync::{CoexistenceSync, SyncPart, SyncState};

/// Longest id accepted anywhere (Meta's ids are 15–17 digits today).
pub const MAX_ID_DIGITS: usize = 32;
/// Longest `customer_ref` a partner may attach to an onboarding, in characters.
pub const MAX_CUSTOMER_REF_CHARS: usize = 128;
/// Largest request body the proxy accepts, and largest postMessage payload the app reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

names! {
    /// The two Embedded Signup flows.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum Mode {
        /// A new WhatsApp Cloud API account: bind the WABA, then register the number.
        Standard = "standard",
        /// Keep the WhatsApp Business App on the same number: smb/bind, no register.
        Coexistence = "coexistence",
    }
}

names! {
    /// The Embedded Signup version the launch button asks Meta for (`extras.version`).
    ///
    /// Only Meta's live versions: v2, v3 and their public previews stopped on 15 October 2026
    /// ([`RETIRED_ES_VERSIONS`]). The proxy reads it from `FB_ES_VERSION` and publishes it in
    /// `/api/config`; the app builds `FB.login`'s options from it.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Default)]
    pub enum EsVersion {
        /// `v4`: products come from the login configuration; no `features` in `extras`.
        #[default]
        V4 = "v4",
        /// `v4-public-preview`: v4 with Meta's phone-number-first screens.
        V4PublicPreview = "v4-public-preview",
    }
}

/// Embedded Signup versions Meta retired: a configuration naming one is refused, because
/// Meta sends their launches (coexistence ones too) through the standard flow since then.
pub const RETIRED_ES_VERSIONS: [&str; 4] = ["v2", "v2-public-preview", "v3", "v3-public-preview"];
/// The day Meta stopped [`RETIRED_ES_VERSIONS`].
pub const ES_RETIRED_ON: &str = "2026-10-15";

names! {
    /// Where an onboarding stands (the states: docs/API.md, "The onboarding"). Every one is
    /// stored by the proxy; `received` and `verifying`, named in early descriptions of the
    /// API, are reserved and never sent (an onboarding is stored in `binding`, after the
    /// ownership check).
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum OnboardingState {
        /// Binding the WABA at YCloud (tp/bind or smb/bind).
        Binding = "binding",
        /// Registering the phone number for Cloud API.
        Registering = "registering",
        /// Bound and registered; waiting for the number to turn `CONNECTED`.
        Pending = "pending",
        /// The number is connected: done.
        Connected = "connected",
        /// A person must act (e.g. no payment method attached: contact YCloud).
        ActionRequired = "action_required",
        /// A step failed; `error` says which and whether a retry may help.
        Failed = "failed",
        /// The number was deregistered from Cloud API through the partner API.
        Deregistered = "deregistered",
        /// The customer removed the partner from the WABA, or the account was deleted: the
        /// partner can no longer reach it (`error` says which).
        Disconnected = "disconnected",
    }
}

impl OnboardingState {
    /// True when no further change will come without a person acting (ends an event stream).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OnboardingState::Connected
                | OnboardingState::Failed
                | OnboardingState::ActionRequired
                | OnboardingState::Deregistered
                | OnboardingState::Disconnected
        )
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
    /// The partner's own reference for this customer. With a session it may be left out
    /// (the session's is used); when given it must equal the session's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<CustomerRef>,
    /// The onboarding session's token, from the partner's backend through the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionToken>,
}

/// What went wrong in an onboarding step, as stored and returned.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingError {
    /// Stable snake_case code, e.g. `payment_method_missing`.
    pub code: ErrorCode,
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
    /// `phone_number_ambiguous`: the WABA's numbers the customer may have meant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<NumberCandidate>,
}

/// One of a WABA's numbers, offered when a finish did not say which one it was about.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberCandidate {
    /// Meta's phone number id.
    pub id: PhoneNumberId,
    /// The number as people write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// Whether Meta reports it on the WhatsApp Business app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_on_biz_app: Option<bool>,
}

names! {
    /// A step of the pipeline, as recorded by the proxy.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum StepName {
        /// Standard mode: bind the WABA at YCloud (`tp/bind`).
        Bind = "bind",
        /// Standard mode: check that YCloud attached its payment method.
        CheckPayment = "check_payment",
        /// Standard mode: register the phone number for Cloud API.
        Register = "register",
        /// Coexistence: bind the WhatsApp Business App number (`smb/bind`).
        SmbBind = "smb_bind",
        /// Meta's Cloud API: subscribe the partner's app to the WABA (`subscribed_apps`).
        SubscribeApp = "subscribe_app",
        /// Meta's Cloud API, coexistence: ask for the contacts sync (`smb_app_state_sync`).
        SyncContacts = "sync_contacts",
        /// Meta's Cloud API, coexistence: ask for the chat history sync (`history`).
        SyncHistory = "sync_history",
        /// Meta's Cloud API: the number deregistered through the partner API.
        Deregister = "deregister",
        /// Waiting for Meta to approve the number's display name before registering it
        /// (registering earlier fails with 100/2388001); `started` while it waits.
        AwaitingDisplayName = "awaiting_display_name",
    }
    /// A step this build does not know (from a newer proxy).
    other Unknown = "unknown"
}

names! {
    /// How far a step got.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum StepState {
        /// Recorded before its upstream call; not answered yet.
        Started = "started",
        /// Answered successfully.
        Done = "done",
        /// Answered with a failure (see the step's `error`).
        Failed = "failed",
    }
}

/// One step of an onboarding, as the proxy recorded it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingStep {
    /// Which step.
    pub name: StepName,
    /// How far it got.
    pub state: StepState,
    /// When it (last) started, RFC 3339.
    pub started_at: String,
    /// When it was answered, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OnboardingError>,
}

/// What the browser may know of the WhatsApp Business Account (YCloud's full object stays
/// behind the proxy).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WabaSummary {
    /// The account's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Meta's review of the account, e.g. `APPROVED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_review_status: Option<String>,
    /// Whether YCloud attached its payment method (`false`: contact YCloud).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_attached: Option<bool>,
}

/// What the browser may know of the phone number: what people know it by.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumberSummary {
    /// The number as people write it, e.g. `+1 555-000-1234`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// The business name WhatsApp shows with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<String>,
    /// WhatsApp's status of the number, e.g. `PENDING` or `CONNECTED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Its quality rating, e.g. `GREEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_rating: Option<String>,
}

/// An onboarding record as the API returns it (docs/API.md, "The onboarding").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onboarding {
    /// The proxy's id for this onboarding (a UUID).
    pub id: String,
    /// The flow, as Meta reported it (the finish event, and the number on the WhatsApp
    /// Business app or not): what the onboarding ran.
    pub mode: Mode,
    /// The flow the customer's button launched; differs from `mode` when the customer
    /// finished on another path (absent from older proxies: the same as `mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched_mode: Option<Mode>,
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
    /// The steps run so far, in order, as the proxy recorded them.
    #[serde(default)]
    pub steps: Vec<OnboardingStep>,
    /// The WABA, once bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba: Option<WabaSummary>,
    /// The phone number, once registered or smb-bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<PhoneNumberSummary>,
    /// The last failure, when `state` is `failed` or `action_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OnboardingError>,
    /// The onboarding of the same WABA and number this one starts over from (it ended
    /// `failed` or `deregistered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_onboarding_id: Option<String>,
    /// When the number's first inbound message arrived (RFC 3339): proof that it receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_verified_at: Option<String>,
    /// Coexistence (Meta's provider): where the sync of the app's contacts and chat history
    /// stands, once it was asked for (or why it was not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<CoexistenceSync>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `GET /healthz`: `{"status":"ok","mode":"live"|"sandbox"}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the proxy answers.
    pub status: String,
    /// Whether onboardings are real (`live`) or simulated (`sandbox`).
    pub mode: ProxyMode,
    /// Who registers the numbers: `ycloud` or `meta` (`WHATSAPP_PROVIDER`).
    pub provider: String,
    /// The proxy's version (as `wa-signup-proxy --version` prints it).
    pub version: String,
}

/// Which YCloud the proxy talks to: the real one, or the in-process sandbox.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyMode {
    /// YCloud's API with a real key: onboardings bind and register for real.
    Live,
    /// `SANDBOX=true` or `--sandbox`: everything is simulated, nothing is real.
    Sandbox,
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
    /// True when onboardings need a session from the partner (live mode, unless
    /// `ALLOW_ANONYMOUS_ONBOARDINGS=true`); absent from older proxies: false.
    #[serde(default)]
    pub sessions_required: bool,
    /// True when the proxy offers the full-page sign-in (`POST /api/oauth/start`) for
    /// browsers where the popup cannot open; absent from older proxies: false.
    #[serde(default)]
    pub redirect_flow: bool,
    /// The partner's name shown to customers (`PARTNER_NAME`); none: sentences name no
    /// partner.
    #[serde(default)]
    pub partner_name: Option<String>,
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
    pub code: ErrorCode,
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
        for bad in [
            "",
            "v5",
            "V4",
            "4",
            "v4 ",
            "v3-public-preview",
            "v1",
            "v3",
            "v2",
        ] {
            assert!(bad.parse::<EsVersion>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip_through_their_wire_spelling() {
        for state in OnboardingState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(state.as_str().parse(), Ok(state));
        }
        for mode in Mode::ALL {
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{mode}\""));
            assert_eq!(mode.as_str().parse(), Ok(mode));
        }
        for step in StepName::ALL {
            assert_eq!(
                serde_json::to_string(&step).unwrap(),
                format!("\"{}\"", step.as_str())
            );
            assert_eq!(step.as_str().parse(), Ok(step));
        }
        for state in StepState::ALL {
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{}\"", state.as_str())
            );
            assert_eq!(state.as_str().parse(), Ok(state));
        }
        assert!("premium".parse::<Mode>().is_err());
        assert!("Connected".parse::<OnboardingState>().is_err());
        assert!("unknown".parse::<StepName>().is_err());
        assert_eq!(
            "v5".parse::<EsVersion>().unwrap_err().to_string(),
            "expected v4 or v4-public-preview"
        );
        // A step from a newer proxy does not make the onboarding unreadable.
        assert_eq!(
            serde_json::from_str::<StepName>("\"verify_pin\"").unwrap(),
            StepName::Unknown
        );
    }
}
