//! The partner console's cookie session, and the partner API routes made for it:
//! redelivery, the test event, the funnel and the setup check (docs/API.md, "Partner
//! console").

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};
use wire::{
    ConsoleSession, DeliveryState, EventPage, Funnel, PartnerEvent, Setup, MAX_DELIVERY_HISTORY,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::partner::{connecting_ycloud, onboard, verify_signature, webhook_env};

/// Signs in with `key`; answers the response.
async fn login(app: &TestApp, key: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/console/login", app.address))
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap()
}

/// Signs in with the test key; answers the `Cookie` header to send back and the CSRF token.
async fn signed_in(app: &TestApp) -> (String, String) {
    let r = login(app, PARTNER_KEY).await;
    assert_eq!(r.status(), 204);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    let r = app
        .client
        .get(format!("{}/console/session", app.address))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let session: ConsoleSession = r.json().await.unwrap();
    (cookie, session.csrf_token)
}

fn with_cookie(app: &TestApp, m: Method, path: &str, cookie: &str) -> reqwest::RequestBuilder {
    app.client
        .request(m, format!("{}{path}", app.address))
        .header(COOKIE, cookie)
}

#[tokio::test]
async fn a_key_becomes_a_cookie_session_that_writes_only_with_its_csrf_token() {
    let app = spawn_app().await;
    // A wrong key, or none, opens nothing.
    let body =
        assert_error_shape(login(&app, "not-a-partner-key-0123456789abcdef").await, 401).await;
    assert_eq!(body.error.code, "unauthorized");
    let r = app
        .client
        .get(format!("{}/api/partner/onboardings", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 401).await.error.code, "unauthorized");

    let r = login(&app, PARTNER_KEY).await;
    assert_eq!(r.status(), 204);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.starts_with("wa_console=con_"), "{set}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=28800", "Path=/"] {
        assert!(set.contains(attribute), "{attribute}: {set}");
    }
    // PUBLIC_URL is a loopback address here: a browser would never send a Secure cookie.
    assert!(!set.contains("Secure"), "{set}");
    // Only a hash is kept: the cookie's value is nowhere in the database.
    let value = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("wa_console=")
        .unwrap();
    for file in ["onboarding.db", "onboarding.db-wal"] {
        let db = std::fs::read(app.data_dir.join(file)).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&db).contains(value), "{file}");
    }

    let (cookie, csrf) = signed_in(&app).await;
    // Reads with the cookie alone.
    let r = with_cookie(&app, Method::GET, "/api/partner/onboardings", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Writes need the CSRF token: missing or another -> 403, nothing created.
    for token in [None, Some("forged"), Some("")] {
        let mut req = with_cookie(&app, Method::POST, "/api/partner/sessions", &cookie)
            .json(&json!({"customer_ref": "console-cust"}));
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let body = assert_error_shape(req.send().await.unwrap(), 403).await;
        assert_eq!(body.error.code, "csrf_invalid", "{token:?}");
    }
    let r = with_cookie(&app, Method::POST, "/api/partner/sessions", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"customer_ref": "console-cust"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let page: Value = app.partner_json("/api/partner/onboardings").await;
    assert!(page["data"].as_array().unwrap().is_empty());
    // A CSRF token of another sign-in does not fit this one.
    let (_, other_csrf) = signed_in(&app).await;
    let r = with_cookie(&app, Method::POST, "/api/partner/webhook-test", &cookie)
        .header("x-csrf-token", &other_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 403).await.error.code, "csrf_invalid");
    // The route that answers secrets is for the partner's backend only.
    let r = with_cookie(
        &app,
        Method::GET,
        "/api/partner/onboardings/0b6f8a52-7d0e-4c1a-9a59-3c1f4a6a2b10/credentials",
        &cookie,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(assert_error_shape(r, 401).await.error.code, "unauthorized");
    // A bearer header is judged on its own: a wrong key with a good cookie is refused.
    let r = with_cookie(&app, Method::GET, "/api/partner/onboardings", &cookie)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Signing out is a write too, then the cookie stops working at once.
    let r = with_cookie(&app, Method::POST, "/console/logout", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 403).await.error.code, "csrf_invalid");
    let r = with_cookie(&app, Method::POST, "/console/logout", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let cleared = r.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("wa_console=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    for (m, path) in [
        (Method::GET, "/api/partner/onboardings"),
        (Method::GET, "/console/session"),
    ] {
        let r = with_cookie(&app, m, path, &cookie).send().await.unwrap();
        assert_eq!(
            assert_error_shape(r, 401).await.error.code,
            "unauthorized",
            "{path}"
        );
    }
    let r = with_cookie(&app, Method::POST, "/api/partner/sessions", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"customer_ref": "after-logout"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_console_session_ends_after_eight_hours() {
    let ahead = Arc::new(AtomicI64::new(0));
    let app = spawn_app_with(Options {
        clock: Some(proxy::clock::Clock::ahead_by(ahead.clone())),
        ..Options::default()
    })
    .await;
    let (cookie, _) = signed_in(&app).await;
    ahead.store(8 * 3600 - 60, Ordering::Relaxed);
    let r = with_cookie(&app, Method::GET, "/api/partner/onboardings", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    ahead.store(8 * 3600 + 1, Ordering::Relaxed);
    let r = with_cookie(&app, Method::GET, "/api/partner/onboardings", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 401).await.error.code, "unauthorized");
}

#[tokio::test]
async fn without_partner_keys_there_is_no_console() {
    let dist = fresh_dir("console-dist");
    std::fs::create_dir_all(dist.join("console")).unwrap();
    std::fs::write(
        dist.join("console/index.html"),
        "<!doctype html><title>Console</title>",
    )
    .unwrap();
    let app = spawn_app_with(Options {
        env: vec![("PARTNER_API_KEYS", String::new())],
        dist_dir: Some(dist.clone()),
        ..Options::default()
    })
    .await;
    for p in [
        "/console",
        "/console/",
        "/console/index.html",
        "/console/session",
    ] {
        let r = app
            .client
            .get(format!("{}{p}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error_shape(r, 404).await.error.code,
            "not_found",
            "{p}"
        );
    }
    let r = login(&app, PARTNER_KEY).await;
    assert_eq!(r.status(), 404);

    // With keys, the page is served, framed by nobody.
    let app = spawn_app_with(Options {
        dist_dir: Some(dist),
        ..Options::default()
    })
    .await;
    for p in ["/console", "/console/"] {
        let r = app
            .client
            .get(format!("{}{p}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{p}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
        assert!(r.text().await.unwrap().contains("<title>Console</title>"));
    }
    let r = app
        .client
        .get(format!("{}/console/missing.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn events_of(app: &TestApp, query: &str) -> EventPage {
    app.partner_json(&format!("/api/partner/events{query}"))
        .await
}

#[tokio::test]
async fn a_failed_delivery_is_redelivered_on_request_and_a_test_event_is_signed() {
    let receiver = MockServer::start().await;
    // The receiver is broken first.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .named("broken")
        .mount(&receiver)
        .await;
    let mut env = webhook_env(&receiver);
    env.push(("PUBLIC_URL", "http://127.0.0.1:9".to_owned()));
    let app = spawn_app_with(Options {
        env,
        ..Options::default()
    })
    .await;
    connecting_ycloud(&app).await;
    let token = app.session_token("redeliver").await;
    let o = onboard(&app, WABA, &token).await;
    // Every attempt of the (shortened) schedule fails: the events end `failed`.
    let failed = poll_until(Duration::from_secs(15), || {
        let app = &app;
        async move {
            let page = events_of(app, "?delivery_state=failed").await;
            if page.data.len() >= 2 {
                Ok(page)
            } else {
                Err(page)
            }
        }
    })
    .await;
    let event = &failed.data[0];
    let delivery = event.delivery.as_ref().unwrap();
    assert_eq!(delivery.attempts, 8);
    assert_eq!(delivery.last_error.as_deref(), Some("answered 500"));
    // Each attempt is in the delivery's history, oldest first: the feed and the event's own
    // route show the same.
    eight_failures_in_the_history(&app, event).await;
    for (id, status, code) in [
        (
            "evt_0123456789abcdef0123456789abcdef",
            404,
            "event_not_found",
        ),
        ("nope", 400, "bad_path"),
    ] {
        let r = app
            .partner(Method::GET, &format!("/api/partner/events/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(assert_error_shape(r, status).await.error.code, code, "{id}");
    }
    // Redelivered again and again, the other event keeps only its newest 20 attempts.
    redelivered_past_the_cap(&app, &failed.data[1].id).await;
    // The filters keep what they say.
    let mine = events_of(&app, &format!("?onboarding_id={}", o.id)).await;
    assert!(
        mine.data
            .iter()
            .all(|e| e.data.onboarding().is_some_and(|d| d.onboarding.id == o.id))
            && mine.data.len() >= 2
    );
    let none = events_of(&app, "?onboarding_id=0b6f8a52-7d0e-4c1a-9a59-3c1f4a6a2b10").await;
    assert!(none.data.is_empty());
    for bad in ["?delivery_state=lost", "?onboarding_id=x"] {
        let r = app
            .partner(Method::GET, &format!("/api/partner/events{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error_shape(r, 400).await.error.code,
            "invalid_query",
            "{bad}"
        );
    }

    // The receiver is fixed, and the first event redelivered: posted again, signed, once.
    receiver.reset().await;
    Mock::given(method("POST"))
        .and(path("/hooks/wa"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let r = app
        .partner(
            Method::POST,
            &format!("/api/partner/events/{}/redeliver", event.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let delivered = poll_until(Duration::from_secs(10), || {
        let (app, id) = (&app, &event.id);
        async move {
            let page = events_of(app, "?delivery_state=delivered").await;
            match page.data.iter().position(|e| &e.id == id) {
                Some(i) => Ok(page.data.into_iter().nth(i).unwrap()),
                None => Err(page),
            }
        }
    })
    .await;
    assert_eq!(delivered.delivery.as_ref().unwrap().attempts, 9);
    assert_eq!(delivered.delivery.as_ref().unwrap().last_error, None);
    let last = delivered.delivery.as_ref().unwrap().history.last().cloned();
    let last = last.expect("the redelivery is in the history");
    assert_eq!(
        (last.attempt, last.status, last.error, last.next_attempt_at),
        (9, Some(204), None, None)
    );
    let requests = receiver.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "only the redelivered event");
    let body = verify_signature(&requests[0]);
    assert_eq!(body["id"], event.id.as_str());
    // The other one stays failed.
    let still = events_of(&app, "?delivery_state=failed").await;
    assert_eq!(still.data.len(), failed.data.len() - 1);

    // The setup check names the last delivery.
    let setup: Setup = app.partner_json("/api/partner/setup").await;
    let last = setup.last_delivery.expect("a delivery was attempted");
    assert!(last.state == DeliveryState::Failed || last.state == DeliveryState::Delivered);

    // Unknown and malformed ids.
    let r = app
        .partner(
            Method::POST,
            "/api/partner/events/evt_0123456789abcdef0123456789abcdef/redeliver",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(r, 404).await.error.code,
        "event_not_found"
    );
    let r = app
        .partner(Method::POST, "/api/partner/events/nope/redeliver")
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error_shape(r, 400).await.error.code, "bad_path");

    // A test event: a signed `ping`, with the id the answer gave.
    let r = app
        .partner(Method::POST, "/api/partner/webhook-test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("evt_") && id.len() == 36, "{id}");
    let ping = poll_until(Duration::from_secs(10), || {
        let (receiver, id) = (&receiver, id.as_str());
        async move {
            let requests = receiver.received_requests().await.unwrap();
            let found = requests
                .iter()
                .find(|r| r.headers.get("webhook-id").is_some_and(|v| v == id))
                .map(verify_signature);
            found.ok_or(requests.len())
        }
    })
    .await;
    assert_eq!(ping["type"], "ping");
    assert_eq!(ping["data"], json!({}));
    assert!(time::OffsetDateTime::parse(
        ping["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
}

#[tokio::test]
async fn without_a_webhook_url_nothing_can_be_redelivered_or_tested() {
    let app = spawn_app().await;
    connecting_ycloud(&app).await;
    let token = app.session_token("no-hook").await;
    onboard(&app, WABA, &token).await;
    let page = events_of(&app, "").await;
    let event = &page.data[0];
    assert_eq!(
        event.delivery.as_ref().unwrap().state,
        DeliveryState::Disabled
    );
    for p in [
        format!("/api/partner/events/{}/redeliver", event.id),
        "/api/partner/webhook-test".to_owned(),
    ] {
        let r = app.partner(Method::POST, &p).send().await.unwrap();
        assert_eq!(
            assert_error_shape(r, 409).await.error.code,
            "partner_webhook_not_configured",
            "{p}"
        );
    }
}

#[tokio::test]
async fn the_funnel_counts_links_opened_finished_and_connected_over_7_and_30_days() {
    let ahead = Arc::new(AtomicI64::new(-20 * 86_400));
    let app = spawn_app_with(Options {
        clock: Some(proxy::clock::Clock::ahead_by(ahead.clone())),
        ..Options::default()
    })
    .await;
    connecting_ycloud(&app).await;
    // Twenty days ago: a session created, never opened.
    app.session_token("old").await;
    ahead.store(0, Ordering::Relaxed);
    // Now: three sessions; two opened (one of them twice), one of those onboarded.
    let a = app.session_token("a").await;
    let b = app.session_token("b").await;
    app.session_token("c").await;
    for token in [&a, &a, &b] {
        let r = app.open_session(&token).await;
        assert_eq!(r.status(), 200);
    }
    let o = onboard(&app, WABA, &a).await;
    poll_until(Duration::from_secs(10), || {
        let (app, path) = (&app, format!("/api/partner/onboardings/{}", o.id));
        async move {
            let p: wire::PartnerOnboarding = app.partner_json(&path).await;
            if p.onboarding.state == wire::OnboardingState::Connected {
                Ok(())
            } else {
                Err(p)
            }
        }
    })
    .await;

    let week: Funnel = app.partner_json("/api/partner/funnel").await;
    assert_eq!(week.days, 7);
    assert_eq!(
        (
            week.sessions_created,
            week.links_opened,
            week.finished,
            week.connected
        ),
        (3, 2, 1, 1)
    );
    let month: Funnel = app.partner_json("/api/partner/funnel?days=30").await;
    assert_eq!(month.days, 30);
    assert_eq!((month.sessions_created, month.links_opened), (4, 2));
    assert!(month.since < week.since);
    for bad in ["?days=3", "?days=x"] {
        let r = app
            .partner(Method::GET, &format!("/api/partner/funnel{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error_shape(r, 400).await.error.code,
            "invalid_query",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_setup_check_names_settings_never_their_values() {
    let receiver = MockServer::start().await;
    let app = spawn_app_with(Options {
        env: webhook_env(&receiver),
        ..Options::default()
    })
    .await;
    let r = app
        .partner(Method::GET, "/api/partner/setup")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for secret in [
        API_KEY,
        WEBHOOK_SECRET,
        PARTNER_KEY,
        PARTNER_KEY_2,
        PARTNER_WEBHOOK_SECRET,
    ] {
        assert!(!text.contains(secret), "a secret in the setup check");
    }
    let setup: Setup = serde_json::from_str(&text).unwrap();
    assert_eq!(setup.mode, wire::ProxyMode::Live);
    assert_eq!(setup.provider, "ycloud");
    assert!(setup.ycloud_webhook_url.ends_with("/webhooks/ycloud"));
    let get = |name: &str| {
        setup
            .settings
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .clone()
    };
    assert!(get("YCLOUD_API_KEY").present && get("YCLOUD_API_KEY").needed);
    assert!(get("YCLOUD_WEBHOOK_SECRET").present);
    assert!(get("PARTNER_WEBHOOK_URL").present);
    assert!(!get("FB_APP_SECRET").present);
    assert!(!get("TOKEN_ENCRYPTION_KEY").needed);
    assert!(setup.last_delivery.is_none());
}

#[tokio::test]
async fn onboardings_are_found_by_their_display_phone_number_as_people_write_it() {
    let app = spawn_app().await;
    found_by_their_display_number(&app).await;
}

/// Two onboardings, numbers displayed `+1 631-555-1111` and `+44 20 7946 0000`, found by
/// their display numbers as people write them, and by their ids as before.
pub(crate) async fn found_by_their_display_number(app: &TestApp) {
    // The second WABA's number is another one.
    let other_waba = "304996122399161";
    Mock::given(method("POST"))
        .and(path(format!(
            "/whatsapp/phoneNumbers/{other_waba}/{PHONE_ID}/register"
        )))
        .respond_with(ok(json!({"id": PHONE_ID, "phoneNumber": "+442079460000",
            "displayPhoneNumber": "+44 20 7946 0000", "wabaId": other_waba,
            "status": "CONNECTED"})))
        .with_priority(1)
        .mount(&app.ycloud)
        .await;
    connecting_ycloud(&app).await;
    let token = app.session_token("searched").await;
    let ours = onboard(&app, WABA, &token).await;
    let other = onboard(&app, other_waba, &token).await;
    let found = |search: &str| {
        let (app, search) = (&app, search.to_owned());
        async move {
            let page: Value = app
                .partner_json(&format!(
                    "/api/partner/onboardings?search={}",
                    urlencode(&search)
                ))
                .await;
            let ids: Vec<String> = page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect();
            ids
        }
    };
    // helpers' phone_json shows the number as "+1 631-555-1111".
    for written in [
        "+1 631-555-1111",
        "16315551111",
        "+1 (631) 555.1111",
        " 1-631-555-1111 ",
    ] {
        assert_eq!(found(written).await, [ours.id.clone()], "{written}");
    }
    assert_eq!(found("+44 20 7946 0000").await, [other.id.clone()]);
    // A part of the number is not the number; ids still find what they did.
    assert!(found("6315551111").await.is_empty());
    assert!(found("5551111").await.is_empty());
    assert_eq!(found(WABA).await, [ours.id.clone()]);
    assert_eq!(found(PHONE_ID).await.len(), 2);
    for bad in ["+1 631-555-1111 x", "%", "abc", "-"] {
        let r = app
            .partner(
                Method::GET,
                &format!("/api/partner/onboardings?search={}", urlencode(bad)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error_shape(r, 400).await.error.code,
            "invalid_query",
            "{bad}"
        );
    }
}

/// `value` as a query string value.
fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Checks the history of `event`, failed after the test schedule's 8 attempts (each answered
/// 500), in the feed and at `GET /api/partner/events/{id}`.
pub(crate) async fn eight_failures_in_the_history(app: &TestApp, event: &PartnerEvent) {
    let delivery = event.delivery.as_ref().unwrap();
    let numbers: Vec<u32> = delivery.history.iter().map(|a| a.attempt).collect();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    for (i, a) in delivery.history.iter().enumerate() {
        assert_eq!(a.status, Some(500), "{a:?}");
        assert_eq!(a.error.as_deref(), Some("answered 500"));
        // Every failure but the last scheduled a retry, later than the attempt itself.
        match i {
            7 => assert_eq!(a.next_attempt_at, None),
            _ => assert!(
                a.next_attempt_at.as_deref().unwrap() > a.at.as_str(),
                "{a:?}"
            ),
        }
        assert!(a.duration_ms < 1_000, "{a:?}");
    }
    assert!(delivery.history.windows(2).all(|w| w[0].at <= w[1].at));
    let one: PartnerEvent = app
        .partner_json(&format!("/api/partner/events/{}", event.id))
        .await;
    assert_eq!(&one, event);
    for (id, status, code) in [
        (
            "evt_0123456789abcdef0123456789abcdef",
            404,
            "event_not_found",
        ),
        ("nope", 400, "bad_path"),
    ] {
        let r = app
            .partner(Method::GET, &format!("/api/partner/events/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(assert_error_shape(r, status).await.error.code, code, "{id}");
    }
}

/// Redelivers event `id` (failed after 8 attempts, its receiver still broken) one at a time
/// until it has made one attempt more than a history keeps: the oldest is gone.
pub(crate) async fn redelivered_past_the_cap(app: &TestApp, id: &str) {
    for n in 9..=(MAX_DELIVERY_HISTORY + 1) {
        let r = app
            .partner(Method::POST, &format!("/api/partner/events/{id}/redeliver"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        poll_until(Duration::from_secs(10), || async move {
            let e: PartnerEvent = app.partner_json(&format!("/api/partner/events/{id}")).await;
            let d = e.delivery.unwrap();
            match (d.attempts, d.state) {
                (a, DeliveryState::Failed) if a == n => Ok(()),
                (a, state) => Err((a, state)),
            }
        })
        .await;
    }
    let capped: PartnerEvent = app.partner_json(&format!("/api/partner/events/{id}")).await;
    let history = capped.delivery.unwrap().history;
    let numbers: Vec<u32> = history.iter().map(|a| a.attempt).collect();
    assert_eq!(numbers, (2..=MAX_DELIVERY_HISTORY + 1).collect::<Vec<_>>());
}
