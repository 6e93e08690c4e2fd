//! What clients may ask of the proxy: slow request heads and bodies, requests at once, per
//! client rates and streams, retries of one onboarding.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wire::OnboardingState;

use crate::helpers::*;
use crate::webhooks::{pending_onboarding, phone_event};

/// An app with these extra variables.
async fn app_with(env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(Options {
        env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ..Options::default()
    })
    .await
}

/// A raw connection to the app that has sent `bytes` and nothing more.
pub(crate) async fn send_partly(app: &TestApp, bytes: &str) -> TcpStream {
    let addr = app.address.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket.write_all(bytes.as_bytes()).await.expect("write");
    socket
}

/// Everything the server sends until it closes the connection; panics when it is still
/// open after `within` (far longer than the limit under test).
pub(crate) async fn read_until_closed(socket: &mut TcpStream, within: Duration) -> String {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        read.is_ok(),
        "still open after {within:?}; received {text:?}"
    );
    text
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    let app = app_with(&[("HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut socket = send_partly(&app, "GET /healthz HT").await;
    read_until_closed(&mut socket, Duration::from_secs(10)).await;
    // Others are served all along.
    let r = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The status line and error body of a raw HTTP answer.
fn raw_error(answer: &str) -> (&str, wire::ErrorBody) {
    let status = answer.lines().next().unwrap_or_default();
    let body = &answer[answer.find("\r\n\r\n").expect("a body") + 4..];
    (status, serde_json::from_str(body).expect(body))
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_body_timeout_and_frees_its_place() {
    // The only place, and a request timeout far longer than the body's: the body's own
    // limit is what frees the place.
    let app = app_with(&[
        ("BODY_READ_TIMEOUT_SECS", "1"),
        ("REQUEST_TIMEOUT_SECS", "60"),
        ("MAX_CONCURRENT_REQUESTS", "1"),
    ])
    .await;
    let started = std::time::Instant::now();
    let mut socket = send_partly(
        &app,
        "POST /api/onboardings HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n\
         Content-Length: 200\r\nConnection: close\r\n\r\n{\"mode\":",
    )
    .await;
    let answer = read_until_closed(&mut socket, Duration::from_secs(20)).await;
    let (status, e) = raw_error(&answer);
    assert!(status.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(e.error.code, "body_timeout");
    assert!(e.error.retryable);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "answered by the body's limit, not the request's: {:?}",
        started.elapsed()
    );
    assert_eq!(app.stored_onboardings().await, 0);
    // The place is free again at once.
    let r = app
        .client
        .get(format!("{}/api/config", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A whole body that arrives in time is read as before.
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn one_client_cannot_hold_every_place() {
    let app = app_with(&[
        ("REQUESTS_IN_FLIGHT_PER_CLIENT", "1"),
        ("TRUST_PROXY_HEADERS", "true"),
        ("BODY_READ_TIMEOUT_SECS", "30"),
    ])
    .await;
    // Client A's only place is held by a body that trickles in.
    let _slow = send_partly(
        &app,
        "POST /api/onboardings HTTP/1.1\r\nHost: proxy\r\nX-Forwarded-For: 203.0.113.7\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
    )
    .await;
    let config_from = |ip: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}/api/config", app.address))
                .header("x-forwarded-for", ip)
                .send()
                .await
                .unwrap()
        }
    };
    // Refused while its only place is held.
    let refused = poll_until(Duration::from_secs(10), || async {
        let r = config_from("203.0.113.7").await;
        match r.status().as_u16() {
            429 => Ok(r),
            other => Err(other),
        }
    })
    .await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let e = assert_error_shape(refused, 429).await;
    assert_eq!(e.error.code, "rate_limited");
    // Another client, and the operator's probes, are served meanwhile.
    assert_eq!(config_from("203.0.113.8").await.status(), 200);
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Its request gone, client A is served again.
    drop(_slow);
    poll_until(Duration::from_secs(10), || async {
        match config_from("203.0.113.7").await.status().as_u16() {
            200 => Ok(()),
            other => Err(other),
        }
    })
    .await;
}

#[tokio::test]
async fn the_event_stream_outlives_the_request_timeout() {
    let app = app_with(&[("REQUEST_TIMEOUT_SECS", "1")]).await;
    let o = pending_onboarding(&app).await;
    let mut stream = app
        .client
        .get(format!("{}/api/onboardings/{}/events", app.address, o.id))
        .headers(bearer(&o.id))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    stream.chunk().await.unwrap().expect("the first event");
    // A request started after the stream, whose body never comes, is cut by the request
    // timeout: by then the stream has outlived it too.
    let mut cut = send_partly(
        &app,
        "POST /api/onboardings HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n\
         Content-Length: 200\r\nConnection: close\r\n\r\n{",
    )
    .await;
    let answer = read_until_closed(&mut cut, Duration::from_secs(10)).await;
    let (status, e) = raw_error(&answer);
    assert!(status.starts_with("HTTP/1.1 503"), "{answer}");
    assert_eq!(e.error.code, "request_timeout");
    let hook = app
        .post_signed_webhook(&phone_event("evt_late", "CONNECTED"))
        .await;
    assert_eq!(hook.status(), 204);
    let mut seen = String::new();
    while !seen.contains("\"state\":\"connected\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("the stream goes on")
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended: {seen}"));
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(3))
        .await;
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_refused_at_once() {
    let app = app_with(&[("MAX_CONCURRENT_REQUESTS", "1")]).await;
    let get = |path: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}{path}", app.address))
                .send()
                .await
                .unwrap()
        }
    };
    let health = || get("/api/config");
    assert_eq!(health().await.status(), 200);
    // One request holds the only place while its body trickles in.
    let slow = send_partly(
        &app,
        "POST /api/onboardings HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n\
         Content-Length: 200\r\n\r\n{",
    )
    .await;
    let refused = poll_until(Duration::from_secs(10), || async {
        let r = health().await;
        match r.status().as_u16() {
            503 => Ok(r),
            // Never refused while the slow request held the only place.
            other => Err(other),
        }
    })
    .await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let e = assert_error_shape(refused, 503).await;
    assert_eq!(e.error.code, "overloaded");
    assert!(e.error.retryable);
    // The operator's probes are outside the limit: a starved proxy is seen as such.
    assert_eq!(get("/healthz").await.status(), 200);
    assert_eq!(get("/livez").await.status(), 200);
    assert_eq!(get("/metrics").await.status(), 200);
    // Its client gone, the place is free again.
    drop(slow);
    poll_until_holds("the place free again", Duration::from_secs(10), || async {
        health().await.status() == 200
    })
    .await;
}

/// `POST {path}` with an empty JSON object, from `forwarded_for` when given.
async fn post_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.expect("request")
}

async fn assert_rate_limited(r: reqwest::Response) {
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One request back per minute: the wait is most of it.
    assert!((1..=60).contains(&wait), "{wait}");
    let e = assert_error_shape(r, 429).await;
    assert_eq!(e.error.code, "rate_limited");
    assert!(e.error.retryable);
}

#[tokio::test]
async fn sign_ups_and_retries_beyond_the_rate_are_refused_with_retry_after() {
    let app = app_with(&[("RATE_LIMIT_PER_MINUTE", "1"), ("RATE_LIMIT_BURST", "2")]).await;
    // Counted before the body is read: even refused bodies use the budget.
    for _ in 0..2 {
        assert_eq!(
            post_from(&app, "/api/onboardings", None).await.status(),
            422
        );
    }
    assert_rate_limited(post_from(&app, "/api/onboardings", None).await).await;
    // Retries have a budget of their own.
    let retry = format!("/api/onboardings/{}/retry", uuid::Uuid::new_v4());
    for _ in 0..2 {
        assert_eq!(post_from(&app, &retry, None).await.status(), 401);
    }
    assert_rate_limited(post_from(&app, &retry, None).await).await;
    // Reads are not limited.
    let r = app
        .client
        .get(format!(
            "{}/api/onboardings/{}",
            app.address,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.stored_onboardings().await, 0);
}

#[tokio::test]
async fn forwarded_addresses_count_only_when_proxy_headers_are_trusted() {
    let limited = [("RATE_LIMIT_PER_MINUTE", "1"), ("RATE_LIMIT_BURST", "1")];
    // Not trusted: a client cannot buy budget by claiming addresses.
    let app = app_with(&limited).await;
    let first = post_from(&app, "/api/onboardings", Some("203.0.113.7")).await;
    assert_eq!(first.status(), 422);
    let other = post_from(&app, "/api/onboardings", Some("203.0.113.8")).await;
    assert_rate_limited(other).await;

    // Trusted: each address the proxy in front saw (the last one) has its own budget.
    let mut env = limited.to_vec();
    env.push(("TRUST_PROXY_HEADERS", "true"));
    let app = app_with(&env).await;
    let a = || post_from(&app, "/api/onboardings", Some("203.0.113.7"));
    assert_eq!(a().await.status(), 422);
    assert_rate_limited(a().await).await;
    let b = post_from(&app, "/api/onboardings", Some("203.0.113.8")).await;
    assert_eq!(b.status(), 422);
    // What the client put before the proxy's address changes nothing.
    let spoofed = post_from(&app, "/api/onboardings", Some("198.51.100.1, 203.0.113.7")).await;
    assert_rate_limited(spoofed).await;
}

/// Opens the event stream of `id`, from `forwarded_for` when given.
async fn open_stream(app: &TestApp, id: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .get(format!("{}/api/onboardings/{id}/events", app.address))
        .headers(bearer(id));
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.expect("request")
}

/// Reads a stream to its end (panics when it is still open after `within`).
async fn read_to_end(stream: &mut reqwest::Response, within: Duration) -> String {
    let mut seen = String::new();
    let ended = tokio::time::timeout(within, async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "still open after {within:?}: {seen}");
    seen
}

#[tokio::test]
async fn each_client_holds_a_limited_number_of_event_streams() {
    let app = app_with(&[
        ("EVENT_STREAMS_PER_CLIENT", "2"),
        ("TRUST_PROXY_HEADERS", "true"),
    ])
    .await;
    let o = pending_onboarding(&app).await;
    let a = Some("203.0.113.7");
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut s = open_stream(&app, &o.id, a).await;
        assert_eq!(s.status(), 200);
        s.chunk().await.unwrap().expect("the first event");
        open.push(s);
    }
    let e = assert_error_shape(open_stream(&app, &o.id, a).await, 429).await;
    assert_eq!(e.error.code, "too_many_streams");
    assert!(e.error.retryable);
    // Another client is not refused for it.
    let b = open_stream(&app, &o.id, Some("203.0.113.8")).await;
    assert_eq!(b.status(), 200);
    drop(b);
    // Streams that end give their places back.
    let hook = app
        .post_signed_webhook(&phone_event("evt_streams", "CONNECTED"))
        .await;
    assert_eq!(hook.status(), 204);
    for s in &mut open {
        read_to_end(s, Duration::from_secs(10)).await;
    }
    let again = open_stream(&app, &o.id, a).await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn event_streams_in_all_are_limited() {
    let app = app_with(&[("EVENT_STREAMS_MAX", "2"), ("TRUST_PROXY_HEADERS", "true")]).await;
    let o = pending_onboarding(&app).await;
    let mut open = Vec::new();
    for ip in ["203.0.113.1", "203.0.113.2"] {
        let mut s = open_stream(&app, &o.id, Some(ip)).await;
        assert_eq!(s.status(), 200);
        s.chunk().await.unwrap().expect("the first event");
        open.push(s);
    }
    // A third client, under its own limit, meets the global one.
    let refused = open_stream(&app, &o.id, Some("203.0.113.3")).await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let e = assert_error_shape(refused, 503).await;
    assert_eq!(e.error.code, "overloaded");
    // A stream that ends gives its place back.
    drop(open.pop());
    let again = poll_until(Duration::from_secs(10), || async {
        let r = open_stream(&app, &o.id, Some("203.0.113.3")).await;
        match r.status().as_u16() {
            200 => Ok(r),
            other => Err(other),
        }
    })
    .await;
    assert_eq!(again.status(), 200, "a place freed by a closed stream");
}

#[tokio::test]
async fn an_event_stream_ends_after_its_lifetime() {
    let app = app_with(&[("EVENT_STREAM_MAX_SECS", "1")]).await;
    let o = pending_onboarding(&app).await;
    let mut stream = open_stream(&app, &o.id, None).await;
    assert_eq!(stream.status(), 200);
    // Pending, with nothing changing: only the lifetime can end it.
    let seen = read_to_end(&mut stream, Duration::from_secs(10)).await;
    assert!(seen.contains("\"state\":\"pending\""), "{seen}");
    assert_eq!(
        app.get_json::<wire::Onboarding>(&format!("/api/onboardings/{}", o.id))
            .await
            .state,
        OnboardingState::Pending
    );
}

#[tokio::test]
async fn one_onboarding_is_retried_at_most_once_per_cooldown() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let app = app_with(&[("RETRY_COOLDOWN_SECS", "60")]).await;
    // YCloud keeps failing: every retry is allowed to run, and fails again, retryably.
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ResponseTemplate::new(500))
        .expect(2)
        .mount(&app.ycloud)
        .await;
    let o: wire::Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::Failed);
    let r = app.retry(&o.id).await;
    assert_eq!(r.status(), 200);
    let again = app.retry(&o.id).await;
    let wait: u64 = again.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let e = assert_error_shape(again, 429).await;
    assert_eq!(e.error.code, "retry_too_soon");
    assert!(e.error.retryable);
    // Refused before anything ran: still failed, and YCloud was asked twice in all.
    let now: wire::Onboarding = app.get_onboarding(&o.id).await.json().await.unwrap();
    assert_eq!(now.state, OnboardingState::Failed);
}
