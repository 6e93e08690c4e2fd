//! What clients may ask of the proxy: timeouts, concurrency, rates, event streams.

use std::time::Duration;

use super::parse::{parse_bool, parse_whole};
use super::ConfigError;

/// What clients may ask of the proxy (docs/API.md, "Limits"), each from its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// `HEADER_READ_TIMEOUT_SECS`: a connection that has not sent a whole request head by
    /// then (a first one, or the next on a kept-alive connection) is closed.
    pub header_read_timeout: Duration,
    /// `BODY_READ_TIMEOUT_SECS`: a request whose whole body has not arrived by then (counted
    /// from when its handling starts) is answered `408 body_timeout`, freeing its place.
    pub body_read_timeout: Duration,
    /// `REQUEST_TIMEOUT_SECS`: a request not answered by then is answered `503
    /// request_timeout` (body reading included; event streams excepted).
    pub request_timeout: Duration,
    /// `MAX_CONCURRENT_REQUESTS`: requests handled at once; more are answered `503
    /// overloaded` at once rather than queued.
    pub max_concurrent_requests: usize,
    /// `RATE_LIMIT_PER_MINUTE`: sign-ups (`POST /api/onboardings`), retries and PINs one client
    /// may send per minute, each route counted apart; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// `RATE_LIMIT_BURST`: how many of those may come at once before the rate applies.
    pub rate_limit_burst: u32,
    /// `TRUST_PROXY_HEADERS`: the client is the address the reverse proxy in front appended
    /// to `X-Forwarded-For`, not the connection's peer (which is that proxy).
    pub trust_proxy_headers: bool,
    /// `REQUESTS_IN_FLIGHT_PER_CLIENT`: requests one client may have in flight at once
    /// (health and metrics aside); one more is answered `429 rate_limited` at once.
    pub requests_in_flight_per_client: usize,
    /// `EVENT_STREAMS_PER_CLIENT`: event streams one client may hold open at once.
    pub event_streams_per_client: usize,
    /// `EVENT_STREAMS_MAX`: event streams open at once in all; one more is answered `503
    /// overloaded`.
    pub event_streams_max: usize,
    /// `EVENT_STREAM_MAX_SECS`: how long one event stream stays open at most (the browser's
    /// `EventSource` reconnects).
    pub event_stream_lifetime: Duration,
    /// `RETRY_COOLDOWN_SECS`: the least time between two retries of one onboarding; 0: none.
    pub retry_cooldown: Duration,
    /// `WEBHOOK_EVENT_RETENTION_DAYS`: how long received webhook events are kept (to
    /// recognise YCloud's retries), in days.
    pub webhook_event_retention: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 512,
            rate_limit_per_minute: 60,
            rate_limit_burst: 20,
            trust_proxy_headers: false,
            requests_in_flight_per_client: 64,
            event_streams_per_client: 20,
            event_streams_max: 2000,
            event_stream_lifetime: Duration::from_secs(10 * 60),
            retry_cooldown: Duration::from_secs(10),
            webhook_event_retention: Duration::from_secs(30 * DAY_SECS),
        }
    }
}

impl LimitSettings {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        // Each bound is far below its type's maximum, so the conversions below never clamp.
        let number = |var: &'static str, default: u64, min: u64, max: u64| {
            get(var).map_or(Ok(default), |v| parse_whole(var, &v, min, max))
        };
        let secs = |var: &'static str, default: Duration, max: u64| {
            number(var, default.as_secs(), 1, max).map(Duration::from_secs)
        };
        let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Self {
            header_read_timeout: secs("HEADER_READ_TIMEOUT_SECS", d.header_read_timeout, 3600)?,
            body_read_timeout: secs("BODY_READ_TIMEOUT_SECS", d.body_read_timeout, 3600)?,
            request_timeout: secs("REQUEST_TIMEOUT_SECS", d.request_timeout, 3600)?,
            max_concurrent_requests: count(number(
                "MAX_CONCURRENT_REQUESTS",
                d.max_concurrent_requests as u64,
                1,
                1_000_000,
            )?),
            rate_limit_per_minute: small(number(
                "RATE_LIMIT_PER_MINUTE",
                d.rate_limit_per_minute.into(),
                0,
                60_000,
            )?),
            rate_limit_burst: small(number(
                "RATE_LIMIT_BURST",
                d.rate_limit_burst.into(),
                1,
                100_000,
            )?),
            requests_in_flight_per_client: count(number(
                "REQUESTS_IN_FLIGHT_PER_CLIENT",
                d.requests_in_flight_per_client as u64,
                1,
                1_000_000,
            )?),
            event_streams_per_client: count(number(
                "EVENT_STREAMS_PER_CLIENT",
                d.event_streams_per_client as u64,
                1,
                100_000,
            )?),
            event_streams_max: count(number(
                "EVENT_STREAMS_MAX",
                d.event_streams_max as u64,
                1,
                1_000_000,
            )?),
            event_stream_lifetime: secs("EVENT_STREAM_MAX_SECS", d.event_stream_lifetime, 86_400)?,
            retry_cooldown: number("RETRY_COOLDOWN_SECS", d.retry_cooldown.as_secs(), 0, 3600)
                .map(Duration::from_secs)?,
            webhook_event_retention: number(
                "WEBHOOK_EVENT_RETENTION_DAYS",
                d.webhook_event_retention.as_secs() / DAY_SECS,
                1,
                3650,
            )
            .map(|days| Duration::from_secs(days * DAY_SECS))?,
            trust_proxy_headers: get("TRUST_PROXY_HEADERS")
                .map_or(Ok(d.trust_proxy_headers), |v| {
                    parse_bool("TRUST_PROXY_HEADERS", &v)
                })?,
        })
    }
}

const DAY_SECS: u64 = 24 * 60 * 60;
