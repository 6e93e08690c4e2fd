//! The same store on PostgreSQL, when `PROXY_TEST_POSTGRES_URL` names a server the test may
//! create databases on (e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Skipped
//! otherwise: SQLite is the default, and this guards the "portable SQL" promise.

use std::time::Duration;

use serde_json::json;
use wire::{Onboarding, OnboardingState};
use wiremock::matchers::{method, path};
use wiremock::Mock;

use crate::helpers::*;

async fn fresh_postgres_database() -> Option<String> {
    let admin = std::env::var("PROXY_TEST_POSTGRES_URL").ok()?;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&admin)
        .await
        .expect("PROXY_TEST_POSTGRES_URL connects");
    let name = format!("proxy_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("create database");
    pool.close().await;
    let mut url = url::Url::parse(&admin).expect("a URL");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

#[tokio::test]
async fn the_pipeline_runs_on_postgres() {
    let Some(database_url) = fresh_postgres_database().await else {
        eprintln!("skipped: PROXY_TEST_POSTGRES_URL is not set");
        return;
    };
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
    assert!(store.unfinished().await.unwrap().is_empty());
    store.close().await;
}
