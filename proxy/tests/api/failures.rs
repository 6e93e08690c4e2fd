//! Upstream failures: each ends in `failed` with a retryable flag (and YCloud's request id
//! where it gave one), and `retry` works afterwards.

use std::time::Duration;

use serde_json::json;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn ycloud_error(status: u16, code: &str, request_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("YCloud-Request-ID", request_id)
        .set_body_json(json!({"error": {"status": status, "code": code,
            "message": "Something went wrong.", "requestId": request_id}}))
}

async fn post(app: &TestApp) -> Onboarding {
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

/// After the failure, YCloud behaves: retry must bind (when asked) and register.
async fn retry_succeeds(app: &TestApp, id: &str, bind_again: bool) {
    if bind_again {
        expect_bind_once(app).await;
    }
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.retry(id).await;
    assert_eq!(r.status(), 200);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected, "{o:?}");
    assert!(o.error.is_none());
}

#[tokio::test]
async fn bind_500_fails_retryably_with_the_request_id_and_is_not_repeated() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ycloud_error(500, "INTERNAL_ERROR", "req_500abc"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let o = post(&app).await;
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_unavailable");
    assert!(e.retryable);
    assert_eq!(e.upstream_request_id.as_deref(), Some("req_500abc"));
    retry_succeeds(&app, &o.id, true).await;
}

#[tokio::test]
async fn register_timeout_fails_retryably_without_a_second_register() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let started = std::time::Instant::now();
    let o = post(&app).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the request timeout applies"
    );
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_timeout");
    assert!(e.retryable);
    // Bind is done: the retry registers only.
    retry_succeeds(&app, &o.id, false).await;
}

#[tokio::test]
async fn rate_limits_honour_retry_after_then_fail_retryably() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    // Retry-After: 1 is waited for, up to the attempt limit (3).
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(
            ycloud_error(429, "TOO_MANY_REQUESTS", "req_429").insert_header("Retry-After", "1"),
        )
        .up_to_n_times(3)
        .expect(3)
        .mount(&app.ycloud)
        .await;
    let started = std::time::Instant::now();
    let o = post(&app).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two waits of one second"
    );
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_rate_limited");
    assert!(e.retryable);
    assert!(e.retry_after.is_some());
    assert_eq!(e.upstream_request_id.as_deref(), Some("req_429"));
    retry_succeeds(&app, &o.id, false).await;
}

#[tokio::test]
async fn a_long_retry_after_is_not_waited_for() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(
            ycloud_error(429, "TOO_MANY_REQUESTS", "req_long").insert_header("Retry-After", "3600"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let started = std::time::Instant::now();
    let o = post(&app).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_rate_limited");
    let after = proxy::clock::parse_time(e.retry_after.as_deref().unwrap()).unwrap();
    assert!(after > time::OffsetDateTime::now_utc() + time::Duration::minutes(59));
    retry_succeeds(&app, &o.id, true).await;
}

#[tokio::test]
async fn a_garbage_body_fails_retryably() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("<html>upstream proxy error</html>")
                .insert_header("YCloud-Request-ID", "req_html"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let o = post(&app).await;
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_bad_response");
    assert!(e.retryable);
    assert_eq!(e.upstream_request_id.as_deref(), Some("req_html"));
    retry_succeeds(&app, &o.id, true).await;
}

#[tokio::test]
async fn a_503_on_bind_is_retried_but_not_on_register() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ycloud_error(503, "UNAVAILABLE", "req_503"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ycloud_error(503, "UNAVAILABLE", "req_503r"))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let o = post(&app).await;
    assert_eq!(o.state, OnboardingState::Failed);
    assert_eq!(
        o.error.unwrap().upstream_request_id.as_deref(),
        Some("req_503r")
    );
}

#[tokio::test]
async fn meta_register_limit_and_on_premises_errors_are_explained() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST")).and(path(register_path()))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"status": 400,
            "code": "WHATSAPP_API_ERROR", "message": "Rate limit", "requestId": "req_133016",
            "whatsappApiError": {"code": 133016, "message": "Account register deregister rate limit exceeded"}}})))
        .expect(1).mount(&app.ycloud).await;
    let o = post(&app).await;
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "register_limit");
    assert!(e.retryable);
    assert!(e.retry_after.is_some());
    // Retrying now would only extend Meta's block: refused with 429, nothing called.
    let body = assert_error_shape(app.retry(&o.id).await, 429).await;
    assert_eq!(body.error.code, "register_limit");
    assert!(body.error.retry_after.is_some());

    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": {"status": 400,
            "code": "WHATSAPP_API_ERROR", "message": "Access denied",
            "whatsappApiError": {"code": "1005", "message": "Access denied",
                "error_data": {"details": "Unknown error: biz_link_on_prem_reg_blocked"}}}})),
        )
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let o = post(&app).await;
    let e = o.error.unwrap();
    assert_eq!(e.code, "on_premises_retired");
    assert_eq!(
        e.message,
        "On-Premises registration is retired; use Cloud API registration."
    );
    assert!(!e.retryable);
    assert_error_shape(app.retry(&o.id).await, 409).await;
}

