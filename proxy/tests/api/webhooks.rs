//! `POST /webhooks/ycloud`: the signature table, dedupe by id, and what events change.

use std::time::Duration;

use serde_json::json;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn phone_event(id: &str, status: &str) -> String {
    json!({"id": id, "type": "whatsapp.phone_number.quality_updated", "apiVersion": "v2",
        "createTime": "2025-06-01T12:00:00.000Z",
        "whatsappPhoneNumber": {"id": PHONE_ID, "phoneNumber": E164, "wabaId": WABA,
            "status": status, "qualityRating": "GREEN", "qualityUpdateEvent": "ONBOARDING"}})
    .to_string()
}

fn waba_event(id: &str, fields: serde_json::Value) -> String {
    let mut waba = json!({"id": WABA, "name": "WABA name"});
    for (k, v) in fields.as_object().unwrap() {
        waba[k] = v.clone();
    }
    json!({"id": id, "type": "whatsapp.business_account.updated", "apiVersion": "v2",
        "createTime": "2025-06-01T12:00:00.000Z", "whatsappBusinessAccount": waba})
    .to_string()
}

/// An onboarding left `pending`: bound, registered, and the number keeps reading `PENDING`.
pub(crate) async fn pending_onboarding(app: &TestApp) -> Onboarding {
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(waba_json(true)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(phone_json("PENDING")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(phone_json("PENDING")))
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending);
    o
}

