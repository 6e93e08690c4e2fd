//! What the proxy accepts from its upstreams: no redirects followed (they would carry the key),
//! answers capped in size, `Retry-After` of any value, and no plain-http upstream beyond this
//! machine.

use proxy::config::DEFAULT_GRAPH_VERSION;
use serde_json::json;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// A redirect to `elsewhere`, which must never be asked.
async fn redirect_to(elsewhere: &MockServer) -> ResponseTemplate {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(waba_json(true)))
        .expect(0)
        .mount(elsewhere)
        .await;
    ResponseTemplate::new(302).insert_header("Location", format!("{}/steal", elsewhere.uri()))
}

/// 5 MiB of valid JSON beginning with `head`'s fields: only its size is wrong.
fn huge_json(head: &str) -> String {
    format!("{{{head},\"pad\":\"{}\"}}", "x".repeat(5 * 1024 * 1024))
}

#[tokio::test]
async fn a_redirect_from_ycloud_is_not_followed_and_fails_the_onboarding() {
    let app = spawn_app().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(redirect_to(&elsewhere).await)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_bad_response");
    assert!(e.message.contains("redirect"), "{}", e.message);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_redirect_from_the_graph_api_is_not_followed() {
    let app = spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{DEFAULT_GRAPH_VERSION}/oauth/access_token")))
        .respond_with(redirect_to(&elsewhere).await)
        .expect(1)
        .mount(&app.graph)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    let e = assert_error_shape(r, 502).await;
    assert_eq!(e.error.code, "verification_unavailable");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
    assert_eq!(app.stored_onboardings().await, 0);
}

#[tokio::test]
async fn an_oversized_ycloud_answer_is_a_failed_call() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(huge_json(&format!("\"id\":\"{WABA}\"")), "application/json")
                .insert_header("YCloud-Request-ID", "req_huge"),
        )
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_bad_response");
    assert!(e.retryable);
    assert_eq!(e.upstream_request_id.as_deref(), Some("req_huge"));
    // Nothing of it was kept.
    assert!(app.stored_record(&o.id).await.waba.is_none());
}

#[tokio::test]
async fn an_oversized_graph_answer_is_a_failed_verification() {
    let app = spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await;
    // A token answer in every way but its size: read whole, it would go on to debug_token.
    Mock::given(method("GET"))
        .and(path(format!("/{DEFAULT_GRAPH_VERSION}/oauth/access_token")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            huge_json(r#""access_token":"EAAG_huge""#),
            "application/json",
        ))
        .expect(1)
        .mount(&app.graph)
        .await;
    let e = assert_error_shape(app.post_onboarding(&standard_body()).await, 502).await;
    assert_eq!(e.error.code, "verification_unavailable");
}

#[tokio::test]
async fn an_absurd_retry_after_is_a_long_wait_not_a_crash() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": {"status": 429, "code": "TOO_MANY_REQUESTS"}}))
                .insert_header("Retry-After", "9223372036854775807"),
        )
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let before = time::OffsetDateTime::now_utc();
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Failed);
    let e = o.error.unwrap();
    assert_eq!(e.code, "upstream_rate_limited");
    // Read as the longest wait the proxy believes: a day.
    let after = proxy::clock::parse_time(e.retry_after.as_deref().unwrap()).unwrap();
    let wait = after - before;
    assert!(
        wait >= time::Duration::hours(23) && wait <= time::Duration::hours(25),
        "{wait}"
    );
}