#[tokio::test]
async fn the_register_budget_is_counted_and_enforced() {
    let app = spawn_app().await;
    // Ten earlier register calls for this number within 72 hours.
    let store = proxy::store::Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let waba = wire::WabaId::parse(WABA).unwrap();
    let phone = wire::PhoneNumberId::parse(PHONE_ID).unwrap();
    for h in 1..=10 {
        let at = proxy::clock::Clock::system().now() - time::Duration::hours(h);
        store
            .record_register_attempt(&waba, &phone, "earlier", at)
            .await
            .unwrap();
    }
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(0)
        .mount(&app.ycloud)
        .await;
    let o = post(&app).await;
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "register_limit");
    assert!(e.retry_after.is_some());
    assert_error_shape(app.retry(&o.id).await, 429).await;
    let (n, _) = store
        .register_attempts_since(
            &phone,
            proxy::clock::Clock::system().now() - time::Duration::hours(72),
        )
        .await
        .unwrap();
    assert_eq!(n, 10, "no call was made, none was counted");
    store.close().await;
}

#[tokio::test]
async fn the_register_budget_is_measured_against_the_injected_clock() {
    // 2021-06-01T00:00:00Z: far from the system's time, so only the injected clock can
    // place these attempts inside the window.
    let stopped = time::OffsetDateTime::from_unix_timestamp(1_622_505_600).unwrap();
    let app = spawn_app_with(Options {
        clock: Some(proxy::clock::Clock::fixed(stopped)),
        ..Options::default()
    })
    .await;
    let store =
        proxy::store::Store::connect(&app.database_url, proxy::clock::Clock::fixed(stopped))
            .await
            .unwrap();
    let waba = wire::WabaId::parse(WABA).unwrap();
    let phone = wire::PhoneNumberId::parse(PHONE_ID).unwrap();
    for h in 1..=10 {
        store
            .record_register_attempt(&waba, &phone, "earlier", stopped - time::Duration::hours(h))
            .await
            .unwrap();
    }
    store.close().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(0)
        .mount(&app.ycloud)
        .await;
    let o = post(&app).await;
    assert_eq!(o.created_at, "2021-06-01T00:00:00.000000Z");
    let e = o.error.unwrap();
    assert_eq!(e.code, "register_limit");
    // The oldest attempt (10 hours before the clock) leaves the 72-hour window in 62 hours.
    assert_eq!(
        e.retry_after.as_deref(),
        Some("2021-06-03T14:00:00.000000Z")
    );
    let r = app.retry(&o.id).await;
    assert_eq!(
        r.headers().get("retry-after").unwrap().to_str().unwrap(),
        (62 * 3600).to_string()
    );
    assert_error_shape(r, 429).await;
}

#[tokio::test]
async fn the_eleventh_register_is_refused_locally_without_a_call() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    // Every register fails in a way the client does not repeat, so each post or retry is
    // exactly one register call: ten in all, never an eleventh.
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ycloud_error(500, "INTERNAL", "req_reg500"))
        .expect(10)
        .mount(&app.ycloud)
        .await;
    let o = post(&app).await;
    assert_eq!(o.state, OnboardingState::Failed);
    for attempt in 2..=10 {
        let r = app.retry(&o.id).await;
        assert_eq!(r.status(), 200, "retry for register call {attempt}");
        let o: Onboarding = r.json().await.unwrap();
        assert_eq!(o.error.unwrap().code, "upstream_unavailable");
    }
    let r = app.retry(&o.id).await;
    let retry_after_header = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .expect("a Retry-After header in seconds");
    assert!(retry_after_header > 71 * 3600, "{retry_after_header}");
    let body = assert_error_shape(r, 429).await;
    assert_eq!(body.error.code, "register_limit");
    assert!(body.error.retryable);
    assert!(body.error.retry_after.is_some());
}
