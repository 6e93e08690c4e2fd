//! Onboarding sessions: who the customer is comes from the partner's backend, never from the
//! browser (docs/API.md, "Sessions").

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use wire::{Onboarding, PartnerOnboarding, SessionInfo};
use wiremock::matchers::{method, path, path_regex};
use wiremock::Mock;

use crate::helpers::*;

/// A live proxy that requires sessions, with YCloud answering bind and register for any
/// WABA and number.
async fn live_app() -> TestApp {
    live_app_with(Options::default()).await
}

async fn live_app_with(opts: Options) -> TestApp {
    let app = spawn_app_with(Options {
        sessions_required: true,
        ..opts
    })
    .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/whatsapp/businessAccounts/\d+/(tp|smb)/bind$",
        ))
        .respond_with(ok(waba_json(true)))
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/whatsapp/phoneNumbers/\d+/\d+/register$"))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&app.ycloud)
        .await;
    app
}

fn body_for(waba: &str, session: Option<&str>) -> Value {
    let mut body = json!({"mode": "standard", "waba_id": waba, "phone_number_id": PHONE_ID});
    if let Some(s) = session {
        body["session"] = json!(s);
    }
    body
}

async fn ycloud_calls(app: &TestApp) -> usize {
    app.ycloud.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn live_mode_refuses_an_onboarding_without_a_session() {
    let app = live_app().await;
    let config: Value = app.get_json("/api/config").await;
    assert_eq!(config["sessions_required"], true);

    let r = app.post_onboarding(&standard_body()).await;
    let body = assert_error_shape(r, 401).await;
    assert_eq!(body.error.code, "session_required");
    assert_eq!(app.stored_onboardings().await, 0);
    assert_eq!(ycloud_calls(&app).await, 0, "YCloud is never called");
}

#[tokio::test]
async fn the_customer_is_the_sessions_and_the_body_may_not_say_otherwise() {
    let app = live_app().await;
    let session = app
        .create_session(&json!({"customer_ref": "acme-7", "metadata": {"plan": "pro"}}))
        .await;
    let token = session.token.as_ref().unwrap().as_str().to_owned();

    // A body naming another customer is refused, and nothing is stored.
    let mut body = body_for(WABA, Some(&token));
    body["customer_ref"] = json!("someone-else");
    let refused = assert_error_shape(app.post_onboarding(&body).await, 422).await;
    assert_eq!(refused.error.code, "customer_ref_mismatch");
    assert_eq!(app.stored_onboardings().await, 0);

    // Without one (or with the session's own), the session's customer is used.
    let r = app.post_onboarding(&body_for(WABA, Some(&token))).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.customer_ref.as_ref().unwrap().as_str(), "acme-7");

    let p: PartnerOnboarding = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    assert!(p.customer_ref_verified);
    assert_eq!(p.session_id.as_deref(), Some(session.id.as_str()));
    assert_eq!(
        serde_json::to_value(&p.metadata).unwrap(),
        json!({"plan": "pro"})
    );
    assert!(!p.onboarding.steps.is_empty(), "the steps are listed");
}

