//! A coexistence number's contacts and history sync with the Meta provider: asked once each
//! within 24 hours of the onboarding (its request ids kept), and followed from Meta's
//! `history` and `smb_app_state_sync` webhooks into the onboarding's `sync` and the
//! partner's `onboarding.sync_progress`, without storing what those webhooks carry. On
//! SQLite, and on PostgreSQL when `PROXY_TEST_POSTGRES_URL` is set (`cargo xtask postgres
//! cargo test -p proxy --test api sync::`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState, PartnerOnboarding, SyncState};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::meta::{
    graph_path, meta_now, meta_options, mount_exchange, mount_number, mount_subscribe,
    partner_event_kinds, post_meta_webhook,
};

/// A fresh PostgreSQL database when the run has a server, else none (SQLite).
async fn postgres() -> Option<String> {
    match std::env::var("PROXY_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(crate::postgres::fresh_postgres_database().await),
        _ => None,
    }
}

/// The Meta provider's options on `database` (none: SQLite in the app's directory).
fn options_on(database: Option<&str>) -> Options {
    let mut opts = meta_options();
    if let Some(url) = database {
        opts.env.push(("DATABASE_URL", url.to_owned()));
    }
    opts
}

/// The Meta provider's options on a fresh database.
async fn options() -> Options {
    options_on(postgres().await.as_deref())
}

fn coexistence_body() -> Value {
    let mut body = standard_body();
    body["mode"] = json!("coexistence");
    body["event"] = json!("FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING");
    body
}

/// `smb_app_data` of `sync_type`, answering a request id, `times` times.
async fn mount_sync(graph: &MockServer, sync_type: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/smb_app_data"))))
        .and(body_partial_json(
            json!({"messaging_product": "whatsapp", "sync_type": sync_type}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"messaging_product": "whatsapp", "request_id": format!("req-{sync_type}")}),
        ))
        .expect(times)
        .mount(graph)
        .await;
}

/// A connected coexistence onboarding whose contacts and history were asked for.
async fn synced_onboarding(app: &TestApp) -> Onboarding {
    mount_exchange(&app.graph, WABA, 1).await;
    mount_subscribe(&app.graph, WABA, 1).await;
    mount_sync(&app.graph, "smb_app_state_sync", 1).await;
    mount_sync(&app.graph, "history", 1).await;
    mount_number(&app.graph, "CONNECTED").await;
    let r = app.post_onboarding(&coexistence_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected, "{o:?}");
    o
}

/// The onboarding as the partner API shows it.
async fn current(app: &TestApp, id: &str) -> Onboarding {
    app.partner_json::<PartnerOnboarding>(&format!("/api/partner/onboardings/{id}"))
        .await
        .onboarding
}

/// Posts one signed change about the test WABA, dated now; answers the status.
async fn post_change(app: &TestApp, field: &str, value: Value) -> u16 {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
        "time": meta_now(), "changes": [{"field": field, "value": value}]}]})
    .to_string();
    let sig = proxy::providers::meta::webhook::sign(APP_SECRET, body.as_bytes());
    post_meta_webhook(app, &body, Some(&sig))
        .await
        .status()
        .as_u16()
}

fn metadata() -> Value {
    json!({"display_phone_number": "16315551111", "phone_number_id": PHONE_ID})
}

/// A history chunk carrying a message the kit must never keep.
fn chunk(phase: u8, order: u32, progress: u8) -> Value {
    json!({"messaging_product": "whatsapp", "metadata": metadata(),
        "history": [{"metadata": {"phase": phase, "chunk_order": order, "progress": progress},
            "threads": [{"id": "447700900123", "messages": [{"from": "447700900123",
                "id": format!("wamid.HIST{phase}{order}"), "timestamp": "1739230955",
                "type": "text", "text": {"body": "a private chat from last spring"},
                "history_context": {"status": "READ"}}]}]}]})
}

fn sync_events(kinds: &[String]) -> usize {
    kinds
        .iter()
        .filter(|k| *k == "onboarding.sync_progress")
        .count()
}

