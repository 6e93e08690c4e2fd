//! `WHATSAPP_PROVIDER=meta`: the direct pipeline against a wiremock Graph API (the code
//! exchange, `subscribed_apps`, `register` with a PIN, `smb_app_data`, the number's status,
//! `deregister`), PIN custody, the budgets, encryption at rest, the credentials route and
//! Meta's webhooks.

use std::time::Duration;

use proxy::config::DEFAULT_GRAPH_VERSION;
use proxy::store::{Step, Store};
use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState, PartnerOnboarding};
use wiremock::matchers::{any, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::*;
use crate::verification::TOKEN;

/// `TOKEN_ENCRYPTION_KEY` of the test apps (base64 of 32 bytes).
const KEY: &str = "q1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLlZzXxM=";
const VERIFY_TOKEN: &str = "meta-verify-T0KEN-4417";
const CODE: &str = "AQB_x-1";
const APP_ID: &str = "1234567890";

pub(crate) fn graph_path(rest: &str) -> String {
    format!("/{DEFAULT_GRAPH_VERSION}/{rest}")
}

fn meta_env() -> Vec<(&'static str, String)> {
    vec![
        ("WHATSAPP_PROVIDER", "meta".to_owned()),
        ("TOKEN_ENCRYPTION_KEY", KEY.to_owned()),
        ("META_WEBHOOK_VERIFY_TOKEN", VERIFY_TOKEN.to_owned()),
    ]
}

pub(crate) fn meta_options() -> Options {
    Options {
        verification: true,
        env: meta_env(),
        ..Options::default()
    }
}

async fn meta_app() -> TestApp {
    spawn_app_with(meta_options()).await
}

/// The code exchange and the ownership check, for `waba` listing [`PHONE_ID`].
pub(crate) async fn mount_exchange(graph: &MockServer, waba: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path(graph_path("oauth/access_token")))
        .and(query_param("code", CODE))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": TOKEN, "token_type": "bearer"})),
        )
        .expect(times)
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(graph_path("debug_token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": APP_ID, "is_valid": true,
            "granular_scopes": [{"scope": "business_management"}]}})))
        .expect(times)
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(graph_path(&format!("{waba}/phone_numbers"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": PHONE_ID}]})))
        .expect(times)
        .mount(graph)
        .await;
}

/// `POST /{waba}/subscribed_apps` with the business token, answering `success`.
pub(crate) async fn mount_subscribe(graph: &MockServer, waba: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{waba}/subscribed_apps"))))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(times)
        .mount(graph)
        .await;
}

fn number_json(status: &str) -> Value {
    json!({"id": PHONE_ID, "display_phone_number": "+1 631-555-1111",
           "verified_name": "John's Cake Shop", "quality_rating": "GREEN",
           "code_verification_status": "VERIFIED", "name_status": "APPROVED", "status": status})
}

pub(crate) async fn mount_number(graph: &MockServer, status: &str) {
    Mock::given(method("GET"))
        .and(path(graph_path(PHONE_ID)))
        .and(query_param("fields", proxy::providers::meta::NUMBER_FIELDS))
        .respond_with(ResponseTemplate::new(200).set_body_json(number_json(status)))
        .mount(graph)
        .await;
}

pub(crate) fn meta_error(status: u16, code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AxTrace1"}}))
}

/// `POST /{phone}/register` answering `response`, `times` times.
async fn mount_register(graph: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/register"))))
        .and(body_partial_json(json!({"messaging_product": "whatsapp"})))
        .respond_with(response)
        .expect(times)
        .mount(graph)
        .await;
}

/// The register bodies Meta received, in order.
async fn register_bodies(graph: &MockServer) -> Vec<Value> {
    graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r: &&Request| r.url.path() == graph_path(&format!("{PHONE_ID}/register")))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn post_pin(app: &TestApp, id: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/onboardings/{id}/pin", app.address))
        .headers(bearer(id))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn deregister(app: &TestApp, id: &str) -> reqwest::Response {
    app.partner(
        reqwest::Method::POST,
        &format!("/api/partner/onboardings/{id}/deregister"),
    )
    .send()
    .await
    .unwrap()
}

async fn credentials(app: &TestApp, id: &str) -> reqwest::Response {
    app.partner(
        reqwest::Method::GET,
        &format!("/api/partner/onboardings/{id}/credentials"),
    )
    .send()
    .await
    .unwrap()
}

/// A standard sign-up whose register succeeds and whose number is `CONNECTED`.
pub(crate) async fn connected_onboarding(app: &TestApp) -> Onboarding {
    mount_exchange(&app.graph, WABA, 1).await;
    mount_subscribe(&app.graph, WABA, 1).await;
    mount_register(
        &app.graph,
        ResponseTemplate::new(200).set_body_json(json!({"success": true})),
        1,
    )
    .await;
    mount_number(&app.graph, "CONNECTED").await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_standard_sign_up_subscribes_registers_with_a_fresh_pin_and_connects() {
    let app = meta_app().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.ycloud)
        .await;
    let o = connected_onboarding(&app).await;
    assert_eq!(o.state, OnboardingState::Connected);
    let steps: Vec<_> = o.steps.iter().map(|s| (s.name, s.state)).collect();
    assert_eq!(
        steps,
        [
            (wire::StepName::SubscribeApp, wire::StepState::Done),
            (wire::StepName::Register, wire::StepState::Done),
        ]
    );
    let number = o.phone_number.unwrap();
    assert_eq!(
        number.display_phone_number.as_deref(),
        Some("+1 631-555-1111")
    );
    assert_eq!(number.status.as_deref(), Some("CONNECTED"));

    // The register body, as Meta documents it, with a six-digit, non-trivial PIN.
    let bodies = register_bodies(&app.graph).await;
    assert_eq!(bodies.len(), 1);
    let pin = bodies[0]["pin"].as_str().unwrap().to_owned();
    assert_eq!(bodies[0]["messaging_product"], "whatsapp");
    assert!(bodies[0].get("data_localization_region").is_none());
    assert!(pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()));
    assert!(!proxy::providers::meta::pin::is_trivial(&pin), "{pin}");
    // Every call with the business token carries it as a bearer and proves the app secret.
    for r in app.graph.received_requests().await.unwrap() {
        if r.url.path().ends_with("/register") || r.url.path().ends_with("/subscribed_apps") {
            let proof = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "appsecret_proof")
                .map(|(_, v)| v.into_owned());
            assert_eq!(proof.as_deref().map(str::len), Some(64), "{}", r.url.path());
            assert!(!r.url.as_str().contains(TOKEN));
        }
    }

    // The partner reads the PIN and the token back; nobody else does.
    let r = credentials(&app, &o.id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let c: wire::Credentials = r.json().await.unwrap();
    assert_eq!(c.pin.unwrap().as_str(), pin);
    assert_eq!(c.business_token.as_deref(), Some(TOKEN));
    let r = app
        .client
        .get(format!(
            "{}/api/partner/onboardings/{}/credentials",
            app.address, o.id
        ))
        .send()
        .await
        .unwrap();
    assert_error_shape(r, 401).await;
    let unknown = credentials(&app, "00000000-0000-4000-8000-000000000000").await;
    assert_eq!(
        assert_error_shape(unknown, 404).await.error.code,
        "onboarding_not_found"
    );

    // Encrypted at rest: neither appears in the database files, nor in any other answer or log.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("onboarding.db")
        {
            stored.extend(std::fs::read(path).unwrap());
        }
    }
    assert!(!stored.is_empty());
    let text = String::from_utf8_lossy(&stored);
    assert!(!text.contains(TOKEN), "the token is stored in clear");
    assert!(
        !text.contains(&format!("\"{pin}\"")),
        "the PIN is stored in clear"
    );
    assert!(text.contains("v1:"), "sealed values are stored");
    let partner_view: Value = app
        .partner(
            reqwest::Method::GET,
            &format!("/api/partner/onboardings/{}", o.id),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!partner_view.to_string().contains(TOKEN));
    assert!(!partner_view.to_string().contains(&pin));
    let logs = captured_logs();
    assert!(!logs.contains(TOKEN), "the token was logged");
    assert!(!logs.contains(&format!("\"{pin}\"")), "the PIN was logged");
}

#[tokio::test]
async fn the_session_region_is_sent_and_checked_at_the_edge() {
    let app = meta_app().await;
    for bad in [
        json!({"customer_ref": "c", "modes": ["standard"], "data_localization_region": "FR"}),
        json!({"customer_ref": "c", "modes": ["coexistence"], "data_localization_region": "DE"}),
    ] {
        let r = app
            .partner(reqwest::Method::POST, "/api/partner/sessions")
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error_shape(r, 422).await.error.code,
            "invalid_body",
            "{bad}"
        );
    }
    let session = app
        .create_session(&json!({"customer_ref": "cust-42", "modes": ["standard"],
                                "data_localization_region": "DE"}))
        .await;
    mount_exchange(&app.graph, WABA, 1).await;
    mount_subscribe(&app.graph, WABA, 1).await;
    mount_register(
        &app.graph,
        ResponseTemplate::new(200).set_body_json(json!({"success": true})),
        1,
    )
    .await;
    mount_number(&app.graph, "PENDING").await;
    let mut body = standard_body();
    body["session"] = json!(session.token.unwrap().as_str());
    let r = app.post_onboarding(&body).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending);
    assert_eq!(
        register_bodies(&app.graph).await[0]["data_localization_region"],
        "DE"
    );
}

