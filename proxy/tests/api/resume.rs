//! A crash between steps: a restart on the same database resumes without calling a
//! finished step again.

use std::time::Duration;

use serde_json::json;
use wire::{CreateOnboarding, Mode, OnboardingState, PhoneNumberId, WabaId};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use proxy::store::{Step, StepStatus, Store, Update};

use crate::helpers::*;

fn request() -> CreateOnboarding {
    CreateOnboarding {
        mode: Mode::Standard,
        waba_id: WabaId::parse(WABA).unwrap(),
        phone_number_id: Some(PhoneNumberId::parse(PHONE_ID).unwrap()),
        business_id: None,
        code: None,
        event: None,
        customer_ref: None,
        session: None,
    }
}

/// The store as a run that died right after bind left it.
async fn crashed_after_bind(dir: &std::path::Path) -> String {
    crashed_after_bind_at(&database_url(dir)).await
}

/// [`crashed_after_bind`] in the database at `url`.
pub async fn crashed_after_bind_at(url: &str) -> String {
    let store = Store::connect(url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let (o, created) = store.insert_or_get(&request()).await.unwrap();
    assert!(created);
    store
        .start_step(&o.id, Step::Bind, OnboardingState::Binding)
        .await
        .unwrap();
    let waba = waba_json(true);
    let update = Update {
        waba: Some(waba.clone()),
        ..Update::default()
    };
    store
        .finish_step(&o.id, Step::Bind, StepStatus::Done, Some(&waba), update)
        .await
        .unwrap();
    store.close().await;
    o.id.clone()
}

#[tokio::test]
async fn a_restart_resumes_after_bind_without_binding_again() {
    let dir = fresh_dir("resume");
    let id = crashed_after_bind(&dir).await;

    // The resumer calls as soon as the app is built: the mocks come first.
    let ycloud = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(waba_json(true)))
        .expect(0)
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(phone_json("CONNECTED")))
        .expect(1)
        .mount(&ycloud)
        .await;
    let app = spawn_app_with(Options {
        data_dir: Some(dir),
        ycloud: Some(ycloud),
        ..Options::default()
    })
    .await;

    let o = app
        .wait_for_state(&id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
    assert_eq!(o.waba.unwrap().payment_method_attached, Some(true));
    // Posting the same WABA and number now answers the resumed onboarding.
    let again = app
        .post_onboarding(&json!({"mode": "standard", "waba_id": WABA, "phone_number_id": PHONE_ID}))
        .await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn a_step_interrupted_mid_call_is_run_again_once() {
    let dir = fresh_dir("resume-mid");
    let id = crashed_after_bind(&dir).await;
    // The register call had started (and was counted) when the process died.
    let store = Store::connect(&database_url(&dir), proxy::clock::Clock::system())
        .await
        .unwrap();
    store
        .start_step(&id, Step::CheckPayment, OnboardingState::Binding)
        .await
        .unwrap();
    store
        .finish_step(
            &id,
            Step::CheckPayment,
            StepStatus::Done,
            None,
            Update::default(),
        )
        .await
        .unwrap();
    store
        .start_step(&id, Step::Register, OnboardingState::Registering)
        .await
        .unwrap();
    store.close().await;

    let ycloud = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(waba_json(true)))
        .expect(0)
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(phone_json("PENDING")))
        .expect(1)
        .mount(&ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(phone_json("CONNECTED")))
        .expect(1..)
        .mount(&ycloud)
        .await;
    let app = spawn_app_with(Options {
        data_dir: Some(dir),
        ycloud: Some(ycloud),
        ..Options::default()
    })
    .await;
    app.wait_for_state(&id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
}

