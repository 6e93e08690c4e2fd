//! Ownership verification against a fake Graph API: the code exchange, `debug_token` in both
//! of Meta's shapes, and the functional proof (`GET /{waba_id}/phone_numbers` with the token).

use proxy::config::DEFAULT_GRAPH_VERSION;
use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{any, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

/// What the fake Graph hands out for the test code; distinctive, to find leaks.
pub const TOKEN: &str = "EAAG_TEST_t0k3n_5ecr3t_81";
const CODE: &str = "AQB_x-1";
const APP_ID: &str = "1234567890";
/// Another customer's WABA and number.
const OTHER_WABA: &str = "777000000000001";
const OTHER_PHONE: &str = "888000000000002";

/// A Graph path under the configured version, e.g. `/v26.0/debug_token`.
fn graph_path(rest: &str) -> String {
    format!("/{DEFAULT_GRAPH_VERSION}/{rest}")
}

async fn verifying_app() -> TestApp {
    spawn_app_with(Options {
        verification: true,
        ..Options::default()
    })
    .await
}

/// `granular_scopes` as Meta sent them before June 2026: the WABAs among the
/// `whatsapp_business_management` targets.
fn scopes_with_targets(targets: &[&str]) -> Value {
    json!([
        {"scope": "whatsapp_business_messaging", "target_ids": [WABA, "555"]},
        {"scope": "whatsapp_business_management", "target_ids": targets},
        {"scope": "public_profile"}])
}

/// `granular_scopes` as Meta sends them for Embedded Signup tokens since June 2026: no
/// `whatsapp_business_management`, no `target_ids` at all.
fn scopes_without_targets() -> Value {
    json!([{"scope": "business_management"}, {"scope": "whatsapp_business_manage_events"}])
}

/// Mounts the exchange (answering [`TOKEN`] for [`CODE`]) and `debug_token` with `scopes`,
/// each expected `exchanges` times.
async fn mount_token(app: &TestApp, scopes: Value, exchanges: u64) {
    mount_token_after(app, scopes, exchanges, std::time::Duration::ZERO).await;
}

/// [`mount_token`], the exchange answering after `delay`.
async fn mount_token_after(
    app: &TestApp,
    scopes: Value,
    exchanges: u64,
    delay: std::time::Duration,
) {
    Mock::given(method("GET"))
        .and(path(graph_path("oauth/access_token")))
        .and(query_param("client_id", APP_ID))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("code", CODE))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944}),
                )
                .set_delay(delay),
        )
        .expect(exchanges)
        .mount(&app.graph)
        .await;
    Mock::given(method("GET"))
        .and(path(graph_path("debug_token")))
        .and(query_param("input_token", TOKEN))
        .and(query_param(
            "access_token",
            format!("{APP_ID}|{APP_SECRET}"),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": APP_ID, "type": "USER", "application": "Partner", "is_valid": true,
            "expires_at": 1_900_000_000, "scopes": ["whatsapp_business_management",
            "whatsapp_business_messaging", "business_management", "public_profile"],
            "granular_scopes": scopes, "user_id": "10000000001"}})))
        .expect(exchanges)
        .mount(&app.graph)
        .await;
}

/// `GET /{waba}/phone_numbers` with the token as a bearer header (never in the query),
/// answering `numbers` on one page, `times` times.
async fn mount_numbers(app: &TestApp, waba: &str, numbers: &[&str], times: u64) {
    let data: Vec<Value> = numbers
        .iter()
        .map(|id| {
            json!({"id": id, "display_phone_number": "+1 631-555-1111",
                         "verified_name": "John's Cake Shop", "quality_rating": "GREEN"})
        })
        .collect();
    Mock::given(method("GET"))
        .and(path(graph_path(&format!("{waba}/phone_numbers"))))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param_is_missing("access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": data})))
        .expect(times)
        .mount(&app.graph)
        .await;
}

/// The whole fake Graph for a genuine customer: the token (in Meta's pre-June shape, the WABA
/// among its targets) reaches [`WABA`], which lists [`PHONE_ID`].
/// [`mount_graph`] for [`WABA`] once, the code exchange answering after `delay`.
pub async fn mount_slow_graph(app: &TestApp, delay: std::time::Duration) {
    mount_token_after(app, scopes_with_targets(&[WABA]), 1, delay).await;
    mount_numbers(app, WABA, &[PHONE_ID], 1).await;
}

pub async fn mount_graph(app: &TestApp, targets: &[&str], exchanges: u64) {
    mount_token(app, scopes_with_targets(targets), exchanges).await;
    mount_numbers(app, WABA, &[PHONE_ID], exchanges).await;
}

