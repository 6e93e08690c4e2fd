//! The YCloud client: the five calls the onboarding needs, typed, with YCloud's error body
//! parsed and retries only where a retry cannot do harm.
//!
//! Paths (relative to `YCLOUD_BASE_URL`, normally `https://api.ycloud.com/v2`):
//! - `POST /whatsapp/businessAccounts/{wabaId}/tp/bind` (YCloud's Embedded Signup guide; not
//!   in the OpenAPI file yet, see `tests/api/openapi_conformance.rs`)
//! - `POST /whatsapp/businessAccounts/{wabaId}/smb/bind` (the same guide, likewise)
//! - `POST /whatsapp/phoneNumbers/{wabaId}/{phoneNumberId}/register`
//! - `GET /whatsapp/businessAccounts/{id}`
//! - `GET /whatsapp/phoneNumbers/{wabaId}/{phoneNumber}` (E.164 number)
//!
//! # Retries
//! A retry is made only when it cannot change what happened at YCloud or Meta:
//! - GETs: on connect errors, timeouts, 429, 500, 502, 503, 504 and unreadable bodies.
//! - binds (`tp/bind`, `smb/bind`): on connect errors (nothing was sent), 429 (YCloud's rate
//!   limiter answers before processing) and 503 (the gateway had no backend). A bind is not
//!   retried after a timeout or a 500: YCloud may have bound already, and whether a second
//!   bind of a bound WABA answers the WABA or an error is not documented.
//! - register: only on connect errors and 429. Each register that reaches Meta counts
//!   against the number's 10 per 72 hours, so a timeout or 5xx is reported, not repeated;
//!   the onboarding's `retry` is the person's decision.
//!
//! A `Retry-After` is honoured up to `UpstreamTuning::max_retry_after`; a longer one ends the
//! call at once with the hint, which the onboarding error carries as `retry_after`.

use std::time::Duration;

use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;
use wire::{OnboardingError, PhoneNumberId, WabaId};

use crate::clock::Clock;
use crate::config::UpstreamTuning;
use crate::sandbox::FakeYCloud;

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "X-API-Key";
/// The header mirroring the error body's `requestId`.
pub const REQUEST_ID_HEADER: &str = "YCloud-Request-ID";

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

/// The phone number fields the proxy reads (`WhatsappPhoneNumber` in YCloud's spec).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    /// Phone number id.
    pub id: Option<String>,
    /// E.164, e.g. `+16315551111`; needed to retrieve the number later.
    pub phone_number: Option<String>,
    /// e.g. `+1 631-555-1111`.
    pub display_phone_number: Option<String>,
    /// The WABA it belongs to.
    pub waba_id: Option<String>,
    /// The verified display name.
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, ...
    pub quality_rating: Option<String>,
    /// e.g. `TIER_250`.
    pub messaging_limit: Option<String>,
    /// `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    pub code_verification_status: Option<String>,
    /// Display name review status.
    pub name_status: Option<String>,
    /// `PENDING` → `CONNECTED`, or one of the other statuses.
    pub status: Option<String>,
}