#[tokio::test]
async fn signatures_are_checked_before_anything_else() {
    let app = spawn_app().await;
    let body = phone_event("evt_sig_1", "PENDING");
    let sign = |secret: &str, t: i64, b: &str| {
        proxy::providers::ycloud::webhook::sign(secret, t, b.as_bytes())
    };
    let tampered = body.replace("PENDING", "CONNECTED");
    let good = sign(WEBHOOK_SECRET, now(), &body);
    let bare_s = good.split_once(",s=").unwrap().1.to_owned();
    let cases: Vec<(&str, Option<String>, String, u16, &str)> = vec![
        (
            "wrong secret",
            Some(sign("whsec_other", now(), &body)),
            body.clone(),
            401,
            "signature_invalid",
        ),
        (
            "tampered body",
            Some(good.clone()),
            tampered,
            401,
            "signature_invalid",
        ),
        (
            "stale",
            Some(sign(WEBHOOK_SECRET, now() - 301 - 5, &body)),
            body.clone(),
            401,
            "signature_stale",
        ),
        (
            "future",
            Some(sign(WEBHOOK_SECRET, now() + 301 + 5, &body)),
            body.clone(),
            401,
            "signature_stale",
        ),
        (
            "t not a number",
            Some(format!("t=soon,s={bare_s}")),
            body.clone(),
            400,
            "signature_malformed",
        ),
        (
            "no t",
            Some(format!("s={bare_s}")),
            body.clone(),
            400,
            "signature_malformed",
        ),
        (
            "s not hex",
            Some(format!("t={},s=xyz", now())),
            body.clone(),
            400,
            "signature_malformed",
        ),
        (
            "garbage",
            Some("sha256=abc".to_owned()),
            body.clone(),
            400,
            "signature_malformed",
        ),
        (
            "missing header",
            None,
            body.clone(),
            400,
            "signature_missing",
        ),
        (
            "signed, not JSON",
            Some(sign(WEBHOOK_SECRET, now(), "nope")),
            "nope".to_owned(),
            400,
            "malformed_json",
        ),
        (
            "signed, not an event",
            Some(sign(WEBHOOK_SECRET, now(), r#"{"type":"x"}"#)),
            r#"{"type":"x"}"#.to_owned(),
            400,
            "invalid_event",
        ),
    ];
    for (name, sig, body, status, code) in cases {
        let r = app.post_webhook(&body, sig.as_deref()).await;
        let e = assert_error_shape(r, status).await;
        assert_eq!(e.error.code, code, "{name}");
    }
    // The valid one last: none of the refusals stored it.
    let r = app.post_webhook(&body, Some(&good)).await;
    assert_eq!(r.status(), 204, "valid");
    // An event type the proxy does not act on is accepted (and not stored).
    let other = json!({"id": "evt_other", "type": "whatsapp.brand_new.thing", "apiVersion": "v2",
        "createTime": "2025-06-01T12:00:00.000Z", "whatever": {"x": 1}})
    .to_string();
    assert_eq!(app.post_signed_webhook(&other).await.status(), 204);
}

#[tokio::test]
async fn without_a_secret_webhooks_are_refused_with_503() {
    let app = spawn_app_with(Options {
        no_webhook_secret: true,
        ..Options::default()
    })
    .await;
    let body = phone_event("evt_503", "CONNECTED");
    let r = app.post_signed_webhook(&body).await;
    let e = assert_error_shape(r, 503).await;
    assert_eq!(e.error.code, "webhooks_disabled");
}

#[tokio::test]
async fn a_duplicate_id_is_answered_204_and_applied_once() {
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;

    let connected = phone_event("evt_dup_1", "CONNECTED");
    assert_eq!(app.post_signed_webhook(&connected).await.status(), 204);
    let c = app
        .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(3))
        .await;
    // YCloud's object, merged with the event's, stays in the proxy.
    let stored = app.stored_record(&c.id).await;
    assert_eq!(
        stored.phone_number.as_ref().unwrap()["qualityUpdateEvent"],
        "ONBOARDING"
    );
    assert_eq!(c.phone_number.unwrap().status.as_deref(), Some("CONNECTED"));

    let banned = phone_event("evt_dup_2", "BANNED");
    assert_eq!(app.post_signed_webhook(&banned).await.status(), 204);
    let b = app
        .wait_for_state(
            &o.id,
            OnboardingState::ActionRequired,
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(b.error.unwrap().code, "phone_number_blocked");

    // YCloud retrying the first event: answered 204, and not applied again (applying it
    // would turn the blocked number back to connected). An event is applied before its 204
    // is answered, so the state read next is the one it left.
    assert_eq!(app.post_signed_webhook(&connected).await.status(), 204);
    let after: Onboarding = app.get_onboarding(&o.id).await.json().await.unwrap();
    assert_eq!(after.state, OnboardingState::ActionRequired);
}

#[tokio::test]
async fn a_webhook_reaches_the_event_stream_at_once() {
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;
    let mut stream = app
        .client
        .get(format!("{}/api/onboardings/{}/events", app.address, o.id))
        .headers(bearer(&o.id))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = String::from_utf8(stream.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains("\"state\":\"pending\""), "{first}");

    let sent = std::time::Instant::now();
    assert_eq!(
        app.post_signed_webhook(&phone_event("evt_sse", "CONNECTED"))
            .await
            .status(),
        204
    );
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while !seen.contains("\"state\":\"connected\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("the stream shows the webhook's change within 3 s")
            .unwrap();
        match chunk {
            Some(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            None => panic!("the stream ended before connected: {seen}"),
        }
    }
    // Faster than one follower interval would allow to explain it by polling (it polls
    // PENDING anyway).
    assert!(sent.elapsed() < Duration::from_secs(2));
    // Connected is final: the stream ends.
    let end = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream ends after connected");
}

#[tokio::test]
async fn account_events_explain_what_the_person_must_do() {
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;

    let removed = waba_event("evt_waba_1", json!({"updateEvent": "PARTNER_REMOVED"}));
    assert_eq!(app.post_signed_webhook(&removed).await.status(), 204);
    let a = app
        .wait_for_state(&o.id, OnboardingState::Disconnected, Duration::from_secs(3))
        .await;
    let e = a.error.unwrap();
    assert_eq!(e.code, "partner_removed");
    assert!(!e.retryable);
    assert!(e.message.contains("sign up again"), "{}", e.message);
    let stored = app.stored_record(&a.id).await;
    assert_eq!(
        stored.waba.as_ref().unwrap()["updateEvent"],
        "PARTNER_REMOVED"
    );
    // What the event did not carry is kept from the bind's answer.
    assert_eq!(stored.waba.as_ref().unwrap()["paymentMethodAttached"], true);
    assert_eq!(a.waba.unwrap().payment_method_attached, Some(true));

    let banned = waba_event(
        "evt_waba_2",
        json!({"updateEvent": "DISABLED_UPDATE", "banState": "DISABLE", "violationType": "SCAM"}),
    );
    assert_eq!(app.post_signed_webhook(&banned).await.status(), 204);
    let f = app
        .wait_for_state(&o.id, OnboardingState::Failed, Duration::from_secs(3))
        .await;
    let e = f.error.unwrap();
    assert_eq!(e.code, "waba_banned");
    assert!(!e.retryable);
    assert_error_shape(app.retry(&o.id).await, 409).await;

    // An event about another WABA changes nothing here.
    let other = waba_event(
        "evt_waba_3",
        json!({"id": "999", "updateEvent": "PARTNER_REMOVED"}),
    );
    assert_eq!(app.post_signed_webhook(&other).await.status(), 204);
}

#[tokio::test]
async fn the_tolerance_is_measured_against_the_injected_clock() {
    let stopped = 1_577_836_800; // 2020-01-01T00:00:00Z
    let app = spawn_app_with(Options {
        clock: Some(proxy::clock::Clock::fixed(
            time::OffsetDateTime::from_unix_timestamp(stopped).unwrap(),
        )),
        ..Options::default()
    })
    .await;
    let body = phone_event("evt_clock", "PENDING");
    for (t, status) in [
        (stopped + 300, 204),
        (stopped - 300, 204),
        (stopped + 301, 401),
        (stopped - 301, 401),
        (now(), 401),
    ] {
        let sig = proxy::providers::ycloud::webhook::sign(WEBHOOK_SECRET, t, body.as_bytes());
        let r = app.post_webhook(&body, Some(&sig)).await;
        assert_eq!(r.status(), status, "t = stopped {:+}", t - stopped);
    }
}

/// A number event created at `create_time`.
fn phone_event_at(id: &str, status: &str, create_time: &str) -> String {
    phone_event(id, status).replace("2025-06-01T12:00:00.000Z", create_time)
}

async fn has_event(app: &TestApp, id: &str) -> bool {
    let store = proxy::store::Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .expect("store");
    let found = store.has_webhook_event(id).await.expect("read");
    store.close().await;
    found
}

async fn state_of(app: &TestApp, id: &str) -> OnboardingState {
    let o: Onboarding = app.get_onboarding(id).await.json().await.unwrap();
    o.state
}

#[tokio::test]
async fn the_signature_header_is_judged_before_the_body_is_waited_for() {
    let app = spawn_app().await;
    let stale = proxy::providers::ycloud::webhook::sign(WEBHOOK_SECRET, now() - 3600, b"{}");
    for (header, status, code) in [
        (stale.as_str(), "401", "signature_stale"),
        ("t=soon,s=00", "400", "signature_malformed"),
    ] {
        // 1,000 bytes announced, 10 sent, and the connection kept open.
        let mut socket = crate::limits::send_partly(
            &app,
            &format!(
                "POST /webhooks/ycloud HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n\
                 YCloud-Signature: {header}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n\
                 {{\"id\":\"ev"
            ),
        )
        .await;
        let answer = crate::limits::read_until_closed(&mut socket, Duration::from_secs(10)).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(answer.contains(code), "{answer}");
    }
}

#[tokio::test]
async fn an_event_is_recorded_as_seen_only_with_its_change() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;
    // The database refuses the change, as a crash between the two writes would lose it.
    let mut db = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_connected BEFORE UPDATE OF state ON onboardings \
         WHEN NEW.state = 'connected' BEGIN SELECT RAISE(ABORT, 'refused on purpose'); END",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let connected = phone_event("evt_atomic", "CONNECTED");
    let e = assert_error_shape(app.post_signed_webhook(&connected).await, 500).await;
    assert_eq!(e.error.code, "internal_error");
    assert!(
        !has_event(&app, "evt_atomic").await,
        "not seen without its change"
    );
    assert_eq!(state_of(&app, &o.id).await, OnboardingState::Pending);

    // YCloud retries the event: now it is applied, before the answer.
    sqlx::query("DROP TRIGGER refuse_connected")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(app.post_signed_webhook(&connected).await.status(), 204);
    assert_eq!(state_of(&app, &o.id).await, OnboardingState::Connected);
    assert!(has_event(&app, "evt_atomic").await);
}

#[tokio::test]
async fn an_older_event_does_not_overwrite_a_newer_one() {
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;
    let post = |id: &'static str, status: &'static str, at: &'static str| {
        let body = phone_event_at(id, status, at);
        let app = &app;
        async move { app.post_signed_webhook(&body).await.status() }
    };
    assert_eq!(
        post("evt_2", "CONNECTED", "2025-06-01T12:00:02.000Z").await,
        204
    );
    assert_eq!(state_of(&app, &o.id).await, OnboardingState::Connected);
    // Created before the one applied (YCloud retried it late): it changes nothing.
    assert_eq!(
        post("evt_1", "BANNED", "2025-06-01T12:00:01.000Z").await,
        204
    );
    assert_eq!(state_of(&app, &o.id).await, OnboardingState::Connected);
    let stored = app.stored_record(&o.id).await;
    assert_eq!(stored.phone_number.as_ref().unwrap()["status"], "CONNECTED");
    // A newer one does.
    assert_eq!(
        post("evt_3", "BANNED", "2025-06-01T12:00:03.000Z").await,
        204
    );
    assert_eq!(state_of(&app, &o.id).await, OnboardingState::ActionRequired);
}

#[tokio::test]
async fn events_of_types_not_acted_on_are_not_stored() {
    let app = spawn_app().await;
    let other = json!({"id": "evt_message", "type": "whatsapp.inbound_message.received",
        "apiVersion": "v2", "createTime": "2025-06-01T12:00:00.000Z",
        "whatsappInboundMessage": {"from": "+16315551111", "text": {"body": "hello"}}})
    .to_string();
    assert_eq!(app.post_signed_webhook(&other).await.status(), 204);
    assert!(!has_event(&app, "evt_message").await);
    // A number event is kept (to recognise YCloud's retries), whether or not it changed
    // anything.
    let number = phone_event("evt_number", "PENDING");
    assert_eq!(app.post_signed_webhook(&number).await.status(), 204);
    assert!(has_event(&app, "evt_number").await);
}

#[tokio::test]
async fn stored_events_are_deleted_after_the_retention() {
    use proxy::store::{EventObject, IncomingEvent, Store, Verdict};
    let dir = fresh_dir("prune");
    let t0 = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01
    for (id, day) in [("evt_old", 0), ("evt_recent", 20)] {
        let clock = proxy::clock::Clock::fixed(t0 + time::Duration::days(day));
        let store = Store::connect(&database_url(&dir), clock).await.unwrap();
        let event = IncomingEvent {
            id,
            kind: "whatsapp.phone_number.quality_updated",
            body: "{}",
            object: EventObject::PhoneNumber,
            created: None,
            waba_id: Some(WABA),
            phone_number_id: Some(PHONE_ID),
        };
        store
            .apply_webhook_event(&event, |_| Verdict::NotAbout)
            .await
            .unwrap();
        store.close().await;
    }
    // 31 days after the first: it is past the 30 days kept, the other is not.
    let app = spawn_app_with(Options {
        data_dir: Some(dir),
        clock: Some(proxy::clock::Clock::fixed(t0 + time::Duration::days(31))),
        ..Options::default()
    })
    .await;
    assert!(!has_event(&app, "evt_old").await);
    assert!(has_event(&app, "evt_recent").await);
}