#[tokio::test]
async fn unknown_expired_and_revoked_sessions_are_one_answer() {
    let ahead = Arc::new(AtomicI64::new(0));
    let app = live_app_with(Options {
        clock: Some(proxy::clock::Clock::ahead_by(ahead.clone())),
        ..Options::default()
    })
    .await;
    let invalid = |r| async move {
        let body = assert_error_shape(r, 401).await;
        assert_eq!(body.error.code, "session_invalid");
    };

    // Unknown.
    invalid(
        app.post_onboarding(&body_for(WABA, Some("ses_not_a_real_token_at_all")))
            .await,
    )
    .await;

    // Revoked: at once, though the page read it just before (the POST reads it the same way).
    let session = app.create_session(&json!({"customer_ref": "c1"})).await;
    let token = session.token.unwrap().as_str().to_owned();
    let page = app.open_session(&token).await;
    assert_eq!(page.status(), 200);
    let r = app
        .partner(
            Method::DELETE,
            &format!("/api/partner/sessions/{}", session.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    invalid(app.post_onboarding(&body_for(WABA, Some(&token))).await).await;
    let lookup = app.open_session(&token).await;
    invalid(lookup).await;

    // Expired: a minute-long session, two minutes later.
    let token = app
        .create_session(&json!({"customer_ref": "c2", "expires_in": 60}))
        .await
        .token
        .unwrap();
    ahead.store(120, Ordering::Relaxed);
    invalid(
        app.post_onboarding(&body_for(WABA, Some(token.as_str())))
            .await,
    )
    .await;

    assert_eq!(app.stored_onboardings().await, 0);
    assert_eq!(ycloud_calls(&app).await, 0);
}

#[tokio::test]
async fn a_session_allows_only_its_modes_and_tells_the_page_which() {
    let app = live_app().await;
    let session = app
        .create_session(&json!({"customer_ref": "c", "modes": ["coexistence"], "locale": "vi"}))
        .await;
    let token = session.token.unwrap().as_str().to_owned();

    let info: SessionInfo = app.open_session(&token).await.json().await.unwrap();
    assert_eq!(info.modes, vec![wire::Mode::Coexistence]);
    assert_eq!(info.locale, Some(wire::Locale::Vi));

    let refused = assert_error_shape(
        app.post_onboarding(&body_for(WABA, Some(&token))).await,
        403,
    )
    .await;
    assert_eq!(refused.error.code, "mode_not_allowed");
    let mut body = body_for(WABA, Some(&token));
    body["mode"] = json!("coexistence");
    Mock::given(method("POST"))
        .and(path(smb_bind_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&app.ycloud)
        .await;
    assert_eq!(app.post_onboarding(&body).await.status(), 201);
}

#[tokio::test]
async fn a_session_creates_at_most_five_onboardings_and_reposts_are_free() {
    let app = live_app().await;
    let token = app.session_token("c").await;
    let wabas: Vec<String> = (0..6).map(|i| format!("10499612239916{i}")).collect();
    for waba in &wabas[..5] {
        let r = app.post_onboarding(&body_for(waba, Some(&token))).await;
        assert_eq!(r.status(), 201, "{waba}");
    }
    // The same ids again: the same onboarding, not a new one.
    let r = app
        .post_onboarding(&body_for(&wabas[0], Some(&token)))
        .await;
    assert_eq!(r.status(), 200);
    let refused = assert_error_shape(
        app.post_onboarding(&body_for(&wabas[5], Some(&token)))
            .await,
        429,
    )
    .await;
    assert_eq!(refused.error.code, "session_exhausted");
    assert_eq!(app.stored_onboardings().await, 5);
}

#[tokio::test]
async fn concurrent_posts_cannot_pass_the_limit_together() {
    let app = live_app().await;
    let token = app.session_token("c").await;
    let posts = (0..12).map(|i| {
        let body = body_for(&format!("2049961223991{i:02}"), Some(&token));
        let app = &app;
        async move { app.post_onboarding(&body).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.stored_onboardings().await, 5);
}

#[tokio::test]
async fn someone_elses_waba_and_number_reveal_nothing() {
    let app = live_app().await;
    let first = app.session_token("first-customer").await;
    let r = app.post_onboarding(&body_for(WABA, Some(&first))).await;
    assert_eq!(r.status(), 201);
    let original: Onboarding = r.json().await.unwrap();

    // Another customer's session, in either mode: 409, and nothing of the first one.
    let other = app.session_token("other-customer").await;
    for mode in ["standard", "coexistence"] {
        let mut body = body_for(WABA, Some(&other));
        body["mode"] = json!(mode);
        let r = app.post_onboarding(&body).await;
        let text = {
            assert_eq!(r.status(), 409, "{mode}");
            r.text().await.unwrap()
        };
        assert!(text.contains("already_onboarded"), "{text}");
        for secret in [original.id.as_str(), "first-customer", "WABA name"] {
            assert!(!text.contains(secret), "leaks {secret}: {text}");
        }
    }
    // The first customer gets their own onboarding back.
    let again = app.post_onboarding(&body_for(WABA, Some(&first))).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Onboarding>().await.unwrap().id, original.id);
    assert_eq!(app.stored_onboardings().await, 1);
}

#[tokio::test]
async fn anonymous_onboardings_when_allowed_are_marked_unverified() {
    let app = spawn_app().await; // live, ALLOW_ANONYMOUS_ONBOARDINGS=true
    let config: Value = app.get_json("/api/config").await;
    assert_eq!(config["sessions_required"], false);
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
    let p: PartnerOnboarding = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    assert!(!p.customer_ref_verified);
    assert_eq!(p.session_id, None);
    assert_eq!(p.onboarding.customer_ref.unwrap().as_str(), "cust-42");

    // The same ids with another claimed customer: refused, not handed the record.
    let mut body = standard_body();
    body["customer_ref"] = json!("cust-43");
    assert_eq!(app.post_onboarding(&body).await.status(), 409);
    // A session's customer of the same name is not the browser's claim either.
    let token = app.session_token("cust-42").await;
    let mut body = standard_body();
    body["session"] = json!(token);
    assert_eq!(app.post_onboarding(&body).await.status(), 409);
    // But an unknown token is refused even when sessions are optional.
    body["session"] = json!("ses_unknown_token_0000000000");
    assert_eq!(app.post_onboarding(&body).await.status(), 401);
}

/// `GET`, its event stream and retry of one onboarding with `authorization` (none: no
/// header): their statuses.
async fn browser_routes(app: &TestApp, id: &str, authorization: Option<&str>) -> [u16; 3] {
    let with = |req: reqwest::RequestBuilder| match authorization {
        Some(a) => req.header("authorization", a),
        None => req,
    };
    let get = with(
        app.client
            .get(format!("{}/api/onboardings/{id}", app.address)),
    );
    let events = with(
        app.client
            .get(format!("{}/api/onboardings/{id}/events", app.address)),
    );
    let retry = with(
        app.client
            .post(format!("{}/api/onboardings/{id}/retry", app.address)),
    );
    let mut statuses = [0; 3];
    for (i, req) in [get, events, retry].into_iter().enumerate() {
        let r = req.send().await.unwrap();
        statuses[i] = r.status().as_u16();
        if statuses[i] == 401 {
            assert_eq!(assert_error_shape(r, 401).await.error.code, "unauthorized");
        }
    }
    statuses
}

#[tokio::test]
async fn an_onboardings_browser_routes_need_its_client_token_while_its_session_lives() {
    let ahead = Arc::new(AtomicI64::new(0));
    let app = live_app_with(Options {
        clock: Some(proxy::clock::Clock::ahead_by(ahead.clone())),
        ..Options::default()
    })
    .await;
    let session = app.create_session(&json!({"customer_ref": "c1"})).await;
    let token = session.token.unwrap().as_str().to_owned();
    let r = app.post_onboarding(&body_for(WABA, Some(&token))).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let client_token = created["client_token"]
        .as_str()
        .expect("a client_token")
        .to_owned();
    assert!(client_token.len() >= 32, "{client_token}");
    let bearer = format!("Bearer {client_token}");

    // Only the id (what the page's scripts may see): refused, as are other tokens.
    assert_eq!(browser_routes(&app, &id, None).await, [401; 3]);
    assert_eq!(
        browser_routes(&app, &id, Some(&format!("Bearer {token}"))).await,
        [401; 3],
        "the session token is not the client token"
    );
    assert_eq!(
        browser_routes(&app, &id, Some("Bearer cli_wrong")).await,
        [401; 3]
    );
    let other = app.create_session(&json!({"customer_ref": "c2"})).await;
    let r = app
        .post_onboarding(&body_for("88888888", Some(other.token.unwrap().as_str())))
        .await;
    let other_created = r.json::<Value>().await.unwrap();
    let other_id = other_created["id"].as_str().unwrap().to_owned();
    let other_token = other_created["client_token"].as_str().unwrap().to_owned();
    assert_eq!(
        browser_routes(&app, &id, Some(&format!("Bearer {other_token}"))).await,
        [401; 3],
        "another onboarding's token"
    );

    // With it: read, followed, and retry reaches the retry's own rules (connected: 409).
    assert_eq!(
        browser_routes(&app, &id, Some(&bearer)).await,
        [200, 200, 409]
    );
    let read: Value = app
        .client
        .get(format!("{}/api/onboardings/{id}", app.address))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(read.get("client_token").is_none(), "shown once: {read}");

    // Posting the same ids again answers a new token; both work.
    let again = app.post_onboarding(&body_for(WABA, Some(&token))).await;
    assert_eq!(again.status(), 200);
    let second = again.json::<Value>().await.unwrap()["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, client_token);
    assert_eq!(
        browser_routes(&app, &id, Some(&format!("Bearer {second}"))).await,
        [200, 200, 409]
    );

    // The session revoked: the token stops working at once.
    let r = app
        .partner(
            Method::DELETE,
            &format!("/api/partner/sessions/{}", session.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(browser_routes(&app, &id, Some(&bearer)).await, [401; 3]);

    // Another session's token works until that session expires.
    let other_bearer = format!("Bearer {other_token}");
    assert_eq!(
        browser_routes(&app, &other_id, Some(&other_bearer)).await[..2],
        [200, 200]
    );
    ahead.store(86_400 + 60, Ordering::Relaxed);
    assert_eq!(
        browser_routes(&app, &other_id, Some(&other_bearer)).await,
        [401; 3]
    );
}

#[tokio::test]
async fn a_session_revoked_while_its_post_runs_creates_nothing() {
    let app = live_app_with(Options {
        verification: true,
        request_timeout: Some(std::time::Duration::from_secs(5)),
        ..Options::default()
    })
    .await;
    // The code exchange takes a while: the partner revokes the session meanwhile.
    crate::verification::mount_slow_graph(&app, std::time::Duration::from_millis(1000)).await;
    let session = app.create_session(&json!({"customer_ref": "c1"})).await;
    let token = session.token.unwrap().as_str().to_owned();
    let mut body = body_for(WABA, Some(&token));
    body["code"] = json!("AQB_x-1");
    let post = {
        let app = &app;
        async move { app.post_onboarding(&body).await }
    };
    let revoke = async {
        // Once the exchange is under way (the admission is behind the request).
        poll_until_holds(
            "the code exchange under way",
            std::time::Duration::from_secs(10),
            || async {
                !app.graph
                    .received_requests()
                    .await
                    .unwrap_or_default()
                    .is_empty()
            },
        )
        .await;
        let r = app
            .partner(
                Method::DELETE,
                &format!("/api/partner/sessions/{}", session.id),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    };
    let (r, ()) = tokio::join!(post, revoke);
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("session_invalid"), "{text}");
    assert_eq!(app.stored_onboardings().await, 0);
    assert_eq!(
        ycloud_calls(&app).await,
        0,
        "nothing bound for a revoked session"
    );
}

#[tokio::test]
async fn a_sandbox_with_partner_keys_requires_sessions_as_live_mode_does() {
    // Partner keys are set by the helpers; anonymous onboardings are not allowed here.
    let app = spawn_app_with(Options {
        sandbox: true,
        sessions_required: true,
        ..Options::default()
    })
    .await;
    let config: Value = app.get_json("/api/config").await;
    assert_eq!(config["sessions_required"], true);
    assert_eq!(config["sandbox"], true);
    let body = assert_error_shape(app.post_onboarding(&standard_body()).await, 401).await;
    assert_eq!(body.error.code, "session_required");
    assert_eq!(app.stored_onboardings().await, 0);

    let token = app.session_token("sandbox-customer").await;
    let r = app.post_onboarding(&body_for(WABA, Some(&token))).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.customer_ref.unwrap().as_str(), "sandbox-customer");
}
