//! Why a Cloud API call failed, and what each failure means for the onboarding: a stable
//! code, one sentence saying what to do, whether `retry` may help, and when.

use time::OffsetDateTime;
use wire::{ErrorCode, OnboardingError};

use crate::budget::META_REFUSED;
use crate::budget::{self, Call};
use crate::pipeline::REAUTHORIZE_MESSAGE;
use crate::providers::graph::{read_fault, BadBody};
use crate::providers::http::{CallError, HttpError};
use crate::rules::ON_PREM_BLOCKED;

/// Meta: "Two step verification PIN Mismatch".
pub const PIN_MISMATCH: i64 = 133005;
/// Meta: too many wrong two-step verification PINs for this number.
pub const TOO_MANY_PIN_GUESSES: i64 = 133008;
/// Meta: "Two step verification PIN Guessed Too Fast".
pub const PIN_GUESSED_TOO_FAST: i64 = 133009;
/// Meta: "Phone number re-verification needed".
const REVERIFICATION_NEEDED: i64 = 133006;
/// Meta: "The account is not registered".
pub const NOT_REGISTERED: i64 = 133010;
/// Meta: "Please wait a few minutes before attempting to register this phone number".
const WAIT_BEFORE_REGISTER: i64 = 133015;
/// Graph: the access token is invalid or expired.
pub const TOKEN_INVALID: i64 = 190;
/// Meta's subcode of 100 when a number is registered before its display name is ready.
pub const DISPLAY_NAME_PENDING: i64 = 2388001;
/// Graph: the application's request limit (a second `smb_app_data` of a kind answers it).
pub const REQUEST_LIMIT: i64 = 4;

/// Which call failed (for the sentence and the retry rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `subscribed_apps`.
    SubscribeApp,
    /// `register`.
    Register,
    /// `deregister`.
    Deregister,
    /// `smb_app_data`.
    Sync,
    /// Reading the number.
    ReadNumber,
    /// Reading which apps the WABA's webhooks go to (`GET subscribed_apps`).
    ReadSubscriptions,
}

impl Op {
    /// A read: harmless to make again.
    fn is_read(self) -> bool {
        matches!(self, Op::ReadNumber | Op::ReadSubscriptions)
    }

    /// The call's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::SubscribeApp => "subscribed_apps",
            Op::Register => "register",
            Op::Deregister => "deregister",
            Op::Sync => "smb_app_data",
            Op::ReadNumber => "phone_number",
            Op::ReadSubscriptions => "subscribed_apps_read",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Op::SubscribeApp => "subscribe the app to the WhatsApp Business Account",
            Op::Register => "register the phone number",
            Op::Deregister => "deregister the phone number",
            Op::Sync => "request the WhatsApp Business App's contacts and history",
            Op::ReadNumber => "read the phone number",
            Op::ReadSubscriptions => "read the apps subscribed to the WhatsApp Business Account",
        }
    }
}

/// Why a Cloud API call did not answer what was expected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MetaError {
    /// Meta answered with an error status.
    #[error("Meta answered HTTP {status} (code {code:?})")]
    Graph {
        /// The HTTP status.
        status: u16,
        /// Graph's `error.code` (or the On-Premises body's `code`).
        code: Option<i64>,
        /// Graph's `error.error_subcode`.
        subcode: Option<i64>,
        /// Meta's sentence for the user, else its message (cut to 300 characters).
        message: Option<String>,
        /// `error.fbtrace_id`, to quote to Meta's support.
        fbtrace_id: Option<String>,
        /// The answer names the retired On-Premises registration.
        on_prem_blocked: bool,
    },
    /// No answer within the request timeout.
    #[error("Meta did not answer in time")]
    Timeout,
    /// The connection could not be made (nothing was sent).
    #[error("cannot connect to Meta: {0}")]
    Connect(String),
    /// Another transport failure, possibly after sending.
    #[error("transport failure talking to Meta: {0}")]
    Transport(String),
    /// A success status with a body that is not a JSON object.
    #[error("Meta's answer could not be read: {cause}")]
    BadBody {
        /// The HTTP status.
        status: u16,
        /// What did not parse.
        cause: String,
    },
}

