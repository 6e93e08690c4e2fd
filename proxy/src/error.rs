//! The proxy's one error type for HTTP answers, and its own JSON extractor.
//!
//! Every rejection, from a malformed body to an unknown route, is answered with the
//! project's shape `{"error":{"code","message","retryable"}}` (docs/API.md). Internal
//! causes are logged here and never shown to the caller.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeOwned, IgnoredAny};
use time::OffsetDateTime;
use wire::ErrorCode;

use crate::store::StoreError;

/// Everything a handler can answer with besides success.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the body is not JSON at all (syntax error, empty, truncated).
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// 422: JSON, but not an acceptable request (wrong types, unknown mode, bad ids,
    /// unknown fields, missing fields).
    #[error("the request body is not a valid request: {0}")]
    InvalidBody(String),
    /// 415: the body is not declared as `application/json`.
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    /// 413: the body is larger than [`wire::MAX_BODY_BYTES`].
    #[error("the request body is larger than {} bytes", wire::MAX_BODY_BYTES)]
    PayloadTooLarge,
    /// 400: a path parameter (e.g. an onboarding id) is malformed.
    #[error("{0}")]
    BadPath(String),
    /// 404: no onboarding with this id.
    #[error("no onboarding has this id")]
    OnboardingNotFound,
    /// 404: no route here (or, for `/`, the bundle is not built).
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists but not with this method.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// 409: `retry` on an onboarding with nothing to retry.
    #[error("{0}")]
    NothingToRetry(String),
    /// 429: the number's register budget (10 per moving 72 hours) is spent.
    #[error("{}", crate::budget::spent(crate::budget::Call::Register, *.retry_after))]
    RegisterBudgetSpent {
        /// When the oldest counted attempt leaves the 72-hour window.
        retry_after: OffsetDateTime,
        /// The proxy's clock when refusing: `Retry-After` is the wait from here.
        now: OffsetDateTime,
    },
    /// 503: `POST /webhooks/ycloud` without `YCLOUD_WEBHOOK_SECRET`: nothing can be verified.
    #[error("webhooks are not accepted: YCLOUD_WEBHOOK_SECRET is not configured on this proxy")]
    WebhooksDisabled,
    /// 400: no `YCloud-Signature` header.
    #[error("the YCloud-Signature header is missing")]
    SignatureMissing,
    /// 400: a `YCloud-Signature` header that is not `t=<unix seconds>,s=<hex>`.
    #[error("the YCloud-Signature header is malformed: {0}")]
    SignatureMalformed(&'static str),
    /// 401: the signature does not match the body and the endpoint's secret.
    #[error("the YCloud-Signature does not match the body")]
    SignatureInvalid,
    /// 401: the signature's timestamp is more than five minutes from the proxy's clock.
    #[error("the YCloud-Signature timestamp is too far from the current time")]
    SignatureStale,
    /// 400: a verified webhook body that is not an event (`id` and `type` are required).
    #[error("the webhook body is not a YCloud event: {0}")]
    InvalidEvent(String),
    /// 403: ownership verification is on and the request carries no `code`.
    #[error("this proxy verifies WABA ownership: send the code from FB.login with the request")]
    CodeMissing,
    /// 403: Meta refused the code (expired after about 30 seconds, used already, or forged).
    #[error("Meta refused the authorization code (it expires after about 30 seconds and works once); sign up again")]
    CodeInvalid,
    /// 403: the code's token does not reach this WABA.
    #[error("the signed-in Facebook user did not grant access to this WhatsApp Business Account")]
    WabaNotOwned,
    /// 403: the token reaches the WABA, but the posted phone number is not one of its numbers.
    #[error("this phone number does not belong to the WhatsApp Business Account that was shared")]
    PhoneNumberNotOwned,
    /// 502: the Graph API could not be asked (down, slow, unreadable); nothing was stored.
    #[error("Meta's Graph API could not verify the sign-up right now; try again in a moment")]
    VerificationUnavailable,
    /// 401: live mode needs a session and the request has none.
    #[error("this proxy needs an onboarding session: open the link your provider sent, or ask them for a new one")]
    SessionRequired,
    /// 401: the session token is unknown, expired or revoked.
    #[error("this onboarding link is not valid any more (unknown, expired or revoked): ask your provider for a new one")]
    SessionInvalid,
    /// 422: the body's `customer_ref` differs from the session's.
    #[error("customer_ref differs from the session's; leave it out or send the session's own")]
    CustomerRefMismatch,
    /// 403: the session does not allow this mode.
    #[error("this onboarding session does not allow the {0} flow")]
    ModeNotAllowed(wire::Mode),
    /// 429: the session created all the onboardings it may.
    #[error(
        "this onboarding session has created its {} onboardings; ask your provider for a new link",
        wire::MAX_ONBOARDINGS_PER_SESSION
    )]
    SessionExhausted,
    /// 409: the WABA and number belong to an onboarding of another customer.
    #[error("this WhatsApp Business Account and number are already onboarded")]
    AlreadyOnboarded,
    /// 401: a route that needs a bearer token (the partner API's keys, `METRICS_TOKEN` for
    /// `GET /metrics`) was asked without it, or with another.
    #[error("this route needs its bearer token: send Authorization: Bearer <key>")]
    Unauthorized,
    /// 401: an onboarding's browser route without its client token, with another one, or
    /// with one whose session was revoked or expired.
    #[error("this onboarding needs the client_token its creation answered, as Authorization: Bearer <client_token>; it stops working when the session ends")]
    ClientTokenInvalid,
    /// 429: three wrong PINs for this onboarding in 24 hours.
    #[error("three PINs were sent for this onboarding in 24 hours; ask your provider to retry the onboarding")]
    PinAttemptsExhausted,
    /// 503: the partner API has no keys configured.
    #[error("the partner API is off: PARTNER_API_KEYS is not configured on this proxy")]
    PartnerApiDisabled,
    /// 404: no session has this id.
    #[error("no session has this id")]
    SessionNotFound,
    /// 400: a `cursor` or `after` the proxy did not give out.
    #[error("the cursor is not one this API gave out")]
    InvalidCursor,
    /// 400: a malformed query parameter.
    #[error("{0}")]
    InvalidQuery(String),
    /// 409: deregistering is not possible here.
    #[error("{0}")]
    NotDeregistrable(String),
    /// 409: starting over is not possible for this onboarding.
    #[error("{0}")]
    NotRestartable(String),
    /// 409 (the partner's request) or 422 (a session's `reauthorize_onboarding_id`): this
    /// onboarding's business token cannot be renewed.
    #[error("{0}")]
    NotReauthorizable(String, bool),
    /// 403: a reauthorization's sign-in is for another WABA or number; nothing stored.
    #[error("{0}")]
    ReauthorizeMismatch(String),
    /// 429: the number's deregister budget (10 per moving 72 hours) is spent.
    #[error("{}", crate::budget::spent(crate::budget::Call::Deregister, *.retry_after))]
    DeregisterBudgetSpent {
        /// When the oldest counted attempt leaves the 72-hour window.
        retry_after: OffsetDateTime,
        /// The proxy's clock when refusing.
        now: OffsetDateTime,
    },
    /// Meta refused a call the request asked for (a deregister): its code and sentence.
    /// 429 for the deregister limit, 409 for what a person must fix, 502 otherwise.
    #[error("{}", .0.message)]
    MetaRefused(wire::OnboardingError),
    /// 409: `POST /api/onboardings/{id}/pin` while no PIN is awaited.
    #[error("{0}")]
    PinNotExpected(String),
    /// 404: no business token or PIN is stored for this onboarding.
    #[error("no business token or PIN is stored for this onboarding")]
    CredentialsNotFound,
    /// 503: the full-page sign-in is off (`REDIRECT_FLOW`).
    #[error("the full-page sign-in is not offered by this proxy (REDIRECT_FLOW)")]
    RedirectFlowDisabled,
    /// 404: a redirect flow's result handle is unknown, used or expired.
    #[error("this sign-in result is unknown, was already picked up, or expired")]
    ResultNotFound,
    /// 503: a Meta webhook while the setting it needs is missing.
    #[error("Meta webhooks are not accepted: {0} is not configured on this proxy")]
    MetaWebhooksDisabled(&'static str),
    /// 400: no `X-Hub-Signature-256` header.
    #[error("the X-Hub-Signature-256 header is missing")]
    MetaSignatureMissing,
    /// 400: an `X-Hub-Signature-256` header that is not `sha256=<hex>`.
    #[error("the X-Hub-Signature-256 header is malformed: {0}")]
    MetaSignatureMalformed(&'static str),
    /// 401: the signature does not match the body and the app secret.
    #[error("the X-Hub-Signature-256 does not match the body")]
    MetaSignatureInvalid,
    /// 403: the webhook handshake's verify token is wrong (or the mode is not `subscribe`).
    #[error(
        "the verification request does not carry META_WEBHOOK_VERIFY_TOKEN with hub.mode=subscribe"
    )]
    VerifyTokenInvalid,
    /// 403: a console write (cookie session) without its `X-CSRF-Token`, or with another.
    #[error("this write needs the console's X-CSRF-Token header (from GET /console/session)")]
    CsrfInvalid,
    /// 404: no partner event has this id.
    #[error("no event has this id")]
    EventNotFound,
    /// 409: nothing can be delivered without `PARTNER_WEBHOOK_URL`.
    #[error(
        "no partner webhook is configured: set PARTNER_WEBHOOK_URL and PARTNER_WEBHOOK_SECRET"
    )]
    PartnerWebhookNotConfigured,
    /// 500: the store failed. Logged with its cause; the caller sees a generic sentence.
    #[error("store error")]
    Store(#[from] StoreError),
    /// 500: anything else unexpected. Logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),

    // Limits (docs/API.md, "Limits").
    /// 503: not answered within `REQUEST_TIMEOUT_SECS`. Steps already started run on.
    #[error("the request was not answered in time; try again in a moment")]
    RequestTimeout,
    /// 408: the body did not arrive within `BODY_READ_TIMEOUT_SECS`.
    #[error("the request's body did not arrive in time; send it again")]
    BodyTimeout,
    /// 429: this client sent more sign-ups (or retries, or PINs) than `RATE_LIMIT_PER_MINUTE` allows.
    #[error("too many requests from this client; try again in a moment")]
    RateLimited {
        /// Until the next request would be let through.
        wait: std::time::Duration,
    },
    /// 429: this onboarding was retried less than `RETRY_COOLDOWN_SECS` ago.
    #[error("this onboarding was retried a moment ago; wait before retrying it again")]
    RetryTooSoon {
        /// Until the cooldown ends.
        wait: std::time::Duration,
    },
    /// 429: this client holds `EVENT_STREAMS_PER_CLIENT` event streams open already.
    #[error("this client has as many event streams open as it may; close one, or read the onboarding instead")]
    TooManyStreams,
    /// 503: `MAX_CONCURRENT_REQUESTS` requests are being handled already.
    #[error("the server is handling as many requests as it can; try again in a moment")]
    Overloaded,
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::MalformedJson(_) | Error::BadPath(_) => StatusCode::BAD_REQUEST,
            Error::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::OnboardingNotFound | Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::NothingToRetry(_) => StatusCode::CONFLICT,
            Error::RegisterBudgetSpent { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::WebhooksDisabled => StatusCode::SERVICE_UNAVAILABLE,
            Error::SignatureMissing | Error::SignatureMalformed(_) | Error::InvalidEvent(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::SignatureInvalid | Error::SignatureStale => StatusCode::UNAUTHORIZED,
            Error::CodeMissing
            | Error::CodeInvalid
            | Error::WabaNotOwned
            | Error::PhoneNumberNotOwned => StatusCode::FORBIDDEN,
            Error::VerificationUnavailable => StatusCode::BAD_GATEWAY,
            Error::SessionRequired
            | Error::SessionInvalid
            | Error::Unauthorized
            | Error::ClientTokenInvalid => StatusCode::UNAUTHORIZED,
            Error::CustomerRefMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Error::ModeNotAllowed(_) => StatusCode::FORBIDDEN,
            Error::SessionExhausted | Error::PinAttemptsExhausted => StatusCode::TOO_MANY_REQUESTS,
            Error::AlreadyOnboarded | Error::NotDeregistrable(_) | Error::NotRestartable(_) => {
                StatusCode::CONFLICT
            }
            Error::NotReauthorizable(_, true) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotReauthorizable(_, false) => StatusCode::CONFLICT,
            Error::ReauthorizeMismatch(_) => StatusCode::FORBIDDEN,
            Error::PartnerApiDisabled => StatusCode::SERVICE_UNAVAILABLE,
            Error::SessionNotFound => StatusCode::NOT_FOUND,
            Error::InvalidCursor | Error::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            Error::DeregisterBudgetSpent { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::MetaRefused(e) => match e.code {
                ErrorCode::DeregisterLimit | ErrorCode::RegisterLimit => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                ErrorCode::BusinessTokenInvalid
                | ErrorCode::Reauthorize
                | ErrorCode::OnPremisesRetired
                | ErrorCode::PinRequired
                | ErrorCode::PinLocked => StatusCode::CONFLICT,
                _ => StatusCode::BAD_GATEWAY,
            },
            Error::PinNotExpected(_) => StatusCode::CONFLICT,
            Error::CredentialsNotFound | Error::ResultNotFound => StatusCode::NOT_FOUND,
            Error::RedirectFlowDisabled => StatusCode::SERVICE_UNAVAILABLE,
            Error::MetaWebhooksDisabled(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::MetaSignatureMissing | Error::MetaSignatureMalformed(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::MetaSignatureInvalid => StatusCode::UNAUTHORIZED,
            Error::VerifyTokenInvalid | Error::CsrfInvalid => StatusCode::FORBIDDEN,
            Error::EventNotFound => StatusCode::NOT_FOUND,
            Error::PartnerWebhookNotConfigured => StatusCode::CONFLICT,
            Error::Store(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::RequestTimeout | Error::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Error::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::RateLimited { .. } | Error::RetryTooSoon { .. } | Error::TooManyStreams => {
                StatusCode::TOO_MANY_REQUESTS
            }
        }
    }

    /// The stable snake_case code of the error body.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::MalformedJson(_) => ErrorCode::MalformedJson,
            Error::InvalidBody(_) => ErrorCode::InvalidBody,
            Error::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Error::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Error::BadPath(_) => ErrorCode::BadPath,
            Error::OnboardingNotFound => ErrorCode::OnboardingNotFound,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Error::NothingToRetry(_) => ErrorCode::NothingToRetry,
            Error::RegisterBudgetSpent { .. } => ErrorCode::RegisterLimit,
            Error::WebhooksDisabled => ErrorCode::WebhooksDisabled,
            Error::SignatureMissing => ErrorCode::SignatureMissing,
            Error::SignatureMalformed(_) => ErrorCode::SignatureMalformed,
            Error::SignatureInvalid => ErrorCode::SignatureInvalid,
            Error::SignatureStale => ErrorCode::SignatureStale,
            Error::InvalidEvent(_) => ErrorCode::InvalidEvent,
            Error::CodeMissing => ErrorCode::CodeMissing,
            Error::CodeInvalid => ErrorCode::CodeInvalid,
            Error::WabaNotOwned => ErrorCode::WabaNotOwned,
            Error::PhoneNumberNotOwned => ErrorCode::PhoneNumberNotOwned,
            Error::VerificationUnavailable => ErrorCode::VerificationUnavailable,
            Error::SessionRequired => ErrorCode::SessionRequired,
            Error::SessionInvalid => ErrorCode::SessionInvalid,
            Error::CustomerRefMismatch => ErrorCode::CustomerRefMismatch,
            Error::ModeNotAllowed(_) => ErrorCode::ModeNotAllowed,
            Error::SessionExhausted => ErrorCode::SessionExhausted,
            Error::AlreadyOnboarded => ErrorCode::AlreadyOnboarded,
            Error::Unauthorized | Error::ClientTokenInvalid => ErrorCode::Unauthorized,
            Error::PinAttemptsExhausted => ErrorCode::PinAttemptsExhausted,
            Error::PartnerApiDisabled => ErrorCode::PartnerApiDisabled,
            Error::SessionNotFound => ErrorCode::SessionNotFound,
            Error::InvalidCursor => ErrorCode::InvalidCursor,
            Error::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Error::NotDeregistrable(_) => ErrorCode::NotDeregistrable,
            Error::NotRestartable(_) => ErrorCode::NotRestartable,
            Error::NotReauthorizable(..) => ErrorCode::NotReauthorizable,
            Error::ReauthorizeMismatch(_) => ErrorCode::ReauthorizeMismatch,
            Error::DeregisterBudgetSpent { .. } => ErrorCode::DeregisterLimit,
            Error::MetaRefused(e) => e.code.clone(),
            Error::PinNotExpected(_) => ErrorCode::PinNotExpected,
            Error::CredentialsNotFound => ErrorCode::CredentialsNotFound,
            Error::RedirectFlowDisabled => ErrorCode::RedirectFlowDisabled,
            Error::ResultNotFound => ErrorCode::ResultNotFound,
            Error::MetaWebhooksDisabled(_) => ErrorCode::WebhooksDisabled,
            Error::MetaSignatureMissing => ErrorCode::SignatureMissing,
            Error::MetaSignatureMalformed(_) => ErrorCode::SignatureMalformed,
            Error::MetaSignatureInvalid => ErrorCode::SignatureInvalid,
            Error::VerifyTokenInvalid => ErrorCode::VerifyTokenInvalid,
            Error::CsrfInvalid => ErrorCode::CsrfInvalid,
            Error::EventNotFound => ErrorCode::EventNotFound,
            Error::PartnerWebhookNotConfigured => ErrorCode::PartnerWebhookNotConfigured,
            Error::Store(_) | Error::Internal(_) => ErrorCode::InternalError,
            Error::RequestTimeout => ErrorCode::RequestTimeout,
            Error::BodyTimeout => ErrorCode::BodyTimeout,
            Error::Overloaded => ErrorCode::Overloaded,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::TooManyStreams => ErrorCode::TooManyStreams,
            Error::RetryTooSoon { .. } => ErrorCode::RetryTooSoon,
        }
    }

    fn retryable(&self) -> bool {
        if let Error::MetaRefused(e) = self {
            return e.retryable;
        }
        matches!(
            self,
            Error::RegisterBudgetSpent { .. }
                | Error::DeregisterBudgetSpent { .. }
                | Error::MetaWebhooksDisabled(_)
                | Error::WebhooksDisabled
                | Error::VerificationUnavailable
                | Error::Store(_)
                | Error::Internal(_)
                | Error::RequestTimeout
                | Error::BodyTimeout
                | Error::Overloaded
                | Error::RateLimited { .. }
                | Error::TooManyStreams
                | Error::RetryTooSoon { .. }
        )
    }

    /// The wait `Retry-After` announces, when the refusal knows one.
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            // The moment the oldest counted call leaves the window (at least a second).
            Error::RegisterBudgetSpent { retry_after, now }
            | Error::DeregisterBudgetSpent { retry_after, now } => {
                Some(std::time::Duration::from_secs(
                    (*retry_after - *now).whole_seconds().max(1).unsigned_abs(),
                ))
            }
            Error::Overloaded => Some(std::time::Duration::from_secs(1)),
            Error::RateLimited { wait } | Error::RetryTooSoon { wait } => Some(*wait),
            _ => None,
        }
    }

    fn body(&self) -> wire::ErrorBody {
        let message = match self {
            Error::Store(_) | Error::Internal(_) => {
                "The server failed unexpectedly; try again later.".to_owned()
            }
            other => sentence(&other.to_string()),
        };
        let retry_after = match self {
            Error::RegisterBudgetSpent { retry_after, .. }
            | Error::DeregisterBudgetSpent { retry_after, .. } => {
                Some(crate::clock::format_time(*retry_after))
            }
            Error::MetaRefused(e) => e.retry_after.clone(),
            _ => None,
        };
        wire::ErrorBody {
            error: wire::ApiError {
                code: self.code(),
                message,
                retryable: self.retryable(),
                retry_after,
            },
        }
    }
}