#[tokio::test]
async fn a_pin_mismatch_waits_for_the_customers_pin_which_resumes_it() {
    let app = meta_app().await;
    mount_exchange(&app.graph, WABA, 1).await;
    mount_subscribe(&app.graph, WABA, 1).await;
    // The number's existing PIN is 246810: anything else is Meta's 133005.
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/register"))))
        .and(body_partial_json(json!({"pin": "246810"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .with_priority(1)
        .expect(1)
        .mount(&app.graph)
        .await;
    mount_register(
        &app.graph,
        meta_error(400, 133005, "Two step verification PIN Mismatch"),
        2,
    )
    .await;
    mount_number(&app.graph, "CONNECTED").await;

    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    let error = o.error.clone().unwrap();
    assert_eq!(error.code, "pin_required");
    assert!(!error.retryable, "a PIN is never guessed again by a retry");
    assert_eq!(error.upstream_request_id.as_deref(), Some("AxTrace1"));
    assert!(error.message.contains("/pin"), "{}", error.message);
    // "Try again" would resend the same PIN: refused.
    assert_eq!(
        assert_error_shape(app.retry(&o.id).await, 409)
            .await
            .error
            .code,
        "nothing_to_retry"
    );
    // The PIN is checked at the edge.
    for bad in [
        json!({"pin": "12345"}),
        json!({"pin": 246810}),
        json!({"pin": "24681O"}),
    ] {
        let r = post_pin(&app, &o.id, &bad).await;
        assert_eq!(assert_error_shape(r, 422).await.error.code, "invalid_body");
    }
    // A wrong PIN: action_required again, nothing retried behind the customer's back.
    let r = post_pin(&app, &o.id, &json!({"pin": "111111"})).await;
    assert_eq!(r.status(), 200);
    let again: Onboarding = r.json().await.unwrap();
    assert_eq!(again.state, OnboardingState::ActionRequired);
    assert_eq!(again.error.unwrap().code, "pin_required");
    // The right one connects.
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    assert_eq!(r.status(), 200);
    let done: Onboarding = r.json().await.unwrap();
    assert_eq!(done.state, OnboardingState::Connected);
    assert!(done.error.is_none());
    let pins: Vec<String> = register_bodies(&app.graph)
        .await
        .iter()
        .map(|b| b["pin"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pins.len(), 3);
    assert_eq!(&pins[1..], ["111111", "246810"]);
    let c: wire::Credentials = credentials(&app, &o.id).await.json().await.unwrap();
    assert_eq!(c.pin.unwrap().as_str(), "246810");
    // Nothing awaits a PIN any more.
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "pin_not_expected"
    );
    let unknown = post_pin(
        &app,
        "00000000-0000-4000-8000-000000000000",
        &json!({"pin": "246810"}),
    )
    .await;
    assert_eq!(
        assert_error_shape(unknown, 401).await.error.code,
        "unauthorized",
        "no client token for it"
    );
    assert!(!logs_hold_number("246810"), "a PIN was logged");
}

#[tokio::test]
async fn three_wrong_pins_then_none_until_the_partner_retries_and_wrong_ones_are_never_stored() {
    let app = meta_app().await;
    mount_exchange(&app.graph, WABA, 1).await;
    mount_subscribe(&app.graph, WABA, 1).await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/register"))))
        .and(body_partial_json(json!({"pin": "246810"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .with_priority(1)
        .expect(1)
        .mount(&app.graph)
        .await;
    // The proxy's own PIN, then three wrong ones: Meta's mismatch each time.
    mount_register(
        &app.graph,
        meta_error(400, 133005, "Two step verification PIN Mismatch"),
        4,
    )
    .await;
    mount_number(&app.graph, "CONNECTED").await;
    let r = app.post_onboarding(&standard_body()).await;
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.error.unwrap().code, "pin_required");
    let generated = credentials(&app, &o.id)
        .await
        .json::<wire::Credentials>()
        .await
        .unwrap();
    let generated = generated.pin.unwrap().as_str().to_owned();

    for wrong in ["111111", "222222", "333333"] {
        let r = post_pin(&app, &o.id, &json!({ "pin": wrong })).await;
        assert_eq!(r.status(), 200);
        let again: Onboarding = r.json().await.unwrap();
        assert_eq!(again.error.unwrap().code, "pin_required");
        // A PIN Meta refused is not kept in place of the one before.
        let c: wire::Credentials = credentials(&app, &o.id).await.json().await.unwrap();
        assert_eq!(c.pin.unwrap().as_str(), generated, "after {wrong}");
    }
    // The fourth is refused without reaching Meta, even the right one.
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    assert_eq!(
        assert_error_shape(r, 429).await.error.code,
        "pin_attempts_exhausted"
    );
    assert_eq!(register_bodies(&app.graph).await.len(), 4);
    // The customer's own retry does not give more.
    let _ = app.retry(&o.id).await;
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    assert_eq!(r.status(), 429);
    // The partner's retry does.
    let _ = app
        .partner(
            reqwest::Method::POST,
            &format!("/api/partner/onboardings/{}/retry", o.id),
        )
        .send()
        .await
        .unwrap();
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    assert_eq!(r.status(), 200);
    let done: Onboarding = r.json().await.unwrap();
    assert_eq!(done.state, OnboardingState::Connected);
    let c: wire::Credentials = credentials(&app, &o.id).await.json().await.unwrap();
    assert_eq!(
        c.pin.unwrap().as_str(),
        "246810",
        "the accepted PIN is stored"
    );
}

#[tokio::test]
async fn metas_refusals_are_explained() {
    let cases = [
        ("too_many_guesses", meta_error(400, 133008, "Too many two step verification PIN guesses for this phone number"), OnboardingState::ActionRequired, "pin_locked"),
        ("guessed_too_fast", meta_error(400, 133009, "Two step verification PIN Guessed Too Fast"), OnboardingState::ActionRequired, "pin_required"),
        ("register_limit", meta_error(400, 133016, "Registration or Deregistration failed because there were too many attempts"), OnboardingState::Failed, "register_limit"),
        ("on_premises", ResponseTemplate::new(403).set_body_json(json!({"code": 1005, "title": "Access denied", "details": "Unknown error: biz_link_on_prem_reg_blocked"})), OnboardingState::Failed, "on_premises_retired"),
        ("meta_down", ResponseTemplate::new(503), OnboardingState::Failed, "upstream_unavailable"),
    ];
    for (case, response, state, code) in cases {
        let app = meta_app().await;
        mount_exchange(&app.graph, WABA, 1).await;
        mount_subscribe(&app.graph, WABA, 1).await;
        // Never retried: a register that reached Meta counts, a PIN guess counts.
        mount_register(&app.graph, response, 1).await;
        let r = app.post_onboarding(&standard_body()).await;
        assert_eq!(r.status(), 201, "{case}");
        let o: Onboarding = r.json().await.unwrap();
        assert_eq!(o.state, state, "{case}");
        let e = o.error.unwrap();
        assert_eq!(e.code, code, "{case}");
        match case {
            "register_limit" => {
                assert!(e.retryable);
                let until = time::OffsetDateTime::parse(
                    e.retry_after.as_deref().unwrap(),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                let wait = until - time::OffsetDateTime::now_utc();
                assert!(wait > time::Duration::hours(71), "{wait}");
                assert!(e.message.contains("133016") && e.message.contains("72 hours"));
                // Meta blocks the number for 72 hours: a retry now is refused without a call.
                let r = app.retry(&o.id).await;
                let body = assert_error_shape(r, 429).await;
                assert_eq!(body.error.code, "register_limit");
            }
            "on_premises" => {
                assert!(!e.retryable);
                assert!(
                    e.message.contains("Cloud API registration"),
                    "{}",
                    e.message
                );
            }
            "too_many_guesses" => assert!(e.message.contains("133008"), "{}", e.message),
            "guessed_too_fast" => {
                assert!(e.message.contains("Wait a few minutes"), "{}", e.message)
            }
            _ => assert!(e.retryable),
        }
    }
}

#[tokio::test]
async fn an_expired_business_token_asks_for_reauthorization() {
    let app = meta_app().await;
    mount_exchange(&app.graph, WABA, 1).await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{WABA}/subscribed_apps"))))
        .respond_with(meta_error(
            401,
            190,
            "Error validating access token: Session has expired",
        ))
        .expect(1)
        .mount(&app.graph)
        .await;
    mount_register(&app.graph, ResponseTemplate::new(200), 0).await;
    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    let e = o.error.unwrap();
    assert_eq!(e.code, "reauthorize");
    assert!(!e.retryable);
    assert!(e.message.contains("signs in again"), "{}", e.message);
}

#[tokio::test]
async fn the_code_is_required_and_refusals_store_nothing() {
    let app = meta_app().await;
    let mut body = standard_body();
    body.as_object_mut().unwrap().remove("code");
    let r = app.post_onboarding(&body).await;
    assert_eq!(assert_error_shape(r, 403).await.error.code, "code_missing");
    assert_eq!(app.stored_onboardings().await, 0);
}

/// Seals the token as the app would and stores it with a staged onboarding.
async fn stage_coexistence_crash(dir: &std::path::Path, id: &str) {
    let store = Store::connect(&database_url(dir), proxy::clock::Clock::system())
        .await
        .unwrap();
    // The history request was in flight when the process died.
    store
        .start_step(id, Step::SyncHistory, OnboardingState::Binding)
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test]
async fn coexistence_asks_for_each_sync_once_across_a_restart() {
    let dir = fresh_dir("meta-coex");
    // First run: subscribe, contacts, history, each exactly once; never register.
    let graph = MockServer::start().await;
    mount_exchange(&graph, WABA, 1).await;
    mount_subscribe(&graph, WABA, 1).await;
    for sync in ["smb_app_state_sync", "history"] {
        Mock::given(method("POST"))
            .and(path(graph_path(&format!("{PHONE_ID}/smb_app_data"))))
            .and(body_partial_json(
                json!({"messaging_product": "whatsapp", "sync_type": sync}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"messaging_product": "whatsapp", "request_id": format!("req-{sync}")}),
            ))
            .expect(1)
            .mount(&graph)
            .await;
    }
    mount_register(&graph, ResponseTemplate::new(200), 0).await;
    mount_number(&graph, "CONNECTED").await;
    let mut app = spawn_app_with(Options {
        data_dir: Some(dir.clone()),
        graph: Some(graph),
        ..meta_options()
    })
    .await;
    let mut body = standard_body();
    body["mode"] = json!("coexistence");
    body["event"] = json!("FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING");
    let o: Onboarding = app.post_onboarding(&body).await.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    let names: Vec<_> = o.steps.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            wire::StepName::SubscribeApp,
            wire::StepName::SyncContacts,
            wire::StepName::SyncHistory
        ]
    );
    // Coexistence numbers have no PIN and are not deregistered.
    let c: wire::Credentials = credentials(&app, &o.id).await.json().await.unwrap();
    assert!(c.pin.is_none());
    let r = deregister(&app, &o.id).await;
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "not_deregistrable"
    );
    app.shutdown().await;

    // The process "died" during the history request: the restart does not ask again.
    stage_coexistence_crash(&dir, &o.id).await;
    let graph = MockServer::start().await;
    let contacts = Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/smb_app_data"))))
        .and(body_partial_json(
            json!({"sync_type": "smb_app_state_sync"}),
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(0);
    contacts.mount(&graph).await;
    // A retry asks once more, and Meta's (#4) to a repeat counts as done.
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/smb_app_data"))))
        .and(body_partial_json(json!({"sync_type": "history"})))
        .respond_with(meta_error(400, 4, "(#4) Application request limit reached"))
        .expect(1)
        .mount(&graph)
        .await;
    mount_number(&graph, "CONNECTED").await;
    let app2 = spawn_app_with(Options {
        data_dir: Some(dir.clone()),
        graph: Some(graph),
        ..meta_options()
    })
    .await;
    let stopped = app2
        .wait_for_state(&o.id, OnboardingState::Failed, Duration::from_secs(10))
        .await;
    let e = stopped.error.unwrap();
    assert_eq!(e.code, "upstream_timeout");
    assert!(
        e.retryable && e.message.contains("not asked again"),
        "{}",
        e.message
    );
    let r = app2.retry(&o.id).await;
    assert_eq!(r.status(), 200);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    drop(app);
}

#[tokio::test]
async fn deregister_calls_meta_and_emits_the_event() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/deregister"))))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&app.graph)
        .await;
    let r = deregister(&app, &o.id).await;
    assert_eq!(r.status(), 200);
    let p: PartnerOnboarding = r.json().await.unwrap();
    assert_eq!(p.onboarding.state, OnboardingState::Deregistered);
    let last = p.onboarding.steps.last().unwrap();
    assert_eq!(
        (last.name, last.state),
        (wire::StepName::Deregister, wire::StepState::Done)
    );
    let events: wire::EventPage = app
        .partner(reqwest::Method::GET, "/api/partner/events?limit=100")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<_> = events.data.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.last(), Some(&"onboarding.deregistered"), "{kinds:?}");
    // Once is enough; without the key nothing happens.
    let r = deregister(&app, &o.id).await;
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "not_deregistrable"
    );
    let r = app
        .client
        .post(format!(
            "{}/api/partner/onboardings/{}/deregister",
            app.address, o.id
        ))
        .send()
        .await
        .unwrap();
    assert_error_shape(r, 401).await;
}

#[tokio::test]
async fn metas_133016_on_deregister_is_explained_and_leaves_the_number_as_it_was() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/deregister"))))
        .respond_with(meta_error(
            400,
            133016,
            "Registration or Deregistration failed because there were too many attempts",
        ))
        .expect(1)
        .mount(&app.graph)
        .await;
    let r = deregister(&app, &o.id).await;
    let body = assert_error_shape(r, 429).await;
    assert_eq!(body.error.code, "deregister_limit");
    assert!(body.error.retryable);
    assert!(body.error.retry_after.is_some());
    assert!(
        body.error.message.contains("72 hours"),
        "{}",
        body.error.message
    );
    let now: Onboarding = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert_eq!(now.state, OnboardingState::Connected);
    assert!(now.error.is_none());
}

#[tokio::test]
async fn the_deregister_budget_holds_under_concurrent_requests() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    // Nine deregister calls were counted already for this number.
    let store = Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (waba, phone) = (
        wire::WabaId::parse(WABA).unwrap(),
        wire::PhoneNumberId::parse(PHONE_ID).unwrap(),
    );
    for _ in 0..9 {
        store
            .record_deregister_attempt(&waba, &phone, &o.id, now)
            .await
            .unwrap();
    }
    store.close().await;
    // Meta fails every deregister, so the number stays deregistrable.
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/deregister"))))
        .respond_with(ResponseTemplate::new(500).set_delay(Duration::from_millis(100)))
        .expect(1)
        .mount(&app.graph)
        .await;
    let tries = (0..6).map(|_| deregister(&app, &o.id));
    let statuses: Vec<u16> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 502).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 502 | 409 | 429)),
        "{statuses:?}"
    );
    // Spent: refused without calling, with when it frees up.
    let r = deregister(&app, &o.id).await;
    assert!(r.headers().get("retry-after").is_some());
    let body = assert_error_shape(r, 429).await;
    assert_eq!(body.error.code, "deregister_limit");
}