async fn ycloud_succeeds(app: &TestApp) {
    expect_bind_once(app).await;
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

/// A Graph refusal as Meta writes it.
fn graph_error(code: i64, message: &str) -> Value {
    json!({"error": {"message": message, "type": "OAuthException", "code": code,
                     "fbtrace_id": "Ab1"}})
}

#[tokio::test]
async fn a_verified_sign_up_goes_on_and_a_repost_is_idempotent() {
    let app = verifying_app().await;
    // Today's debug_token shape; one exchange only: the repost with the same code is
    // answered from the store.
    mount_token(&app, scopes_without_targets(), 1).await;
    mount_numbers(&app, WABA, &[PHONE_ID], 1).await;
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
async fn both_debug_token_shapes_and_tokens_reaching_several_wabas_are_accepted() {
    for (case, scopes) in [
        (
            "targets listed, ours second",
            scopes_with_targets(&[OTHER_WABA, WABA]),
        ),
        ("no targets (June 2026)", scopes_without_targets()),
        ("targets empty", scopes_with_targets(&[])),
    ] {
        let app = verifying_app().await;
        mount_token(&app, scopes, 1).await;
        // The WABA lists several numbers; the posted one is among them, not first.
        mount_numbers(&app, WABA, &[OTHER_PHONE, PHONE_ID], 1).await;
        ycloud_succeeds(&app).await;
        let r = app.post_onboarding(&standard_body()).await;
        assert_eq!(r.status(), 201, "{case}");
    }
}

#[tokio::test]
async fn a_waba_without_a_number_only_needs_the_token_to_reach_it() {
    let app = verifying_app().await;
    mount_token(&app, scopes_without_targets(), 1).await;
    mount_numbers(&app, WABA, &[], 1).await;
    expect_bind_once(&app).await;
    let mut body = standard_body();
    body.as_object_mut().unwrap().remove("phone_number_id");
    body["event"] = json!("FINISH_ONLY_WABA");
    let r = app.post_onboarding(&body).await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn numbers_on_a_later_page_are_found() {
    let app = verifying_app().await;
    mount_token(&app, scopes_without_targets(), 1).await;
    let numbers = graph_path(&format!("{WABA}/phone_numbers"));
    Mock::given(method("GET"))
        .and(path(numbers.as_str()))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": OTHER_PHONE}],
            "paging": {"cursors": {"before": "QVFa", "after": "QVFb"},
                       "next": "https://graph.facebook.com/next-page"}})))
        .expect(1)
        .mount(&app.graph)
        .await;
    Mock::given(method("GET"))
        .and(path(numbers.as_str()))
        .and(query_param("after", "QVFb"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": PHONE_ID}],
            "paging": {"cursors": {"before": "QVFb", "after": "QVFc"}}})))
        .expect(1)
        .mount(&app.graph)
        .await;
    ycloud_succeeds(&app).await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn refusals_store_nothing_and_call_ycloud_for_nothing() {
    let expired = graph_error(100, "This authorization code has expired.");
    for case in [
        "targets_exclude_the_waba",
        "token_reaches_another_waba",
        "number_of_another_waba",
        "expired_code",
        "missing_code",
        "graph_down_at_exchange",
        "graph_down_at_numbers",
        "invalid_token",
    ] {
        let app = verifying_app().await;
        ycloud_is_never_called(&app).await;
        let mut body = standard_body();
        let (status, code) = match case {
            "targets_exclude_the_waba" => {
                // Meta listed the granted WABAs and ours is not one: no need to ask further.
                mount_token(&app, scopes_with_targets(&[OTHER_WABA]), 1).await;
                mount_numbers(&app, WABA, &[PHONE_ID], 0).await;
                (403, "waba_not_owned")
            }
            "token_reaches_another_waba" => {
                // The customer's token is for their own WABA; the post names someone else's.
                mount_token(&app, scopes_without_targets(), 1).await;
                mount_numbers(&app, OTHER_WABA, &[OTHER_PHONE], 0).await;
                Mock::given(path(graph_path(&format!("{WABA}/phone_numbers"))))
                    .respond_with(ResponseTemplate::new(400).set_body_json(graph_error(
                        100,
                        "Unsupported get request. Object with ID does not exist, \
                         cannot be loaded due to missing permissions",
                    )))
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                (403, "waba_not_owned")
            }
            "number_of_another_waba" => {
                mount_token(&app, scopes_with_targets(&[WABA]), 1).await;
                mount_numbers(&app, WABA, &[OTHER_PHONE], 1).await;
                (403, "phone_number_not_owned")
            }
            "expired_code" => {
                Mock::given(path(graph_path("oauth/access_token")))
                    .respond_with(ResponseTemplate::new(400).set_body_json(expired.clone()))
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                Mock::given(path(graph_path("debug_token")))
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
            "graph_down_at_exchange" => {
                Mock::given(path(graph_path("oauth/access_token")))
                    .respond_with(ResponseTemplate::new(503))
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                (502, "verification_unavailable")
            }
            "graph_down_at_numbers" => {
                mount_token(&app, scopes_without_targets(), 1).await;
                Mock::given(path(graph_path(&format!("{WABA}/phone_numbers"))))
                    .respond_with(ResponseTemplate::new(500).set_body_json(graph_error(
                        2,
                        "An unexpected error has occurred. Please retry your request later.",
                    )))
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                (502, "verification_unavailable")
            }
            "invalid_token" => {
                Mock::given(path(graph_path("oauth/access_token")))
                    .respond_with(
                        ResponseTemplate::new(200).set_body_json(json!({"access_token": TOKEN})),
                    )
                    .expect(1)
                    .mount(&app.graph)
                    .await;
                Mock::given(path(graph_path("debug_token")))
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
    Mock::given(path(graph_path("oauth/access_token")))
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
