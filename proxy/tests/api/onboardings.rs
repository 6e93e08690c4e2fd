//! Happy paths of both modes, idempotency, payment method missing, WABA-only finish.

use std::time::Duration;

use serde_json::json;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{header, method, path};
use wiremock::Mock;

use crate::helpers::*;

#[tokio::test]
async fn standard_binds_registers_then_follows_to_connected() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .and(header("X-API-Key", API_KEY))
        .respond_with(ok(waba_json(true)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .and(header("X-API-Key", API_KEY))
        .respond_with(ok(phone_json("PENDING")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .and(header("X-API-Key", API_KEY))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1..)
        .mount(&app.ycloud)
        .await;

    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending);
    assert_eq!(o.customer_ref.as_ref().unwrap().as_str(), "cust-42");
    assert_eq!(o.business_id.as_ref().unwrap().as_str(), "2729063490586005");
    // The browser sees summaries; YCloud's objects (unknown fields and all) stay here.
    assert_eq!(
        o.waba,
        Some(wire::WabaSummary {
            name: Some("WABA name".into()),
            account_review_status: Some("APPROVED".into()),
            payment_method_attached: Some(true),
        })
    );
    assert_eq!(
        o.phone_number,
        Some(wire::PhoneNumberSummary {
            display_phone_number: Some("+1 631-555-1111".into()),
            verified_name: Some("John's Cake Shop".into()),
            status: Some("PENDING".into()),
            quality_rating: Some("GREEN".into()),
        })
    );
    let raw: serde_json::Value = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert!(raw["waba"].get("someFutureField").is_none(), "{raw}");
    assert!(raw["phone_number"].get("phoneNumber").is_none(), "{raw}");
    // The steps the proxy recorded, in order.
    let steps: Vec<(wire::StepName, wire::StepState)> =
        o.steps.iter().map(|s| (s.name, s.state)).collect();
    assert_eq!(
        steps,
        [
            (wire::StepName::Bind, wire::StepState::Done),
            (wire::StepName::CheckPayment, wire::StepState::Done),
            (wire::StepName::Register, wire::StepState::Done),
        ]
    );
    assert!(o.steps.iter().all(|s| s.finished_at.is_some()));
    assert!(o.error.is_none());
    assert!(time::OffsetDateTime::parse(
        &o.created_at,
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());

    let done = app
        .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(5))
        .await;
    assert_eq!(
        done.phone_number.unwrap().status.as_deref(),
        Some("CONNECTED")
    );
    assert_eq!(done.created_at, o.created_at);
}

#[tokio::test]
async fn register_answering_connected_is_connected_at_once() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(0)
        .mount(&app.ycloud)
        .await;

    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    tokio::time::sleep(Duration::from_millis(300)).await; // no follower polls
}

#[tokio::test]
async fn coexistence_smb_binds_and_never_registers() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(smb_bind_path()))
        .and(header("X-API-Key", API_KEY))
        .respond_with(ok(phone_json("PENDING")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .expect(0)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(0)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1..)
        .mount(&app.ycloud)
        .await;

    let body = json!({"mode": "coexistence", "waba_id": WABA, "event": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"});
    let r = app.post_onboarding(&body).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending);
    assert!(o.waba.is_none());
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(5))
        .await;
}

#[tokio::test]
async fn the_same_waba_and_number_twice_is_the_same_onboarding() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;

    let first = app.post_onboarding(&standard_body()).await;
    assert_eq!(first.status(), 201);
    let first: Onboarding = first.json().await.unwrap();
    // The same customer, even in the other mode: the WABA and number decide. (Another
    // customer is refused: sessions.rs.)
    let mut other_mode = standard_body();
    other_mode["mode"] = json!("coexistence");
    for body in [standard_body(), other_mode] {
        let again = app.post_onboarding(&body).await;
        assert_eq!(again.status(), 200);
        let again: Onboarding = again.json().await.unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(again.state, OnboardingState::Connected);
    }
    assert_eq!(app.stored_onboardings().await, 1);
}

