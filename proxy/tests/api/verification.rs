//! Ownership verification against a fake Graph API: the code exchange and `debug_token`.

use serde_json::json;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{any, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

/// What the fake Graph hands out for the test code; distinctive, to find leaks.
pub const TOKEN: &str = "EAAG_TEST_t0k3n_5ecr3t_81";
const CODE: &str = "AQB_x-1";
const APP_ID: &str = "1234567890";

async fn verifying_app() -> TestApp {
    spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await
}

/// Mounts the exchange (answering [`TOKEN`] for [`CODE`]) and `debug_token` granting
/// `whatsapp_business_management` on `targets`.
pub async fn mount_graph(app: &TestApp, targets: &[&str], exchanges: u64) {
    Mock::given(method("GET"))
        .and(path("/v22.0/oauth/access_token"))
        .and(query_param("client_id", APP_ID))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("code", CODE))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944}),
        ))
        .expect(exchanges)
        .mount(&app.graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v22.0/debug_token"))
        .and(query_param("input_token", TOKEN))
        .and(query_param(
            "access_token",
            format!("{APP_ID}|{APP_SECRET}"),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": APP_ID, "type": "USER", "application": "Partner", "is_valid": true,
            "expires_at": 1_900_000_000, "scopes": ["whatsapp_business_management",
            "whatsapp_business_messaging", "public_profile"],
            "granular_scopes": [
                {"scope": "whatsapp_business_messaging", "target_ids": [WABA, "555"]},
                {"scope": "whatsapp_business_management", "target_ids": targets},
                {"scope": "public_profile"}],
            "user_id": "10000000001"}})))
        .expect(exchanges)
        .mount(&app.graph)
        .await;
}

async fn ycloud_succeeds(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(waba_json(true)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(phone_json("CONNECTED")))
        .expect(1)
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

#[tokio::test]
async fn a_verified_sign_up_goes_on_and_a_repost_is_idempotent() {
    let app = verifying_app().await;
    // One exchange only: the repost with the same code is answered from the store.
    mount_graph(&app, &["777", WABA], 1).await;
    ycloud_succeeds(&app).await;

    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected);

    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 200);
    let again: Onboarding = r.json().await.unwrap();
    assert_eq!(again.id, o.id);

    // Without a code the existing record is not handed out either.
    let mut body = standard_body();
    body.as_object_mut().unwrap().remove("code");
    let e = assert_error_shape(app.post_onboarding(&body).await, 403).await;
    assert_eq!(e.error.code, "code_missing");
}

#[tokio::test]
async fn refusals_store_nothing_and_call_ycloud_for_nothing() {
    // (name, graph setup, body change, status, code)
    let expired = json!({"error": {"message": "This authorization code has expired.",
        "type": "OAuthException", "code": 100, "error_subcode": 36007, "fbtrace_id": "Ab1"}});
    for case in [
        "wrong_waba",
        "expired_code",
        "missing_code",
        "graph_down",
        "invalid_token",
    ] {
        let app = verifying_app().await;
        ycloud_is_never_called(&app).await;
        let mut body = standard_body();
        let (status, code) = match case {
            "wrong_waba" => {
                mount_graph(&app, &["777"], 1).await;
                (403, "waba_not_owned")
            }
            "expired_code" => {
                Mock::given(path("/v22.0/oauth/access_token"))
                    .respond_with(ResponseTemplate::new(400).set_body_json(expired.clone()))
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                Mock::given(path("/v22.0/debug_token"))
                    .respond_with(ResponseTemplate::new(500))
                    .expect(0)
                    .mount(&app.graph)
                    .await;
                (403, "code_invalid")
            }
            "missing_code" => {
                Mock::given(any())
                    .respond_with(ResponseTemplate::new(500))
                    .expect(0)
                    .mount(&app.graph)
                    .await;
                body.as_object_mut().unwrap().remove("code");
                (403, "code_missing")
            }
            "graph_down" => {
                Mock::given(path("/v22.0/oauth/access_token"))
                    .respond_with(ResponseTemplate::new(503))
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                (502, "verification_unavailable")
            }
            "invalid_token" => {
                Mock::given(path("/v22.0/oauth/access_token"))
                    .respond_with(
                        ResponseTemplate::new(200).set_body_json(json!({"access_token": TOKEN})),
                    )
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                Mock::given(path("/v22.0/debug_token"))
                    .respond_with(
                        ResponseTemplate::new(200)
                            .set_body_json(json!({"data": {"is_valid": false, "granular_scopes": [
                            {"scope": "whatsapp_business_management", "target_ids": [WABA]}]}})),
                    )
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                (403, "code_invalid")
            }
            _ => unreachable!(),
        };
        let e = assert_error_shape(app.post_onboarding(&body).await, status).await;
        assert_eq!(e.error.code, code, "{case}");
        assert_eq!(app.stored_onboardings().await, 0, "{case}: nothing stored");
    }
}

#[tokio::test]
async fn a_refused_post_does_not_block_the_real_sign_up() {
    let app = verifying_app().await;
    // A forged post first (its code is refused) ...
    Mock::given(path("/v22.0/oauth/access_token"))
        .and(query_param("code", "forged"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 100}})))
        .expect(1)
        .mount(&app.graph)
        .await;
    let mut forged = standard_body();
    forged["code"] = json!("forged");
    let e = assert_error_shape(app.post_onboarding(&forged).await, 403).await;
    assert_eq!(e.error.code, "code_invalid");
    // ... then the customer's own: created, not the forged record.
    mount_graph(&app, &[WABA], 1).await;
    ycloud_succeeds(&app).await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
}
