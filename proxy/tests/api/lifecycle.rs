//! After the sign-up: what the providers' lifecycle webhooks do to an onboarding (removed
//! partners and deleted accounts are `disconnected`), and a webhook that arrives while a step
//! runs, applied once the step has committed.

use std::time::Duration;

use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{method, path};
use wiremock::Mock;

use crate::helpers::*;
use crate::webhooks::pending_onboarding;

fn waba_event(id: &str, kind: &str, fields: Value) -> String {
    let mut waba = json!({"id": WABA, "name": "WABA name"});
    for (k, v) in fields.as_object().unwrap() {
        waba[k] = v.clone();
    }
    json!({"id": id, "type": kind, "apiVersion": "v2",
        "createTime": "2026-06-01T12:00:00.000Z", "whatsappBusinessAccount": waba})
    .to_string()
}

fn number_event(id: &str, fields: Value) -> String {
    let mut number = json!({"id": PHONE_ID, "phoneNumber": E164, "wabaId": WABA});
    for (k, v) in fields.as_object().unwrap() {
        number[k] = v.clone();
    }
    json!({"id": id, "type": "whatsapp.phone_number.quality_updated", "apiVersion": "v2",
        "createTime": "2026-06-01T12:00:01.000Z", "whatsappPhoneNumber": number})
    .to_string()
}

async fn send(app: &TestApp, body: &str) {
    let r = app.post_signed_webhook(body).await;
    assert_eq!(r.status(), 204, "{body}");
}

async fn current(app: &TestApp, id: &str) -> Onboarding {
    app.get_onboarding(id).await.json().await.unwrap()
}

#[tokio::test]
async fn a_removed_partner_disconnects_and_the_partner_hears_of_it() {
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;
    send(
        &app,
        &waba_event(
            "evt_removed_1",
            "whatsapp.business_account.deleted",
            json!({"removedReason": "PRIMARY_INACTIVITY", "removedInitiatedBy": "SYSTEM",
                   "removedTime": "2026-06-01T12:00:00.000Z"}),
        ),
    )
    .await;
    let now = current(&app, &o.id).await;
    assert_eq!(now.state, OnboardingState::Disconnected);
    let e = now.error.unwrap();
    assert_eq!(e.code, "partner_removed");
    assert!(e.message.contains("PRIMARY_INACTIVITY"), "{}", e.message);
    assert!(!e.retryable);
    let events: wire::EventPage = app.partner_json("/api/partner/events").await;
    assert!(events
        .data
        .iter()
        .any(|e| e.kind == wire::EventType::Disconnected
            && e.data.onboarding().is_some_and(|d| d.onboarding.id == o.id)));
}

#[tokio::test]
async fn offboarded_numbers_disconnect_and_reconnect() {
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;
    send(
        &app,
        &number_event("evt_off_1", json!({"updateEvent": "ACCOUNT_OFFBOARDED"})),
    )
    .await;
    let now = current(&app, &o.id).await;
    assert_eq!(now.state, OnboardingState::Disconnected);
    assert_eq!(now.error.unwrap().code, "account_offboarded");
    let later = number_event("evt_off_2", json!({"updateEvent": "ACCOUNT_RECONNECTED"}))
        .replace("12:00:01", "12:00:02");
    send(&app, &later).await;
    let now = current(&app, &o.id).await;
    assert_eq!(now.state, OnboardingState::Connected);
    assert!(now.error.is_none());
}

#[tokio::test]
async fn restrictions_and_violations_ask_for_attention() {
    for (event, code) in [
        ("ACCOUNT_RESTRICTION", "waba_restricted"),
        ("ACCOUNT_VIOLATION", "waba_violation"),
    ] {
        let app = spawn_app().await;
        let o = pending_onboarding(&app).await;
        send(
            &app,
            &waba_event(
                &format!("evt_{event}"),
                "whatsapp.business_account.updated",
                json!({"updateEvent": event, "violationType": "SCAM"}),
            ),
        )
        .await;
        let now = current(&app, &o.id).await;
        assert_eq!(now.state, OnboardingState::ActionRequired, "{event}");
        assert_eq!(now.error.unwrap().code, code);
    }
}