impl PhoneNumber {
    /// True when the number can send messages.
    pub fn is_connected(&self) -> bool {
        self.status.as_deref() == Some("CONNECTED")
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

/// Why a YCloud call did not produce the expected object.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// YCloud answered with a 4xx/5xx.
    #[error("YCloud answered HTTP {status}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The parsed error body, when it was one (boxed: it is large and errors are rare).
        detail: Option<Box<ErrorDetail>>,
        /// `YCloud-Request-ID` (or the body's `requestId`).
        request_id: Option<String>,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// No answer within the request timeout.
    #[error("YCloud did not answer in time")]
    Timeout,
    /// The connection could not be made (nothing was sent).
    #[error("cannot connect to YCloud: {0}")]
    Connect(String),
    /// Another transport failure, possibly after sending.
    #[error("transport failure talking to YCloud: {0}")]
    Transport(String),
    /// A success status with a body that is not the expected JSON object.
    #[error("YCloud's answer could not be read: {cause}")]
    BadBody {
        /// The HTTP status.
        status: u16,
        /// `YCloud-Request-ID`.
        request_id: Option<String>,
        /// What did not parse.
        cause: String,
    },
}

/// Meta's "too many register requests" error code.
pub const META_REGISTER_LIMIT: i64 = 133016;
/// The detail Meta answers when the retired On-Premises registration is used.
pub const ON_PREM_BLOCKED: &str = "biz_link_on_prem_reg_blocked";

impl UpstreamError {
    /// YCloud's request id, to quote to YCloud support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            UpstreamError::Status { request_id, .. }
            | UpstreamError::BadBody { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    fn meta_code(&self) -> Option<i64> {
        let UpstreamError::Status {
            detail: Some(d), ..
        } = self
        else {
            return None;
        };
        let code = d.whatsapp_api_error.as_ref()?.code.as_ref()?;
        match code {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// True when any text of the error mentions the On-Premises block.
    fn is_on_prem_blocked(&self) -> bool {
        let UpstreamError::Status {
            detail: Some(d), ..
        } = self
        else {
            return false;
        };
        // The detail can sit in several places depending on how YCloud relays it.
        serde_json::to_string(d).is_ok_and(|s| s.contains(ON_PREM_BLOCKED))
    }

    /// The onboarding error this failure becomes at `now`: a stable code, one sentence, and
    /// whether `retry` may help (with `retry_after` counted from `now`).
    pub fn to_onboarding_error(&self, what: &str, now: OffsetDateTime) -> OnboardingError {
        let upstream_message = match self {
            UpstreamError::Status {
                detail: Some(d), ..
            } => d
                .whatsapp_api_error
                .as_ref()
                .and_then(|w| w.error_user_msg.clone().or_else(|| w.message.clone()))
                .or_else(|| d.message.clone()),
            _ => None,
        }
        .map(|m| m.chars().take(300).collect::<String>());
        let with_detail = |base: String| match &upstream_message {
            // "…; retry later (YCloud: Invalid thing)." reads as one sentence.
            Some(m) => format!(
                "{} (YCloud: {}).",
                base.trim_end_matches('.'),
                m.trim().trim_end_matches('.')
            ),
            None => base,
        };
        let (code, message, retryable, retry_after) = if self.is_on_prem_blocked() {
            (
                "on_premises_retired",
                "On-Premises registration is retired; use Cloud API registration.".to_owned(),
                false,
                None,
            )
        } else if self.meta_code() == Some(META_REGISTER_LIMIT) {
            (
                "register_limit",
                "Meta allows 10 register requests per number in 72 hours and this number has \
                 used them; retry once the 72-hour block has passed."
                    .to_owned(),
                true,
                Some(now + crate::pipeline::REGISTER_WINDOW),
            )
        } else {
            match self {
                UpstreamError::Status {
                    status: 429,
                    retry_after,
                    ..
                } => (
                    "upstream_rate_limited",
                    format!("YCloud is rate limiting requests, so it could not {what}; retry in a moment."),
                    true,
                    retry_after
                        .and_then(|d| time::Duration::try_from(d).ok())
                        .map(|d| now + d),
                ),
                UpstreamError::Status {
                    status: 401 | 403, ..
                } => (
                    "upstream_unauthorized",
                    with_detail(format!(
                        "YCloud refused the proxy's API key while trying to {what}; check \
                         YCLOUD_API_KEY, then retry."
                    )),
                    true,
                    None,
                ),
                UpstreamError::Status { status: 404, .. } => (
                    "upstream_not_found",
                    with_detail(format!(
                        "YCloud does not know this account or number, so it could not {what}."
                    )),
                    false,
                    None,
                ),
                UpstreamError::Status {
                    status: 408 | 409 | 425,
                    retry_after,
                    ..
                } => (
                    "upstream_conflict",
                    with_detail(format!("YCloud could not {what} right now; retry later.")),
                    true,
                    retry_after
                        .and_then(|d| time::Duration::try_from(d).ok())
                        .map(|d| now + d),
                ),
                UpstreamError::Status {
                    status: 400..=499, ..
                } => (
                    "upstream_rejected",
                    with_detail(format!("YCloud refused to {what}.")),
                    false,
                    None,
                ),
                UpstreamError::Status { retry_after, .. } => (
                    "upstream_unavailable",
                    with_detail(format!("YCloud failed to {what}; retry later.")),
                    true,
                    retry_after
                        .and_then(|d| time::Duration::try_from(d).ok())
                        .map(|d| now + d),
                ),
                UpstreamError::Timeout => (
                    "upstream_timeout",
                    format!("YCloud did not answer in time when asked to {what}; retry later."),
                    true,
                    None,
                ),
                UpstreamError::Connect(_) | UpstreamError::Transport(_) => (
                    "upstream_unreachable",
                    format!("YCloud could not be reached to {what}; retry later."),
                    true,
                    None,
                ),
                UpstreamError::BadBody { .. } => (
                    "upstream_bad_response",
                    format!("YCloud answered something unreadable when asked to {what}; retry later."),
                    true,
                    None,
                ),
            }
        };
        OnboardingError {
            code: code.to_owned(),
            message,
            retryable,
            upstream_request_id: self.request_id().map(str::to_owned),
            retry_after: retry_after.map(crate::store::format_time),
        }
    }
}

/// What a retry of a call could do at YCloud, which decides when the client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// A read: always harmless.
    Read,
    /// A bind: only when YCloud cannot have processed it.
    Bind,
    /// A register: only when the request cannot have reached Meta.
    Register,
}

impl Retry {
    fn allows(self, e: &UpstreamError) -> bool {
        match e {
            UpstreamError::Connect(_) => true,
            UpstreamError::Status { status: 429, .. } => true,
            UpstreamError::Status { status: 503, .. } => matches!(self, Retry::Read | Retry::Bind),
            UpstreamError::Status {
                status: 500 | 502 | 504,
                ..
            }
            | UpstreamError::Timeout
            | UpstreamError::Transport(_)
            | UpstreamError::BadBody { .. } => self == Retry::Read,
            UpstreamError::Status { .. } => false,
        }
    }
}

/// The HTTP client for YCloud.
#[derive(Debug, Clone)]
pub struct YCloudClient {
    http: reqwest::Client,
    base_url: Url,
    api_key: SecretString,
    tuning: UpstreamTuning,
    /// Turns a `Retry-After` date into a wait.
    clock: Clock,
}

impl YCloudClient {
    /// A client for `base_url` (e.g. `https://api.ycloud.com/v2`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend failure).
    pub fn new(
        base_url: Url,
        api_key: SecretString,
        tuning: UpstreamTuning,
        clock: Clock,
    ) -> Result<Self, String> {
        let http = tuning.http_client()?;
        Ok(Self {
            http,
            base_url,
            api_key,
            tuning,
            clock,
        })
    }

    /// `POST /whatsapp/businessAccounts/{wabaId}/tp/bind`: binds the WABA to the partner and
    /// attaches YCloud's credit line.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn tp_bind(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        self.call(
            Method::POST,
            &["whatsapp", "businessAccounts", waba.as_str(), "tp", "bind"],
            Retry::Bind,
        )
        .await
    }

