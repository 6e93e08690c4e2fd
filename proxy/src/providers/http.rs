//! The upstream layer every HTTP client of the proxy (YCloud, the Graph API) goes through:
//! URLs built segment by segment, the shared `reqwest::Client`
//! ([`UpstreamTuning::http_client`]: timeouts, no redirects followed), answers read up to a
//! cap, failures classified ([`HttpError`]), retries with backoff (honouring `Retry-After`
//! when the client's error carries one), and each attempt counted in the metrics.
//!
//! What stays with each client: its headers (API key, bearer token), which failures it
//! retries, and what an error answer means (its error type converts from [`HttpError`] and
//! names its metrics outcome through [`CallError`]).

use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use time::OffsetDateTime;
use url::Url;

use crate::clock::Clock;
use crate::config::UpstreamTuning;
use crate::metrics::Metrics;

/// An answer with a success status, read whole (within the cap).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status (2xx).
    pub status: StatusCode,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The body, at most `UpstreamTuning::max_body_bytes`.
    pub body: Vec<u8>,
}

/// Why a request did not produce a success answer. Transport texts never hold the URL (the
/// Graph API's carry secrets in their query).
#[derive(Debug)]
pub enum HttpError {
    /// No answer within the request timeout.
    Timeout(String),
    /// The connection could not be made (nothing was sent).
    Connect(String),
    /// Another transport failure, possibly after sending.
    Transport(String),
    /// The answer is longer than the cap (declared or counted); it was not read.
    TooLarge {
        /// The answer's status.
        status: StatusCode,
        /// The answer's headers (boxed: errors are rare, `HeaderMap` is large).
        headers: Box<HeaderMap>,
        /// The cap.
        max: usize,
    },
    /// An answer with a status other than 2xx, read whole.
    Status {
        /// The answer (status, headers, body; boxed: errors are rare, headers large).
        answer: Box<Answer>,
        /// Its `Retry-After`, as a wait counted from the endpoint's clock.
        retry_after: Option<Duration>,
    },
}

impl Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Timeout(e) | HttpError::Connect(e) | HttpError::Transport(e) => {
                f.write_str(e)
            }
            HttpError::TooLarge { max, .. } => write!(f, "the answer is larger than {max} bytes"),
            HttpError::Status { answer, .. } => write!(f, "HTTP {}", answer.status),
        }
    }
}

/// What the layer needs of a client's error type: how a failure of this layer becomes one
/// ([`From<HttpError>`]), the metrics' outcome label, and the wait the upstream asked for.
pub trait CallError: From<HttpError> + Display {
    /// How the call ended, as the metrics label it (`timeout`, `unreachable`, `transport`,
    /// `bad_response`, `http_4xx`...).
    fn outcome(&self) -> &'static str;

    /// The `Retry-After` the upstream answered, when the client honours it.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl CallError for HttpError {
    fn outcome(&self) -> &'static str {
        match self {
            HttpError::Timeout(_) => "timeout",
            HttpError::Connect(_) => "unreachable",
            HttpError::Transport(_) => "transport",
            HttpError::TooLarge { .. } => "bad_response",
            HttpError::Status { answer, .. } => {
                crate::metrics::http_outcome(answer.status.as_u16())
            }
        }
    }
}

/// One upstream: its base URL, the shared HTTP client, the tuning (cap, attempts, backoff)
/// and where its calls are counted. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Endpoint(Arc<Inner>);

#[derive(Debug, Clone)]
struct Inner {
    /// The metrics' `upstream` label (`ycloud`, `graph`).
    upstream: &'static str,
    /// The upstream's name in logs (`YCloud`, `Graph`).
    name: &'static str,
    http: reqwest::Client,
    base_url: Url,
    tuning: UpstreamTuning,
    /// Turns a `Retry-After` date into a wait.
    clock: Clock,
    metrics: Option<Metrics>,
}

impl Endpoint {
    /// An endpoint at `base_url`, counted as `upstream` and logged as `name`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend failure).
    pub fn new(
        upstream: &'static str,
        name: &'static str,
        base_url: Url,
        tuning: UpstreamTuning,
        clock: Clock,
    ) -> Result<Self, String> {
        Ok(Self(Arc::new(Inner {
            upstream,
            name,
            http: tuning.http_client()?,
            base_url,
            tuning,
            clock,
            metrics: None,
        })))
    }

