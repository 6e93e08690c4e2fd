//! Why a YCloud call failed, and what each failure means for the onboarding: its code,
//! sentence, whether `retry` may help, and when.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use time::OffsetDateTime;
use wire::{ErrorCode, OnboardingError};

use super::{ErrorDetail, ErrorResponse, REQUEST_ID_HEADER};
use crate::providers::http::{CallError, HttpError};

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

use crate::budget::META_REFUSED;
use crate::rules::ON_PREM_BLOCKED;

/// Meta's subcode (with code 100) for a register before the display name is provisioned
/// ("Cannot Create Certificate"), as YCloud relays it in `whatsappApiError.error_subcode`.
pub const META_DISPLAY_NAME_PENDING: i64 = 2388001;

/// `YCloud-Request-ID`, when the answer carries one.
pub(super) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl From<HttpError> for UpstreamError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Timeout(_) => UpstreamError::Timeout,
            HttpError::Connect(e) => UpstreamError::Connect(e),
            HttpError::Transport(e) => UpstreamError::Transport(e),
            HttpError::TooLarge {
                status,
                headers,
                max,
            } => UpstreamError::BadBody {
                status: status.as_u16(),
                request_id: request_id(&headers),
                cause: format!("the answer is larger than {max} bytes"),
            },
            HttpError::Status {
                answer,
                retry_after,
            } => {
                let detail = serde_json::from_slice::<ErrorResponse>(&answer.body)
                    .ok()
                    .map(|r| Box::new(r.error));
                let request_id = request_id(&answer.headers)
                    .or_else(|| detail.as_ref().and_then(|d| d.request_id.clone()));
                UpstreamError::Status {
                    status: answer.status.as_u16(),
                    detail,
                    request_id,
                    retry_after,
                }
            }
        }
    }
}

impl CallError for UpstreamError {
    fn outcome(&self) -> &'static str {
        match self {
            UpstreamError::Status { status, .. } => crate::metrics::http_outcome(*status),
            UpstreamError::Timeout => "timeout",
            UpstreamError::Connect(_) => "unreachable",
            UpstreamError::Transport(_) => "transport",
            UpstreamError::BadBody { .. } => "bad_response",
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

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
        self.meta_number(|e| e.code.as_ref())
    }

    /// Meta's `error_subcode`, relayed in `whatsappApiError` (a string in YCloud's spec, a
    /// number in Meta's answers).
    fn meta_subcode(&self) -> Option<i64> {
        self.meta_number(|e| e.error_subcode.as_ref())
    }

    fn meta_number(
        &self,
        field: impl Fn(&super::WhatsappApiError) -> Option<&Value>,
    ) -> Option<i64> {
        let UpstreamError::Status {
            detail: Some(d), ..
        } = self
        else {
            return None;
        };
        match field(d.whatsapp_api_error.as_ref()?)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Meta's 100 / 2388001 relayed by YCloud: the number was registered before its display
    /// name was provisioned. Not a failure: the onboarding waits for the name
    /// (`awaiting_display_name`), as with Meta directly.
    pub fn is_display_name_pending(&self) -> bool {
        self.meta_code() == Some(100) && self.meta_subcode() == Some(META_DISPLAY_NAME_PENDING)
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
        // YCloud's `Retry-After` as a time.
        // Checked: `Retry-After` comes from outside, and an overflow here would panic.
        let wait_until = |wait: &Option<Duration>| {
            wait.and_then(|d| time::Duration::try_from(d).ok())
                .and_then(|d| now.checked_add(d))
        };
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
                ErrorCode::OnPremisesRetired,
                "On-Premises registration is retired; use Cloud API registration.".to_owned(),
                false,
                None,
            )
        } else if self.meta_code() == Some(META_REFUSED) {
            let until = crate::budget::free_at(None, now);
            (
                ErrorCode::RegisterLimit,
                crate::budget::refused(crate::budget::Call::Register, until),
                true,
                Some(until),
            )
        } else {
            match self {
                UpstreamError::Status {
                    status: 429,
                    retry_after,
                    ..
                } => (
                    ErrorCode::UpstreamRateLimited,
                    format!("YCloud is rate limiting requests, so it could not {what}; retry in a moment."),
                    true,
                    wait_until(retry_after),
                ),
                UpstreamError::Status {
                    status: 401 | 403, ..
                } => (
                    ErrorCode::UpstreamUnauthorized,
                    with_detail(format!(
                        "YCloud refused the proxy's API key while trying to {what}; check \
                         YCLOUD_API_KEY, then retry."
                    )),
                    true,
                    None,
                ),
                UpstreamError::Status { status: 404, .. } => (
                    ErrorCode::UpstreamNotFound,
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
                    ErrorCode::UpstreamConflict,
                    with_detail(format!("YCloud could not {what} right now; retry later.")),
                    true,
                    wait_until(retry_after),
                ),
                // Redirects are not followed (the key would go along): a base URL that
                // redirects is misconfigured.
                UpstreamError::Status {
                    status: 300..=399, ..
                } => (
                    ErrorCode::UpstreamBadResponse,
                    format!(
                        "YCloud answered with a redirect, which the proxy does not follow, when \
                         asked to {what}; check YCLOUD_BASE_URL, then retry."
                    ),
                    true,
                    None,
                ),
                UpstreamError::Status {
                    status: 400..=499, ..
                } => (
                    ErrorCode::UpstreamRejected,
                    with_detail(format!("YCloud refused to {what}.")),
                    false,
                    None,
                ),
                UpstreamError::Status { retry_after, .. } => (
                    ErrorCode::UpstreamUnavailable,
                    with_detail(format!("YCloud failed to {what}; retry later.")),
                    true,
                    wait_until(retry_after),
                ),
                UpstreamError::Timeout => (
                    ErrorCode::UpstreamTimeout,
                    format!("YCloud did not answer in time when asked to {what}; retry later."),
                    true,
                    None,
                ),
                UpstreamError::Connect(_) | UpstreamError::Transport(_) => (
                    ErrorCode::UpstreamUnreachable,
                    format!("YCloud could not be reached to {what}; retry later."),
                    true,
                    None,
                ),
                UpstreamError::BadBody { .. } => (
                    ErrorCode::UpstreamBadResponse,
                    format!("YCloud answered something unreadable when asked to {what}; retry later."),
                    true,
                    None,
                ),
            }
        };
        OnboardingError {
            code,
            message,
            retryable,
            upstream_request_id: self.request_id().map(str::to_owned),
            retry_after: retry_after.map(crate::clock::format_time),
            candidates: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::providers::ycloud::ErrorResponse;

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
    fn a_retry_after_past_the_calendar_is_dropped_not_a_panic() {
        let e = UpstreamError::Status {
            status: 429,
            detail: None,
            request_id: None,
            retry_after: Some(Duration::from_secs(i64::MAX.unsigned_abs())),
        };
        let o = e.to_onboarding_error("bind the account", Clock::system().now());
        assert_eq!(o.code, "upstream_rate_limited");
        assert_eq!(o.retry_after, None);
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
                Some(crate::clock::format_time(now + time::Duration::hours(72)))
            );
        }
    }
}