#[tokio::test]
async fn concurrent_identical_posts_create_one_onboarding() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_millis(100)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let body = standard_body();
    let (a, b) = tokio::join!(app.post_onboarding(&body), app.post_onboarding(&body));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201]);
    let a: Onboarding = a.json().await.unwrap();
    let b: Onboarding = b.json().await.unwrap();
    assert_eq!(a.id, b.id);
}

#[tokio::test]
async fn payment_method_missing_asks_to_contact_ycloud_and_retry_rechecks() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(false)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let register = Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(0)
        .mount_as_scoped(&app.ycloud)
        .await;

    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    let e = o.error.unwrap();
    assert_eq!(e.code, "payment_method_missing");
    assert!(e.message.contains("contact YCloud"), "{}", e.message);
    assert!(e.retryable);
    assert_eq!(o.waba.unwrap().payment_method_attached, Some(false));
    let failed = o
        .steps
        .iter()
        .find(|s| s.name == wire::StepName::CheckPayment)
        .unwrap();
    assert_eq!(failed.state, wire::StepState::Failed);
    drop(register);

    // YCloud fixed it: retry re-reads the WABA (no second bind) and registers.
    Mock::given(method("GET"))
        .and(path(retrieve_waba_path()))
        .respond_with(ok(waba_json(true)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.retry(&o.id).await;
    assert_eq!(r.status(), 200);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected, "{o:?}");
    assert!(o.error.is_none());
    assert_eq!(o.waba.unwrap().payment_method_attached, Some(true));
}

#[tokio::test]
async fn a_waba_without_a_number_needs_a_person() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(0)
        .mount(&app.ycloud)
        .await;

    let body = json!({"mode": "standard", "waba_id": WABA, "event": "FINISH_ONLY_WABA"});
    let o: Onboarding = app.post_onboarding(&body).await.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    let e = o.error.unwrap();
    assert_eq!(e.code, "phone_number_missing");
    assert!(!e.retryable);
    assert!(o.waba.is_some());
    let r = app.retry(&o.id).await;
    assert_error_shape(r, 409).await;
}

#[tokio::test]
async fn connected_onboardings_have_nothing_to_retry() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    let body = assert_error_shape(app.retry(&o.id).await, 409).await;
    assert_eq!(body.error.code, "nothing_to_retry");
}

#[tokio::test]
async fn events_stream_the_onboarding_until_connected() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("PENDING")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    // Pending for five polls (half a second), then connected.
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ok(phone_json("PENDING")))
        .up_to_n_times(5)
        .expect(5)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1..)
        .mount(&app.ycloud)
        .await;
    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    // A browser asks for compression; a stream is never compressed.
    let r = app
        .client
        .get(format!("{}/api/onboardings/{}/events", app.address, o.id))
        .headers(bearer(&o.id))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert!(r.headers().get("content-encoding").is_none());
    // The stream ends by itself once connected.
    let text = tokio::time::timeout(Duration::from_secs(5), r.text())
        .await
        .expect("stream ends")
        .unwrap();
    let states: Vec<OnboardingState> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str::<Onboarding>(d.trim()).unwrap().state)
        .collect();
    assert_eq!(states.first(), Some(&OnboardingState::Pending), "{text}");
    assert_eq!(states.last(), Some(&OnboardingState::Connected), "{text}");
}

#[tokio::test]
async fn api_answers_are_compressed_when_asked_for() {
    // The event stream's route is left out of compression; every other route keeps it.
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn a_shutdown_ends_open_event_streams() {
    let mut app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("PENDING")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ok(phone_json("PENDING")))
        .mount(&app.ycloud)
        .await;
    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .client
        .get(format!("{}/api/onboardings/{}/events", app.address, o.id))
        .headers(bearer(&o.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The server stops with the stream open: it ends the stream rather than wait for it.
    let ((), text) = tokio::join!(
        app.shutdown(),
        tokio::time::timeout(Duration::from_secs(3), r.text())
    );
    let text = text.expect("the stream ends").unwrap();
    assert!(text.contains("\"pending\""), "{text}");
}
