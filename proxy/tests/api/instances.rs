//! Several runners on one database: pipelines sharing one PostgreSQL database (leases).

use std::time::Duration;

use wire::{CreateOnboarding, Mode, OnboardingState, PhoneNumberId, WabaId};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use proxy::clock::Clock;
use proxy::config::UpstreamTuning;
use proxy::pipeline::Pipeline;
use proxy::store::Store;
use proxy::ycloud::{Upstream, YCloudClient};

use crate::helpers::*;
use crate::postgres::fresh_postgres_database;

/// One pipeline as an instance of the proxy would build it (its own random instance id),
/// on the database at `database_url`, calling YCloud at `ycloud`.
async fn instance(database_url: &str, ycloud: &str, lease_for: Duration) -> Pipeline {
    let clock = Clock::system();
    let store = Store::connect(database_url, clock.clone()).await.unwrap();
    let tuning = UpstreamTuning {
        request_timeout: Duration::from_secs(5),
        lease_for,
        ..UpstreamTuning::default()
    };
    let client = YCloudClient::new(
        ycloud.parse().unwrap(),
        API_KEY.to_owned().into(),
        tuning.clone(),
        clock.clone(),
    )
    .unwrap();
    Pipeline::new(store, Upstream::Http(client), tuning, clock)
}

fn request() -> CreateOnboarding {
    CreateOnboarding {
        mode: Mode::Standard,
        waba_id: WabaId::parse(WABA).unwrap(),
        phone_number_id: Some(PhoneNumberId::parse(PHONE_ID).unwrap()),
        business_id: None,
        code: None,
        event: None,
        customer_ref: None,
    }
}

/// Polls `check` every 50 ms until it holds, or panics naming `what` after `within`.
async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn one_instance_runs_an_onboarding_until_its_lease_expires_then_another_takes_over() {
    let database_url = fresh_postgres_database().await;
    let ycloud = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_secs(2)))
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&ycloud)
        .await;
    let lease_for = Duration::from_secs(1);

    // Instance A runs in a runtime of its own, so that it can crash: shutting that runtime
    // down stops every task of A at once, mid-bind, its lease renewal included.
    let (crash, crashed) = std::sync::mpsc::channel::<()>();
    let a = std::thread::spawn({
        let (url, uri) = (database_url.clone(), ycloud.uri());
        move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.spawn(async move {
                let a = instance(&url, &uri, lease_for).await;
                let _ = a.create(request(), None).await;
            });
            let _ = crashed.recv();
            runtime.shutdown_background();
        }
    });
    eventually("A's bind call", Duration::from_secs(10), || async {
        calls_to(&ycloud, &tp_bind_path()).await == 1
    })
    .await;

    let b = instance(&database_url, &ycloud.uri(), lease_for).await;
    let store = b.store();
    let waba = WabaId::parse(WABA).unwrap();
    let phone = PhoneNumberId::parse(PHONE_ID).unwrap();
    let (stored, _) = store
        .find_by_key(&waba, Some(&phone))
        .await
        .unwrap()
        .unwrap();
    let id = stored.id.clone();
    let (owner, _) = store.lease(&id).await.unwrap().expect("A holds a lease");
    assert_ne!(owner, b.instance());
    // B starting up while A runs the onboarding: A's live lease keeps B off it.
    assert_eq!(b.resume_unfinished().await.unwrap(), 0);
    assert_eq!(b.resume_abandoned().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(calls_to(&ycloud, &tp_bind_path()).await, 1, "only A binds");
    assert_eq!(store.lease(&id).await.unwrap().unwrap().0, owner, "renewed");

    // A crashes mid-bind. Its lease is no longer renewed; once it expires, B's sweep takes
    // the onboarding over and runs the interrupted bind again, then register.
    crash.send(()).unwrap();
    a.join().unwrap();
    let _sweeper = b.spawn_sweeper();
    eventually(
        "B connects the onboarding",
        Duration::from_secs(15),
        || async {
            let o = b.get(&id).await.unwrap().unwrap();
            o.state == OnboardingState::Connected
        },
    )
    .await;
    assert_eq!(
        calls_to(&ycloud, &tp_bind_path()).await,
        2,
        "A's, cut off, and B's"
    );
    assert_eq!(calls_to(&ycloud, &register_path()).await, 1);
    assert_eq!(store.lease(&id).await.unwrap(), None, "B released it");
}