#[tokio::test]
async fn the_ycloud_provider_does_not_deregister_nor_take_pins() {
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&app.ycloud)
        .await;
    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    let r = deregister(&app, &o.id).await;
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "not_deregistrable"
    );
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "pin_not_expected"
    );
    let r = credentials(&app, &o.id).await;
    assert_eq!(
        assert_error_shape(r, 404).await.error.code,
        "credentials_not_found"
    );
}

async fn handshake(app: &TestApp, query: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/webhooks/meta?{query}", app.address))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_meta_webhook_handshake_echoes_the_challenge_only_for_the_verify_token() {
    let app = meta_app().await;
    let ok = handshake(
        &app,
        &format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for bad in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".to_owned(),
        format!("hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"),
        format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}"),
        String::new(),
    ] {
        let r = handshake(&app, &bad).await;
        assert_eq!(
            assert_error_shape(r, 403).await.error.code,
            "verify_token_invalid",
            "{bad}"
        );
    }
    // Without a verify token configured, no subscription can be verified.
    let unset = spawn_app().await;
    let r = handshake(
        &unset,
        "hub.mode=subscribe&hub.verify_token=x&hub.challenge=1",
    )
    .await;
    assert_eq!(
        assert_error_shape(r, 503).await.error.code,
        "webhooks_disabled"
    );
}