impl From<HttpError> for MetaError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Timeout(_) => MetaError::Timeout,
            HttpError::Connect(e) => MetaError::Connect(e),
            HttpError::Transport(e) => MetaError::Transport(e),
            HttpError::TooLarge { status, max, .. } => MetaError::BadBody {
                status: status.as_u16(),
                cause: format!("the answer is larger than {max} bytes"),
            },
            HttpError::Status { answer, .. } => {
                MetaError::from_answer(answer.status.as_u16(), &answer.body)
            }
        }
    }
}

impl From<BadBody> for MetaError {
    fn from(b: BadBody) -> Self {
        MetaError::BadBody {
            status: b.status,
            cause: b.cause,
        }
    }
}

impl CallError for MetaError {
    fn outcome(&self) -> &'static str {
        match self {
            MetaError::Graph { status, .. } => crate::metrics::http_outcome(*status),
            MetaError::Timeout => "timeout",
            MetaError::Connect(_) => "unreachable",
            MetaError::Transport(_) => "transport",
            MetaError::BadBody { .. } => "bad_response",
        }
    }
}

impl MetaError {
    /// An error answer, as Graph (or the retired On-Premises API) writes it.
    pub fn from_answer(status: u16, body: &[u8]) -> Self {
        let fault = read_fault(body);
        MetaError::Graph {
            status,
            code: fault.code,
            subcode: fault.subcode,
            message: fault.message,
            fbtrace_id: fault.fbtrace_id,
            on_prem_blocked: String::from_utf8_lossy(body).contains(ON_PREM_BLOCKED),
        }
    }

    /// Graph's error code, when Meta answered one.
    pub fn code(&self) -> Option<i64> {
        match self {
            MetaError::Graph { code, .. } => *code,
            _ => None,
        }
    }

    /// Graph's 190: the business token is expired or revoked, whichever call met it; the
    /// onboarding asks for reauthorization.
    pub fn is_token_invalid(&self) -> bool {
        self.code() == Some(TOKEN_INVALID)
    }

    /// Meta's 100 / 2388001 ("Cannot Create Certificate") to a register: the number's
    /// display name is not provisioned yet. Not a failure: the register waits for the name.
    pub fn is_display_name_pending(&self) -> bool {
        matches!(
            self,
            MetaError::Graph {
                code: Some(100),
                subcode: Some(DISPLAY_NAME_PENDING),
                ..
            }
        )
    }

    /// Whether the same call may simply be made again at once.
    pub(crate) fn may_retry(&self, op: Op) -> bool {
        match self {
            MetaError::Connect(_) => true,
            MetaError::Timeout | MetaError::Transport(_) | MetaError::BadBody { .. } => {
                op.is_read()
            }
            MetaError::Graph { status, .. } => op.is_read() && *status >= 500,
        }
    }

    /// The onboarding error this failure of `op` becomes at `now`.
    pub fn to_onboarding_error(&self, op: Op, now: OffsetDateTime) -> OnboardingError {
        let what = op.what();
        let (code, message, retryable, retry_after) = self.explain(op, what, now);
        OnboardingError {
            code,
            message,
            retryable,
            upstream_request_id: match self {
                MetaError::Graph { fbtrace_id, .. } => fbtrace_id.clone(),
                _ => None,
            },
            retry_after: retry_after.map(crate::clock::format_time),
            candidates: Vec::new(),
        }
    }

