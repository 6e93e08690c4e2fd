//! Onboarding sessions, the partner API and the partner's webhook events (docs/API.md,
//! "Partner API" and "Webhooks to the partner").
//!
//! A partner's backend creates a session per customer; the browser carries only its opaque
//! token, and the proxy takes who the customer is from the session, never from the page.

use serde::{Deserialize, Serialize};

use crate::ids::{CustomerName, CustomerRef, IdError};
use crate::{HealthChange, Mode, NumberHealth, Onboarding, Prefill, StorageRegion};

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

names! {
    /// What happened to an onboarding, as the partner's webhook and event feed name it.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum EventType {
        /// The onboarding was stored (once).
        Created = "onboarding.created",
        /// It entered `pending`: bound and registered, waiting for the number.
        Pending = "onboarding.pending",
        /// It entered `connected`.
        Connected = "onboarding.connected",
        /// It entered `action_required`: someone must act (see its `error`).
        ActionRequired = "onboarding.action_required",
        /// It entered `failed`.
        Failed = "onboarding.failed",
        /// It entered `deregistered`.
        Deregistered = "onboarding.deregistered",
        /// It entered `disconnected`: the partner was removed, or the account deleted.
        Disconnected = "onboarding.disconnected",
        /// The customer's business token no longer works: they must sign up again for it
        /// (`action_required`, code `reauthorize`).
        ReauthorizeRequired = "onboarding.reauthorize_required",
        /// The customer signed up again for the same WABA and number: a new token is stored.
        Reauthorized = "onboarding.reauthorized",
        /// The number's first inbound message arrived (`inbound_verified_at`).
        InboundVerified = "onboarding.inbound_verified",
        /// A health field of the number changed (`change`: field, before, after).
        NumberHealthChanged = "number.health_changed",
        /// A customer closed Meta's popup before the end (`data`: [`SignupOutcome`]).
        SignupCancelled = "signup.cancelled",
        /// A customer reported an error in Meta's popup (`data`: [`SignupOutcome`]).
        SignupFailed = "signup.failed",
    }
}

impl EventType {
    /// The event an onboarding entering `state` emits, if any.
    pub fn entering(state: crate::OnboardingState) -> Option<EventType> {
        use crate::OnboardingState as S;
        match state {
            S::Pending => Some(EventType::Pending),
            S::Connected => Some(EventType::Connected),
            S::ActionRequired => Some(EventType::ActionRequired),
            S::Failed => Some(EventType::Failed),
            S::Deregistered => Some(EventType::Deregistered),
            S::Disconnected => Some(EventType::Disconnected),
            S::Received | S::Verifying | S::Binding | S::Registering => None,
        }
    }
}

names! {
    /// Where an event's delivery to `PARTNER_WEBHOOK_URL` stands.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum DeliveryState {
        /// Not delivered yet; attempts go on.
        Pending = "pending",
        /// The partner's endpoint answered 2xx.
        Delivered = "delivered",
        /// Every attempt failed; no more will be made.
        Failed = "failed",
        /// No webhook URL is configured: the event is only listed.
        Disabled = "disabled",
    }
}

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
        SessionToken::parse(s).map(|t| Self(t.0))
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

/// How an event's delivery to the partner's webhook stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Where it stands.
    pub state: DeliveryState,
    /// POSTs made so far.
    pub attempts: u32,
    /// Why the last attempt failed (a status or a kind of transport failure), while the
    /// event is not delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// RFC 3339: when the next attempt is due, while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
}

/// An event, as delivered to the partner's webhook (without `delivery`) and as listed by
/// `GET /api/partner/events` (with it).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerEvent {
    /// `evt_` and a unique, time-ordered suffix; the `webhook-id` of its deliveries.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// RFC 3339.
    pub created_at: String,
    /// The onboarding as it was right after the change (`onboarding.*`), or the popup's
    /// outcome (`signup.*`).
    pub data: EventData,
    /// Delivery to `PARTNER_WEBHOOK_URL` (the feed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// What an event is about.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EventData {
    /// `onboarding.*`: the onboarding right after the change.
    Onboarding(Box<PartnerOnboarding>),
    /// `signup.*`: a popup outcome that created no onboarding.
    Signup(SignupOutcome),
}

impl EventData {
    /// The onboarding, for an `onboarding.*` event.
    pub fn onboarding(&self) -> Option<&PartnerOnboarding> {
        match self {
            EventData::Onboarding(o) => Some(o),
            EventData::Signup(_) => None,
        }
    }
}

names! {
    /// What the widget reports of Meta's popup (`POST /api/signup-events`).
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum SignupEventKind {
        /// The popup opened (counted for the funnel; never sent to the partner).
        Launch = "LAUNCH",
        /// The customer closed the popup (`current_step` says where), or reported an error
        /// in it (with `error_code`).
        Cancel = "CANCEL",
        /// The customer reported an error in the popup.
        Error = "ERROR",
    }
}

/// Body of `POST /api/signup-events`: a popup outcome that never reaches
/// `POST /api/onboardings`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSignupEvent {
    /// The onboarding session's token (required when sessions are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionToken>,
    /// The button's mode.
    pub mode: Mode,
    /// What happened.
    pub event: SignupEventKind,
    /// Where the customer stopped (`CANCEL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<crate::ids::FlowStep>,
    /// Meta's flow error code (`CANCEL`/`ERROR` reporting an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<crate::ids::FlowErrorCode>,
    /// Meta's text for it, at most [`MAX_ERROR_MESSAGE_CHARS`] (stored, never rendered
    /// as HTML, not sent to the partner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<ErrorMessage>,
    /// Meta's `session_id` of the popup run (what Meta support asks for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_session_id: Option<crate::ids::MetaSessionId>,
}

/// Longest popup error text kept, in characters.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 1000;

/// Meta's text for a popup error: 1–1000 characters, no control characters except
/// newlines and tabs. Plain text wherever it goes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ErrorMessage(String);

impl ErrorMessage {
    /// Validates the text.
    ///
    /// # Errors
    /// [`IdError`] when empty, too long or holding a control character.
    pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.chars().count() > MAX_ERROR_MESSAGE_CHARS {
            return Err(IdError::TooLong(MAX_ERROR_MESSAGE_CHARS));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(IdError::BadCharacter);
        }
        Ok(Self(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ErrorMessage {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl From<ErrorMessage> for String {
    fn from(v: ErrorMessage) -> String {
        v.0
    }
}

/// `data` of `signup.cancelled` and `signup.failed`: where a customer dropped out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupOutcome {
    /// The session the page carried; none without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The session's customer; none without a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<CustomerRef>,
    /// The button's mode.
    pub mode: Mode,
    /// Where the customer stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<crate::ids::FlowStep>,
    /// Meta's flow error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<crate::ids::FlowErrorCode>,
    /// Meta's `session_id` of the popup run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_session_id: Option<crate::ids::MetaSessionId>,
}

/// A page of events, oldest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// The events.
    pub data: Vec<PartnerEvent>,
    /// Pass as `after` for the next page; none when this page was not full.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
