//! The mode Meta reports, not the button's: a finish event or a number on the WhatsApp
//! Business app makes an onboarding coexistence (never registered), a coexistence finish
//! without a number is resolved from the WABA's numbers; and the popup outcomes the widget
//! reports (`POST /api/signup-events`) reach the partner's feed.

use proxy::config::DEFAULT_GRAPH_VERSION;
use serde_json::{json, Value};
use wire::{EventPage, Mode, Onboarding, OnboardingState};
use wiremock::matchers::{any, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::verification::TOKEN;

const CODE: &str = "AQB_x-1";
const KEY: &str = "q1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLlZzXxM=";
const OTHER_PHONE: &str = "106540352242999";

fn graph_path(rest: &str) -> String {
    format!("/{DEFAULT_GRAPH_VERSION}/{rest}")
}

/// The code exchange and `debug_token`, once.
async fn mount_token(graph: &MockServer) {
    Mock::given(method("GET"))
        .and(path(graph_path("oauth/access_token")))
        .and(query_param("code", CODE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": TOKEN})))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(graph_path("debug_token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "is_valid": true, "granular_scopes": [{"scope": "business_management"}]}})))
        .mount(graph)
        .await;
}

/// `GET /{waba}/phone_numbers` answering `numbers`.
async fn mount_numbers(graph: &MockServer, numbers: Value) {
    Mock::given(method("GET"))
        .and(path(graph_path(&format!("{WABA}/phone_numbers"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": numbers})))
        .mount(graph)
        .await;
}

fn body(launched: &str, event: &str, phone: Option<&str>) -> Value {
    let mut b = json!({"mode": launched, "waba_id": WABA, "code": CODE, "event": event,
                       "customer_ref": "cust-42"});
    if let Some(phone) = phone {
        b["phone_number_id"] = json!(phone);
    }
    b
}

/// YCloud's `smb/bind` answering the number, once; `tp/bind` and register never.
async fn ycloud_coexistence_only(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path(smb_bind_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.ycloud)
        .await;
}

#[tokio::test]
async fn a_standard_click_meta_reports_as_coexistence_is_never_registered() {
    // No code check (YCloud without FB_APP_SECRET): the finish event alone decides.
    let app = spawn_app().await;
    ycloud_coexistence_only(&app).await;
    let r = app
        .post_onboarding(&body(
            "standard",
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            Some(PHONE_ID),
        ))
        .await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.mode, Mode::Coexistence);
    assert_eq!(o.launched_mode, Some(Mode::Standard));
    assert_eq!(o.state, OnboardingState::Connected);
    assert_eq!(app.calls_to(&register_path()).await, 0);
    assert_eq!(app.calls_to(&tp_bind_path()).await, 0);
    // And the other way round: a coexistence click Meta finished as a Cloud API number.
    let app = spawn_app().await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let o: Onboarding = app
        .post_onboarding(&body("coexistence", "FINISH", Some(PHONE_ID)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (o.mode, o.launched_mode),
        (Mode::Standard, Some(Mode::Coexistence))
    );
}

#[tokio::test]
async fn a_number_graph_reports_on_the_business_app_is_coexistence_whatever_the_event() {
    let app = spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await;
    mount_token(&app.graph).await;
    mount_numbers(
        &app.graph,
        json!([{"id": PHONE_ID, "is_on_biz_app": true, "platform_type": "CLOUD_API"}]),
    )
    .await;
    ycloud_coexistence_only(&app).await;
    let r = app
        .post_onboarding(&body("standard", "FINISH", Some(PHONE_ID)))
        .await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.mode, Mode::Coexistence);
    assert_eq!(o.launched_mode, Some(Mode::Standard));
    assert_eq!(app.calls_to(&register_path()).await, 0);
    // The partner sees both modes too.
    let p: wire::PartnerOnboarding = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    assert_eq!(p.onboarding.launched_mode, Some(Mode::Standard));
}

#[tokio::test]
async fn a_session_allowing_standard_only_refuses_what_meta_reports_as_coexistence() {
    let app = spawn_app_with(Options {
        verification: true,
        sessions_required: true,
        ..Options::default()
    })
    .await;
    let session = app
        .create_session(&json!({"customer_ref": "cust-42", "modes": ["standard"]}))
        .await;
    let token = session.token.unwrap();
    // The event says coexistence: refused before any call.
    let mut b = body(
        "standard",
        "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
        Some(PHONE_ID),
    );
    b["session"] = json!(token.as_str());
    let e = assert_error_shape(app.post_onboarding(&b).await, 403).await;
    assert_eq!(e.error.code, "mode_not_allowed");
    // The number says so: refused after the check, nothing stored, YCloud never called.
    mount_token(&app.graph).await;
    mount_numbers(&app.graph, json!([{"id": PHONE_ID, "is_on_biz_app": true}])).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.ycloud)
        .await;
    let mut b = body("standard", "FINISH", Some(PHONE_ID));
    b["session"] = json!(token.as_str());
    let e = assert_error_shape(app.post_onboarding(&b).await, 403).await;
    assert_eq!(e.error.code, "mode_not_allowed");
    assert_eq!(app.stored_onboardings().await, 0);
}

fn meta_options() -> Options {
    Options {
        verification: true,
        env: vec![
            ("WHATSAPP_PROVIDER", "meta".to_owned()),
            ("TOKEN_ENCRYPTION_KEY", KEY.to_owned()),
        ],
        ..Options::default()
    }
}

async fn mount_meta_basics(graph: &MockServer) {
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{WABA}/subscribed_apps"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(graph)
        .await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/smb_app_data"))))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messaging_product": "whatsapp", "request_id": "r1"})),
        )
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(graph_path(PHONE_ID)))
        .and(query_param("fields", proxy::providers::meta::NUMBER_FIELDS))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": PHONE_ID,
            "status": "CONNECTED", "is_on_biz_app": true, "platform_type": "CLOUD_API"})),
        )
        .mount(graph)
        .await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/register"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(0)
        .mount(graph)
        .await;
}