pub(crate) async fn post_meta_webhook(
    app: &TestApp,
    body: &str,
    signature: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/webhooks/meta", app.address))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn meta_webhooks_are_verified_before_they_change_anything() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{
        "id": "2949482758682047", "time": meta_now(),
        "changes": [{"field": "account_update", "value": {
            "event": "PARTNER_REMOVED",
            "waba_info": {"waba_id": WABA, "owner_business_id": "2729063490586005"}}}]}]})
    .to_string();
    let good = proxy::providers::meta::webhook::sign(APP_SECRET, body.as_bytes());
    for (sig, status, code) in [
        (None, 400, "signature_missing"),
        (Some("sha1=abc".to_owned()), 400, "signature_malformed"),
        (
            Some(proxy::providers::meta::webhook::sign(
                "another-secret",
                body.as_bytes(),
            )),
            401,
            "signature_invalid",
        ),
    ] {
        let r = post_meta_webhook(&app, &body, sig.as_deref()).await;
        assert_eq!(assert_error_shape(r, status).await.error.code, code);
    }
    // A body changed after signing is refused too.
    let tampered = body.replace("PARTNER_REMOVED", "PARTNER_ADDED");
    let r = post_meta_webhook(&app, &tampered, Some(&good)).await;
    assert_eq!(
        assert_error_shape(r, 401).await.error.code,
        "signature_invalid"
    );
    let unchanged: Onboarding = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert_eq!(unchanged.state, OnboardingState::Connected);

    let r = post_meta_webhook(&app, &body, Some(&good)).await;
    assert_eq!(r.status(), 200);
    let removed = app
        .wait_for_state(&o.id, OnboardingState::Disconnected, Duration::from_secs(5))
        .await;
    assert_eq!(removed.error.unwrap().code, "partner_removed");
    // Meta repeats a notification it thinks was lost: stored once, applied once.
    let r = post_meta_webhook(&app, &body, Some(&good)).await;
    assert_eq!(r.status(), 200);

    // A number's quality change is merged into the stored number.
    let quality = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "changes": [{"field": "phone_number_quality_update", "value": {
            "display_phone_number": "16315551111", "event": "FLAGGED", "current_limit": "TIER_250"}}]}]})
    .to_string();
    let r = post_meta_webhook(
        &app,
        &quality,
        Some(&proxy::providers::meta::webhook::sign(
            APP_SECRET,
            quality.as_bytes(),
        )),
    )
    .await;
    assert_eq!(r.status(), 200);
    let bad = "not json";
    let r = post_meta_webhook(
        &app,
        bad,
        Some(&proxy::providers::meta::webhook::sign(
            APP_SECRET,
            bad.as_bytes(),
        )),
    )
    .await;
    assert_eq!(assert_error_shape(r, 400).await.error.code, "invalid_event");
}

