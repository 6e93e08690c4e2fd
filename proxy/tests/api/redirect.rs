//! The redirect flow (full-page sign-in): `POST /api/oauth/start`, Meta's way back to
//! `GET /oauth/callback`, the chooser, and `POST /api/oauth/result`, against a fake Graph.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use proxy::config::DEFAULT_GRAPH_VERSION;
use serde_json::{json, Value};
use wire::{CreatedOnboarding, OnboardingState, RedirectStarted};
use wiremock::matchers::{any, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const TOKEN: &str = "EAAG_TEST_redirect_t0k3n_77";
const CODE: &str = "AQD_redirect-code_1";
const APP_ID: &str = "1234567890";
const OTHER_WABA: &str = "777000000000001";
const OTHER_PHONE: &str = "888000000000002";
const BUSINESS: &str = "123400000000001";

fn graph_path(rest: &str) -> String {
    format!("/{DEFAULT_GRAPH_VERSION}/{rest}")
}

async fn redirect_app(extra: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_with(Options {
        verification: true,
        env: extra,
        ..Options::default()
    })
    .await
}

/// `POST /api/oauth/start` with `body`.
async fn start(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/oauth/start", app.address))
        .json(&body)
        .send()
        .await
        .expect("request")
}

pub(crate) async fn started(app: &TestApp, body: Value) -> RedirectStarted {
    let response = start(app, body).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("a started flow")
}

/// Meta's redirect back to the callback with `query`.
pub(crate) async fn callback(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    let url = url::Url::parse_with_params(&format!("{}/oauth/callback", app.address), query)
        .expect("a URL");
    app.client.get(url).send().await.expect("request")
}

/// The exchange must carry exactly `redirect_uri` (Meta's 36008 otherwise): a request without
/// it, or with another, matches no mock and gets wiremock's 404.
async fn mount_exchange(app: &TestApp, redirect_uri: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path(graph_path("oauth/access_token")))
        .and(query_param("client_id", APP_ID))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("code", CODE))
        .and(query_param("redirect_uri", redirect_uri))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944}),
        ))
        .expect(times)
        .mount(&app.graph)
        .await;
}

async fn mount_debug(app: &TestApp, scopes: Value) {
    Mock::given(method("GET"))
        .and(path(graph_path("debug_token")))
        .and(query_param("input_token", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": APP_ID, "type": "USER", "is_valid": true,
            "granular_scopes": scopes}})))
        .mount(&app.graph)
        .await;
}

async fn mount_numbers(app: &TestApp, waba: &str, numbers: &[&str]) {
    let data: Vec<Value> = numbers
        .iter()
        .map(|id| json!({"id": id, "display_phone_number": "+1 631-555-1111", "verified_name": "Cake <Shop>"}))
        .collect();
    Mock::given(method("GET"))
        .and(path(graph_path(&format!("{waba}/phone_numbers"))))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": data})))
        .mount(&app.graph)
        .await;
}

/// The token does not reach `waba`: Graph's permission error.
async fn mount_unreachable(app: &TestApp, waba: &str) {
    Mock::given(method("GET"))
        .and(path(graph_path(&format!("{waba}/phone_numbers"))))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}})))
        .mount(&app.graph)
        .await;
}

pub(crate) async fn ycloud_connects(app: &TestApp, times: u64) {
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .expect(times)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(times)
        .mount(&app.ycloud)
        .await;
}

async fn ycloud_is_never_called(app: &TestApp) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.ycloud)
        .await;
}

/// The landing page of a 303 and the handle in its `Location` fragment.
fn landing(response: &reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 303, "a redirect to the landing page");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (page, handle) = location
        .split_once("#wa-signup-result=")
        .unwrap_or_else(|| panic!("no result in {location}"));
    (page.to_owned(), handle.to_owned())
}

/// The handle of a 303 to the standalone page (a flow without a session's `return_url`).
pub(crate) fn result_handle(response: &reqwest::Response) -> String {
    let (page, handle) = landing(response);
    assert!(page.ends_with('/'), "{page}");
    handle
}

async fn pick_up(app: &TestApp, handle: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/oauth/result", app.address))
        .json(&json!({"result": handle}))
        .send()
        .await
        .expect("request")
}

/// `GET /api/onboardings/{id}` with `token` as its bearer (none: no header).
async fn read_with(app: &TestApp, id: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}/api/onboardings/{id}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