#[tokio::test]
async fn meta_provider_reads_the_number_and_never_registers_a_business_app_one() {
    let app = spawn_app_with(meta_options()).await;
    mount_token(&app.graph).await;
    // The WABA's list says nothing of the app: the number is read on its own.
    mount_numbers(&app.graph, json!([{"id": PHONE_ID}])).await;
    Mock::given(method("GET"))
        .and(path(graph_path(PHONE_ID)))
        .and(query_param("fields", proxy::biz_app::FACT_FIELDS))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": PHONE_ID,
            "is_on_biz_app": true, "platform_type": "CLOUD_API",
            "code_verification_status": "VERIFIED", "name_status": "APPROVED"})),
        )
        .expect(1)
        .mount(&app.graph)
        .await;
    mount_meta_basics(&app.graph).await;
    let r = app
        .post_onboarding(&body("standard", "FINISH", Some(PHONE_ID)))
        .await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.mode, Mode::Coexistence);
    assert_eq!(o.launched_mode, Some(Mode::Standard));
    assert_eq!(o.state, OnboardingState::Connected, "{o:?}");
    let names: Vec<&str> = o.steps.iter().map(|s| s.name.as_str()).collect();
    assert!(!names.contains(&"register"), "{names:?}");
    assert!(names.contains(&"sync_history"), "{names:?}");
}

#[tokio::test]
async fn a_coexistence_finish_without_a_number_takes_the_wabas_business_app_number() {
    let app = spawn_app_with(meta_options()).await;
    mount_token(&app.graph).await;
    mount_numbers(
        &app.graph,
        json!([{"id": OTHER_PHONE, "is_on_biz_app": false},
               {"id": PHONE_ID, "is_on_biz_app": true, "platform_type": "CLOUD_API"}]),
    )
    .await;
    mount_meta_basics(&app.graph).await;
    let r = app
        .post_onboarding(&body(
            "coexistence",
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            None,
        ))
        .await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(
        o.phone_number_id.as_ref().map(|p| p.as_str()),
        Some(PHONE_ID)
    );
    assert_eq!(o.state, OnboardingState::Connected, "{o:?}");
}

#[tokio::test]
async fn an_ambiguous_coexistence_finish_asks_a_person_with_the_candidates() {
    let app = spawn_app_with(meta_options()).await;
    mount_token(&app.graph).await;
    mount_numbers(
        &app.graph,
        json!([{"id": OTHER_PHONE, "is_on_biz_app": true, "display_phone_number": "+1 555 0001"},
               {"id": PHONE_ID, "is_on_biz_app": true}]),
    )
    .await;
    mount_meta_basics(&app.graph).await;
    let o: Onboarding = app
        .post_onboarding(&body(
            "coexistence",
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            None,
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired);
    let e = o.error.unwrap();
    assert_eq!(e.code, "phone_number_ambiguous");
    let ids: Vec<&str> = e.candidates.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, [OTHER_PHONE, PHONE_ID]);
    assert_eq!(
        e.candidates[0].display_phone_number.as_deref(),
        Some("+1 555 0001")
    );
}

#[tokio::test]
async fn a_coexistence_number_meta_does_not_confirm_needs_a_person() {
    let app = spawn_app_with(meta_options()).await;
    mount_token(&app.graph).await;
    mount_numbers(&app.graph, json!([{"id": PHONE_ID, "is_on_biz_app": true}])).await;
    Mock::given(method("GET"))
        .and(path(graph_path(PHONE_ID)))
        .and(query_param("fields", proxy::providers::meta::NUMBER_FIELDS))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": PHONE_ID,
            "status": "CONNECTED", "is_on_biz_app": false, "platform_type": "CLOUD_API"})),
        )
        .mount(&app.graph)
        .await;
    mount_meta_basics(&app.graph).await;
    let o: Onboarding = app
        .post_onboarding(&body(
            "coexistence",
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            Some(PHONE_ID),
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::ActionRequired, "{o:?}");
    assert_eq!(o.error.unwrap().code, "coexistence_unconfirmed");
}

