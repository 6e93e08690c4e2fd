//! Reauthorization with the Meta provider: Meta's 190 on a stored business token (or the
//! partner's request) puts the onboarding in `action_required` / `reauthorize` with
//! `onboarding.reauthorize_required` once; a session with `reauthorize_onboarding_id` renews
//! the token only for the same WABA and number (docs/API.md, "Reauthorization").

use std::time::Duration;

use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState, PartnerOnboarding};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;
use crate::meta::{graph_path, meta_options};
use crate::redirect::{callback, picked, result_handle, started, ycloud_connects};
use crate::verification::TOKEN;

const CODE: &str = "AQB_x-1";
const NEW_CODE: &str = "AQB_renewed-2";
const NEW_TOKEN: &str = "EAAG_RENEWED_t0k3n_5ecr3t_92";
const STRANGER_CODE: &str = "AQB_stranger-3";
const STRANGER_TOKEN: &str = "EAAG_STRANGER_t0k3n_5ecr3t_17";
const OTHER_WABA: &str = "104996122399999";

/// Graph's answer to an expired token.
fn expired() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({"error": {
        "message": "Error validating access token: Session has expired",
        "type": "OAuthException", "code": 190, "fbtrace_id": "AxTrace190"}}))
}

fn bearer_of(token: &str) -> String {
    format!("Bearer {token}")
}

/// Meta as the tests need it: three codes (the first sign-up's, a renewal's, and one whose
/// token reaches the WABA but not the number), and a number that is `CONNECTED`.
async fn mount_meta(app: &TestApp) {
    for (code, token) in [
        (CODE, TOKEN),
        (NEW_CODE, NEW_TOKEN),
        (STRANGER_CODE, STRANGER_TOKEN),
    ] {
        Mock::given(method("GET"))
            .and(path(graph_path("oauth/access_token")))
            .and(query_param("code", code))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": token, "token_type": "bearer"})),
            )
            .mount(&app.graph)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(graph_path("debug_token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": "1234567890", "is_valid": true,
            "granular_scopes": [{"scope": "business_management"}]}})))
        .mount(&app.graph)
        .await;
    for (token, number) in [
        (TOKEN, PHONE_ID),
        (NEW_TOKEN, PHONE_ID),
        (STRANGER_TOKEN, "106540352200000"),
    ] {
        Mock::given(method("GET"))
            .and(path(graph_path(&format!("{WABA}/phone_numbers"))))
            .and(header("authorization", bearer_of(token).as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": number}]})),
            )
            .mount(&app.graph)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{WABA}/subscribed_apps"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&app.graph)
        .await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/register"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&app.graph)
        .await;
    // The number reads CONNECTED with the first token and the renewed one only.
    for token in [TOKEN, NEW_TOKEN] {
        Mock::given(method("GET"))
            .and(path(graph_path(PHONE_ID)))
            .and(query_param("fields", proxy::providers::meta::NUMBER_FIELDS))
            .and(header("authorization", bearer_of(token).as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": PHONE_ID, "display_phone_number": "+1 631-555-1111",
                "verified_name": "John's Cake Shop", "quality_rating": "GREEN",
                "code_verification_status": "VERIFIED", "name_status": "APPROVED",
                "status": "CONNECTED"})))
            .mount(&app.graph)
            .await;
    }
}

/// A connected onboarding of customer `cust-42`.
async fn connected(app: &TestApp) -> Onboarding {
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected, "{:?}", o.error);
    o
}

async fn ask(app: &TestApp, id: &str) -> reqwest::Response {
    app.partner(
        reqwest::Method::POST,
        &format!("/api/partner/onboardings/{id}/reauthorize"),
    )
    .send()
    .await
    .unwrap()
}

