//! The partner's events (webhook deliveries and the event feed) and the popup outcomes the
//! widget reports (`POST /api/signup-events`).

use serde::{Deserialize, Serialize};

use super::session::SessionToken;
use super::PartnerOnboarding;
use crate::ids::{CustomerRef, IdError};
use crate::Mode;

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
        /// A coexistence sync entered a new phase of the history, or a part of it ended
        /// (`sync`).
        SyncProgress = "onboarding.sync_progress",
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
            S::Binding | S::Registering => None,
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
    /// The newest attempts, oldest first: at most [`MAX_DELIVERY_HISTORY`] (absent before
    /// the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<DeliveryAttempt>,
}

/// How many attempts of one event its delivery's `history` keeps (the newest).
pub const MAX_DELIVERY_HISTORY: u32 = 20;

/// One POST of an event to `PARTNER_WEBHOOK_URL`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// Its number among the event's attempts, from 1 (the event's `attempts` after it).
    pub attempt: u32,
    /// RFC 3339: when it was sent.
    pub at: String,
    /// How long the receiver took to answer (or until the attempt failed), in milliseconds.
    pub duration_ms: u64,
    /// The receiver's HTTP status; absent when none came (a timeout, a refused connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it failed (a status such as `answered 500`, or the kind of transport failure);
    /// absent when delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 3339: the retry it scheduled; absent when delivered or when no attempts were left.
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