#[tokio::test]
async fn a_ban_sent_during_a_slow_bind_is_applied_after_the_bind_commits() {
    let app = spawn_app_with(Options {
        request_timeout: Some(Duration::from_secs(5)),
        ..Options::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_millis(1500)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let post = {
        let app_address = app.address.clone();
        let client = app.client.clone();
        tokio::spawn(async move {
            client
                .post(format!("{app_address}/api/onboardings"))
                .json(&standard_body())
                .send()
                .await
                .unwrap()
        })
    };
    // The bind is running: its call has reached YCloud.
    poll_until_holds("the bind called", Duration::from_secs(5), || async {
        app.calls_to(&tp_bind_path()).await > 0
    })
    .await;
    send(
        &app,
        &waba_event(
            "evt_ban_during_bind",
            "whatsapp.business_account.updated",
            json!({"updateEvent": "DISABLED_UPDATE", "banState": "DISABLE"}),
        ),
    )
    .await;
    let r = post.await.unwrap();
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Failed, "{o:?}");
    assert_eq!(o.error.unwrap().code, "waba_banned");
    let stored = current(&app, &o.id).await;
    assert_eq!(stored.state, OnboardingState::Failed);
    // Both changes reached the partner, in order.
    let events: wire::EventPage = app.partner_json("/api/partner/events").await;
    let kinds: Vec<_> = events.data.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            wire::EventType::Created,
            wire::EventType::Connected,
            wire::EventType::Failed
        ]
    );
}

#[tokio::test]
async fn the_first_inbound_message_is_recorded_once_and_its_text_never() {
    let app = spawn_app().await;
    let o = pending_onboarding(&app).await;
    assert!(o.inbound_verified_at.is_none());
    let inbound = |id: &str| {
        json!({"id": id, "type": "whatsapp.inbound_message.received", "apiVersion": "v2",
            "createTime": "2026-06-01T12:00:00.000Z",
            "whatsappInboundMessage": {"id": "msg_1", "wamid": "wamid.X", "wabaId": WABA,
                "from": "+447700900123", "to": E164, "type": "text",
                "text": {"body": "a private hello"}}})
        .to_string()
    };
    send(&app, &inbound("evt_in_1")).await;
    let now = current(&app, &o.id).await;
    let at = now.inbound_verified_at.expect("recorded");
    // Once: a second message changes nothing.
    send(&app, &inbound("evt_in_2")).await;
    assert_eq!(current(&app, &o.id).await.inbound_verified_at, Some(at));
    let events: wire::EventPage = app.partner_json("/api/partner/events").await;
    let verified: Vec<_> = events
        .data
        .iter()
        .filter(|e| e.kind == wire::EventType::InboundVerified)
        .collect();
    assert_eq!(verified.len(), 1);
    assert!(verified[0]
        .data
        .onboarding()
        .unwrap()
        .onboarding
        .inbound_verified_at
        .is_some());
    // Nothing of the message is kept.
    let store = proxy::store::Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    assert!(!store.has_webhook_event("evt_in_1").await.unwrap());
    store.close().await;
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    assert!(!String::from_utf8_lossy(&stored).contains("a private hello"));
}

/// YCloud relaying Meta's 100 / 2388001 to a register: the display name is not ready yet.
fn display_name_pending() -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(400)
        .set_body_json(
            json!({"error": {"status": 400, "code": "WHATSAPP_API_ERROR",
            "message": "Cannot Create Certificate", "requestId": "req_name",
            "whatsappApiError": {"code": "100", "error_subcode": "2388001",
                "type": "OAuthException", "message": "(#100) Cannot Create Certificate"}}}),
        )
        .insert_header("YCloud-Request-ID", "req_name")
}

/// A YCloud app whose first register answers 2388001 and later ones connect the number.
async fn name_pending_app() -> TestApp {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(display_name_pending())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .with_priority(2)
        .mount(&app.ycloud)
        .await;
    app
}

