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
async fn send_partly(app: &TestApp, bytes: &str) -> TcpStream {
    let addr = app.address.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket.write_all(bytes.as_bytes()).await.expect("write");
    socket
}

/// Everything the server sends until it closes the connection; panics when it is still
/// open after `within` (far longer than the limit under test).
async fn read_until_closed(socket: &mut TcpStream, within: Duration) -> String {
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

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_request_timeout() {
    let app = app_with(&[("REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut socket = send_partly(
        &app,
        "POST /api/onboardings HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n\
         Content-Length: 200\r\nConnection: close\r\n\r\n{\"mode\":",
    )
    .await;
    let answer = read_until_closed(&mut socket, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").expect("a body") + 4..];
    let e: wire::ErrorBody = serde_json::from_str(body).expect(body);
    assert_eq!(e.error.code, "request_timeout");
    assert!(e.error.retryable);
    assert_eq!(app.stored_onboardings().await, 0);
}

#[tokio::test]
async fn the_event_stream_outlives_the_request_timeout() {
    let app = app_with(&[("REQUEST_TIMEOUT_SECS", "1")]).await;
    let o = pending_onboarding(&app).await;
    let mut stream = app
        .client
        .get(format!("{}/api/onboardings/{}/events", app.address, o.id))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    stream.chunk().await.unwrap().expect("the first event");
    tokio::time::sleep(Duration::from_millis(1500)).await;
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
    let health = || async {
        app.client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(health().await.status(), 200);
    // One request holds the only place while its body trickles in.
    let slow = send_partly(
        &app,
        "POST /api/onboardings HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n\
         Content-Length: 200\r\n\r\n{",
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let r = health().await;
        if r.status() == 503 {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never refused while the slow request held the only place"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refused.headers()["retry-after"], "1");
    let e = assert_error_shape(refused, 503).await;
    assert_eq!(e.error.code, "overloaded");
    assert!(e.error.retryable);
    // Its client gone, the place is free again.
    drop(slow);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while health().await.status() != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place stays taken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