/// The partner's event types about onboarding `id`, oldest first.
async fn kinds(app: &TestApp, id: &str) -> Vec<String> {
    let page: Value = app
        .partner_json(&format!("/api/partner/events?onboarding_id={id}&limit=100"))
        .await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

/// The stored business token of onboarding `id`, opened.
async fn stored_token(app: &TestApp, id: &str) -> String {
    let c: Value = app
        .partner_json(&format!("/api/partner/onboardings/{id}/credentials"))
        .await;
    c["business_token"].as_str().unwrap().to_owned()
}

/// A session renewing onboarding `id` for `cust-42`: its token.
async fn reauthorizing_session(app: &TestApp, id: &str) -> String {
    let s = app
        .create_session(&json!({"customer_ref": "cust-42", "reauthorize_onboarding_id": id}))
        .await;
    assert_eq!(s.reauthorize_onboarding_id.as_deref(), Some(id));
    // The flow the onboarding was made with.
    assert_eq!(s.modes, [wire::Mode::Standard]);
    s.token.unwrap().as_str().to_owned()
}

/// The sign-in of a reauthorizing page: `waba` and `code` as Meta's popup gave them.
fn sign_in(session: &str, waba: &str, code: &str) -> Value {
    let mut body = standard_body();
    body["session"] = json!(session);
    body["waba_id"] = json!(waba);
    body["code"] = json!(code);
    body
}

async fn exchanges(app: &TestApp) -> usize {
    app.graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == graph_path("oauth/access_token"))
        .count()
}

