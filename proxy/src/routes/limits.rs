//! What clients may ask of the proxy (docs/API.md, "Limits"): the whole-request timeout,
//! the global concurrency limit and the per-client rate limits, as tower layers answering in
//! the error shape; the per-client count of open event streams ([`StreamSlots`]); and who "a
//! client" is ([`ClientIp`]). (The header-read timeout is the server's: `startup::serve`.)

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, Request};
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use axum::{BoxError, Router};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;
use tower::ServiceBuilder;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use super::AppState;
use crate::config::LimitSettings;
use crate::error::{BodyTimedOut, Error};

/// The limits the handlers and layers apply themselves, with the settings they come from.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The settings (`LimitSettings` from the environment).
    pub settings: LimitSettings,
    /// Open event streams, per client and in all.
    pub streams: Slots,
    /// Requests in flight per client.
    pub in_flight: Slots,
}

impl Limits {
    /// Limits as `settings` say.
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            streams: Slots::new(
                settings.event_streams_per_client,
                settings.event_streams_max,
            ),
            // The global bound of requests is the concurrency limit's.
            in_flight: Slots::new(settings.requests_in_flight_per_client, usize::MAX),
            settings,
        }
    }
}

/// Places held at once: at most `per_client` by each client (counted by its network, as the
/// rate limits are) and `total` in all.
#[derive(Debug, Clone)]
pub struct Slots {
    per_client: usize,
    total: usize,
    open: Arc<Mutex<Open>>,
}

#[derive(Debug, Default)]
struct Open {
    by_client: HashMap<IpAddr, usize>,
    all: usize,
}

/// Why [`Slots::take`] gave no place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// This client holds `per_client` places already.
    Client,
    /// Every one of the `total` places is held.
    All,
}

impl Slots {
    /// Room for `per_client` places per client and `total` in all.
    pub fn new(per_client: usize, total: usize) -> Self {
        Self {
            per_client,
            total,
            open: Arc::default(),
        }
    }

    /// A place for `client`, held until the [`Slot`] is dropped.
    ///
    /// # Errors
    /// [`Full`]: which bound is reached.
    pub fn take(&self, client: IpAddr) -> Result<Slot, Full> {
        let client = network_of(client);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.all >= self.total {
            return Err(Full::All);
        }
        let n = open.by_client.entry(client).or_default();
        if *n >= self.per_client {
            return Err(Full::Client);
        }
        *n += 1;
        open.all += 1;
        Ok(Slot {
            open: Arc::clone(&self.open),
            client,
        })
    }
}

/// One held place; dropping it (the stream ended, the answer was sent, the client left)
/// frees it.
#[derive(Debug)]
pub struct Slot {
    open: Arc<Mutex<Open>>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.all = open.all.saturating_sub(1);
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            // Gone with its last place: the map holds only clients holding some.
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

/// Gives a request's body `BODY_READ_TIMEOUT_SECS` to arrive in whole, counted from now:
/// past that, reading it fails with [`BodyTimedOut`], which the extractors answer as `408
/// body_timeout`, so a client trickling its body holds a place of `MAX_CONCURRENT_REQUESTS`
/// that long at most (not for the whole request timeout). The body is not read here: a
/// handler that refuses on the headers alone (a webhook's stale signature) never waits.
pub async fn body_deadline(
    axum::extract::State(limits): axum::extract::State<Limits>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let deadline = tokio::time::Instant::now() + limits.settings.body_read_timeout;
    next.run(req.map(|body| {
        axum::body::Body::new(TimedBody {
            inner: body,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
        })
    }))
    .await
}

/// A body that fails with [`BodyTimedOut`] when it is still incomplete at `deadline`.
struct TimedBody {
    inner: axum::body::Body,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for TimedBody {
    type Data = axum::body::Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future as _;
        use std::task::Poll;
        match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(BoxError::from))),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Holds one of the client's `REQUESTS_IN_FLIGHT_PER_CLIENT` places while its request is
/// handled; beyond them, `429 rate_limited` at once, so no single client can take every
/// place of the global concurrency limit.
pub async fn per_client_in_flight(
    axum::extract::State(state): axum::extract::State<AppState>,
    ClientIp(client): ClientIp,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let Ok(slot) = state.limits.in_flight.take(client) else {
        return Error::RateLimited {
            wait: Duration::from_secs(1),
        }
        .into_response();
    };
    let response = next.run(req).await;
    // An event stream's answer outlives this call: its own slot (`streams`) bounds it.
    drop(slot);
    response
}

/// `router`'s routes (so far) with the request timeout: a request not answered within
/// `timeout`, its body included, is answered `503 request_timeout` and its handler dropped.
/// Handlers whose work must outlive the answer (the onboarding steps) run it in a task of
/// their own.
pub fn with_request_timeout<S>(router: Router<S>, timeout: Duration) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.route_layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refusal))
            .layer(TimeoutLayer::new(timeout)),
    )
}

/// `router` (routes and fallback) handling at most `max` requests at once; one more is
/// answered `503 overloaded` at once instead of queueing. An event stream holds its place
/// only until its answer starts.
pub fn with_concurrency_limit<S>(router: Router<S>, max: usize) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // Global: one semaphore shared by every route's copy of the layer.
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refusal))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(max)),
    )
}