/// The pick-up's answer, as `POST /api/onboardings` answers: the onboarding and a client
/// token that opens its browser routes (and only with it).
pub(crate) async fn picked(app: &TestApp, handle: &str) -> CreatedOnboarding {
    let answer = pick_up(app, handle).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["cache-control"],
        "no-store",
        "the token is a secret"
    );
    let created: CreatedOnboarding = answer.json().await.expect("an onboarding and its token");
    let id = &created.onboarding.id;
    let with = read_with(app, id, Some(created.client_token.as_str())).await;
    assert_eq!(with.status(), 200);
    let without = read_with(app, id, None).await;
    assert_eq!(
        assert_error_shape(without, 401).await.error.code.as_str(),
        "unauthorized"
    );
    created
}

/// The page's `data-state`, checked to be an HTML page.
async fn notice(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let ctype = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(response.headers().contains_key("content-security-policy"));
    let body = response.text().await.unwrap();
    let state = body
        .split("data-state=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("")
        .to_owned();
    assert!(
        !body.contains(TOKEN) && !body.contains(CODE),
        "no secret in the page"
    );
    state
}

#[tokio::test]
async fn one_waba_goes_straight_on_with_the_same_redirect_uri() {
    let app = redirect_app(vec![]).await;
    let flow = started(&app, json!({"mode": "standard", "locale": "vi"})).await;
    assert!(
        flow.dialog_url.starts_with("https://www.facebook.com/v"),
        "{}",
        flow.dialog_url
    );
    assert!(flow.redirect_uri.ends_with("/oauth/callback"));
    mount_exchange(&app, &flow.redirect_uri, 1).await;
    // Meta's June 2026 answer: no target ids; the PARTNER_ADDED-free path is the grants'.
    mount_debug(
        &app,
        json!([{"scope": "whatsapp_business_management", "target_ids": [WABA]}]),
    )
    .await;
    mount_numbers(&app, WABA, &[PHONE_ID]).await;
    ycloud_connects(&app, 1).await;

    let back = callback(&app, &[("code", CODE), ("state", &flow.state)]).await;
    let handle = result_handle(&back);
    let onboarding = picked(&app, &handle).await.onboarding;
    assert_eq!(onboarding.waba_id.as_str(), WABA);
    assert_eq!(
        onboarding.phone_number_id.as_ref().unwrap().as_str(),
        PHONE_ID
    );
    assert_eq!(onboarding.state, OnboardingState::Connected);
    // The handle works once.
    let again = pick_up(&app, &handle).await;
    let body = assert_error_shape(again, 404).await;
    assert_eq!(body.error.code.as_str(), "result_not_found");
    // The state too: a replay of Meta's redirect (or another tab) gets a sentence, no action.
    let replay = callback(&app, &[("code", CODE), ("state", &flow.state)]).await;
    assert_eq!(notice(replay, 400).await, "state-invalid");
}

#[tokio::test]
async fn unknown_tampered_and_expired_states_do_nothing() {
    let ahead = Arc::new(AtomicI64::new(0));
    let app = spawn_app_with(Options {
        verification: true,
        clock: Some(proxy::clock::Clock::ahead_by(ahead.clone())),
        ..Options::default()
    })
    .await;
    ycloud_is_never_called(&app).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.graph)
        .await;
    let flow = started(&app, json!({"mode": "standard"})).await;
    let mut tampered = flow.state.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for query in [
        vec![("code", CODE)],
        vec![("code", CODE), ("state", "v1.invented.state")],
        vec![("code", CODE), ("state", tampered.as_str())],
    ] {
        let page = callback(&app, &query).await;
        assert_eq!(notice(page, 400).await, "state-invalid", "{query:?}");
    }
    ahead.store(31 * 60, Ordering::Relaxed);
    let expired = callback(&app, &[("code", CODE), ("state", &flow.state)]).await;
    assert_eq!(notice(expired, 400).await, "state-invalid");
}

