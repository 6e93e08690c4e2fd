//! Onboarding sessions, the partner API and the partner's webhook events (docs/API.md,
//! "Partner API" and "Webhooks to the partner").
//!
//! A partner's backend creates a session per customer; the browser carries only its opaque
//! token, and the proxy takes who the customer is from the session, never from the page.
//!
//! This file holds what ties an onboarding to the partner; `session` the sessions and their
//! tokens, `events` the partner's events and the popup outcomes the widget reports.

mod events;
mod session;

use serde::{Deserialize, Serialize};

use crate::ids::IdError;
use crate::{HealthChange, NumberHealth, Onboarding};

pub use events::{
    Delivery, DeliveryAttempt, DeliveryState, ErrorMessage, EventData, EventPage, EventType,
    PartnerEvent, ReportSignupEvent, SignupEventKind, SignupOutcome, MAX_DELIVERY_HISTORY,
    MAX_ERROR_MESSAGE_CHARS,
};
pub use session::{
    CountryCode, CreateSession, Metadata, ReauthorizeTarget, Session, SessionInfo, SessionLifetime,
    SessionLookup, SessionPage, SessionToken, DEFAULT_SESSION_SECONDS, MAX_METADATA_BYTES,
    MAX_ONBOARDINGS_PER_SESSION, MAX_SESSION_SECONDS, MIN_SESSION_SECONDS,
};

/// Largest page of the partner API's lists.
pub const MAX_PAGE: u32 = 100;
/// A list's page size when `limit` is not given.
pub const DEFAULT_PAGE: u32 = 50;

names! {
    /// A language the widget speaks, in its BCP 47 spelling.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum Locale {
        /// English.
        En = "en",
        /// Simplified Chinese.
        ZhHans = "zh-Hans",
        /// Traditional Chinese.
        ZhHant = "zh-Hant",
        /// Vietnamese.
        Vi = "vi",
    }
}

/// What `POST /api/onboardings` hands the browser with an onboarding: the bearer token of
/// that onboarding's browser routes (read, follow, retry, PIN). Shown once; the proxy keeps
/// only its hash. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct ClientToken(String);

impl ClientToken {
    /// The same shape as a [`SessionToken`] (1–128 characters of `A–Z a–z 0–9 _ -`).
    ///
    /// # Errors
    /// [`IdError`] otherwise.
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        SessionToken::parse(s).map(|t| Self(t.into()))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientToken([redacted])")
    }
}

impl TryFrom<String> for ClientToken {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<ClientToken> for String {
    fn from(t: ClientToken) -> String {
        t.0
    }
}

/// The answer of `POST /api/onboardings` (and of `POST /api/oauth/result`): the onboarding
/// and its [`ClientToken`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedOnboarding {
    /// The onboarding.
    #[serde(flatten)]
    pub onboarding: crate::Onboarding,
    /// `Authorization: Bearer` of this onboarding's browser routes; shown this once.
    pub client_token: ClientToken,
}

/// An onboarding as the partner API and the partner's webhooks show it: the browser's view
/// plus what ties it to the partner's customer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerOnboarding {
    /// The onboarding, as `GET /api/onboardings/{id}` shows it.
    #[serde(flatten)]
    pub onboarding: Onboarding,
    /// The session that created it; none for an anonymous onboarding.
    pub session_id: Option<String>,
    /// The session's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// True when `customer_ref` came from a session the partner created; false when the
    /// browser supplied it (anonymous onboardings).
    pub customer_ref_verified: bool,
    /// The number's health as last read (connected numbers, every `HEALTH_POLL_SECS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<NumberHealth>,
    /// In a `number.health_changed` event only: the field that changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<HealthChange>,
}

/// A page of onboardings, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnboardingPage {
    /// The onboardings.
    pub data: Vec<PartnerOnboarding>,
    /// Pass as `cursor` for the next page; none on the last.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    #[test]
    fn a_session_request_parses_and_defaults() {
        let req: CreateSession = serde_json::from_str(r#"{"customer_ref":"cust-1"}"#).unwrap();
        assert_eq!(req.expires_in.seconds(), DEFAULT_SESSION_SECONDS);
        assert_eq!(req.modes, None);
        let req: CreateSession = serde_json::from_str(
            r#"{"customer_ref":"c","modes":["coexistence"],"expires_in":60,"metadata":{"plan":"pro"},
                "locale":"zh-Hant","data_localization_region":"DE"}"#,
        )
        .unwrap();
        assert_eq!(req.modes, Some(vec![Mode::Coexistence]));
        assert_eq!(req.locale, Some(Locale::ZhHant));
        assert_eq!(req.data_localization_region.unwrap().as_str(), "DE");
    }

    #[test]
    fn bad_session_requests_are_refused() {
        let big = format!(
            r#"{{"customer_ref":"c","metadata":{{"x":"{}"}}}}"#,
            "a".repeat(4100)
        );
        for body in [
            r#"{}"#,
            r#"{"customer_ref":""}"#,
            r#"{"customer_ref":"c","expires_in":59}"#,
            r#"{"customer_ref":"c","expires_in":2592001}"#,
            r#"{"customer_ref":"c","expires_in":-1}"#,
            r#"{"customer_ref":"c","expires_in":"60"}"#,
            r#"{"customer_ref":"c","modes":["premium"]}"#,
            r#"{"customer_ref":"c","metadata":[1]}"#,
            r#"{"customer_ref":"c","locale":"fr"}"#,
            r#"{"customer_ref":"c","data_localization_region":"de"}"#,
            r#"{"customer_ref":"c","data_localization_region":"DEU"}"#,
            r#"{"customer_ref":"c","data_localization_region":"FR"}"#,
            r#"{"customer_ref":"c","extra":1}"#,
            big.as_str(),
        ] {
            assert!(
                serde_json::from_str::<CreateSession>(body).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn tokens_are_url_safe_and_never_shown_by_debug() {
        let t = SessionToken::parse("ses_AbC-09_xyz").unwrap();
        assert_eq!(format!("{t:?}"), "SessionToken([redacted])");
        for bad in ["", "a b", "a/b", "a+b", "é", &"a".repeat(129)] {
            assert!(SessionToken::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn each_final_state_has_its_event_and_moving_states_none() {
        use crate::OnboardingState as S;
        for state in S::ALL {
            let event = EventType::entering(state);
            assert_eq!(
                event.is_some(),
                state.is_final() || state == S::Pending,
                "{state}"
            );
            if let Some(e) = event {
                assert_eq!(e.as_str(), format!("onboarding.{state}"));
            }
        }
    }

    #[test]
    fn a_partner_onboarding_flattens_the_onboarding() {
        let o: Onboarding = serde_json::from_str(
            r#"{"id":"x","mode":"standard","waba_id":"1","state":"connected",
                "created_at":"t","updated_at":"t"}"#,
        )
        .unwrap();
        let p = PartnerOnboarding {
            onboarding: o,
            session_id: None,
            metadata: None,
            customer_ref_verified: false,
            health: None,
            change: None,
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["state"], "connected");
        assert_eq!(v["session_id"], serde_json::Value::Null);
        assert_eq!(v["customer_ref_verified"], false);
        assert_eq!(serde_json::from_value::<PartnerOnboarding>(v).unwrap(), p);
    }
}