/// Capitalised, ending in a full stop: every error message is one human sentence.
pub(crate) fn sentence(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    let mut chars = s.trim().chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            // The cause may hold SQL or paths: log it, show nothing of it.
            Error::Store(e) => tracing::error!(error = %e, "store failure"),
            Error::Internal(e) => tracing::error!(error = %e, "internal failure"),
            other => tracing::debug!(code = %other.code(), "request refused"),
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.body())).into_response();
        if matches!(self, Error::Unauthorized | Error::ClientTokenInvalid) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_value(wait));
        }
        response
    }
}

/// `Retry-After` in whole seconds, rounded up (a client waiting less would be refused again),
/// at least 1.
pub fn retry_after_value(wait: std::time::Duration) -> HeaderValue {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1);
    HeaderValue::from(secs)
}

/// `axum::Json`, but every rejection is the project's [`Error`], and the classification is
/// the API's (docs/API.md): not JSON at all → 400; JSON of the wrong shape (types, unknown
/// mode, bad ids, unknown or duplicate fields) → 422. axum's own extractor calls some wrong
/// types (e.g. a number where an enum belongs) syntax errors, hence this extractor.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await?;
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(&bytes) {
            return Err(Error::MalformedJson(short(&e.to_string())));
        }
        // The failing field's path leads the message, so a refusal names what to fix.
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de)
            .map(Json)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner().to_string();
                Error::InvalidBody(short(&match path.as_str() {
                    "" | "." => inner,
                    _ => format!("{path}: {inner}"),
                }))
            })
    }
}