#[tokio::test]
async fn metas_errors_are_our_sentences_never_its_description() {
    let app = redirect_app(vec![]).await;
    ycloud_is_never_called(&app).await;
    let flow = started(&app, json!({"mode": "coexistence", "locale": "zh-Hant"})).await;
    let page = callback(
        &app,
        &[
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            (
                "error_description",
                "<script>alert(1)</script>Permissions+error",
            ),
            ("state", &flow.state),
        ],
    )
    .await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("data-state=\"cancelled\""), "{body}");
    assert!(body.contains("lang=\"zh-Hant\""));
    assert!(
        !body.contains("alert(1)") && !body.contains("Permissions"),
        "{body}"
    );
    // Another error, on a fresh state.
    let flow = started(&app, json!({"mode": "standard"})).await;
    let page = callback(&app, &[("error", "server_error"), ("state", &flow.state)]).await;
    assert_eq!(notice(page, 200).await, "meta-error");
    // A callback with a state and no code at all.
    let flow = started(&app, json!({"mode": "standard"})).await;
    let page = callback(&app, &[("state", &flow.state)]).await;
    assert_eq!(notice(page, 400).await, "meta-error");
}

#[tokio::test]
async fn several_wabas_let_the_customer_choose_never_a_guess() {
    let app = redirect_app(vec![]).await;
    let flow = started(&app, json!({"mode": "standard"})).await;
    mount_exchange(&app, &flow.redirect_uri, 1).await;
    // Only the business is granted; it owns two WABAs the token reaches.
    mount_debug(
        &app,
        json!([{"scope": "business_management", "target_ids": [BUSINESS]},
                             {"scope": "whatsapp_business_manage_events"}]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(graph_path(&format!(
            "{BUSINESS}/owned_whatsapp_business_accounts"
        ))))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": OTHER_WABA}, {"id": WABA}]})),
        )
        .mount(&app.graph)
        .await;
    Mock::given(method("GET"))
        .and(path(graph_path(&format!(
            "{BUSINESS}/client_whatsapp_business_accounts"
        ))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&app.graph)
        .await;
    mount_numbers(&app, WABA, &[PHONE_ID]).await;
    mount_numbers(&app, OTHER_WABA, &[OTHER_PHONE]).await;
    ycloud_connects(&app, 1).await;

    let page = callback(&app, &[("code", CODE), ("state", &flow.state)]).await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("data-testid=\"redirect-chooser\""), "{body}");
    assert!(
        body.contains("+1 631-555-1111"),
        "the numbers as the customer knows them"
    );
    assert_eq!(
        app.stored_onboardings().await,
        0,
        "nothing before the choice"
    );
    // Sorted by WABA: index 0 is WABA (104…), index 1 OTHER_WABA (777…).
    assert!(body.find(WABA).unwrap() < body.find(OTHER_WABA).unwrap());
    let choose = |choice: &'static str| {
        app.client
            .post(format!("{}/oauth/callback", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", &flow.state)
                    .append_pair("choice", choice)
                    .finish(),
            )
            .send()
    };
    let chosen = choose("0").await.unwrap();
    let handle = result_handle(&chosen);
    let onboarding = picked(&app, &handle).await.onboarding;
    assert_eq!(onboarding.waba_id.as_str(), WABA);
    // The choice is made once.
    let again = choose("1").await.unwrap();
    assert_eq!(notice(again, 400).await, "state-invalid");
    assert_eq!(app.stored_onboardings().await, 1);
}

#[tokio::test]
async fn no_waba_says_so_and_a_waba_the_token_cannot_reach_is_never_offered() {
    let app = redirect_app(vec![]).await;
    ycloud_is_never_called(&app).await;
    let flow = started(&app, json!({"mode": "standard"})).await;
    mount_exchange(&app, &flow.redirect_uri, 1).await;
    // debug_token names a WABA the token does not reach (another customer's).
    mount_debug(
        &app,
        json!([{"scope": "whatsapp_business_management", "target_ids": [OTHER_WABA]}]),
    )
    .await;
    mount_unreachable(&app, OTHER_WABA).await;
    let page = callback(&app, &[("code", CODE), ("state", &flow.state)]).await;
    assert_eq!(notice(page, 200).await, "nothing-shared");
    assert_eq!(app.stored_onboardings().await, 0);
}

