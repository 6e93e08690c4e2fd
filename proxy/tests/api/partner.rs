//! The partner API (bearer keys) and the signed webhooks to the partner's backend
//! (docs/API.md, "Partner API" and "Webhooks to the partner").

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use wire::{EventPage, Onboarding, OnboardingPage, PartnerOnboarding};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

pub(crate) async fn connecting_ycloud(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path_regex(r"^/whatsapp/businessAccounts/\d+/tp/bind$"))
        .respond_with(ok(waba_json(true)))
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/whatsapp/phoneNumbers/\d+/\d+/register$"))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&app.ycloud)
        .await;
}

pub(crate) async fn onboard(app: &TestApp, waba: &str, token: &str) -> Onboarding {
    let r = app
        .post_onboarding(&json!({"mode": "standard", "waba_id": waba,
                                 "phone_number_id": PHONE_ID, "session": token}))
        .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_partner_api_needs_one_of_the_keys() {
    let app = spawn_app().await;
    let url = format!("{}/api/partner/onboardings", app.address);
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic cGs6cGs="),
        Some(PARTNER_KEY),
    ] {
        let mut req = app.client.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(
            r.headers().get("www-authenticate").unwrap(),
            "Bearer",
            "{auth:?}"
        );
        let body = assert_error_shape(r, 401).await;
        assert_eq!(body.error.code, "unauthorized");
    }
    // Both keys of a rotation work.
    for key in [PARTNER_KEY, PARTNER_KEY_2] {
        let r = app.client.get(&url).bearer_auth(key).send().await.unwrap();
        assert_eq!(r.status(), 200, "{key}");
    }
}

#[tokio::test]
async fn without_keys_the_partner_api_is_off() {
    let app = spawn_app_with(Options {
        env: vec![("PARTNER_API_KEYS", String::new())],
        ..Options::default()
    })
    .await;
    let r = app
        .partner(Method::POST, "/api/partner/sessions")
        .json(&json!({"customer_ref": "c"}))
        .send()
        .await
        .unwrap();
    let body = assert_error_shape(r, 503).await;
    assert_eq!(body.error.code, "partner_api_disabled");
}

#[tokio::test]
async fn sessions_are_created_with_a_link_and_bad_requests_refused() {
    let app = spawn_app_with(Options {
        env: vec![("PUBLIC_URL", "https://onboard.example.com".to_owned())],
        ..Options::default()
    })
    .await;
    let s = app
        .create_session(&json!({"customer_ref": "acme", "modes": ["standard"],
                                "expires_in": 3600, "locale": "zh-Hant",
                                "data_localization_region": "DE", "metadata": {"k": [1, 2]}}))
        .await;
    let token = s.token.as_ref().unwrap().as_str();
    assert!(token.len() >= 32);
    assert_eq!(
        s.url.as_deref(),
        Some(format!("https://onboard.example.com/?session={token}").as_str())
    );
    assert_eq!(s.modes, vec![wire::Mode::Standard]);
    let created = time::OffsetDateTime::parse(
        &s.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        &s.expires_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expires - created).whole_seconds(), 3600);

    // The token is stored only as a hash.
    let db = std::fs::read(app.data_dir.join("onboarding.db")).unwrap();
    let wal = std::fs::read(app.data_dir.join("onboarding.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is in the database file"
        );
    }

    for (body, status) in [
        (json!({}), 422),
        (json!({"customer_ref": ""}), 422),
        (json!({"customer_ref": "c", "expires_in": 59}), 422),
        (json!({"customer_ref": "c", "expires_in": 2_592_001}), 422),
        (json!({"customer_ref": "c", "modes": []}), 422),
        (json!({"customer_ref": "c", "modes": ["premium"]}), 422),
        (json!({"customer_ref": "c", "locale": "fr"}), 422),
        (
            json!({"customer_ref": "c", "metadata": {"x": "y".repeat(5000)}}),
            422,
        ),
        (json!({"customer_ref": "c\u{202e}"}), 422),
    ] {
        let r = app
            .partner(Method::POST, "/api/partner/sessions")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error_shape(r, status).await;
    }
    let r = app
        .partner(Method::POST, "/api/partner/sessions")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error_shape(r, 415).await;

    let missing = app
        .partner(
            Method::DELETE,
            "/api/partner/sessions/00000000-0000-4000-8000-000000000000",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(missing, 404).await.error.code,
        "session_not_found"
    );
}