    /// This endpoint counting its calls in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        Arc::make_mut(&mut self.0).metrics = Some(metrics);
        self
    }

    /// The base URL followed by `segments`, each one path level whatever it holds (an id
    /// can never add a level nor a query); the base was checked at start-up.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.0.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A request to `url` over the shared client, asking for JSON.
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.0
            .http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Sends `request` once and reads its answer (at most the cap). `call` names it in logs
    /// (never the URL, which may hold secrets).
    ///
    /// # Errors
    /// See [`HttpError`]; an answer other than 2xx is [`HttpError::Status`].
    pub async fn send(
        &self,
        call: &'static str,
        request: RequestBuilder,
    ) -> Result<Answer, HttpError> {
        let started = Instant::now();
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = match read_capped(response, self.0.tuning.max_body_bytes).await {
            Ok(body) => body,
            Err(BodyError::Transport(e)) => return Err(classify(e)),
            Err(BodyError::TooLarge(max)) => {
                tracing::warn!(
                    call,
                    status = status.as_u16(),
                    max,
                    "{}'s answer is over the cap; not read",
                    self.0.name
                );
                return Err(HttpError::TooLarge {
                    status,
                    headers: Box::new(headers),
                    max,
                });
            }
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        // Successes at `debug` (several per sign-up); refusals at `info` (callers warn too).
        if status.is_success() {
            tracing::debug!(
                call,
                status = status.as_u16(),
                elapsed_ms,
                "{} call",
                self.0.name
            );
        } else {
            tracing::info!(
                call,
                status = status.as_u16(),
                elapsed_ms,
                "{} call",
                self.0.name
            );
        }
        let answer = Answer {
            status,
            headers,
            body,
        };
        if status.is_success() {
            return Ok(answer);
        }
        let retry_after = answer
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.0.clock.now()));
        Err(HttpError::Status {
            answer: Box::new(answer),
            retry_after,
        })
    }

    /// One call, made again while `retry` allows it (at most `UpstreamTuning::max_attempts`
    /// attempts), after the upstream's `Retry-After` (when it is not longer than
    /// `UpstreamTuning::max_retry_after`: a longer one ends the call at once) or an
    /// exponential backoff. `request` builds each attempt; `parse` reads a success answer.
    /// Each attempt is counted as `call`, with its error's outcome.
    ///
    /// # Errors
    /// The last attempt's error.
    pub async fn call<T, E: CallError>(
        &self,
        call: &'static str,
        request: impl Fn() -> RequestBuilder,
        parse: impl Fn(Answer) -> Result<T, E>,
        retry: impl Fn(&E) -> bool,
    ) -> Result<T, E> {
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let result = match self.send(call, request()).await {
                Ok(answer) => parse(answer),
                Err(e) => Err(E::from(e)),
            };
            if let Some(metrics) = &self.0.metrics {
                let outcome = match &result {
                    Ok(_) => "ok",
                    Err(e) => e.outcome(),
                };
                metrics.upstream_call(self.0.upstream, call, outcome, started.elapsed());
            }
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if attempt >= self.0.tuning.max_attempts.max(1) || !retry(&err) {
                return Err(err);
            }
            let wait = match err.retry_after() {
                // Waiting that long would hold the caller's request: report instead.
                Some(after) if after > self.0.tuning.max_retry_after => return Err(err),
                Some(after) => after,
                None => self
                    .0
                    .tuning
                    .base_backoff
                    .saturating_mul(1 << (attempt - 1).min(6)),
            };
            tracing::warn!(
                call, attempt, error = %err, wait_ms = wait.as_millis() as u64,
                "{} call failed; retrying", self.0.name
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// A transport failure, by kind; its text without the URL.
fn classify(e: reqwest::Error) -> HttpError {
    let e = e.without_url();
    if e.is_timeout() {
        HttpError::Timeout(e.to_string())
    } else if e.is_connect() {
        HttpError::Connect(e.to_string())
    } else {
        HttpError::Transport(e.to_string())
    }
}

/// Why an answer's body was not read.
#[derive(Debug)]
enum BodyError {
    /// Longer than the cap (declared or counted); reading stopped there.
    TooLarge(usize),
    /// The connection failed mid-body.
    Transport(reqwest::Error),
}

/// Reads `response`'s body, chunk by chunk, and gives up as soon as it passes `max` bytes
/// (or declares more in `Content-Length`), so an oversized answer never sits in memory.
async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(BodyError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(BodyError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The longest `Retry-After` taken at its word: a day. Longer ones (or absurd ones, say
/// `99999999999`) are read as this, so the time they become can always be computed.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// `Retry-After`: delta-seconds, or an HTTP date (counted from `now`), at most
/// [`MAX_RETRY_AFTER`]. A number too long for `u64` is still a (very long) wait.
fn parse_retry_after(v: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let secs = v.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let date = OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let delta = (date - now).whole_seconds().max(0).unsigned_abs();
    Some(Duration::from_secs(delta).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Absurd values are a long wait, never an overflow.
        for absurd in [
            "9223372036854775807",
            "18446744073709551615",
            "99999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                parse_retry_after(absurd, now),
                Some(MAX_RETRY_AFTER),
                "{absurd}"
            );
        }
    }

    #[test]
    fn ids_never_add_a_path_level() {
        let endpoint = Endpoint::new(
            "ycloud",
            "YCloud",
            Url::parse("https://api.example.com/v2/").unwrap(),
            UpstreamTuning::default(),
            Clock::system(),
        )
        .unwrap();
        let url = endpoint.url(&["whatsapp", "../admin/x?y=1#z"]);
        assert_eq!(
            url.as_str(),
            "https://api.example.com/v2/whatsapp/..%2Fadmin%2Fx%3Fy=1%23z"
        );
        assert_eq!(url.path_segments().unwrap().count(), 3);
    }
}
