//! Stable error codes: produced by the proxy, matched by the app. One enum, so renaming a code
//! fails to compile on both sides instead of silently breaking a string comparison.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)*) => {
        /// A stable snake_case error code (`error.code` of every error body and of an
        /// onboarding's `error`).
        ///
        /// Unknown codes (from a newer proxy) are kept as [`ErrorCode::Other`], so an app never
        /// fails to read an answer because of one.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this build does not know, as received.
            Other(String),
        }

        impl ErrorCode {
            /// Every known code.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire spelling, e.g. `payment_method_missing`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                    ErrorCode::Other(s) => s,
                }
            }

            /// Reads the wire spelling; unknown codes become [`ErrorCode::Other`].
            pub fn parse(s: &str) -> ErrorCode {
                match s {
                    $($wire => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    // Requests the proxy refuses.
    /// The body is not JSON.
    MalformedJson = "malformed_json",
    /// Wrong types, unknown fields or modes, malformed ids.
    InvalidBody = "invalid_body",
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type",
    /// The body is over the size limit.
    PayloadTooLarge = "payload_too_large",
    /// A path parameter is malformed.
    BadPath = "bad_path",
    /// No onboarding has this id.
    OnboardingNotFound = "onboarding_not_found",
    /// No such route.
    NotFound = "not_found",
    /// The route exists, not with this method.
    MethodNotAllowed = "method_not_allowed",
    /// A retry found nothing to retry.
    NothingToRetry = "nothing_to_retry",
    /// Meta's 10 register requests per number in 72 hours are spent (refusal or step error).
    RegisterLimit = "register_limit",
    /// The YCloud webhook endpoint has no secret configured.
    WebhooksDisabled = "webhooks_disabled",
    /// A webhook came without its signature header.
    SignatureMissing = "signature_missing",
    /// A webhook's signature header is malformed.
    SignatureMalformed = "signature_malformed",
    /// A webhook's signature does not match its body.
    SignatureInvalid = "signature_invalid",
    /// A webhook's signature timestamp is too old or too new.
    SignatureStale = "signature_stale",
    /// A verified webhook body is not an event.
    InvalidEvent = "invalid_event",
    /// Ownership verification is on and no `code` was sent.
    CodeMissing = "code_missing",
    /// Meta refused the `code` (expired, used, forged) or its token.
    CodeInvalid = "code_invalid",
    /// The code's token does not reach the WABA.
    WabaNotOwned = "waba_not_owned",
    /// The WABA does not list the posted phone number.
    PhoneNumberNotOwned = "phone_number_not_owned",
    /// Meta's Graph API could not be asked; nothing was stored.
    VerificationUnavailable = "verification_unavailable",
    /// The proxy failed unexpectedly.
    InternalError = "internal_error",
    /// Live mode needs an onboarding session and the request had none.
    SessionRequired = "session_required",
    /// The session token is unknown, expired or revoked.
    SessionInvalid = "session_invalid",
    /// The body's `customer_ref` is not the session's.
    CustomerRefMismatch = "customer_ref_mismatch",
    /// The session does not allow this mode.
    ModeNotAllowed = "mode_not_allowed",
    /// The session has created all the onboardings it may.
    SessionExhausted = "session_exhausted",
    /// The WABA and number were already onboarded for another customer.
    AlreadyOnboarded = "already_onboarded",
    /// The route needs a bearer token (a partner API key, `METRICS_TOKEN`), and the
    /// request did not carry the right one.
    Unauthorized = "unauthorized",
    /// The partner API has no keys configured.
    PartnerApiDisabled = "partner_api_disabled",
    /// No session has this id.
    SessionNotFound = "session_not_found",
    /// A list's `cursor` or `after` is not one the proxy gave out.
    InvalidCursor = "invalid_cursor",
    /// A query parameter is malformed (`limit` out of range, unknown `state`...).
    InvalidQuery = "invalid_query",
    /// Deregistering is not possible for this onboarding or provider.
    NotDeregistrable = "not_deregistrable",
    /// Starting over is possible only for a `failed` or `deregistered` onboarding, once.
    NotRestartable = "not_restartable",
    /// Reauthorization is not possible for this onboarding: its state (or, for a session, its
    /// customer or the provider: YCloud holds its own token) does not allow it.
    NotReauthorizable = "not_reauthorizable",
    /// The number's 10 deregister requests in 72 hours are spent (counted, or Meta's 133016).
    DeregisterLimit = "deregister_limit",
    /// `POST /api/onboardings/{id}/pin` while the onboarding is not waiting for a PIN.
    PinNotExpected = "pin_not_expected",
    /// The onboarding has no stored business token or PIN.
    CredentialsNotFound = "credentials_not_found",
    /// The Meta webhook handshake's `hub.verify_token` is wrong.
    VerifyTokenInvalid = "verify_token_invalid",
    /// The full-page sign-in is not configured (`REDIRECT_FLOW`).
    RedirectFlowDisabled = "redirect_flow_disabled",
    /// A redirect flow's result handle is unknown, used or expired.
    ResultNotFound = "result_not_found",
    /// A console write without the sign-in's `X-CSRF-Token`, or with another.
    CsrfInvalid = "csrf_invalid",
    /// No partner event has this id.
    EventNotFound = "event_not_found",
    /// `PARTNER_WEBHOOK_URL` is not configured: nothing can be delivered.
    PartnerWebhookNotConfigured = "partner_webhook_not_configured",

    // Limits the proxy enforces (docs/API.md, "Limits").
    /// The request was not answered within the proxy's request timeout.
    RequestTimeout = "request_timeout",
    /// The request's body did not arrive within `BODY_READ_TIMEOUT_SECS`.
    BodyTimeout = "body_timeout",
    /// The proxy is handling as many requests as it may at once.
    Overloaded = "overloaded",
    /// This client sent more requests of this kind than the proxy allows per minute.
    RateLimited = "rate_limited",
    /// This client holds as many event streams open as the proxy allows.
    TooManyStreams = "too_many_streams",
    /// This onboarding was retried a moment ago; the proxy allows one retry per cooldown.
    RetryTooSoon = "retry_too_soon",

    // Why an onboarding stopped.
    /// YCloud could not attach its credit line: contact YCloud, then retry.
    PaymentMethodMissing = "payment_method_missing",
    /// The WABA was bound but no phone number was added.
    PhoneNumberMissing = "phone_number_missing",
    /// A coexistence finish named no number and the WABA's numbers do not say which one is
    /// on the WhatsApp Business app (`candidates` lists them).
    PhoneNumberAmbiguous = "phone_number_ambiguous",
    /// After a coexistence onboarding Meta does not report the number on both the WhatsApp
    /// Business app and Cloud API (`is_on_biz_app`, `platform_type`).
    CoexistenceUnconfirmed = "coexistence_unconfirmed",
    /// WhatsApp reports the number banned or blocked.
    PhoneNumberBlocked = "phone_number_blocked",
    /// The number was deleted from the WABA.
    PhoneNumberDeleted = "phone_number_deleted",
    /// The WABA was deleted.
    WabaDeleted = "waba_deleted",
    /// Meta disabled the WABA for a policy violation.
    WabaBanned = "waba_banned",
    /// Meta scheduled the WABA to be disabled.
    WabaBanScheduled = "waba_ban_scheduled",
    /// Meta's review rejected the WABA.
    WabaRejected = "waba_rejected",
    /// The customer removed the partner from the WABA.
    PartnerRemoved = "partner_removed",
    /// The partner's app was uninstalled from the WABA.
    PartnerAppUninstalled = "partner_app_uninstalled",
    /// Meta restricted the WABA for policy violations (`ACCOUNT_RESTRICTION`).
    WabaRestricted = "waba_restricted",
    /// Meta reports a policy violation of the WABA (`ACCOUNT_VIOLATION`).
    WabaViolation = "waba_violation",
    /// The number was taken off the Cloud API (`ACCOUNT_OFFBOARDED`, e.g. a coexistence
    /// number whose phone was inactive); `ACCOUNT_RECONNECTED` brings it back.
    AccountOffboarded = "account_offboarded",
    /// An answer carried Meta's retired On-Premises error (1005).
    OnPremisesRetired = "on_premises_retired",
    /// The number already has a two-step verification PIN that is not the one sent (Meta's
    /// 133005, or 133009 for guesses too fast): the customer's PIN is needed.
    PinRequired = "pin_required",
    /// Too many wrong PINs (Meta's 133008): Meta locked the number's two-step verification.
    PinLocked = "pin_locked",
    /// Three wrong PINs for this onboarding in 24 hours: no more are sent to Meta until the
    /// partner retries the onboarding.
    PinAttemptsExhausted = "pin_attempts_exhausted",
    /// Meta no longer accepts the customer's business token (expired or revoked).
    BusinessTokenInvalid = "business_token_invalid",
    /// The customer's business token no longer works (Meta's 190: expired or revoked), or
    /// the partner asked for a new one: the customer signs in again through a session with
    /// `reauthorize_onboarding_id`.
    Reauthorize = "reauthorize",
    /// A reauthorization's sign-in named, or reached, another WABA or number than the
    /// onboarding's: nothing was stored.
    ReauthorizeMismatch = "reauthorize_mismatch",
    /// YCloud rate-limited the call.
    UpstreamRateLimited = "upstream_rate_limited",
    /// YCloud refused the proxy's API key.
    UpstreamUnauthorized = "upstream_unauthorized",
    /// YCloud does not know the account or number.
    UpstreamNotFound = "upstream_not_found",
    /// YCloud answered a conflict or asked to wait.
    UpstreamConflict = "upstream_conflict",
    /// YCloud refused the request.
    UpstreamRejected = "upstream_rejected",
    /// YCloud failed (5xx).
    UpstreamUnavailable = "upstream_unavailable",
    /// YCloud did not answer in time.
    UpstreamTimeout = "upstream_timeout",
    /// YCloud could not be reached.
    UpstreamUnreachable = "upstream_unreachable",
    /// YCloud answered something unreadable.
    UpstreamBadResponse = "upstream_bad_response",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Black-box tests and logs compare with the wire spelling.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(ErrorCode::parse(&s))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A stable snake_case error code"))
            .pattern(Some("^[a-z0-9_]+$"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips_and_is_snake_case() {
        for code in ErrorCode::KNOWN {
            let s = code.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(&ErrorCode::parse(s), code);
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
        let mut spellings: Vec<&str> = ErrorCode::KNOWN.iter().map(ErrorCode::as_str).collect();
        spellings.sort_unstable();
        spellings.dedup();
        assert_eq!(
            spellings.len(),
            ErrorCode::KNOWN.len(),
            "no code spelled twice"
        );
    }

    #[test]
    fn unknown_codes_are_kept() {
        let code: ErrorCode = serde_json::from_str("\"brand_new_code\"").unwrap();
        assert_eq!(code, ErrorCode::Other("brand_new_code".into()));
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"brand_new_code\"");
    }
}
