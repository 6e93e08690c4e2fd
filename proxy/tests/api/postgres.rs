//! The proxy on PostgreSQL: a fresh database per test on the server that
//! `PROXY_TEST_POSTGRES_URL` names, a role that may create databases (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`). `cargo xtask test` starts a throwaway
//! cluster and sets it; without it these tests fail rather than pass unchecked, since
//! several instances on one PostgreSQL database is how the proxy scales.

use std::time::Duration;

use serde_json::json;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{method, path};
use wiremock::Mock;

use crate::helpers::*;

/// The variable naming the test server.
const SERVER_VAR: &str = "PROXY_TEST_POSTGRES_URL";

/// A new, empty database on the test server; its URL.
pub async fn fresh_postgres_database() -> String {
    let admin = std::env::var(SERVER_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty());
    let Some(admin) = admin else {
        panic!(
            "{SERVER_VAR} is not set: the PostgreSQL tests need a server they may create \
             databases on. `cargo xtask test` (or `cargo xtask postgres cargo test …`) starts a \
             throwaway cluster and sets it; or set {SERVER_VAR}=postgres://user@host:port/db"
        )
    };
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{SERVER_VAR}={admin} does not connect: {e}"));
    let name = format!("proxy_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("create database");
    pool.close().await;
    let mut url = url::Url::parse(&admin).expect("a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

#[tokio::test]
async fn the_pipeline_runs_on_postgres() {
    let database_url = fresh_postgres_database().await;
    let app = spawn_app_with(Options {
        env: vec![("DATABASE_URL", database_url.clone())],
        ..Options::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("PENDING")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1..)
        .mount(&app.ycloud)
        .await;

    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending, "{o:?}");
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(5))
        .await;
    let again = app.post_onboarding(&standard_body()).await;
    assert_eq!(again.status(), 200);

    // A WABA-only onboarding is a different key (no number), with a NULL number column.
    let only = json!({"mode": "standard", "waba_id": WABA});
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(false)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&only).await;
    assert_eq!(r.status(), 201);
    assert_eq!(app.post_onboarding(&only).await.status(), 200);
    assert_eq!(app.stored_onboardings().await, 2);

    let store = proxy::store::Store::connect(&database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let phone = wire::PhoneNumberId::parse(PHONE_ID).unwrap();
    let (n, oldest) = store
        .register_attempts_since(
            &phone,
            proxy::clock::Clock::system().now() - time::Duration::hours(72),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(oldest.is_some());
    let event = proxy::store::IncomingEvent {
        id: "evt_1",
        kind: "whatsapp.phone_number.quality_updated",
        body: "{}",
        object: proxy::store::EventObject::PhoneNumber,
        created: None,
        waba_id: Some(WABA),
        phone_number_id: Some(PHONE_ID),
    };
    let first = store
        .apply_webhook_event(&event, |_| proxy::store::Verdict::About(None))
        .await
        .unwrap();
    assert!(matches!(first, proxy::store::EventOutcome::Applied { .. }));
    let again = store
        .apply_webhook_event(&event, |_| proxy::store::Verdict::About(None))
        .await
        .unwrap();
    assert!(matches!(again, proxy::store::EventOutcome::Duplicate));
    let now = proxy::clock::Clock::system().now();
    let unfinished = store.unfinished(now, proxy::store::Unleased::Free).await;
    assert!(unfinished.unwrap().is_empty());
    store.close().await;
}

/// The proxy on a fresh PostgreSQL database, and that database's URL.
pub async fn spawn_postgres_app(mut opts: Options) -> (TestApp, String) {
    let database_url = fresh_postgres_database().await;
    opts.env.push(("DATABASE_URL", database_url.clone()));
    (spawn_app_with(opts).await, database_url)
}

#[tokio::test]
async fn a_restart_on_postgres_resumes_after_bind_without_binding_again() {
    let database_url = fresh_postgres_database().await;
    let id = crate::resume::crashed_after_bind_at(&database_url).await;
    let ycloud = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .expect(0)
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&ycloud)
        .await;
    let app = spawn_app_with(Options {
        env: vec![("DATABASE_URL", database_url)],
        ycloud: Some(ycloud),
        ..Options::default()
    })
    .await;
    let o = app
        .wait_for_state(&id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
    assert_eq!(o.waba.unwrap().payment_method_attached, Some(true));
    let store = proxy::store::Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    assert_eq!(store.lease(&id).await.unwrap(), None, "released at the end");
    store.close().await;
}

#[tokio::test]
async fn a_retry_on_postgres_runs_the_failed_register_again() {
    let (app, _) = spawn_postgres_app(Options::default()).await;
    expect_bind_once(&app).await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(1)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Failed, "{o:?}");
    let r = app.retry(&o.id).await;
    assert_eq!(r.status(), 200);
    let o: Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected, "{o:?}");
    let store = proxy::store::Store::connect(&app.database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let phone = wire::PhoneNumberId::parse(PHONE_ID).unwrap();
    let since = proxy::clock::Clock::system().now() - time::Duration::hours(72);
    let (n, _) = store.register_attempts_since(&phone, since).await.unwrap();
    assert_eq!(n, 2, "both register calls are counted");
    store.close().await;
}

#[tokio::test]
async fn a_webhook_on_postgres_connects_a_pending_number() {
    let (app, _) = spawn_postgres_app(Options::default()).await;
    let o = crate::webhooks::pending_onboarding(&app).await;
    let connected = crate::webhooks::phone_event("evt_pg_1", "CONNECTED");
    assert_eq!(app.post_signed_webhook(&connected).await.status(), 204);
    let c = app
        .wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(5))
        .await;
    assert_eq!(c.phone_number.unwrap().status.as_deref(), Some("CONNECTED"));
    // Stored once: YCloud sending it again is not applied twice.
    assert_eq!(app.post_signed_webhook(&connected).await.status(), 204);
}

#[tokio::test]
async fn sessions_and_signed_partner_events_work_on_postgres() {
    use crate::partner::{
        connecting_ycloud, onboard, verify_signature, wait_for_deliveries, webhook_env,
    };
    let receiver = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let (app, _) = spawn_postgres_app(Options {
        sessions_required: true,
        env: webhook_env(&receiver),
        ..Options::default()
    })
    .await;
    connecting_ycloud(&app).await;
    let token = app.session_token("pg-customer").await;
    let o = onboard(&app, WABA, &token).await;
    assert_eq!(o.customer_ref.unwrap().as_str(), "pg-customer");
    let page = wait_for_deliveries(&app, 2).await;
    let kinds: Vec<&str> = page.data.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["onboarding.created", "onboarding.connected"]);
    let delivered = receiver.received_requests().await.unwrap();
    assert_eq!(delivered.len(), 2, "each event once");
    for req in &delivered {
        assert_eq!(verify_signature(req)["data"]["customer_ref_verified"], true);
    }
    // Another customer's post of the same ids is refused on PostgreSQL too.
    let other = app.session_token("someone-else").await;
    let r = app
        .post_onboarding(&json!({"mode": "standard", "waba_id": WABA,
                                 "phone_number_id": PHONE_ID, "session": other}))
        .await;
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn the_console_s_attempt_history_and_number_search_work_on_postgres() {
    use crate::console::{
        eight_failures_in_the_history, found_by_their_display_number, redelivered_past_the_cap,
    };
    let receiver = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .mount(&receiver)
        .await;
    let (app, _) = spawn_postgres_app(Options {
        env: crate::partner::webhook_env(&receiver),
        ..Options::default()
    })
    .await;
    found_by_their_display_number(&app).await;
    let failed = poll_until(Duration::from_secs(15), || {
        let app = &app;
        async move {
            let page: wire::EventPage = app
                .partner_json("/api/partner/events?delivery_state=failed")
                .await;
            match page.data.into_iter().next() {
                Some(event) => Ok(event),
                None => Err(()),
            }
        }
    })
    .await;
    eight_failures_in_the_history(&app, &failed).await;
    redelivered_past_the_cap(&app, &failed.id).await;
}