/// A body that could not be read: too large (the route's limit), too slow
/// (`BODY_READ_TIMEOUT_SECS`), or broken off.
impl From<axum::extract::rejection::BytesRejection> for Error {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge
        } else if is_body_timeout(&e) {
            Error::BodyTimeout
        } else {
            Error::MalformedJson("the body could not be read".to_owned())
        }
    }
}

/// `application/json`, or any `+json` type, parameters allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// serde's text is about the caller's own input; keep it short.
fn short(text: &str) -> String {
    text.chars().take(300).collect()
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The error a body read fails with once its deadline passed.
#[derive(Debug, thiserror::Error)]
#[error("the body did not arrive in time")]
pub struct BodyTimedOut;

/// Whether `e`, or an error it was caused by, is [`BodyTimedOut`].
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.is::<BodyTimedOut>() {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_capitalised_and_closed() {
        assert_eq!(
            sentence("no onboarding has this id"),
            "No onboarding has this id."
        );
        assert_eq!(sentence("Done."), "Done.");
    }

    #[test]
    fn retry_after_rounds_up_and_never_says_zero() {
        use std::time::Duration;
        assert_eq!(retry_after_value(Duration::ZERO), "1");
        assert_eq!(retry_after_value(Duration::from_millis(1500)), "2");
        assert_eq!(retry_after_value(Duration::from_secs(60)), "60");
        assert_eq!(
            retry_after_value(Duration::MAX),
            u64::MAX.to_string().as_str()
        );
    }

    #[test]
    fn internal_causes_are_not_shown() {
        let body = Error::Internal("password=hunter2".into()).body();
        assert!(!body.error.message.contains("hunter2"));
        assert_eq!(body.error.code, "internal_error");
    }
}