#[tokio::test]
async fn a_pending_onboarding_is_followed_again_after_a_restart() {
    let dir = fresh_dir("resume-pending");
    let id = crashed_after_bind(&dir).await;
    let store = Store::connect(&database_url(&dir), proxy::clock::Clock::system())
        .await
        .unwrap();
    for step in [Step::CheckPayment, Step::Register] {
        store
            .start_step(&id, step, OnboardingState::Registering)
            .await
            .unwrap();
    }
    store
        .finish_step(
            &id,
            Step::CheckPayment,
            StepStatus::Done,
            None,
            Update::default(),
        )
        .await
        .unwrap();
    let phone = phone_json("PENDING");
    let update = Update {
        state: Some(OnboardingState::Pending),
        phone_number: Some(phone.clone()),
        ..Update::default()
    };
    store
        .finish_step(&id, Step::Register, StepStatus::Done, Some(&phone), update)
        .await
        .unwrap();
    store.close().await;

    let ycloud = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(phone_json("CONNECTED")))
        .expect(1..)
        .mount(&ycloud)
        .await;
    let app = spawn_app_with(Options {
        data_dir: Some(dir),
        ycloud: Some(ycloud),
        ..Options::default()
    })
    .await;
    app.wait_for_state(&id, OnboardingState::Connected, Duration::from_secs(10))
        .await;
}

/// `GET /api/onboardings/{id}` answers `Store::get_json` (cached with SQLite): the same text
/// as the API's view of the stored onboarding, with every optional field present or absent.
#[tokio::test]
async fn the_raw_get_is_the_serialized_onboarding() {
    let dir = fresh_dir("raw-get");
    let store = Store::connect(&database_url(&dir), proxy::clock::Clock::system())
        .await
        .unwrap();
    let mut req = request();
    req.customer_ref = Some(wire::CustomerRef::parse("acme-1").unwrap());
    let (o, _) = store.insert_or_get(&req).await.unwrap();
    let same = |store: Store, id: String| async move {
        let record = store.get(&id).await.unwrap().unwrap();
        let parsed = serde_json::to_string(&store.api(record).await.unwrap()).unwrap();
        let raw = store.get_json(&id).await.unwrap().unwrap();
        assert_eq!(raw, parsed);
    };
    same(store.clone(), o.id.clone()).await;
    store
        .start_step(&o.id, Step::Bind, OnboardingState::Binding)
        .await
        .unwrap();
    let update = Update {
        state: Some(OnboardingState::Failed),
        waba: Some(
            json!({"id": WABA, "name": "Acme \"é\" \u{1F600}", "n": 1.5, "z": [1, {"b": null}]}),
        ),
        phone_number: Some(phone_json("PENDING")),
        error: Some(Some(wire::OnboardingError {
            code: wire::ErrorCode::Other("x".to_owned()),
            message: "y \"z\"".to_owned(),
            retryable: true,
            upstream_request_id: Some("r".to_owned()),
            retry_after: None,
            candidates: Vec::new(),
        })),
        sync: Some(wire::CoexistenceSync {
            contacts: wire::SyncPart::new(wire::SyncState::Done),
            history: wire::SyncPart {
                progress: Some(55),
                phase: Some(1),
                request_id: Some("req \"h\"".to_owned()),
                ..wire::SyncPart::new(wire::SyncState::InProgress)
            },
        }),
        emits: None,
    };
    store
        .finish_step(&o.id, Step::Bind, StepStatus::Failed, None, update)
        .await
        .unwrap();
    same(store.clone(), o.id.clone()).await;
    assert!(store
        .get_json("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap()
        .is_none());
    store.close().await;
}

/// Many onboardings left unfinished: a start-up resumes a bounded number at a time, so a
/// restart after an outage does not hit YCloud (and the database) with all of them at once.
#[tokio::test]
async fn a_restart_resumes_a_bounded_number_at_a_time() {
    use wiremock::matchers::path_regex;
    const LEFT: usize = 20;
    const AT_ONCE: usize = proxy::pipeline::RESUME_CONCURRENCY;
    let dir = fresh_dir("resume-many");
    let store = Store::connect(&database_url(&dir), proxy::clock::Clock::system())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..LEFT {
        let mut req = request();
        req.waba_id = WabaId::parse(format!("{WABA}{n:02}")).unwrap();
        req.phone_number_id = Some(PhoneNumberId::parse(format!("{PHONE_ID}{n:02}")).unwrap());
        let (o, _) = store.insert_or_get(&req).await.unwrap();
        store
            .start_step(&o.id, Step::Bind, OnboardingState::Binding)
            .await
            .unwrap();
        ids.push(o.id.clone());
    }
    store.close().await;

    // Each bind takes 3 s, and notes when it came.
    const BIND_TAKES: Duration = Duration::from_secs(3);
    let ycloud = wiremock::MockServer::start().await;
    let bind = r"^/whatsapp/businessAccounts/\d+/tp/bind$";
    let arrived = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&arrived);
    Mock::given(method("POST"))
        .and(path_regex(bind))
        .respond_with(move |_: &wiremock::Request| {
            seen.lock().unwrap().push(std::time::Instant::now());
            ok(waba_json(true)).set_delay(BIND_TAKES)
        })
        .expect(LEFT as u64)
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/whatsapp/phoneNumbers/\d+/\d+/register$"))
        .respond_with(ok(phone_json("CONNECTED")))
        .expect(LEFT as u64)
        .mount(&ycloud)
        .await;
    let app = spawn_app_with(Options {
        data_dir: Some(dir),
        ycloud: Some(ycloud),
        request_timeout: Some(Duration::from_secs(5)),
        ..Options::default()
    })
    .await;
    for id in &ids {
        app.wait_for_state(id, OnboardingState::Connected, Duration::from_secs(20))
            .await;
    }
    // A bind starting less than 3 s after the one AT_ONCE places before it would make
    // AT_ONCE + 1 run together: each of those still runs when it starts.
    let mut times = arrived.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), LEFT);
    for k in AT_ONCE..LEFT {
        let gap = times[k] - times[k - AT_ONCE];
        assert!(
            gap >= BIND_TAKES,
            "bind {k} started {gap:?} after bind {}: more than {AT_ONCE} at once",
            k - AT_ONCE
        );
    }
}