/// Every text the database holds about onboardings and webhooks (bodies, sync, steps).
async fn stored_text(app: &TestApp) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let mut text = String::new();
    for query in [
        "SELECT body FROM webhook_events",
        "SELECT COALESCE(sync, '') FROM onboardings",
        "SELECT data FROM partner_events",
    ] {
        for row in sqlx::query(query).fetch_all(&pool).await.unwrap() {
            let v: String = sqlx::Row::try_get(&row, 0).unwrap();
            text.push_str(&v);
        }
    }
    pool.close().await;
    // SQLite: the files themselves (the WAL included).
    if let Ok(entries) = std::fs::read_dir(&app.data_dir) {
        for entry in entries {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[tokio::test]
async fn the_sync_is_asked_once_each_and_its_request_ids_kept() {
    let app = spawn_app_with(options().await).await;
    let o = synced_onboarding(&app).await;
    let sync = o.sync.expect("the sync is followed");
    assert_eq!(sync.contacts.state, SyncState::Requested);
    assert_eq!(
        sync.contacts.request_id.as_deref(),
        Some("req-smb_app_state_sync")
    );
    assert_eq!(sync.history.state, SyncState::Requested);
    assert_eq!(sync.history.request_id.as_deref(), Some("req-history"));
    // The partner API shows the same.
    let p: PartnerOnboarding = app
        .partner(
            reqwest::Method::GET,
            &format!("/api/partner/onboardings/{}", o.id),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        p.onboarding.sync.unwrap().history.state,
        SyncState::Requested
    );
}

#[tokio::test]
async fn after_24_hours_the_sync_is_not_asked_and_the_onboarding_says_why() {
    let ahead = Arc::new(AtomicI64::new(0));
    let app = spawn_app_with(Options {
        clock: Some(proxy::clock::Clock::ahead_by(ahead.clone())),
        ..options().await
    })
    .await;
    mount_exchange(&app.graph, WABA, 1).await;
    // Meta is down when the customer finishes: the onboarding stops, retryable.
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{WABA}/subscribed_apps"))))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.graph)
        .await;
    let o: Onboarding = app
        .post_onboarding(&coexistence_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::Failed, "{o:?}");
    assert!(o.error.unwrap().retryable);
    assert!(o.sync.is_none());
    // The partner retries a day and an hour later: Meta no longer accepts the syncs.
    ahead.store(25 * 3600, Ordering::Relaxed);
    mount_subscribe(&app.graph, WABA, 1).await;
    mount_sync(&app.graph, "smb_app_state_sync", 0).await;
    mount_sync(&app.graph, "history", 0).await;
    mount_number(&app.graph, "CONNECTED").await;
    let r = app.retry(&o.id).await;
    assert_eq!(r.status(), 200);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected, "{o:?}");
    let sync = o.sync.expect("the onboarding says why");
    for part in [&sync.contacts, &sync.history] {
        assert_eq!(part.state, SyncState::Failed);
        let reason = part.reason.as_deref().unwrap();
        assert!(reason.contains("24 hours"), "{reason}");
        assert!(part.request_id.is_none());
    }
    let names: Vec<_> = o.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, [wire::StepName::SubscribeApp]);
}