#[tokio::test]
async fn onboardings_are_listed_newest_first_filtered_and_paged() {
    let app = spawn_app_with(Options {
        sessions_required: true,
        ..Options::default()
    })
    .await;
    connecting_ycloud(&app).await;
    let a = app.session_token("customer-a").await;
    let b = app.session_token("customer-b").await;
    let mut ids = Vec::new();
    for (i, token) in [&a, &a, &b].iter().enumerate() {
        ids.push(onboard(&app, &format!("30499612239916{i}"), token).await.id);
    }
    let page = |query: String| {
        let app = &app;
        async move {
            let r = app
                .partner(Method::GET, &format!("/api/partner/onboardings{query}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{query}");
            r.json::<OnboardingPage>().await.unwrap()
        }
    };
    let first = page("?limit=2".into()).await;
    let listed: Vec<&str> = first
        .data
        .iter()
        .map(|o| o.onboarding.id.as_str())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = first.next_cursor.expect("a next page");
    let second = page(format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(second.data.len(), 1);
    assert_eq!(second.data[0].onboarding.id, ids[0]);
    assert_eq!(second.next_cursor, None);

    let only_a = page("?customer_ref=customer-a".into()).await;
    assert_eq!(only_a.data.len(), 2);
    assert!(only_a
        .data
        .iter()
        .all(|o| o.onboarding.customer_ref.as_ref().unwrap().as_str() == "customer-a"));
    assert_eq!(page("?state=connected".into()).await.data.len(), 3);
    assert_eq!(page("?state=failed".into()).await.data.len(), 0);

    for (query, code) in [
        ("?limit=0", "invalid_query"),
        ("?limit=101", "invalid_query"),
        ("?limit=x", "invalid_query"),
        ("?state=asleep", "invalid_query"),
        ("?cursor=not-a-cursor", "invalid_cursor"),
    ] {
        let r = app
            .partner(Method::GET, &format!("/api/partner/onboardings{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(assert_error_shape(r, 400).await.error.code, code, "{query}");
    }

    let r = app
        .partner(
            Method::GET,
            "/api/partner/onboardings/00000000-0000-4000-8000-000000000000",
        )
        .send()
        .await
        .unwrap();
    assert_error_shape(r, 404).await;

    // Connected: nothing to retry; YCloud numbers are not deregistered here.
    let r = app
        .partner(
            Method::POST,
            &format!("/api/partner/onboardings/{}/retry", ids[0]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "nothing_to_retry"
    );
    let r = app
        .partner(
            Method::POST,
            &format!("/api/partner/onboardings/{}/deregister", ids[0]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(r, 409).await.error.code,
        "not_deregistrable"
    );
}

#[tokio::test]
async fn every_change_is_an_event_in_the_feed() {
    let app = spawn_app().await;
    connecting_ycloud(&app).await;
    let token = app.session_token("feed-customer").await;
    let o = onboard(&app, WABA, &token).await;
    assert_eq!(o.state, wire::OnboardingState::Connected);

    let page: EventPage = app.partner_json("/api/partner/events").await;
    let kinds: Vec<&str> = page.data.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["onboarding.created", "onboarding.connected"]);
    for e in &page.data {
        assert!(e.id.starts_with("evt_"));
        assert_eq!(e.data.onboarding().unwrap().onboarding.id, o.id);
        // No webhook URL: listed, not delivered.
        let delivery = e.delivery.as_ref().unwrap();
        assert_eq!(delivery.state, wire::DeliveryState::Disabled);
        assert_eq!(delivery.attempts, 0);
    }
    // The data is the onboarding as it was at that moment.
    assert_eq!(
        page.data[0].data.onboarding().unwrap().onboarding.state,
        wire::OnboardingState::Binding
    );
    assert_eq!(
        page.data[1].data.onboarding().unwrap().onboarding.state,
        wire::OnboardingState::Connected
    );
    assert!(page.data[1].data.onboarding().unwrap().session_id.is_some());

    // Paging: after the first, only the second.
    let after: EventPage = app
        .partner(
            Method::GET,
            &format!("/api/partner/events?after={}&limit=1", page.data[0].id),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after.data.len(), 1);
    assert_eq!(after.data[0].id, page.data[1].id);
    assert_eq!(after.next_cursor.as_deref(), Some(page.data[1].id.as_str()));
    let r = app
        .partner(Method::GET, "/api/partner/events?after=evt_x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error_shape(r, 400).await.error.code,
        "invalid_cursor"
    );

    // Filters: by type and by onboarding; a second onboarding's events are left out.
    let other = onboard(&app, "104996122399999", &token).await;
    let feed = |query: String| {
        let app = &app;
        async move {
            let page: EventPage = app
                .partner_json(&format!("/api/partner/events?{query}"))
                .await;
            page.data
                .iter()
                .map(|e| {
                    (
                        e.kind.as_str().to_owned(),
                        e.data.onboarding().unwrap().onboarding.id.clone(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        feed("type=onboarding.connected".into()).await,
        [
            ("onboarding.connected".to_owned(), o.id.clone()),
            ("onboarding.connected".to_owned(), other.id.clone())
        ]
    );
    assert_eq!(
        feed(format!(
            "onboarding_id={}&type=onboarding.created",
            other.id
        ))
        .await,
        [("onboarding.created".to_owned(), other.id.clone())]
    );
    // A filter the feed does not know, or a bad value, is refused rather than ignored.
    for query in [
        "state=connected",
        "customer_ref=feed-customer",
        "type=onboarding.exploded",
        "onboarding_id=42",
    ] {
        let r = app
            .partner(Method::GET, &format!("/api/partner/events?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error_shape(r, 400).await.error.code,
            "invalid_query",
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_webhook_moving_an_onboarding_emits_an_event() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("PENDING")))
        .mount(&app.ycloud)
        .await;
    // The follower sees nothing new: the webhook decides.
    Mock::given(method("GET"))
        .respond_with(ok(phone_json("PENDING")))
        .mount(&app.ycloud)
        .await;
    let token = app.session_token("c").await;
    let o = onboard(&app, WABA, &token).await;
    assert_eq!(o.state, wire::OnboardingState::Pending);
    let event = json!({"id": "evt-ycloud-1", "type": "whatsapp.phone_number.quality_updated",
        "apiVersion": "v2", "createTime": "2026-11-23T10:00:00.000Z",
        "whatsappPhoneNumber": phone_json("CONNECTED")});
    assert_eq!(
        app.post_signed_webhook(&event.to_string()).await.status(),
        204
    );
    app.wait_for_state(
        &o.id,
        wire::OnboardingState::Connected,
        Duration::from_secs(5),
    )
    .await;
    let page: EventPage = app.partner_json("/api/partner/events").await;
    let kinds: Vec<&str> = page.data.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "onboarding.created",
            "onboarding.pending",
            "onboarding.connected"
        ]
    );
}

/// Checks a Standard Webhooks signature with HMAC-SHA256 directly (not the crate the proxy
/// signs with).
pub(crate) fn verify_signature(req: &wiremock::Request) -> Value {
    let header = |name: &str| {
        req.headers
            .get(name)
            .unwrap_or_else(|| panic!("{name} header"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(PARTNER_WEBHOOK_SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&req.body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(signature, format!("v1,{expected}"));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((now - timestamp.parse::<i64>().unwrap()).abs() < 60);
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["id"], id.as_str(), "webhook-id is the event id");
    body
}

pub(crate) fn webhook_env(receiver: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        (
            "PARTNER_WEBHOOK_URL",
            format!("{}/hooks/wa", receiver.uri()),
        ),
        ("PARTNER_WEBHOOK_SECRET", PARTNER_WEBHOOK_SECRET.to_owned()),
    ]
}

pub(crate) async fn wait_for_deliveries(app: &TestApp, n: usize) -> EventPage {
    poll_until(Duration::from_secs(10), || async {
        let page: EventPage = app.partner_json("/api/partner/events").await;
        let delivered = page
            .data
            .iter()
            .filter(|e| e.delivery.as_ref().unwrap().state == wire::DeliveryState::Delivered)
            .count();
        if delivered >= n {
            Ok(page)
        } else {
            Err(page)
        }
    })
    .await
}

#[tokio::test]
async fn events_reach_the_partner_signed_after_the_receiver_comes_back() {
    let receiver = MockServer::start().await;
    // Down twice, then up.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks/wa"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&receiver)
        .await;
    let app = spawn_app_with(Options {
        env: webhook_env(&receiver),
        ..Options::default()
    })
    .await;
    connecting_ycloud(&app).await;
    let token = app.session_token("hooked").await;
    let o = onboard(&app, WABA, &token).await;

    let page = wait_for_deliveries(&app, 2).await;
    let requests = receiver.received_requests().await.unwrap();
    let mut delivered_ids = Vec::new();
    for req in &requests {
        let body = verify_signature(req);
        assert_eq!(body["data"]["id"], o.id.as_str());
        assert_eq!(req.headers.get("content-type").unwrap(), "application/json");
        delivered_ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // Two refused attempts, then each event once.
    assert_eq!(requests.len(), 4, "{delivered_ids:?}");
    let mut once = delivered_ids[2..].to_vec();
    once.sort();
    let mut listed: Vec<String> = page.data.iter().map(|e| e.id.clone()).collect();
    listed.sort();
    assert_eq!(once, listed);
    let attempts: u32 = page
        .data
        .iter()
        .map(|e| e.delivery.as_ref().unwrap().attempts)
        .sum();
    assert_eq!(attempts, 4);
    let connected = requests
        .iter()
        .map(verify_signature)
        .find(|b| b["type"] == "onboarding.connected")
        .expect("onboarding.connected delivered");
    let data: PartnerOnboarding = serde_json::from_value(connected["data"].clone()).unwrap();
    assert_eq!(data.onboarding.customer_ref.unwrap().as_str(), "hooked");
    assert!(data.customer_ref_verified);
}

#[tokio::test]
async fn undelivered_events_survive_a_restart_and_redirects_are_not_followed() {
    let receiver = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/x", elsewhere.uri())),
        )
        .mount(&receiver)
        .await;
    let dir = fresh_dir("outbox");
    let mut app = spawn_app_with(Options {
        env: webhook_env(&receiver),
        data_dir: Some(dir.clone()),
        ..Options::default()
    })
    .await;
    connecting_ycloud(&app).await;
    let token = app.session_token("restart").await;
    onboard(&app, WABA, &token).await;
    // Let a few attempts fail against the redirect.
    poll_until(Duration::from_secs(5), || async {
        match receiver.received_requests().await.unwrap().len() {
            n if n >= 3 => Ok(()),
            n => Err(format!("{n} attempts")),
        }
    })
    .await;
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "a redirect was followed"
    );
    app.shutdown().await;
    // Keep the directory: the next app opens the same database.
    let kept = dir.clone();
    std::mem::forget(app);

    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = spawn_app_with(Options {
        env: webhook_env(&receiver),
        data_dir: Some(kept),
        ..Options::default()
    })
    .await;
    let page = wait_for_deliveries(&app, 2).await;
    assert_eq!(page.data.len(), 2);
    let mut ids: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| verify_signature(r)["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "each event delivered once after the restart");
}

#[tokio::test]
async fn a_sandbox_marks_every_partner_answer() {
    let app = spawn_sandbox_app().await;
    let session: Value = app
        .partner(Method::POST, "/api/partner/sessions")
        .json(&json!({"customer_ref": "rehearsal"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["sandbox"], true);
    let token = session["token"].as_str().unwrap().to_owned();
    let o = onboard(&app, WABA, &token).await;
    let one: Value = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    assert_eq!(one["sandbox"], true);
    for path in ["/api/partner/onboardings", "/api/partner/events"] {
        let page: Value = app.partner_json(path).await;
        assert_eq!(page["sandbox"], true, "{path}");
        let items = page["data"].as_array().unwrap();
        assert!(!items.is_empty(), "{path}");
        assert!(items.iter().all(|i| i["sandbox"] == true), "{path}: {page}");
    }
    // A live proxy's answers carry no such mark.
    let live = spawn_app().await;
    let page: Value = live.partner_json("/api/partner/onboardings").await;
    assert!(page.get("sandbox").is_none());
}

#[tokio::test]
async fn sessions_are_listed_and_read_without_their_tokens() {
    let app = spawn_app_with(Options {
        env: vec![("ALLOWED_ORIGINS", "https://partner.example".to_owned())],
        ..Options::default()
    })
    .await;
    let first = app
        .create_session(&json!({"customer_ref": "list-a",
            "return_url": "https://partner.example/whatsapp/done?x=1"}))
        .await;
    let second = app.create_session(&json!({"customer_ref": "list-b"})).await;
    let third = app.create_session(&json!({"customer_ref": "list-a"})).await;

    let page: Value = app.partner_json("/api/partner/sessions").await;
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [third.id.as_str(), second.id.as_str(), first.id.as_str()]
    );
    let text = page.to_string();
    for token in [&first, &second, &third].map(|s| s.token.as_ref().unwrap().as_str().to_owned()) {
        assert!(!text.contains(&token), "a token in the list");
    }
    assert!(page["data"][0].get("token").is_none() && page["data"][0].get("url").is_none());

    // By customer, and paged.
    let page: Value = app
        .partner_json("/api/partner/sessions?customer_ref=list-a&limit=1")
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["id"], third.id.as_str());
    let cursor = page["next_cursor"].as_str().unwrap();
    let page: Value = app
        .partner_json(&format!(
            "/api/partner/sessions?customer_ref=list-a&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(page["data"][0]["id"], first.id.as_str());
    assert_eq!(page["next_cursor"], Value::Null);

    // One session: its count, its return URL, and once revoked, when.
    let token = first.token.as_ref().unwrap().as_str().to_owned();
    connecting_ycloud(&app).await;
    onboard(&app, WABA, &token).await;
    let r = app
        .partner(
            Method::DELETE,
            &format!("/api/partner/sessions/{}", first.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let one: Value = app
        .partner_json(&format!("/api/partner/sessions/{}", first.id))
        .await;
    assert_eq!(one["customer_ref"], "list-a");
    assert_eq!(one["onboardings_created"], 1);
    assert_eq!(
        one["return_url"],
        "https://partner.example/whatsapp/done?x=1"
    );
    assert!(one["revoked_at"].is_string());
    assert!(one["expires_at"].is_string());
    assert!(one.get("token").is_none());

    for (path, status, code) in [
        (
            "/api/partner/sessions/00000000-0000-0000-0000-000000000000",
            404,
            "session_not_found",
        ),
        ("/api/partner/sessions/nope", 404, "session_not_found"),
        ("/api/partner/sessions?state=live", 400, "invalid_query"),
        ("/api/partner/sessions?limit=0", 400, "invalid_query"),
        ("/api/partner/sessions?cursor=zz", 400, "invalid_cursor"),
    ] {
        let r = app.partner(Method::GET, path).send().await.unwrap();
        assert_eq!(
            assert_error_shape(r, status).await.error.code,
            code,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_return_url_must_be_https_on_an_allowed_origin_and_reaches_the_page() {
    let app = spawn_app_with(Options {
        env: vec![(
            "ALLOWED_ORIGINS",
            "https://partner.example,http://127.0.0.1:9".to_owned(),
        )],
        ..Options::default()
    })
    .await;
    for bad in [
        "http://partner.example/done",
        "https://evil.example/done",
        "https://partner.example.evil.example/",
        "https://user:pw@partner.example/",
        "javascript:alert(1)",
        "/relative",
        "http://127.0.0.1:9/done", // plain http only in a sandbox
    ] {
        let r = app
            .partner(Method::POST, "/api/partner/sessions")
            .json(&json!({"customer_ref": "c", "return_url": bad}))
            .send()
            .await
            .unwrap();
        let body = assert_error_shape(r, 422).await;
        assert!(
            body.error.message.contains("return_url"),
            "{bad}: {}",
            body.error.message
        );
    }
    let session = app
        .create_session(&json!({"customer_ref": "c", "return_url": "https://partner.example/back"}))
        .await;
    let info: Value = app
        .client
        .post(format!("{}/api/session", app.address))
        .json(&json!({"session": session.token.unwrap().as_str()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["return_url"], "https://partner.example/back");

    // A sandbox takes a loopback page over plain http.
    let sandbox = spawn_app_with(Options {
        sandbox: true,
        env: vec![("ALLOWED_ORIGINS", "http://127.0.0.1:9".to_owned())],
        ..Options::default()
    })
    .await;
    sandbox
        .create_session(&json!({"customer_ref": "c", "return_url": "http://127.0.0.1:9/done"}))
        .await;
}

#[tokio::test]
async fn a_customer_name_is_checked_kept_and_shown_to_the_page() {
    let app = spawn_app().await;
    for bad in [
        json!(""),
        json!("a\u{202e}b"),
        json!("x".repeat(129)),
        json!(7),
    ] {
        let r = app
            .partner(Method::POST, "/api/partner/sessions")
            .json(&json!({"customer_ref": "c", "customer_name": bad}))
            .send()
            .await
            .unwrap();
        let body = assert_error_shape(r, 422).await;
        assert!(
            body.error.message.contains("customer_name"),
            "{bad}: {}",
            body.error.message
        );
    }
    let session = app
        .create_session(&json!({"customer_ref": "c", "customer_name": "Kim's Cakes"}))
        .await;
    assert_eq!(
        session.customer_name.as_ref().map(|n| n.as_str()),
        Some("Kim's Cakes")
    );
    let read: Value = app
        .partner(
            Method::GET,
            &format!("/api/partner/sessions/{}", session.id),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["customer_name"], "Kim's Cakes");
    let info: Value = app
        .client
        .post(format!("{}/api/session", app.address))
        .json(&json!({"session": session.token.unwrap().as_str()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["customer_name"], "Kim's Cakes");
    // Without one, the page is told nothing.
    let plain = app.create_session(&json!({"customer_ref": "d"})).await;
    let info: Value = app
        .client
        .post(format!("{}/api/session", app.address))
        .json(&json!({"session": plain.token.unwrap().as_str()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info.get("customer_name").is_none(), "{info}");
}