#[tokio::test]
async fn a_restart_resumes_many_onboardings_at_a_pace_not_in_a_burst() {
    use std::sync::{Arc, Mutex};
    const N: usize = 12;
    let dir = fresh_dir("resume-paced");
    let store = Store::connect(&database_url(&dir), proxy::clock::Clock::system())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..N {
        let mut req = request();
        req.waba_id = WabaId::parse(&format!("5550000{i:03}")).unwrap();
        req.phone_number_id = Some(PhoneNumberId::parse(&format!("6660000{i:03}")).unwrap());
        let (o, created) = store.insert_or_get(&req).await.unwrap();
        assert!(created);
        store
            .start_step(&o.id, Step::Bind, OnboardingState::Binding)
            .await
            .unwrap();
        let mut waba = waba_json(true);
        waba["id"] = json!(req.waba_id.as_str());
        let update = Update {
            waba: Some(waba.clone()),
            ..Update::default()
        };
        store
            .finish_step(&o.id, Step::Bind, StepStatus::Done, Some(&waba), update)
            .await
            .unwrap();
        ids.push(o.id.clone());
    }
    store.close().await;

    // Each register answers for the number in its path, and notes when it came.
    let ycloud = wiremock::MockServer::start().await;
    let arrived = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&arrived);
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(
            r"^/whatsapp/phoneNumbers/\d+/\d+/register$",
        ))
        .respond_with(move |req: &wiremock::Request| {
            seen.lock().unwrap().push(std::time::Instant::now());
            let parts: Vec<&str> = req.url.path().split('/').collect();
            let mut phone = phone_json("CONNECTED");
            phone["wabaId"] = json!(parts[3]);
            phone["id"] = json!(parts[4]);
            ResponseTemplate::new(200).set_body_json(phone)
        })
        .expect(N as u64)
        .mount(&ycloud)
        .await;
    let app = spawn_app_with(Options {
        data_dir: Some(dir),
        ycloud: Some(ycloud),
        env: vec![("RESUME_PER_SECOND", "4".to_owned())],
        ..Options::default()
    })
    .await;
    for id in &ids {
        app.wait_for_state(id, OnboardingState::Connected, Duration::from_secs(20))
            .await;
    }
    let mut times = arrived.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), N);
    // Four a second: the twelve starts span at least eleven quarters of a second (without
    // pacing, sixteen run at once and all twelve come within milliseconds).
    let span = times[N - 1] - times[0];
    assert!(
        span >= Duration::from_millis(11 * 250 * 9 / 10),
        "resumed within {span:?}"
    );
}