#[tokio::test]
async fn history_progress_is_recorded_and_told_once_per_phase_without_its_contents() {
    let app = spawn_app_with(options().await).await;
    let o = synced_onboarding(&app).await;
    let before = sync_events(&partner_event_kinds(&app).await);
    assert_eq!(before, 0);

    // (change, history state, phase, progress, sync events so far)
    let contacts = json!({"messaging_product": "whatsapp", "metadata": metadata(),
        "state_sync": [{"type": "contact", "action": "add",
            "contact": {"full_name": "Pablo Morales", "first_name": "Pablo",
                        "phone_number": "16505551234"},
            "metadata": {"timestamp": "1739321024"}}]});
    let steps = [
        ("history", chunk(0, 1, 10), SyncState::InProgress, 0, 10, 1),
        ("history", chunk(0, 2, 30), SyncState::InProgress, 0, 30, 1),
        (
            "smb_app_state_sync",
            contacts,
            SyncState::InProgress,
            0,
            30,
            2,
        ),
        ("history", chunk(1, 1, 60), SyncState::InProgress, 1, 60, 3),
        // Late and out of order: kept as it was, nothing told.
        ("history", chunk(0, 3, 35), SyncState::InProgress, 1, 60, 3),
        ("history", chunk(2, 1, 90), SyncState::InProgress, 2, 90, 4),
        ("history", chunk(2, 2, 100), SyncState::Done, 2, 100, 5),
    ];
    for (field, value, state, phase, progress, told) in steps {
        assert_eq!(post_change(&app, field, value.clone()).await, 200);
        let now = current(&app, &o.id).await;
        assert_eq!(now.state, OnboardingState::Connected);
        let sync = now.sync.unwrap();
        assert_eq!(
            (
                sync.history.state,
                sync.history.phase,
                sync.history.progress
            ),
            (state, Some(phase), Some(progress)),
            "after {value}"
        );
        assert_eq!(
            sync_events(&partner_event_kinds(&app).await),
            told,
            "after {value}"
        );
        // Meta's repeat of the same notification changes nothing and tells nothing.
        assert_eq!(post_change(&app, field, value).await, 200);
        assert_eq!(sync_events(&partner_event_kinds(&app).await), told);
    }
    let sync = current(&app, &o.id).await.sync.unwrap();
    assert_eq!(sync.contacts.state, SyncState::Done);
    // The request ids stay.
    assert_eq!(sync.history.request_id.as_deref(), Some("req-history"));

    let stored = stored_text(&app).await;
    for secret in [
        "a private chat from last spring",
        "wamid.HIST",
        "447700900123",
        "Pablo Morales",
        "16505551234",
    ] {
        assert!(!stored.contains(secret), "{secret} was stored");
    }
    // What is stored is the progress.
    assert!(stored.contains("\"chunk_order\""));
}

#[tokio::test]
async fn a_declined_history_is_not_a_failure() {
    let app = spawn_app_with(options().await).await;
    let o = synced_onboarding(&app).await;
    let declined = json!({"messaging_product": "whatsapp", "metadata": metadata(),
        "history": [{"errors": [{"code": 2593109,
            "title": "History sync is turned off by the business from the WhatsApp Business App",
            "message": "History sync is turned off by the business from the WhatsApp Business App",
            "error_data": {"details": "History sync is turned off"}}]}]});
    assert_eq!(post_change(&app, "history", declined.clone()).await, 200);
    let now = current(&app, &o.id).await;
    assert_eq!(now.state, OnboardingState::Connected);
    assert!(now.error.is_none());
    let history = now.sync.unwrap().history;
    assert_eq!(history.state, SyncState::Declined);
    assert!(history.reason.unwrap().contains("chose not to share"));
    let kinds = partner_event_kinds(&app).await;
    assert_eq!(sync_events(&kinds), 1);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("onboarding.sync_progress")
    );
    // Told once; a later chunk does not undo the customer's choice.
    assert_eq!(post_change(&app, "history", chunk(0, 1, 10)).await, 200);
    assert_eq!(post_change(&app, "history", declined).await, 200);
    assert_eq!(sync_events(&partner_event_kinds(&app).await), 1);
    let history = current(&app, &o.id).await.sync.unwrap().history;
    assert_eq!(history.state, SyncState::Declined);
}