/// A Meta app with `env`, on a fresh PostgreSQL database when `on_postgres`.
async fn meta_app(on_postgres: bool, env: Vec<(&'static str, String)>) -> TestApp {
    let mut opts = meta_options();
    opts.env.extend(env);
    if on_postgres {
        let url = crate::postgres::fresh_postgres_database().await;
        opts.env.push(("DATABASE_URL", url));
    }
    spawn_app_with(opts).await
}

#[tokio::test]
async fn a_190_on_a_health_read_asks_for_reauthorization_once() {
    health_190(false).await;
}

#[tokio::test]
async fn a_190_on_a_health_read_asks_for_reauthorization_once_on_postgres() {
    health_190(true).await;
}

async fn health_190(on_postgres: bool) {
    let every_second = vec![
        ("HEALTH_POLL_SECS", "1".to_owned()),
        ("HEALTH_PER_SECOND", "100".to_owned()),
    ];
    let app = meta_app(on_postgres, every_second).await;
    mount_meta(&app).await;
    Mock::given(method("GET"))
        .and(path(graph_path(PHONE_ID)))
        .and(query_param("fields", proxy::providers::meta::HEALTH_FIELDS))
        .respond_with(expired())
        .mount(&app.graph)
        .await;
    let o = connected(&app).await;
    poll_until_holds("reauthorization asked", Duration::from_secs(15), || async {
        let p: PartnerOnboarding = app
            .partner_json(&format!("/api/partner/onboardings/{}", o.id))
            .await;
        p.onboarding.state == OnboardingState::ActionRequired
    })
    .await;
    let p: PartnerOnboarding = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    let e = p.onboarding.error.unwrap();
    assert_eq!(e.code, "reauthorize");
    assert!(!e.retryable);
    assert!(
        e.message.contains("reauthorize_onboarding_id"),
        "{}",
        e.message
    );
    // Asking again (as the partner may) changes nothing and sends nothing more.
    let r = ask(&app, &o.id).await;
    assert_eq!(r.status(), 200);
    let k = kinds(&app, &o.id).await;
    assert_eq!(count(&k, "onboarding.action_required"), 1, "{k:?}");
    assert_eq!(count(&k, "onboarding.reauthorize_required"), 1, "{k:?}");
    assert_eq!(
        k.last().map(String::as_str),
        Some("onboarding.reauthorize_required")
    );
}

#[tokio::test]
async fn an_expired_token_during_the_run_asks_for_reauthorization() {
    let app = spawn_app_with(meta_options()).await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{WABA}/subscribed_apps"))))
        .respond_with(expired())
        .mount(&app.graph)
        .await;
    mount_meta(&app).await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    assert_eq!(o.error.unwrap().code, "reauthorize");
    let k = kinds(&app, &o.id).await;
    assert_eq!(count(&k, "onboarding.reauthorize_required"), 1, "{k:?}");
}

#[tokio::test]
async fn the_same_waba_renews_the_token_and_connects_again_another_is_refused() {
    renewal(false).await;
}

#[tokio::test]
async fn the_same_waba_renews_the_token_and_connects_again_another_is_refused_on_postgres() {
    renewal(true).await;
}

async fn renewal(on_postgres: bool) {
    let app = meta_app(on_postgres, Vec::new()).await;
    mount_meta(&app).await;
    let o = connected(&app).await;

    // The partner asks: action_required / reauthorize, one event.
    let r = ask(&app, &o.id).await;
    assert_eq!(r.status(), 200);
    let p: PartnerOnboarding = r.json().await.unwrap();
    assert_eq!(p.onboarding.state, OnboardingState::ActionRequired);
    assert_eq!(p.onboarding.error.as_ref().unwrap().code, "reauthorize");

    // The page learns which WABA to prefill.
    let session = reauthorizing_session(&app, &o.id).await;
    let info: Value = app
        .client
        .post(format!("{}/api/session", app.address))
        .json(&json!({"session": session}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        info["reauthorize"],
        json!({"onboarding_id": o.id, "waba_id": WABA, "phone_number_id": PHONE_ID})
    );

    // Another WABA: refused before its code is exchanged; nothing stored.
    let before = exchanges(&app).await;
    let r = app
        .post_onboarding(&sign_in(&session, OTHER_WABA, NEW_CODE))
        .await;
    assert_eq!(
        assert_error_shape(r, 403).await.error.code,
        "reauthorize_mismatch"
    );
    assert_eq!(exchanges(&app).await, before);
    // The same WABA named, but the new token does not reach the number: refused too.
    let r = app
        .post_onboarding(&sign_in(&session, WABA, STRANGER_CODE))
        .await;
    assert_eq!(
        assert_error_shape(r, 403).await.error.code,
        "reauthorize_mismatch"
    );
    assert_eq!(stored_token(&app, &o.id).await, TOKEN);
    let p: PartnerOnboarding = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    assert_eq!(p.onboarding.state, OnboardingState::ActionRequired);

    // The same WABA and number: the token is replaced and the onboarding connected again.
    let r = app
        .post_onboarding(&sign_in(&session, WABA, NEW_CODE))
        .await;
    assert_eq!(r.status(), 200);
    let renewed: Onboarding = r.json().await.unwrap();
    assert_eq!(renewed.id, o.id);
    assert_eq!(renewed.state, OnboardingState::Connected);
    assert!(renewed.error.is_none());
    assert_eq!(stored_token(&app, &o.id).await, NEW_TOKEN);
    // The browser may follow it with the answer's client token.
    let r = app.get_onboarding(&o.id).await;
    assert_eq!(r.status(), 200);
    // The number was read with the new token.
    let read_with_new = app
        .graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|r| {
            r.url.path() == graph_path(PHONE_ID)
                && r.headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some(bearer_of(NEW_TOKEN).as_str())
        });
    assert!(read_with_new);
    let k = kinds(&app, &o.id).await;
    assert_eq!(count(&k, "onboarding.reauthorize_required"), 1, "{k:?}");
    assert_eq!(count(&k, "onboarding.reauthorized"), 1, "{k:?}");
    assert_eq!(
        k.iter().rev().take(2).rev().cloned().collect::<Vec<_>>(),
        ["onboarding.reauthorized", "onboarding.connected"]
    );
}

#[tokio::test]
async fn reauthorization_is_refused_where_it_means_nothing() {
    let app = spawn_app_with(meta_options()).await;
    mount_meta(&app).await;
    let o = connected(&app).await;
    let unknown = "8f14e45f-ceea-467f-a0e6-000000000000";
    assert_error_shape(ask(&app, unknown).await, 404).await;
    // A session for an unknown onboarding, a malformed id, another customer's onboarding.
    let create = |body: Value| {
        app.partner(reqwest::Method::POST, "/api/partner/sessions")
            .json(&body)
            .send()
    };
    let r = create(json!({"customer_ref": "cust-42", "reauthorize_onboarding_id": unknown}))
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(r, 404).await.error.code,
        "onboarding_not_found"
    );
    let r = create(json!({"customer_ref": "cust-42", "reauthorize_onboarding_id": "nope"}))
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 422).await.error.code, "invalid_body");
    let r = create(json!({"customer_ref": "cust-7", "reauthorize_onboarding_id": o.id}))
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(r, 422).await.error.code,
        "not_reauthorizable"
    );
    // A deregistered number has no access to renew.
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/deregister"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&app.graph)
        .await;
    let r = app
        .partner(
            reqwest::Method::POST,
            &format!("/api/partner/onboardings/{}/deregister", o.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        assert_error_shape(ask(&app, &o.id).await, 409)
            .await
            .error
            .code,
        "not_reauthorizable"
    );
    let k = kinds(&app, &o.id).await;
    assert_eq!(count(&k, "onboarding.reauthorize_required"), 0, "{k:?}");
}