#[tokio::test]
async fn the_meta_sandbox_runs_without_secrets() {
    let app = spawn_app_with(Options {
        sandbox: true,
        env: vec![("WHATSAPP_PROVIDER", "meta".to_owned())],
        ..Options::default()
    })
    .await;
    // A sign-up without the code is refused, so the browser is told the code is needed.
    let config: wire::PublicConfig = app.get_json("/api/config").await;
    assert!(config.verification && config.sandbox);
    // Special WABA ids of the fake Meta: `005` has the PIN 246810 already.
    let body = json!({"mode": "standard", "waba_id": "100000000000005", "phone_number_id": PHONE_ID,
                      "code": "sandbox-code"});
    let o: Onboarding = app.post_onboarding(&body).await.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    assert_eq!(o.error.unwrap().code, "pin_required");
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    let o: Onboarding = r.json().await.unwrap();
    assert!(
        matches!(
            o.state,
            OnboardingState::Pending | OnboardingState::Connected
        ),
        "{o:?}"
    );
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
}

pub(crate) async fn partner_event_kinds(app: &TestApp) -> Vec<String> {
    let events: wire::EventPage = app
        .partner(reqwest::Method::GET, "/api/partner/events?limit=100")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    events
        .data
        .iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn a_meta_webhook_is_applied_with_its_partner_event_before_the_answer() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{
        "id": WABA, "time": meta_now(),
        "changes": [{"field": "account_update", "value": {"event": "ACCOUNT_DELETED"}}]}]})
    .to_string();
    let sig = proxy::providers::meta::webhook::sign(APP_SECRET, body.as_bytes());
    let r = post_meta_webhook(&app, &body, Some(&sig)).await;
    assert_eq!(r.status(), 200);
    // Applied before the answer, with the partner's event in the same transaction.
    let now: Onboarding = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert_eq!(now.state, OnboardingState::Disconnected);
    assert_eq!(now.error.unwrap().code, "waba_deleted");
    let kinds = partner_event_kinds(&app).await;
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("onboarding.disconnected"),
        "{kinds:?}"
    );
    let store = Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let id = proxy::providers::meta::webhook::Notification::id_of(body.as_bytes());
    assert!(store.has_webhook_event(&format!("{id}.0.0")).await.unwrap());
    store.close().await;
    // Meta's repeat changes nothing and tells the partner nothing more.
    let r = post_meta_webhook(&app, &body, Some(&sig)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(partner_event_kinds(&app).await, kinds);
}

