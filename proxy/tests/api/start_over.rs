//! Starting over: an onboarding that ended `failed` or `deregistered` can be done again, by
//! the customer's new sign-up (a new code) or the partner's restart; and changing
//! `TOKEN_ENCRYPTION_KEY` never strands the stored secrets.

use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState, PartnerOnboarding};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn with_code(code: &str) -> Value {
    let mut body = standard_body();
    body["code"] = json!(code);
    body
}

async fn restart(app: &TestApp, id: &str) -> reqwest::Response {
    app.partner(
        reqwest::Method::POST,
        &format!("/api/partner/onboardings/{id}/restart"),
    )
    .send()
    .await
    .unwrap()
}

/// A sign-up whose register YCloud refuses for good: `failed`, not retryable.
async fn failed_onboarding(app: &TestApp) -> Onboarding {
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": {"status": 400,
                "code": "INVALID_PARAMETER", "message": "Bad number."}})),
        )
        .up_to_n_times(1)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Failed, "{o:?}");
    o
}

async fn register_connects(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&app.ycloud)
        .await;
}

#[tokio::test]
async fn a_new_code_for_a_failed_onboarding_starts_a_new_one_linked_to_it() {
    let app = spawn_app().await;
    let old = failed_onboarding(&app).await;

    // The same post again (the same code) is the same onboarding: nothing called.
    let binds = app.calls_to(&tp_bind_path()).await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 200);
    let again: Onboarding = r.json().await.unwrap();
    assert_eq!(again.id, old.id);
    assert_eq!(app.calls_to(&tp_bind_path()).await, binds);

    // A new sign-up (a new code) starts over.
    register_connects(&app).await;
    let r = app.post_onboarding(&with_code("AQB_second-sign-up")).await;
    assert_eq!(r.status(), 201);
    let new: Onboarding = r.json().await.unwrap();
    assert_ne!(new.id, old.id);
    assert_eq!(new.previous_onboarding_id.as_deref(), Some(old.id.as_str()));
    assert_eq!(new.state, OnboardingState::Connected, "{new:?}");
    assert_eq!(app.calls_to(&tp_bind_path()).await, binds + 1);

    // The old one stays as it ended; the key now answers the new one.
    let kept: Onboarding = app.get_onboarding(&old.id).await.json().await.unwrap();
    assert_eq!(kept.state, OnboardingState::Failed);
    assert!(kept.previous_onboarding_id.is_none());
    let r = app.post_onboarding(&with_code("AQB_third")).await;
    assert_eq!(
        r.status(),
        200,
        "a connected onboarding is not started over"
    );
    let current: Onboarding = r.json().await.unwrap();
    assert_eq!(current.id, new.id);
    assert_eq!(app.stored_onboardings().await, 2);

    // The partner sees both, and the new one was announced.
    let page: wire::OnboardingPage = app.partner_json("/api/partner/onboardings").await;
    assert_eq!(page.data.len(), 2);
    let events: wire::EventPage = app.partner_json("/api/partner/events").await;
    let created: Vec<_> = events
        .data
        .iter()
        .filter(|e| e.kind == wire::EventType::Created)
        .map(|e| e.data.onboarding().unwrap().onboarding.id.clone())
        .collect();
    assert_eq!(created, [old.id.clone(), new.id.clone()]);
}

#[tokio::test]
async fn another_customer_cannot_start_over_someone_elses_onboarding() {
    let app = spawn_app().await;
    let _old = failed_onboarding(&app).await;
    let mut body = with_code("AQB_other");
    body["customer_ref"] = json!("someone-else");
    let r = app.post_onboarding(&body).await;
    let e = assert_error_shape(r, 409).await;
    assert_eq!(e.error.code, "already_onboarded");
    assert_eq!(app.stored_onboardings().await, 1);
}

#[tokio::test]
async fn the_partner_restarts_an_ended_onboarding_once() {
    let app = spawn_app().await;
    let old = failed_onboarding(&app).await;
    register_connects(&app).await;

    let r = restart(&app, &old.id).await;
    assert_eq!(r.status(), 201);
    let new: PartnerOnboarding = r.json().await.unwrap();
    assert_eq!(
        new.onboarding.previous_onboarding_id.as_deref(),
        Some(old.id.as_str())
    );
    assert_eq!(new.onboarding.state, OnboardingState::Connected);
    assert_eq!(new.onboarding.customer_ref, old.customer_ref);

    // Once: the old one was started over already; a connected one cannot be.
    let e = assert_error_shape(restart(&app, &old.id).await, 409).await;
    assert_eq!(e.error.code, "not_restartable");
    let e = assert_error_shape(restart(&app, &new.onboarding.id).await, 409).await;
    assert_eq!(e.error.code, "not_restartable");
    let unknown = restart(&app, "00000000-0000-4000-8000-000000000000").await;
    assert_error_shape(unknown, 404).await;
    let no_key = app
        .client
        .post(format!(
            "{}/api/partner/onboardings/{}/restart",
            app.address, old.id
        ))
        .send()
        .await
        .unwrap();
    assert_error_shape(no_key, 401).await;
}

