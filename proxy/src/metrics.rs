//! The proxy's numbers for operators, served at `GET /metrics` in the text format Prometheus
//! scrapes (OpenMetrics): HTTP requests by route and status, onboardings by state (counted
//! in the store at each scrape), and calls to YCloud and the Graph API by kind, with their
//! latency and outcome.
//!
//! prometheus-client (the Prometheus project's Rust client) with one registry per
//! [`Metrics`], not a process-wide recorder: each application counts its own, which several
//! proxies in one test process rely on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use wire::OnboardingState;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A request answered: its route as routed (the template, never the path asked for, so ids
/// do not multiply the series), method and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// One call to an upstream: which (`ycloud`, `graph`) and what (`tp_bind`, `exchange`...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    upstream: &'static str,
    call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallOutcomeLabels {
    upstream: &'static str,
    call: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// Seconds, from a few milliseconds (a GET from memory) to a minute (a slow upstream).
fn latency() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    upstream_calls: Family<CallOutcomeLabels, Counter>,
    upstream_seconds: Family<CallLabels, Histogram, fn() -> Histogram>,
    onboardings: Family<StateLabels, Gauge>,
}

/// The proxy's metrics. Cheap to clone; clones count into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every series registered, none counted yet.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("wa_signup");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the start of the answer), by method and route",
            request_seconds.clone(),
        );
        let upstream_calls = Family::<CallOutcomeLabels, Counter>::default();
        registry.register(
            "upstream_calls",
            "Calls to YCloud and the Graph API, by upstream, call and outcome (ok, http_3xx, \
             http_4xx, http_5xx, timeout, unreachable, transport, bad_response)",
            upstream_calls.clone(),
        );
        let upstream_seconds =
            Family::<CallLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        registry.register(
            "upstream_call_duration_seconds",
            "Time of one call to YCloud or the Graph API, answer read, by upstream and call",
            upstream_seconds.clone(),
        );
        let onboardings = Family::<StateLabels, Gauge>::default();
        registry.register(
            "onboardings",
            "Onboardings stored, by state (counted at each scrape)",
            onboardings.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            requests,
            request_seconds,
            upstream_calls,
            upstream_seconds,
            onboardings,
        }))
    }

    /// Counts one call to `upstream` (`ycloud`, `graph`): what it was, how it ended
    /// (`outcome`, e.g. [`http_outcome`]) and how long it took.
    pub fn upstream_call(
        &self,
        upstream: &'static str,
        call: &'static str,
        outcome: &'static str,
        took: Duration,
    ) {
        self.0
            .upstream_calls
            .get_or_create(&CallOutcomeLabels {
                upstream,
                call,
                outcome,
            })
            .inc();
        self.0
            .upstream_seconds
            .get_or_create(&CallLabels { upstream, call })
            .observe(took.as_secs_f64());
    }

    /// The text of a scrape, with the onboardings per state as `counts` says (every state
    /// present, 0 when none is in it).
    pub fn render(&self, counts: &[(String, i64)]) -> String {
        for state in OnboardingState::ALL {
            let n = counts
                .iter()
                .find(|(s, _)| s == state.as_str())
                .map_or(0, |(_, n)| *n);
            self.0
                .onboardings
                .get_or_create(&StateLabels {
                    state: state.as_str(),
                })
                .set(n);
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.0.registry);
        text
    }

    fn request(&self, method: &'static str, route: String, status: u16, took: Duration) {
        self.0
            .request_seconds
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.0
            .requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }
}

/// The outcome label of an answered call: `ok` for 2xx, else `http_3xx`, `http_4xx`,
/// `http_5xx`.
pub fn http_outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        300..=399 => "http_3xx",
        400..=499 => "http_4xx",
        _ => "http_5xx",
    }
}

/// Middleware counting every answer by its route template (`fallback` for the bundle and
/// unknown paths) and status.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "fallback".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.request(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// A method as a label; any unusual one is `other`, so clients cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_has_every_state_and_the_counted_calls() {
        let m = Metrics::new();
        m.upstream_call("ycloud", "tp_bind", "ok", Duration::from_millis(30));
        m.request(
            "POST",
            "/api/onboardings".into(),
            201,
            Duration::from_millis(40),
        );
        let text = m.render(&[("pending".to_owned(), 2)]);
        assert!(
            text.contains("wa_signup_onboardings{state=\"pending\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("wa_signup_onboardings{state=\"failed\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "wa_signup_upstream_calls_total{upstream=\"ycloud\",call=\"tp_bind\",outcome=\"ok\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "wa_signup_http_requests_total{method=\"POST\",route=\"/api/onboardings\",status=\"201\"} 1"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(http_outcome(204), "ok");
        assert_eq!(http_outcome(302), "http_3xx");
        assert_eq!(http_outcome(429), "http_4xx");
        assert_eq!(http_outcome(503), "http_5xx");
    }
}