#[tokio::test]
async fn sync_webhooks_about_a_running_onboarding_wait_for_its_run() {
    let app = spawn_app_with(Options {
        request_timeout: Some(Duration::from_secs(5)),
        ..options().await
    })
    .await;
    mount_exchange(&app.graph, WABA, 1).await;
    mount_subscribe(&app.graph, WABA, 1).await;
    mount_sync(&app.graph, "smb_app_state_sync", 1).await;
    // The history request is slow: its first chunk arrives while the run waits for it.
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/smb_app_data"))))
        .and(body_partial_json(json!({"sync_type": "history"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messaging_product": "whatsapp", "request_id": "req-h"}))
                .set_delay(Duration::from_millis(1500)),
        )
        .expect(1)
        .mount(&app.graph)
        .await;
    mount_number(&app.graph, "CONNECTED").await;
    let create = {
        let app_address = app.address.clone();
        let client = app.client.clone();
        tokio::spawn(async move {
            client
                .post(format!("{app_address}/api/onboardings"))
                .json(&coexistence_body())
                .send()
                .await
                .unwrap()
                .json::<Onboarding>()
                .await
                .unwrap()
        })
    };
    // Wait until the history request is in flight.
    poll_until(Duration::from_secs(10), || async {
        let requests = app.graph.received_requests().await.unwrap_or_default();
        let asked = requests.iter().any(|r| {
            r.url.path().ends_with("/smb_app_data")
                && String::from_utf8_lossy(&r.body).contains("\"history\"")
        });
        if asked {
            Ok(())
        } else {
            Err("history not asked yet".to_owned())
        }
    })
    .await;
    assert_eq!(post_change(&app, "history", chunk(0, 1, 20)).await, 200);
    let o = create.await.unwrap();
    let history = poll_until(Duration::from_secs(10), || async {
        let sync = current(&app, &o.id).await.sync.unwrap();
        match sync.history.state {
            SyncState::InProgress => Ok(sync.history),
            other => Err(format!("history {other:?}")),
        }
    })
    .await;
    assert_eq!(history.progress, Some(20));
    assert_eq!(history.request_id.as_deref(), Some("req-h"));
    assert_eq!(sync_events(&partner_event_kinds(&app).await), 1);
}

#[tokio::test]
async fn the_sync_is_never_asked_twice_across_a_restart() {
    let database = postgres().await;
    let dir = fresh_dir("sync-restart");
    let graph = MockServer::start().await;
    mount_exchange(&graph, WABA, 1).await;
    mount_subscribe(&graph, WABA, 1).await;
    mount_sync(&graph, "smb_app_state_sync", 1).await;
    mount_sync(&graph, "history", 1).await;
    mount_number(&graph, "CONNECTED").await;
    let mut app = spawn_app_with(Options {
        data_dir: Some(dir.clone()),
        graph: Some(graph),
        ..options_on(database.as_deref())
    })
    .await;
    let o: Onboarding = app
        .post_onboarding(&coexistence_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    let database_url = app.database_url.clone();
    app.shutdown().await;

    // The process "died" while the history request was in flight.
    let store = proxy::store::Store::connect(&database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    store
        .start_step(
            &o.id,
            proxy::store::Step::SyncHistory,
            OnboardingState::Binding,
        )
        .await
        .unwrap();
    store.close().await;
    // Another instance starts: it asks for neither again by itself.
    let graph = MockServer::start().await;
    mount_sync(&graph, "smb_app_state_sync", 0).await;
    Mock::given(method("POST"))
        .and(path(graph_path(&format!("{PHONE_ID}/smb_app_data"))))
        .and(body_partial_json(json!({"sync_type": "history"})))
        .respond_with(crate::meta::meta_error(
            400,
            4,
            "(#4) Application request limit reached",
        ))
        .expect(1)
        .mount(&graph)
        .await;
    mount_number(&graph, "CONNECTED").await;
    let app2 = spawn_app_with(Options {
        data_dir: Some(dir.clone()),
        graph: Some(graph),
        ..options_on(database.as_deref())
    })
    .await;
    assert_eq!(app2.database_url, database_url);
    let stopped = app2
        .wait_for_state(&o.id, OnboardingState::Failed, Duration::from_secs(10))
        .await;
    assert!(stopped.error.unwrap().retryable);
    // The partner's retry asks once more; Meta's (#4) says it has it. The request ids of the
    // first asks stay.
    let r = app2.retry(&o.id).await;
    assert_eq!(r.status(), 200);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    let sync = o.sync.unwrap();
    assert_eq!(sync.history.state, SyncState::Requested);
    assert_eq!(sync.history.request_id.as_deref(), Some("req-history"));
    assert_eq!(
        sync.contacts.request_id.as_deref(),
        Some("req-smb_app_state_sync")
    );
    drop(app);
}