    /// `POST /whatsapp/businessAccounts/{wabaId}/smb/bind`: coexistence; answers the number.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn smb_bind(&self, waba: &WabaId) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.call(
            Method::POST,
            &["whatsapp", "businessAccounts", waba.as_str(), "smb", "bind"],
            Retry::Bind,
        )
        .await
    }

    /// `POST /whatsapp/phoneNumbers/{wabaId}/{phoneNumberId}/register`.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn register(
        &self,
        waba: &WabaId,
        phone_number_id: &PhoneNumberId,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.call(
            Method::POST,
            &[
                "whatsapp",
                "phoneNumbers",
                waba.as_str(),
                phone_number_id.as_str(),
                "register",
            ],
            Retry::Register,
        )
        .await
    }

    /// `GET /whatsapp/businessAccounts/{id}`.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_waba(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        self.call(
            Method::GET,
            &["whatsapp", "businessAccounts", waba.as_str()],
            Retry::Read,
        )
        .await
    }

    /// `GET /whatsapp/phoneNumbers/{wabaId}/{phoneNumber}` with the E.164 number.
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_phone_number(
        &self,
        waba: &WabaId,
        e164: &str,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        self.call(
            Method::GET,
            &["whatsapp", "phoneNumbers", waba.as_str(), e164],
            Retry::Read,
        )
        .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        retry: Retry,
    ) -> Result<Object<T>, UpstreamError> {
        let mut url = self.base_url.clone();
        // Segment-wise, so an id can never add a path level; the base was checked at start-up.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        let mut attempt = 1;
        loop {
            let result = self.once(method.clone(), url.clone()).await;
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if attempt >= self.tuning.max_attempts.max(1) || !retry.allows(&err) {
                return Err(err);
            }
            let wait = match &err {
                UpstreamError::Status {
                    retry_after: Some(after),
                    ..
                } => {
                    if *after > self.tuning.max_retry_after {
                        // Waiting that long would hold the caller's request: report instead.
                        return Err(err);
                    }
                    *after
                }
                _ => self
                    .tuning
                    .base_backoff
                    .saturating_mul(1 << (attempt - 1).min(6)),
            };
            tracing::warn!(
                %method, path = url.path(), attempt, error = %err, wait_ms = wait.as_millis() as u64,
                "YCloud call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn once<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
    ) -> Result<Object<T>, UpstreamError> {
        let mut key = HeaderValue::from_str(self.api_key.expose_secret()).map_err(|_| {
            UpstreamError::Transport("the API key is not a valid header value".into())
        })?;
        // Keeps the key out of any header dump (hyper, reqwest, tracing).
        key.set_sensitive(true);
        let started = std::time::Instant::now();
        let response = self
            .http
            .request(method.clone(), url.clone())
            .header(API_KEY_HEADER, key)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let request_id = response
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        let body = response.bytes().await.map_err(transport_error)?;
        // Successes at `debug` (two per sign-up); refusals at `info` (the pipeline warns too).
        if status.is_success() {
            tracing::debug!(
                %method, path = url.path(), status = status.as_u16(), request_id = request_id.as_deref(),
                elapsed_ms = started.elapsed().as_millis() as u64, "YCloud call"
            );
        } else {
            tracing::info!(
                %method, path = url.path(), status = status.as_u16(), request_id = request_id.as_deref(),
                elapsed_ms = started.elapsed().as_millis() as u64, "YCloud call"
            );
        }
        if !status.is_success() {
            let detail = serde_json::from_slice::<ErrorResponse>(&body)
                .ok()
                .map(|r| Box::new(r.error));
            let request_id =
                request_id.or_else(|| detail.as_ref().and_then(|d| d.request_id.clone()));
            return Err(UpstreamError::Status {
                status: status.as_u16(),
                detail,
                request_id,
                retry_after,
            });
        }
        parse_object(status, request_id, &body)
    }
}

fn parse_object<T: DeserializeOwned>(
    status: StatusCode,
    request_id: Option<String>,
    body: &[u8],
) -> Result<Object<T>, UpstreamError> {
    let bad = |cause: String| UpstreamError::BadBody {
        status: status.as_u16(),
        request_id: request_id.clone(),
        cause,
    };
    let raw: Value = serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    if !raw.is_object() {
        return Err(bad("not a JSON object".to_owned()));
    }
    let typed = T::deserialize(&raw).map_err(|e| bad(e.to_string()))?;
    Ok(Object { typed, raw })
}

fn transport_error(e: reqwest::Error) -> UpstreamError {
    // reqwest's text names the URL, which holds ids only (the key travels in a header).
    if e.is_timeout() {
        UpstreamError::Timeout
    } else if e.is_connect() {
        UpstreamError::Connect(e.to_string())
    } else {
        UpstreamError::Transport(e.to_string())
    }
}

/// `Retry-After`: delta-seconds, or an HTTP date (counted from `now`).
fn parse_retry_after(v: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date =
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let delta = date - now;
    Some(Duration::from_secs(
        delta.whole_seconds().max(0).unsigned_abs(),
    ))
}

/// Where the onboarding's calls go: the real YCloud, or the in-process fake.
#[derive(Debug)]
pub enum Upstream {
    /// `YCLOUD_API_KEY` is set.
    Http(YCloudClient),
    /// Sandbox mode.
    Sandbox(FakeYCloud),
}

impl Upstream {
    /// See [`YCloudClient::tp_bind`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn tp_bind(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.tp_bind(waba).await,
            Upstream::Sandbox(f) => f.tp_bind(waba),
        }
    }

    /// See [`YCloudClient::smb_bind`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn smb_bind(&self, waba: &WabaId) -> Result<Object<PhoneNumber>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.smb_bind(waba).await,
            Upstream::Sandbox(f) => f.smb_bind(waba),
        }
    }

    /// See [`YCloudClient::register`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn register(
        &self,
        waba: &WabaId,
        phone_number_id: &PhoneNumberId,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.register(waba, phone_number_id).await,
            Upstream::Sandbox(f) => f.register(waba, phone_number_id),
        }
    }

    /// See [`YCloudClient::retrieve_waba`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_waba(&self, waba: &WabaId) -> Result<Object<Waba>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.retrieve_waba(waba).await,
            Upstream::Sandbox(f) => f.retrieve_waba(waba),
        }
    }

    /// See [`YCloudClient::retrieve_phone_number`].
    ///
    /// # Errors
    /// See [`UpstreamError`].
    pub async fn retrieve_phone_number(
        &self,
        waba: &WabaId,
        e164: &str,
    ) -> Result<Object<PhoneNumber>, UpstreamError> {
        match self {
            Upstream::Http(c) => c.retrieve_phone_number(waba, e164).await,
            Upstream::Sandbox(f) => f.retrieve_phone_number(waba, e164),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_error(status: u16, body: Value) -> UpstreamError {
        UpstreamError::Status {
            status,
            detail: serde_json::from_value::<ErrorResponse>(body)
                .ok()
                .map(|r| Box::new(r.error)),
            request_id: Some("req_1".into()),
            retry_after: None,
        }
    }

    #[test]
    fn on_prem_detail_is_explained() {
        let e = status_error(
            400,
            serde_json::json!({"error": {"status": 400, "code": "WHATSAPP_API_ERROR",
                "message": "Access denied", "whatsappApiError": {"code": 1005,
                "message": "Access denied", "error_data": {"details": "Unknown error: biz_link_on_prem_reg_blocked"}}}}),
        );
        let o = e.to_onboarding_error("register the number", Clock::system().now());
        assert_eq!(o.code, "on_premises_retired");
        assert_eq!(
            o.message,
            "On-Premises registration is retired; use Cloud API registration."
        );
        assert!(!o.retryable);
        assert_eq!(o.upstream_request_id.as_deref(), Some("req_1"));
    }

    #[test]
    fn register_limit_is_retryable_later() {
        for code in [serde_json::json!(133016), serde_json::json!("133016")] {
            let e = status_error(
                400,
                serde_json::json!({"error": {"status": 400, "code": "WHATSAPP_API_ERROR",
                    "whatsappApiError": {"code": code}}}),
            );
            let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
            let o = e.to_onboarding_error("register the number", now);
            assert_eq!(o.code, "register_limit");
            assert!(o.retryable);
            assert_eq!(
                o.retry_after,
                Some(crate::store::format_time(now + time::Duration::hours(72)))
            );
        }
    }

    #[test]
    fn retry_rules() {
        let s = |status| UpstreamError::Status {
            status,
            detail: None,
            request_id: None,
            retry_after: None,
        };
        assert!(Retry::Register.allows(&s(429)));
        assert!(!Retry::Register.allows(&s(503)));
        assert!(!Retry::Register.allows(&UpstreamError::Timeout));
        assert!(Retry::Bind.allows(&s(503)));
        assert!(!Retry::Bind.allows(&s(500)));
        assert!(Retry::Read.allows(&s(500)));
        assert!(Retry::Read.allows(&UpstreamError::Timeout));
        assert!(!Retry::Read.allows(&s(404)));
    }

    #[test]
    fn retry_after_forms() {
        let now = OffsetDateTime::from_unix_timestamp(1_445_412_470).unwrap(); // 07:27:50
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after(
                "Wed, 21 Oct 2015 07:28:00 GMT",
                now + time::Duration::hours(1)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn objects_keep_unknown_fields() {
        let body = br#"{"id":"1","paymentMethodAttached":false,"brandNew":{"x":1}}"#;
        let o: Object<Waba> = parse_object(StatusCode::OK, None, body).unwrap();
        assert_eq!(o.typed.payment_method_attached, Some(false));
        assert_eq!(o.raw["brandNew"]["x"], 1);
        assert!(parse_object::<Waba>(StatusCode::OK, None, b"<html>").is_err());
        assert!(parse_object::<Waba>(StatusCode::OK, None, b"[1]").is_err());
    }
}