    fn explain(
        &self,
        op: Op,
        what: &str,
        now: OffsetDateTime,
    ) -> (ErrorCode, String, bool, Option<OffsetDateTime>) {
        let MetaError::Graph {
            status,
            code,
            message,
            on_prem_blocked,
            ..
        } = self
        else {
            return match self {
                MetaError::Timeout => (
                    ErrorCode::UpstreamTimeout,
                    format!("Meta did not answer in time when asked to {what}; retry later."),
                    true,
                    None,
                ),
                MetaError::BadBody { .. } => (
                    ErrorCode::UpstreamBadResponse,
                    format!(
                        "Meta answered something unreadable when asked to {what}; retry later."
                    ),
                    true,
                    None,
                ),
                _ => (
                    ErrorCode::UpstreamUnreachable,
                    format!("Meta could not be reached to {what}; retry later."),
                    true,
                    None,
                ),
            };
        };
        let with_detail = |base: &str| match message {
            Some(m) => format!(
                "{} (Meta: {}).",
                base.trim_end_matches('.'),
                m.trim().trim_end_matches('.')
            ),
            None => base.to_owned(),
        };
        if *on_prem_blocked {
            return (
                ErrorCode::OnPremisesRetired,
                "Meta answered with the retired On-Premises registration (1005, \
                 biz_link_on_prem_reg_blocked): this number is still set up for the On-Premises \
                 API, which no longer registers numbers. Use Cloud API registration instead: \
                 migrate the number to Cloud API (or remove it from the On-Premises setup) in \
                 WhatsApp Manager, then sign up again."
                    .to_owned(),
                false,
                None,
            );
        }
        match code {
            Some(META_REFUSED) => {
                let call = match op {
                    Op::Deregister => Call::Deregister,
                    _ => Call::Register,
                };
                let until = budget::free_at(None, now);
                (call.code(), budget::refused(call, until), true, Some(until))
            }
            Some(PIN_MISMATCH) => (
                ErrorCode::PinRequired,
                "This number already has a two-step verification PIN, and it is not the one sent \
                 (133005). Ask the customer for their 6-digit PIN (WhatsApp Manager > phone \
                 numbers > two-step verification, where it can also be reset) and send it with \
                 POST /api/onboardings/{id}/pin. Each wrong PIN counts towards Meta's lock-out, \
                 so the proxy never guesses."
                    .to_owned(),
                false,
                None,
            ),
            Some(PIN_GUESSED_TOO_FAST) => (
                ErrorCode::PinRequired,
                "Meta refused the PIN because PINs were tried too fast for this number (133009). \
                 Wait a few minutes, then send the customer's PIN again with \
                 POST /api/onboardings/{id}/pin."
                    .to_owned(),
                false,
                None,
            ),
            Some(TOO_MANY_PIN_GUESSES) => (
                ErrorCode::PinLocked,
                "Too many wrong two-step verification PINs were tried for this number (133008), \
                 and Meta locked its PIN checks for a while. Do not try again now: wait until the \
                 lock ends (Meta's message says when, often hours), reset the PIN in WhatsApp \
                 Manager if it is not known for sure, then send it with \
                 POST /api/onboardings/{id}/pin."
                    .to_owned(),
                false,
                None,
            ),
            Some(REVERIFICATION_NEEDED) => (
                ErrorCode::UpstreamRejected,
                with_detail(
                    "Meta asks for this phone number to be verified again (133006): verify it \
                     in WhatsApp Manager, then retry.",
                ),
                true,
                None,
            ),
            Some(WAIT_BEFORE_REGISTER) => (
                ErrorCode::UpstreamConflict,
                "Meta asks to wait a few minutes before registering this number again (133015); \
                 retry later."
                    .to_owned(),
                true,
                Some(now + time::Duration::minutes(5)),
            ),
            Some(TOKEN_INVALID) => (
                ErrorCode::Reauthorize,
                REAUTHORIZE_MESSAGE.to_owned(),
                false,
                None,
            ),
            Some(REQUEST_LIMIT | 80007 | 613 | 130429) => (
                ErrorCode::UpstreamRateLimited,
                format!(
                    "Meta is rate limiting requests, so it could not {what}; retry in a moment."
                ),
                true,
                None,
            ),
            Some(10 | 200..=299) => (
                ErrorCode::UpstreamUnauthorized,
                with_detail(&format!(
                    "Meta refused the business token's permissions while trying to {what}; the \
                     customer must grant whatsapp_business_management and \
                     whatsapp_business_messaging when signing up again."
                )),
                false,
                None,
            ),
            _ if matches!(status, 401 | 403) => (
                ErrorCode::UpstreamUnauthorized,
                with_detail(&format!(
                    "Meta refused the business token while trying to {what}."
                )),
                false,
                None,
            ),
            _ if *status == 429 => (
                ErrorCode::UpstreamRateLimited,
                format!(
                    "Meta is rate limiting requests, so it could not {what}; retry in a moment."
                ),
                true,
                None,
            ),
            _ if *status == 404 => (
                ErrorCode::UpstreamNotFound,
                with_detail(&format!(
                    "Meta does not know this account or number, so it could not {what}."
                )),
                false,
                None,
            ),
            _ if (400..500).contains(status) => (
                ErrorCode::UpstreamRejected,
                with_detail(&format!("Meta refused to {what}.")),
                false,
                None,
            ),
            _ => (
                ErrorCode::UpstreamUnavailable,
                with_detail(&format!("Meta failed to {what}; retry later.")),
                true,
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn graph(status: u16, body: Value) -> MetaError {
        MetaError::from_answer(status, body.to_string().as_bytes())
    }

    fn meta(code: i64) -> MetaError {
        graph(
            400,
            json!({"error": {"message": "m", "type": "OAuthException", "code": code,
                             "fbtrace_id": "AbC"}}),
        )
    }

    #[test]
    fn each_meta_code_says_what_to_do() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let cases = [
            (PIN_MISMATCH, Op::Register, "pin_required", false),
            (PIN_GUESSED_TOO_FAST, Op::Register, "pin_required", false),
            (TOO_MANY_PIN_GUESSES, Op::Register, "pin_locked", false),
            (133016, Op::Register, "register_limit", true),
            (133016, Op::Deregister, "deregister_limit", true),
            (190, Op::Register, "reauthorize", false),
            (190, Op::ReadNumber, "reauthorize", false),
            (133015, Op::Register, "upstream_conflict", true),
            (100, Op::SubscribeApp, "upstream_rejected", false),
        ];
        for (code, op, want, retryable) in cases {
            let e = meta(code).to_onboarding_error(op, now);
            assert_eq!(e.code, want, "{code}");
            assert_eq!(e.retryable, retryable, "{code}");
            assert_eq!(e.upstream_request_id.as_deref(), Some("AbC"));
            assert!(e.message.ends_with('.'), "{}", e.message);
        }
        let limit = meta(133016).to_onboarding_error(Op::Deregister, now);
        let until = crate::clock::format_time(now + time::Duration::hours(72));
        assert_eq!(limit.retry_after.as_deref(), Some(until.as_str()));
        assert!(limit.message.contains(&until), "{}", limit.message);
        let unavailable = graph(503, json!({})).to_onboarding_error(Op::Register, now);
        assert_eq!(unavailable.code, "upstream_unavailable");
    }

    #[test]
    fn the_retired_on_premises_answer_is_explained() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        for body in [
            json!({"code": 1005, "title": "Access denied",
                   "details": "Unknown error: biz_link_on_prem_reg_blocked"}),
            json!({"error": {"code": 1005, "message": "Access denied",
                   "error_data": {"details": "Unknown error: biz_link_on_prem_reg_blocked"}}}),
        ] {
            let e = graph(403, body).to_onboarding_error(Op::Register, now);
            assert_eq!(e.code, "on_premises_retired");
            assert!(!e.retryable);
            assert!(
                e.message.contains("Cloud API registration"),
                "{}",
                e.message
            );
        }
    }
}