#[tokio::test]
async fn the_meta_clients_calls_are_counted_and_its_answers_capped() {
    let app = meta_app().await;
    connected_onboarding(&app).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The number is read twice: its display name before the register, its status after.
    for (call, n) in [("subscribed_apps", 1), ("register", 1), ("phone_number", 2)] {
        let series = format!(
            r#"wa_signup_upstream_calls_total{{upstream="graph",call="{call}",outcome="ok"}} {n}"#
        );
        assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
    }

    // An answer over the cap is not read: the step fails as an unreadable answer.
    let app = meta_app().await;
    mount_exchange(&app.graph, WABA, 1).await;
    let huge = format!(
        r#"{{"success":true,"pad":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{WABA}/subscribed_apps"))))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .expect(1)
        .mount(&app.graph)
        .await;
    let o: Onboarding = app
        .post_onboarding(&standard_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::Failed);
    assert_eq!(o.error.unwrap().code, "upstream_bad_response");
}

#[tokio::test]
async fn a_pin_or_a_deregister_waits_for_whoever_holds_the_lease() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    // Another instance holds the onboarding (its follower, say).
    let store = Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    assert!(store
        .take_lease(
            &o.id,
            "another-instance",
            now,
            now + time::Duration::minutes(5)
        )
        .await
        .unwrap());
    let r = deregister(&app, &o.id).await;
    let body = assert_error_shape(r, 409).await;
    assert_eq!(body.error.code, "not_deregistrable");
    assert!(
        body.error.message.contains("worked on"),
        "{}",
        body.error.message
    );
    let r = post_pin(&app, &o.id, &json!({"pin": "246810"})).await;
    let body = assert_error_shape(r, 409).await;
    assert_eq!(body.error.code, "pin_not_expected");
    assert!(
        body.error.message.contains("worked on"),
        "{}",
        body.error.message
    );
    // Once it is released, the deregister runs, and gives the lease up again.
    store
        .release_lease(&o.id, "another-instance")
        .await
        .unwrap();
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/deregister"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&app.graph)
        .await;
    let r = deregister(&app, &o.id).await;
    assert_eq!(r.status(), 200);
    assert!(store.lease(&o.id).await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn a_meta_inbound_message_records_that_the_number_receives() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "time": meta_now(), "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "16315551111", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Kim"}, "wa_id": "447700900123"}],
            "messages": [{"from": "447700900123", "id": "wamid.ABC", "timestamp": "1745000100",
                          "type": "text", "text": {"body": "a private hello"}}]}}]}]})
    .to_string();
    let sig = proxy::providers::meta::webhook::sign(APP_SECRET, body.as_bytes());
    let r = post_meta_webhook(&app, &body, Some(&sig)).await;
    assert_eq!(r.status(), 200);
    let now: Onboarding = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert!(now.inbound_verified_at.is_some());
    assert_eq!(now.state, OnboardingState::Connected);
    let kinds = partner_event_kinds(&app).await;
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("onboarding.inbound_verified")
    );
}