async fn report(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/signup-events", app.address))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn events(app: &TestApp) -> EventPage {
    app.partner_json("/api/partner/events").await
}

#[tokio::test]
async fn popup_outcomes_reach_the_partner_and_launches_only_the_funnel() {
    let app = spawn_app_with(Options {
        sessions_required: true,
        ..Options::default()
    })
    .await;
    let token = app.session_token("cust-42").await;
    // Without a session: refused, nothing stored.
    let e = assert_error_shape(
        report(&app, &json!({"mode": "standard", "event": "CANCEL"})).await,
        401,
    )
    .await;
    assert_eq!(e.error.code, "session_required");
    for bad in [
        json!({"session": token, "mode": "standard", "event": "CLOSE"}),
        json!({"session": token, "mode": "standard", "event": "ERROR", "error_code": "12a"}),
        json!({"session": token, "mode": "standard", "event": "CANCEL",
               "current_step": "<script>"}),
        json!({"session": token, "mode": "standard", "event": "ERROR",
               "meta_session_id": "a b"}),
        json!({"session": token, "mode": "standard", "event": "ERROR", "surprise": 1}),
    ] {
        let r = report(&app, &bad).await;
        assert_eq!(r.status(), 422, "{bad}");
        assert_error_shape(r, 422).await;
    }
    assert!(events(&app).await.data.is_empty());

    for ok in [
        json!({"session": token, "mode": "standard", "event": "LAUNCH"}),
        json!({"session": token, "mode": "standard", "event": "CANCEL",
               "current_step": "PHONE_NUMBER_VERIFICATION"}),
        json!({"session": token, "mode": "coexistence", "event": "CANCEL",
               "error_code": "3441045", "error_message": "<b>Not eligible</b>",
               "meta_session_id": "f1e2d3c4b5a6"}),
    ] {
        assert_eq!(report(&app, &ok).await.status(), 202, "{ok}");
    }
    let page = events(&app).await;
    let kinds: Vec<&str> = page.data.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["signup.cancelled", "signup.failed"]);
    let wire::EventData::Signup(cancel) = &page.data[0].data else {
        panic!("a signup event carries the outcome");
    };
    assert_eq!(cancel.customer_ref.as_ref().unwrap().as_str(), "cust-42");
    assert_eq!(
        cancel.current_step.as_ref().unwrap().as_str(),
        "PHONE_NUMBER_VERIFICATION"
    );
    assert!(cancel.session_id.is_some());
    let wire::EventData::Signup(failed) = &page.data[1].data else {
        panic!("a signup event carries the outcome");
    };
    assert_eq!(failed.error_code.as_ref().unwrap().as_str(), "3441045");
    assert_eq!(failed.mode, Mode::Coexistence);
    // Meta's text is kept for the funnel, not sent to the partner.
    let raw: Value = app.partner_json("/api/partner/events").await;
    assert!(!raw.to_string().contains("Not eligible"), "{raw}");
    // The funnel reads all three, launches included.
    let store = proxy::store::Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let rows = store.signup_events(None, 10).await.unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["LAUNCH", "CANCEL", "CANCEL"]);
    assert_eq!(
        rows[2].error_message.as_deref(),
        Some("<b>Not eligible</b>")
    );
    // And the console's funnel counts them.
    let funnel: wire::Funnel = app.partner_json("/api/partner/funnel").await;
    assert_eq!(funnel.popups_launched, Some(1));
    let pairs = |l: &[wire::FunnelCount]| -> Vec<(String, u64)> {
        l.iter().map(|c| (c.key.clone(), c.count)).collect()
    };
    assert_eq!(
        pairs(&funnel.cancelled),
        [("PHONE_NUMBER_VERIFICATION".to_owned(), 1)]
    );
    assert_eq!(pairs(&funnel.errors), [("3441045".to_owned(), 1)]);
}

#[tokio::test]
async fn a_session_for_both_modes_may_carry_a_storage_region() {
    let app = spawn_app().await;
    let r = app
        .partner(reqwest::Method::POST, "/api/partner/sessions")
        .json(
            &json!({"customer_ref": "c", "modes": ["standard", "coexistence"],
                      "data_localization_region": "DE"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app
        .partner(reqwest::Method::POST, "/api/partner/sessions")
        .json(&json!({"customer_ref": "c", "data_localization_region": "DE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "both modes by default");
    let r = app
        .partner(reqwest::Method::POST, "/api/partner/sessions")
        .json(&json!({"customer_ref": "c", "modes": ["coexistence"],
                      "data_localization_region": "DE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 422).await.error.code, "invalid_body");
}