/// Posts the sign-up: it waits for the display name, registered once, failed nowhere.
async fn waiting_for_the_name(app: &TestApp) -> Onboarding {
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending, "{o:?}");
    assert!(o.error.is_none(), "{o:?}");
    let state_of = |name| o.steps.iter().find(|s| s.name == name).map(|s| s.state);
    assert_eq!(
        state_of(wire::StepName::AwaitingDisplayName),
        Some(wire::StepState::Started),
        "{o:?}"
    );
    assert_eq!(
        state_of(wire::StepName::Register),
        Some(wire::StepState::Failed),
        "{o:?}"
    );
    assert_eq!(app.calls_to(&register_path()).await, 1);
    o
}

#[tokio::test]
async fn a_ycloud_register_before_the_display_name_waits_and_the_follower_registers_once_approved()
{
    let app = name_pending_app().await;
    let approved = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = approved.clone();
    Mock::given(method("GET"))
        .and(path("/whatsapp/phoneNumbers"))
        .and(wiremock::matchers::query_param("filter.wabaId", WABA))
        .respond_with(move |_: &wiremock::Request| {
            let mut n = phone_json("PENDING");
            n["nameStatus"] = match flag.load(std::sync::atomic::Ordering::SeqCst) {
                true => json!("APPROVED"),
                false => json!("PENDING_REVIEW"),
            };
            ok(json!({"items": [n], "offset": 0, "limit": 100, "length": 1}))
        })
        .mount(&app.ycloud)
        .await;
    let o = waiting_for_the_name(&app).await;
    // The follower reads the name while it is under review: nothing registers.
    poll_until_holds("a read of the name", Duration::from_secs(10), || async {
        app.calls_to("/whatsapp/phoneNumbers").await >= 2
    })
    .await;
    assert_eq!(app.calls_to(&register_path()).await, 1);
    approved.store(true, std::sync::atomic::Ordering::SeqCst);
    let done = app
        .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(15))
        .await;
    assert_eq!(app.calls_to(&register_path()).await, 2);
    let waited = done
        .steps
        .iter()
        .find(|s| s.name == wire::StepName::AwaitingDisplayName)
        .unwrap();
    assert_eq!(waited.state, wire::StepState::Done);
    let events: wire::EventPage = app.partner_json("/api/partner/events").await;
    let kinds: Vec<_> = events.data.iter().map(|e| e.kind).collect();
    assert!(!kinds.contains(&wire::EventType::Failed), "{kinds:?}");
    assert!(kinds.contains(&wire::EventType::Connected), "{kinds:?}");
}

#[tokio::test]
async fn a_ycloud_name_approved_webhook_registers_the_number_that_waited_for_it() {
    let app = name_pending_app().await;
    // YCloud refuses to list the numbers: the follower stops, only the webhook can help.
    Mock::given(method("GET"))
        .and(path("/whatsapp/phoneNumbers"))
        .respond_with(wiremock::ResponseTemplate::new(403).set_body_json(
            json!({"error": {"status": 403, "code": "FORBIDDEN", "message": "No."}}),
        ))
        .mount(&app.ycloud)
        .await;
    let o = waiting_for_the_name(&app).await;
    poll_until_holds("the follower's read", Duration::from_secs(10), || async {
        app.calls_to("/whatsapp/phoneNumbers").await >= 1
    })
    .await;
    // Still under review: the webhook changes nothing but the stored number.
    let mut under_review = number_event("evt_name_1", json!({"nameStatus": "PENDING_REVIEW"}));
    under_review = under_review.replace(
        "whatsapp.phone_number.quality_updated",
        "whatsapp.phone_number.name_updated",
    );
    send(&app, &under_review).await;
    let approved = number_event("evt_name_2", json!({"nameStatus": "APPROVED"})).replace(
        "whatsapp.phone_number.quality_updated",
        "whatsapp.phone_number.name_updated",
    );
    let approved = approved.replace("12:00:01.000Z", "12:00:02.000Z");
    send(&app, &approved).await;
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(15))
        .await;
    assert_eq!(app.calls_to(&register_path()).await, 2);
}
