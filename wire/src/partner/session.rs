//! Onboarding sessions: what a partner's backend creates per customer, the token the
//! browser carries for it, and what the page may learn of it.

use serde::{Deserialize, Serialize};

use super::Locale;
use crate::ids::{CustomerName, CustomerRef, IdError};
use crate::{Mode, PhoneNumberId, Prefill, StorageRegion, WabaId};

/// Shortest `expires_in` a session may ask for, in seconds.
pub const MIN_SESSION_SECONDS: u32 = 60;
/// Longest `expires_in` a session may ask for, in seconds (30 days).
pub const MAX_SESSION_SECONDS: u32 = 2_592_000;
/// `expires_in` when none is given, in seconds (one day).
pub const DEFAULT_SESSION_SECONDS: u32 = 86_400;
/// Onboardings one session may create.
pub const MAX_ONBOARDINGS_PER_SESSION: i64 = 5;
/// Largest `metadata` a session may carry, serialized, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;

/// An onboarding session's token: what the browser carries instead of who the customer is.
/// Opaque, URL-safe; its `Debug` is redacted (it works like a password until it expires).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct SessionToken(String);

impl SessionToken {
    /// Longest token accepted (the proxy issues 47 characters).
    pub const MAX_CHARS: usize = 128;

    /// Validates the shape (1–128 characters of `A–Z a–z 0–9 _ -`); whether it names a live
    /// session is the proxy's question.
    ///
    /// # Errors
    /// [`IdError`] when empty, too long or holding another character.
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > Self::MAX_CHARS {
            return Err(IdError::TooLong(Self::MAX_CHARS));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(IdError::BadCharacter);
        }
        Ok(Self(s))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

impl TryFrom<String> for SessionToken {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<SessionToken> for String {
    fn from(t: SessionToken) -> String {
        t.0
    }
}

/// An ISO 3166-1 alpha-2 country code (`DE`, `IN`...), as Meta names local-storage regions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    /// Two upper-case ASCII letters.
    ///
    /// # Errors
    /// [`IdError`] otherwise.
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        match s.len() {
            0 => Err(IdError::Empty),
            2 if s.bytes().all(|b| b.is_ascii_uppercase()) => Ok(Self(s)),
            n if n > 2 => Err(IdError::TooLong(2)),
            _ => Err(IdError::BadCharacter),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.0
    }
}

/// A session's lifetime in seconds, within [`MIN_SESSION_SECONDS`]..=[`MAX_SESSION_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "i64", into = "u32")]
pub struct SessionLifetime(u32);

impl SessionLifetime {
    /// The seconds.
    pub fn seconds(self) -> u32 {
        self.0
    }
}

impl Default for SessionLifetime {
    fn default() -> Self {
        Self(DEFAULT_SESSION_SECONDS)
    }
}

impl TryFrom<i64> for SessionLifetime {
    type Error = String;
    fn try_from(n: i64) -> Result<Self, String> {
        match u32::try_from(n) {
            Ok(s) if (MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&s) => Ok(Self(s)),
            _ => Err(format!(
                "expires_in must be between {MIN_SESSION_SECONDS} and {MAX_SESSION_SECONDS} seconds"
            )),
        }
    }
}

impl From<SessionLifetime> for u32 {
    fn from(l: SessionLifetime) -> u32 {
        l.0
    }
}

/// A session's `metadata`: a JSON object of at most [`MAX_METADATA_BYTES`], kept as sent and
/// handed back in the partner API and webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "serde_json::Map<String, serde_json::Value>",
    into = "serde_json::Value"
)]
pub struct Metadata(serde_json::Map<String, serde_json::Value>);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Metadata {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some(
                "The partner's own data: a JSON object of at most 4 KiB",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Metadata {}

impl Metadata {
    /// The object.
    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for Metadata {
    type Error = String;
    fn try_from(map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let size = serde_json::to_string(&map).map_or(usize::MAX, |s| s.len());
        if size > MAX_METADATA_BYTES {
            return Err(format!(
                "metadata is {size} bytes serialized; at most {MAX_METADATA_BYTES} are kept"
            ));
        }
        Ok(Self(map))
    }
}

impl From<Metadata> for serde_json::Value {
    fn from(m: Metadata) -> serde_json::Value {
        serde_json::Value::Object(m.0)
    }
}

/// Body of `POST /api/partner/sessions`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The partner's reference for the customer; every onboarding of the session carries it.
    pub customer_ref: CustomerRef,
    /// The flows the customer may use (default: both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<Vec<Mode>>,
    /// Seconds until the token stops working (60–2592000, default 86400).
    #[serde(default)]
    pub expires_in: SessionLifetime,
    /// The partner's own data, handed back with each onboarding and event (≤ 4 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The language the page opens in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// Where Meta stores the number's messages at rest (Cloud API local storage): one of
    /// Meta's regions ([`StorageRegion`]); standard mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_localization_region: Option<StorageRegion>,
    /// What Embedded Signup's screens open filled in with (Meta's pre-filled data: the
    /// business portfolio and the number's profile), sent in `extras.setup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
    /// Where the finished page links back to: an `https` URL on one of `ALLOWED_ORIGINS`
    /// (checked by the proxy, which knows them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The customer's name, shown on the page before the buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<CustomerName>,
    /// An onboarding of this customer whose business token must be renewed (a UUID): the
    /// page launches Embedded Signup prefilled with its WABA, and the proxy accepts only a
    /// sign-in that reaches that WABA and number (Meta provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthorize_onboarding_id: Option<String>,
}

/// A session as the partner API returns it. `token` and `url` only in the answer that created
/// it: the proxy keeps a hash of the token, never the token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The session's id (a UUID): the partner's handle to revoke it.
    pub id: String,
    /// The token to hand to the widget (`session` option). Shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SessionToken>,
    /// A link to the hosted page with the token in it, to send to the customer. Shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The partner's reference for the customer.
    pub customer_ref: CustomerRef,
    /// The flows the customer may use.
    pub modes: Vec<Mode>,
    /// The partner's own data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The language the page opens in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// Local-storage region for registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_localization_region: Option<StorageRegion>,
    /// What Embedded Signup's screens open filled in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
    /// Where the finished page links back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The customer's name shown on the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<CustomerName>,
    /// The onboarding this session reauthorizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthorize_onboarding_id: Option<String>,
    /// Onboardings the session has created (reading a session; absent when creating it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboardings_created: Option<i64>,
    /// RFC 3339, once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A page of sessions, newest first, without their tokens.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionPage {
    /// The sessions.
    pub data: Vec<Session>,
    /// Pass as `cursor` for the next page; none on the last.
    pub next_cursor: Option<String>,
}

/// Body of `POST /api/session`: the browser asks what its token allows.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLookup {
    /// The token the page was given.
    pub session: SessionToken,
}

/// Answer of `POST /api/session`: what the page may offer (nothing about who the customer is
/// beyond what the partner chose to show).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The flows the page may offer.
    pub modes: Vec<Mode>,
    /// The language the page opens in, when the partner chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// RFC 3339: after this the token stops working.
    pub expires_at: String,
    /// Where the finished page links back to, when the partner gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// What the widget sends Embedded Signup in `extras.setup`, when the partner gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
    /// The customer's name, when the partner gave one: the page says whom it connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<CustomerName>,
    /// The onboarding whose business token this page renews, when the partner asked for
    /// one: the widget launches Embedded Signup prefilled with its WABA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthorize: Option<ReauthorizeTarget>,
}

/// What a reauthorizing page must know of the onboarding: its WABA (Meta's
/// `setup.whatsAppBusinessAccount.ids`) and number.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReauthorizeTarget {
    /// The onboarding's id.
    pub onboarding_id: String,
    /// Its WABA: the only one the sign-in may pick.
    pub waba_id: WabaId,
    /// Its number, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<PhoneNumberId>,
}