#[tokio::test]
async fn a_partner_added_webhook_names_the_waba_when_the_token_reaches_it() {
    let app = redirect_app(vec![]).await;
    let flow = started(&app, json!({"mode": "standard"})).await;
    mount_exchange(&app, &flow.redirect_uri, 1).await;
    // Meta's answer since June 2026: no target ids at all.
    mount_debug(
        &app,
        json!([{"scope": "business_management"},
                             {"scope": "whatsapp_business_manage_events"}]),
    )
    .await;
    mount_numbers(&app, WABA, &[PHONE_ID]).await;
    mount_unreachable(&app, OTHER_WABA).await;
    ycloud_connects(&app, 1).await;
    // Two customers finished at about the same time: only one WABA is this token's.
    for waba in [OTHER_WABA, WABA] {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "999", "time": 1,
            "changes": [{"field": "account_update", "value": {"event": "PARTNER_ADDED",
            "waba_info": {"waba_id": waba, "owner_business_id": BUSINESS}}}]}]})
        .to_string();
        let signature = meta_signature(&body);
        let response = app
            .client
            .post(format!("{}/webhooks/meta", app.address))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
    let back = callback(&app, &[("code", CODE), ("state", &flow.state)]).await;
    let handle = result_handle(&back);
    let onboarding = picked(&app, &handle).await.onboarding;
    assert_eq!(onboarding.waba_id.as_str(), WABA);
}