/// The error shape of what tower's layers refuse with.
async fn refusal(err: BoxError) -> Error {
    if err.is::<tower::timeout::error::Elapsed>() {
        Error::RequestTimeout
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        Error::Overloaded
    } else {
        Error::Internal(format!("a limit layer failed: {err}"))
    }
}

/// `route` with the per-client rate limit of `settings` (`RATE_LIMIT_PER_MINUTE`, with bursts
/// of `RATE_LIMIT_BURST`); a request beyond it is answered `429 rate_limited` with
/// `Retry-After`. Each call makes its own budget, so each route is counted apart. Off (the
/// route as it is) when the rate is 0.
pub fn rate_limited(
    route: MethodRouter<AppState>,
    settings: &LimitSettings,
) -> MethodRouter<AppState> {
    if settings.rate_limit_per_minute == 0 {
        return route;
    }
    // GCRA: one request back every 60 s / rate, at most `burst` saved up.
    let period = Duration::from_secs(60) / settings.rate_limit_per_minute;
    let Some(config) = GovernorConfigBuilder::default()
        .period(period)
        .burst_size(settings.rate_limit_burst)
        .key_extractor(ClientKey {
            trust_proxy_headers: settings.trust_proxy_headers,
        })
        .finish()
    else {
        // Only a zero period or burst fails, which the settings cannot hold.
        return route;
    };
    // Clients whose budget is full again are forgotten, so the limiter's memory follows the
    // clients of the last minutes rather than every address ever seen.
    let limiter = Arc::downgrade(config.limiter());
    every_minute(move || {
        limiter
            .upgrade()
            .map(|limiter| limiter.retain_recent())
            .is_some()
    });
    route.layer(GovernorLayer::new(config).error_handler(|e| {
        match e {
            GovernorError::TooManyRequests { wait_time, .. } => Error::RateLimited {
                wait: Duration::from_secs(wait_time),
            }
            .into_response(),
            other => Error::Internal(format!("rate limiter: {other}")).into_response(),
        }
    }))
}

/// Calls `prune` once a minute until it answers false (its limiter dropped with the router).
fn every_minute(mut prune: impl FnMut() -> bool + Send + 'static) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            if !prune() {
                return;
            }
        }
    });
}

/// The rate limiter's key: the client's address ([`client_ip`]), IPv6 by its /64 (one
/// customer's network), so that hopping through a prefix buys no extra budget.
#[derive(Debug, Clone, Copy)]
struct ClientKey {
    trust_proxy_headers: bool,
}

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        Ok(network_of(client_ip(
            req.headers(),
            req.extensions(),
            self.trust_proxy_headers,
        )))
    }
}

/// An IPv6 address's /64; an IPv4 address as it is.
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// Who sent a request: the connection's peer, or with `TRUST_PROXY_HEADERS=true` the last
/// address of `X-Forwarded-For`, the one the reverse proxy in front appended (those before
/// it are whatever the client claimed). Without either (a router called without the server,
/// in tests), the unspecified address: one shared budget rather than a failed request.
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &Extensions,
    trust_proxy_headers: bool,
) -> IpAddr {
    if trust_proxy_headers {
        // Strictly the last entry: skipping an unreadable one would reach the client's own.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|a| a.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(peer)| peer.ip())
}

/// The client of a request as an extractor ([`client_ip`] with the proxy's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            &parts.headers,
            &parts.extensions,
            state.limits.settings.trust_proxy_headers,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> Request<()> {
        let mut b = Request::builder();
        for f in forwarded {
            b = b.header("x-forwarded-for", *f);
        }
        let mut req = b.body(()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        req
    }

    fn ip(req: &Request<()>, trust: bool) -> String {
        client_ip(req.headers(), req.extensions(), trust).to_string()
    }

    #[test]
    fn the_client_is_the_peer_unless_proxy_headers_are_trusted() {
        let req = request("10.0.0.1:5000", &["1.1.1.1, 2.2.2.2"]);
        assert_eq!(ip(&req, false), "10.0.0.1");
        // The last address is the one the trusted proxy saw; the first is the client's claim.
        assert_eq!(ip(&req, true), "2.2.2.2");
        let req = request("10.0.0.1:5000", &["1.1.1.1", "3.3.3.3"]);
        assert_eq!(ip(&req, true), "3.3.3.3");
        for unreadable in [&["garbage"][..], &["1.1.1.1, garbage"], &["1.1.1.1", ""]] {
            let req = request("[::1]:5000", unreadable);
            assert_eq!(ip(&req, true), "::1", "{unreadable:?}");
        }
        let bare = Request::new(());
        assert_eq!(ip(&bare, false), "0.0.0.0");
    }

    #[test]
    fn slots_are_counted_per_client_and_in_all_and_freed_on_drop() {
        let slots = Slots::new(2, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        assert_eq!(slots.take(a).unwrap_err(), Full::Client);
        let _b = slots.take(b).unwrap();
        assert_eq!(slots.take(c).unwrap_err(), Full::All, "three held in all");
        drop(first);
        let _third = slots.take(a).unwrap();
        assert_eq!(slots.take(a).unwrap_err(), Full::All);
        drop(_b);
        assert_eq!(slots.take(a).unwrap_err(), Full::Client);
        assert!(slots.take(c).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network_of(a), network_of(b));
        assert_ne!(network_of(a), network_of(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(network_of(mapped).to_string(), "192.0.2.1");
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(network_of(v4), v4);
    }
}