#[tokio::test]
async fn a_190_on_deregister_asks_for_reauthorization() {
    let app = spawn_app_with(meta_options()).await;
    mount_meta(&app).await;
    let o = connected(&app).await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/deregister"))))
        .respond_with(expired())
        .mount(&app.graph)
        .await;
    let r = app
        .partner(
            reqwest::Method::POST,
            &format!("/api/partner/onboardings/{}/deregister", o.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 409).await.error.code, "reauthorize");
    let p: PartnerOnboarding = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    assert_eq!(p.onboarding.state, OnboardingState::ActionRequired);
    let k = kinds(&app, &o.id).await;
    assert_eq!(count(&k, "onboarding.reauthorize_required"), 1, "{k:?}");
}

#[tokio::test]
async fn the_ycloud_provider_holds_the_token_so_nothing_is_reauthorized() {
    let app = spawn_app().await;
    ycloud_connects(&app, 1).await;
    let r = app.post_onboarding(&standard_body()).await;
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    let r = ask(&app, &o.id).await;
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "not_reauthorizable"
    );
    let r = app
        .partner(reqwest::Method::POST, "/api/partner/sessions")
        .json(&json!({"customer_ref": "cust-42", "reauthorize_onboarding_id": o.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(r, 422).await.error.code,
        "not_reauthorizable"
    );
}

#[tokio::test]
async fn the_meta_sandbox_reauthorizes_the_same_waba_only() {
    let app = spawn_app_with(Options {
        sandbox: true,
        env: vec![("WHATSAPP_PROVIDER", "meta".to_owned())],
        ..Options::default()
    })
    .await;
    let mut body = standard_body();
    body["code"] = json!("sandbox-code");
    let o: Onboarding = app.post_onboarding(&body).await.json().await.unwrap();
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
    assert_eq!(ask(&app, &o.id).await.status(), 200);
    let session = reauthorizing_session(&app, &o.id).await;
    let r = app
        .post_onboarding(&sign_in(&session, OTHER_WABA, "sandbox-code-2"))
        .await;
    assert_eq!(
        assert_error_shape(r, 403).await.error.code,
        "reauthorize_mismatch"
    );
    let r = app
        .post_onboarding(&sign_in(&session, WABA, "sandbox-code-2"))
        .await;
    assert_eq!(r.status(), 200);
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
    let k = kinds(&app, &o.id).await;
    assert_eq!(count(&k, "onboarding.reauthorized"), 1, "{k:?}");
}

/// The full-page sign-in of `session` ends at Meta's redirect back with `code`.
async fn full_page_sign_in(app: &TestApp, session: &str, code: &str) -> reqwest::Response {
    let flow = started(app, json!({"mode": "standard", "session": session})).await;
    callback(app, &[("code", code), ("state", flow.state.as_str())]).await
}

#[tokio::test]
async fn the_full_page_sign_in_renews_the_token_of_the_same_number_only() {
    let app = meta_app(false, Vec::new()).await;
    mount_meta(&app).await;
    // The redirect flow finds the WABA by debug_token's target ids.
    Mock::given(method("GET"))
        .and(path(graph_path("debug_token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": "1234567890", "is_valid": true, "granular_scopes": [
                {"scope": "whatsapp_business_management", "target_ids": [WABA]}]}})))
        .with_priority(1)
        .mount(&app.graph)
        .await;
    let o = connected(&app).await;
    assert_eq!(ask(&app, &o.id).await.status(), 200);
    let session = reauthorizing_session(&app, &o.id).await;

    // The new token reaches another number of the WABA only: a page saying so, nothing
    // stored.
    let back = full_page_sign_in(&app, &session, STRANGER_CODE).await;
    assert_eq!(back.status(), 403);
    let page = back.text().await.unwrap();
    assert!(page.contains(r#"data-state="wrong-account""#), "{page}");
    assert!(!page.contains(STRANGER_TOKEN));
    assert_eq!(stored_token(&app, &o.id).await, TOKEN);

    // The same WABA and number: the token is replaced, the onboarding connected again, and
    // the customer lands on it.
    let back = full_page_sign_in(&app, &session, NEW_CODE).await;
    let picked = picked(&app, &result_handle(&back)).await;
    assert_eq!(picked.onboarding.id, o.id);
    assert_eq!(picked.onboarding.state, OnboardingState::Connected);
    assert_eq!(stored_token(&app, &o.id).await, NEW_TOKEN);
    let k = kinds(&app, &o.id).await;
    assert_eq!(count(&k, "onboarding.reauthorized"), 1, "{k:?}");
}