fn meta_signature(body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn the_flow_keeps_to_its_session() {
    let app = spawn_app_with(Options {
        verification: true,
        sessions_required: true,
        ..Options::default()
    })
    .await;
    ycloud_is_never_called(&app).await;
    let missing = start(&app, json!({"mode": "standard"})).await;
    assert_eq!(
        assert_error_shape(missing, 401).await.error.code.as_str(),
        "session_required"
    );
    let session = app
        .create_session(&json!({"customer_ref": "cust-1", "modes": ["standard"]}))
        .await;
    let token = session.token.clone().unwrap();
    let wrong_mode = start(
        &app,
        json!({"mode": "coexistence", "session": token.as_str()}),
    )
    .await;
    assert_eq!(
        assert_error_shape(wrong_mode, 403)
            .await
            .error
            .code
            .as_str(),
        "mode_not_allowed"
    );
    let flow = started(&app, json!({"mode": "standard", "session": token.as_str()})).await;
    // Revoked while the customer was at Meta: nothing is exchanged or created.
    let revoked = app
        .partner(
            reqwest::Method::DELETE,
            &format!("/api/partner/sessions/{}", session.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.graph)
        .await;
    let page = callback(&app, &[("code", CODE), ("state", &flow.state)]).await;
    assert_eq!(notice(page, 403).await, "session-invalid");
}

#[tokio::test]
async fn the_flow_can_be_turned_off() {
    let app = redirect_app(vec![("REDIRECT_FLOW", "false".into())]).await;
    let config: Value = app.get_json("/api/config").await;
    assert_eq!(config["redirect_flow"], false);
    let refused = start(&app, json!({"mode": "standard"})).await;
    assert_eq!(
        assert_error_shape(refused, 503).await.error.code.as_str(),
        "redirect_flow_disabled"
    );
    let on = redirect_app(vec![]).await;
    let config: Value = on.get_json("/api/config").await;
    assert_eq!(config["redirect_flow"], true);
}

#[tokio::test]
async fn the_sandbox_dialog_names_what_was_shared() {
    let app = spawn_sandbox_app().await;
    let flow = started(&app, json!({"mode": "standard"})).await;
    assert!(
        flow.dialog_url.ends_with("/sandbox/dialog/oauth"),
        "{}",
        flow.dialog_url
    );
    let dialog = app
        .client
        .get(format!("{}/sandbox/dialog/oauth", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(dialog.status(), 200);
    let code = format!("sandbox.{WABA}:{PHONE_ID}");
    let back = callback(&app, &[("code", &code), ("state", &flow.state)]).await;
    let handle = result_handle(&back);
    let onboarding = picked(&app, &handle).await.onboarding;
    assert_eq!(onboarding.waba_id.as_str(), WABA);
}

#[tokio::test]
async fn the_customer_lands_on_the_sessions_return_url_with_the_onboardings_token() {
    let app = spawn_app_with(Options {
        verification: true,
        sessions_required: true,
        env: vec![("ALLOWED_ORIGINS", "https://shop.example".into())],
        ..Options::default()
    })
    .await;
    let session = app
        .create_session(&json!({"customer_ref": "cust-1", "modes": ["standard"],
            "return_url": "https://shop.example/whatsapp?step=2#top"}))
        .await;
    let token = session.token.clone().unwrap();
    mount_debug(
        &app,
        json!([{"scope": "whatsapp_business_management", "target_ids": [WABA]}]),
    )
    .await;
    mount_numbers(&app, WABA, &[PHONE_ID]).await;
    ycloud_connects(&app, 1).await;
    let first = started(&app, json!({"mode": "standard", "session": token.as_str()})).await;
    mount_exchange(&app, &first.redirect_uri, 2).await;

    let back = callback(&app, &[("code", CODE), ("state", &first.state)]).await;
    let (page, handle) = landing(&back);
    // The partner's page, its query kept, its own fragment replaced by the result.
    assert_eq!(page, "https://shop.example/whatsapp?step=2");
    // Picked up there, across origins: CORS lets the partner's page read the answer.
    let answer = app
        .client
        .post(format!("{}/api/oauth/result", app.address))
        .header("origin", "https://shop.example")
        .json(&json!({"result": handle}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let created: CreatedOnboarding = answer.json().await.unwrap();
    assert_eq!(
        created.onboarding.customer_ref.as_ref().map(|c| c.as_str()),
        Some("cust-1")
    );
    let own = read_with(
        &app,
        &created.onboarding.id,
        Some(created.client_token.as_str()),
    )
    .await;
    assert_eq!(own.status(), 200);

    // A second flow on the same session finishes (the same WABA again: nothing called
    // twice), but the session is revoked before the page picks the result up.
    let second = started(&app, json!({"mode": "standard", "session": token.as_str()})).await;
    let back = callback(&app, &[("code", CODE), ("state", &second.state)]).await;
    let (_, handle) = landing(&back);
    let revoked = app
        .partner(
            reqwest::Method::DELETE,
            &format!("/api/partner/sessions/{}", session.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let refused = pick_up(&app, &handle).await;
    assert_eq!(
        assert_error_shape(refused, 401).await.error.code.as_str(),
        "session_invalid"
    );
    // And the first token ended with its session.
    let ended = read_with(
        &app,
        &created.onboarding.id,
        Some(created.client_token.as_str()),
    )
    .await;
    assert_eq!(
        assert_error_shape(ended, 401).await.error.code.as_str(),
        "unauthorized"
    );
}

/// Two instances on one PostgreSQL database, Meta's redirect reaching both with the same
/// `state` at once (a customer's double submit behind a load balancer): the database lets
/// exactly one use it, so the code is exchanged once and one onboarding is made; the other
/// instance shows the "already used" page and calls nobody.
#[tokio::test]
async fn two_instances_racing_on_one_state_make_one_exchange_and_one_onboarding() {
    // Both answer at the same address, as behind one load balancer: one redirect_uri.
    let public_url = ("PUBLIC_URL", "https://signup.example.com".to_owned());
    let (a, database_url) = crate::postgres::spawn_postgres_app(Options {
        verification: true,
        env: vec![public_url.clone()],
        ..Options::default()
    })
    .await;
    let b = redirect_app(vec![
        public_url,
        ("DATABASE_URL", database_url),
        ("YCLOUD_BASE_URL", a.ycloud.uri()),
        ("GRAPH_BASE_URL", a.graph.uri()),
    ])
    .await;
    let flow = started(&a, json!({"mode": "standard"})).await;
    assert_eq!(
        flow.redirect_uri,
        "https://signup.example.com/oauth/callback"
    );
    mount_exchange(&a, &flow.redirect_uri, 1).await;
    mount_debug(
        &a,
        json!([{"scope": "whatsapp_business_management", "target_ids": [WABA]}]),
    )
    .await;
    mount_numbers(&a, WABA, &[PHONE_ID]).await;
    ycloud_connects(&a, 1).await;

    let query = [("code", CODE), ("state", flow.state.as_str())];
    let (from_a, from_b) = tokio::join!(callback(&a, &query), callback(&b, &query));
    let (won, lost, other) = match (from_a.status().as_u16(), from_b.status().as_u16()) {
        (303, 400) => (from_a, from_b, &b),
        (400, 303) => (from_b, from_a, &a),
        statuses => panic!("one 303 and one 400, not {statuses:?}"),
    };
    assert_eq!(notice(lost, 400).await, "state-invalid");
    let exchanges = a
        .graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == graph_path("oauth/access_token"))
        .count();
    assert_eq!(exchanges, 1, "the code is exchanged once");
    assert_eq!(a.stored_onboardings().await, 1);
    // The result is picked up through either instance: it is in the shared database.
    let onboarding = picked(other, &result_handle(&won)).await.onboarding;
    assert_eq!(onboarding.waba_id.as_str(), WABA);
    assert_eq!(onboarding.state, OnboardingState::Connected);
}