#[tokio::test]
async fn healthz_names_the_meta_provider() {
    let app = meta_app().await;
    let health: wire::Health = app.get_json("/healthz").await;
    assert_eq!(health.provider, "meta");
}

/// Now as Meta dates its entries (Unix seconds).
pub(crate) fn meta_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A signed Meta notification of one change about the test WABA, dated `time`.
async fn post_change(app: &TestApp, time: i64, field: &str, value: serde_json::Value) -> u16 {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "time": time, "changes": [{"field": field, "value": value}]}]})
    .to_string();
    let sig = proxy::providers::meta::webhook::sign(APP_SECRET, body.as_bytes());
    post_meta_webhook(app, &body, Some(&sig))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_meta_change_dated_before_the_onboarding_never_touches_it() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    let deleted = json!({"event": "ACCOUNT_DELETED"});
    // A day old: about an earlier sign-up of this WABA, or replayed.
    assert_eq!(
        post_change(&app, meta_now() - 86_400, "account_update", deleted.clone()).await,
        200
    );
    let now: Onboarding = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert_eq!(now.state, OnboardingState::Connected);
    assert!(!partner_event_kinds(&app)
        .await
        .iter()
        .any(|k| k == "onboarding.disconnected"));
    // The same change, dated now, is applied.
    assert_eq!(
        post_change(&app, meta_now(), "account_update", deleted).await,
        200
    );
    let now: Onboarding = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert_eq!(now.state, OnboardingState::Disconnected);
}

#[tokio::test]
async fn meta_changes_the_kit_does_not_act_on_are_not_stored() {
    let app = meta_app().await;
    let o = connected_onboarding(&app).await;
    let echo = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "16315551111", "phone_number_id": PHONE_ID},
        "message_echoes": [{"from": "16315551111", "to": "447700900123", "id": "wamid.E",
            "timestamp": "1", "type": "text", "text": {"body": "an echoed secret"}}]});
    let history = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "16315551111", "phone_number_id": PHONE_ID},
        "history": [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 10},
            "threads": [{"id": "447700900123", "messages": [{"from": "447700900123",
                "id": "wamid.H", "timestamp": "1", "type": "text",
                "text": {"body": "a historic secret"}}]}]}]});
    assert_eq!(
        post_change(&app, meta_now(), "smb_message_echoes", echo).await,
        200
    );
    assert_eq!(post_change(&app, meta_now(), "history", history).await, 200);
    let now: Onboarding = app.get_json(&format!("/api/onboardings/{}", o.id)).await;
    assert_eq!(now.state, OnboardingState::Connected);
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(!stored.contains("an echoed secret"));
    assert!(!stored.contains("a historic secret"));
    assert!(!stored.contains("wamid.E") && !stored.contains("wamid.H"));
}