#[tokio::test]
async fn with_meta_a_retired_on_premises_number_can_be_signed_up_again() {
    let app = spawn_app_with(Options {
        sandbox: true,
        env: vec![("WHATSAPP_PROVIDER", "meta".to_owned())],
        ..Options::default()
    })
    .await;
    let mut body = standard_body();
    body["waba_id"] = json!("100000000001005");
    let r = app.post_onboarding(&body).await;
    assert_eq!(r.status(), 201);
    let old: Onboarding = r.json().await.unwrap();
    assert_eq!(old.state, OnboardingState::Failed, "{old:?}");
    assert_eq!(old.error.as_ref().unwrap().code, "on_premises_retired");

    let r = app.post_onboarding(&body).await;
    assert_eq!(r.status(), 200, "the same code is the same sign-up");
    body["code"] = json!("AQB_after-migrating");
    let r = app.post_onboarding(&body).await;
    assert_eq!(r.status(), 201);
    let new: Onboarding = r.json().await.unwrap();
    assert_eq!(new.previous_onboarding_id.as_deref(), Some(old.id.as_str()));
}

const KEY_A: &str = "q1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLlZzXxM=";
const KEY_B: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/DmyQsxDgVo=";
const KEY_C: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn meta_sandbox(dir: &std::path::Path, keys: &[(&'static str, &str)]) -> Options {
    let mut env = vec![("WHATSAPP_PROVIDER", "meta".to_owned())];
    env.extend(keys.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Options {
        sandbox: true,
        data_dir: Some(dir.to_path_buf()),
        env,
        ..Options::default()
    }
}

async fn stored_token(app: &TestApp, id: &str) -> Option<String> {
    let r = app
        .partner(
            reqwest::Method::GET,
            &format!("/api/partner/onboardings/{id}/credentials"),
        )
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return None;
    }
    let c: wire::Credentials = r.json().await.unwrap();
    c.business_token
}

/// Builds (and drops) an app over `dir` that must refuse to start; answers its error line.
async fn refused_start(dir: &std::path::Path, keys: &[(&'static str, &str)]) -> String {
    let opts = meta_sandbox(dir, keys);
    let settings = test_settings("http://127.0.0.1:1", &opts, dir);
    proxy::startup::Application::build(settings)
        .await
        .expect_err("start-up refused")
        .to_string()
}

#[tokio::test]
async fn a_new_encryption_key_reseals_what_the_old_one_sealed_and_wrong_keys_stop_start_up() {
    let dir = fresh_dir("rekey");
    let mut first = spawn_app_with(meta_sandbox(&dir, &[("TOKEN_ENCRYPTION_KEY", KEY_A)])).await;
    let r = first.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    let token = stored_token(&first, &o.id).await.expect("a stored token");
    first.shutdown().await;

    // A new key with the old one beside it: everything opens, and is sealed again.
    let mut second = spawn_app_with(meta_sandbox(
        &dir,
        &[
            ("TOKEN_ENCRYPTION_KEY", KEY_B),
            ("TOKEN_ENCRYPTION_OLD_KEYS", KEY_A),
        ],
    ))
    .await;
    assert_eq!(
        stored_token(&second, &o.id).await.as_deref(),
        Some(token.as_str())
    );
    second.shutdown().await;
    // The new key alone now opens it all.
    let mut third = spawn_app_with(meta_sandbox(&dir, &[("TOKEN_ENCRYPTION_KEY", KEY_B)])).await;
    assert_eq!(
        stored_token(&third, &o.id).await.as_deref(),
        Some(token.as_str())
    );
    third.shutdown().await;

    // A key that opens nothing stored stops start-up, naming it (never quoting it).
    let line = refused_start(
        &dir,
        &[
            ("TOKEN_ENCRYPTION_KEY", KEY_C),
            ("TOKEN_ENCRYPTION_OLD_KEYS", KEY_A),
        ],
    )
    .await;
    assert!(
        line.starts_with("TOKEN_ENCRYPTION_OLD_KEYS: key 1 opens none"),
        "{line}"
    );
    assert!(!line.contains(KEY_A) && !line.contains(KEY_C));
    let line = refused_start(&dir, &[("TOKEN_ENCRYPTION_KEY", KEY_C)]).await;
    assert!(
        line.starts_with("TOKEN_ENCRYPTION_KEY: opens none"),
        "{line}"
    );
}
