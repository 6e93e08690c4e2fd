//! The fake YCloud over HTTP (the `fake-ycloud` binary): the behaviour table of
//! [`FakeYCloud`](super::FakeYCloud) at YCloud's paths under `/v2`, plus two routes for
//! tests:
//!
//! - `GET /__calls`: `[{"method", "path", "at"}]`, every call received under `/v2` (the path
//!   percent-decoded, `at` in milliseconds since the Unix epoch), oldest first, at most the
//!   last [`MAX_CALLS`];
//! - `GET /__control`, `POST /__control` with `{"paymentMissing": bool, "holdPending": bool}`
//!   (a missing key keeps its value): the [`Switches`](super::Switches), answered as they
//!   are;
//! - `POST /__faults` with [`Faults`]: a share of the calls under `/v2` answered 500, 429
//!   (`Retry-After: 1`), or held for `hangMs` before their answer (load and fault tests);
//! - `POST /__partner_webhook`: `204`, a partner's webhook receiver for benchmarks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{Answer, FakeYCloud, Switches};
use crate::providers::ycloud::{API_KEY_HEADER, REQUEST_ID_HEADER};

/// How many calls `GET /__calls` keeps (the oldest are dropped): a benchmark's millions of
/// calls must not grow the fake without bound.
pub const MAX_CALLS: usize = 100_000;

/// The API base's path.
const BASE: &str = "/v2";

/// One call the fake received.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// `GET`, `POST`, …
    pub method: String,
    /// The percent-decoded path, `/v2/…`.
    pub path: String,
    /// Milliseconds since the Unix epoch, when it arrived.
    pub at: u64,
    /// The status it was answered with (after any hold).
    pub status: u16,
}

/// Injected failures, in percent of the calls under `/v2` (drawn independently per call).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Answered `500`.
    #[serde(default)]
    pub error_percent: u8,
    /// Answered `429` with `Retry-After: 1`.
    #[serde(default)]
    pub rate_limit_percent: u8,
    /// Held for `hang_ms` before the normal answer (longer than the client waits: a timeout).
    #[serde(default)]
    pub hang_percent: u8,
    /// How long a held call is held, in milliseconds.
    #[serde(default)]
    pub hang_ms: u64,
}

/// The fake, what it expects as API key, and the calls it received.
#[derive(Debug)]
pub struct FakeServer {
    fake: FakeYCloud,
    api_key: Option<String>,
    calls: Mutex<VecDeque<Call>>,
    faults: Mutex<Faults>,
    /// The state of the fault draws (splitmix64): reproducible, and no dependency.
    draws: std::sync::atomic::AtomicU64,
}

impl FakeServer {
    /// `api_key`: the only `X-API-Key` accepted; `None` accepts any that is present.
    pub fn new(fake: FakeYCloud, api_key: Option<String>) -> Self {
        Self {
            fake,
            api_key,
            calls: Mutex::new(VecDeque::new()),
            faults: Mutex::new(Faults::default()),
            draws: std::sync::atomic::AtomicU64::new(0x5eed),
        }
    }

    /// A number from 0 to 99.
    fn draw(&self) -> u8 {
        let mut z = self
            .draws
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        u8::try_from((z ^ (z >> 31)) % 100).unwrap_or(0)
    }

    fn record(&self, method: &Method, path: &str, at: u64, status: u16) {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if calls.len() == MAX_CALLS {
            calls.pop_front();
        }
        calls.push_back(Call {
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            at,
            status,
        });
    }
}

/// The fake's routes.
pub fn router(server: Arc<FakeServer>) -> Router {
    Router::new()
        .route("/__calls", get(calls))
        .route("/__control", get(switches).post(set_switches))
        .route("/__faults", axum::routing::post(set_faults))
        // A partner's webhook receiver, for benchmarks that deliver the proxy's events.
        .route(
            "/__partner_webhook",
            axum::routing::post(|| async { StatusCode::NO_CONTENT }),
        )
        .fallback(ycloud)
        .with_state(server)
}

async fn calls(State(s): State<Arc<FakeServer>>) -> Json<Vec<Call>> {
    let calls = s
        .calls
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Json(calls.iter().cloned().collect())
}

async fn switches(State(s): State<Arc<FakeServer>>) -> Json<Switches> {
    Json(s.fake.switches())
}

/// `POST /__control`'s body: the switches to change.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SwitchChange {
    payment_missing: Option<bool>,
    hold_pending: Option<bool>,
}

async fn set_switches(
    State(s): State<Arc<FakeServer>>,
    Json(change): Json<SwitchChange>,
) -> Json<Switches> {
    let old = s.fake.switches();
    s.fake.set_switches(Switches {
        payment_missing: change.payment_missing.unwrap_or(old.payment_missing),
        hold_pending: change.hold_pending.unwrap_or(old.hold_pending),
    });
    Json(s.fake.switches())
}

async fn set_faults(State(s): State<Arc<FakeServer>>, Json(faults): Json<Faults>) -> Json<Faults> {
    *s.faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = faults;
    Json(faults)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn ycloud(
    State(s): State<Arc<FakeServer>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let at = now_ms();
    let segments: Vec<String> = uri.path().split('/').map(percent_decode).collect();
    let path = segments.join("/");
    let faults = *s
        .faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if path.starts_with(BASE) {
        if s.draw() < faults.error_percent {
            s.record(&method, &path, at, 500);
            return respond(Answer::error(500, "INTERNAL", "Injected failure.", None));
        }
        if s.draw() < faults.rate_limit_percent {
            s.record(&method, &path, at, 429);
            let mut r = respond(Answer::error(
                429,
                "TOO_MANY_REQUESTS",
                "Injected limit.",
                None,
            ));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        if s.draw() < faults.hang_percent {
            tokio::time::sleep(std::time::Duration::from_millis(faults.hang_ms)).await;
        }
    }
    let key = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok());
    let key_ok = match (&s.api_key, key) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(want), Some(got)) => want == got,
    };
    let answer = if !key_ok {
        Answer::error(401, "UNAUTHORIZED", "Invalid API key.", None)
    } else if let Some(rest) = path.strip_prefix(BASE).filter(|r| r.starts_with('/')) {
        let parts: Vec<&str> = rest[1..].split('/').collect();
        s.fake.answer(method.as_str(), &parts)
    } else {
        Answer::error(
            404,
            "NOT_FOUND",
            "The requested resource does not exist.",
            None,
        )
    };
    s.record(&method, &path, at, answer.status);
    respond(answer)
}

fn respond(a: Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(a.body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&a.request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `%XX` sequences decoded (a `+` stays a `+`: this is a path, not a form); anything that
/// does not decode to UTF-8 is left as it came.
fn percent_decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits: at most 255.
                out.extend(u8::try_from(high * 16 + low).ok());
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn paths_are_percent_decoded() {
        assert_eq!(percent_decode("%2B15550000456"), "+15550000456");
        assert_eq!(percent_decode("+1555"), "+1555");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
