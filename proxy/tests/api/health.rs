//! Connected numbers' health, read on a schedule from YCloud or Meta: stored as the
//! onboarding's `health`, each change a `number.health_changed` event, reads paced after a
//! restart and never doubled by instances sharing a database (docs/API.md, "Number health").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxy::store::{Step, StepStatus, Store, Update};
use serde_json::{json, Value};
use wire::{CreateOnboarding, Mode, OnboardingState, PhoneNumberId, WabaId};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::*;

/// YCloud's read of a number, as the health poller makes it.
const YCLOUD_NUMBER: &str = r"^/whatsapp/phoneNumbers/\d+/[^/]+$";

/// Reads every second, as fast as they come.
fn every_second() -> Vec<(&'static str, String)> {
    vec![
        ("HEALTH_POLL_SECS", "1".to_owned()),
        ("HEALTH_PER_SECOND", "100".to_owned()),
    ]
}

/// YCloud's number with the given quality rating.
fn ycloud_number(quality: &str) -> Value {
    let mut n = phone_json("CONNECTED");
    n["qualityRating"] = json!(quality);
    n["whatsappBusinessManagerMessagingLimit"] = json!("TIER_2K");
    n
}

/// A YCloud app whose bind and register connect the number at once.
async fn ycloud_app(env: Vec<(&'static str, String)>) -> TestApp {
    let app = spawn_app_with(Options {
        env,
        ..Options::default()
    })
    .await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .mount(&app.ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&app.ycloud)
        .await;
    app
}

async fn connect(app: &TestApp) -> String {
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: wire::Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Connected);
    o.id
}

/// The partner's `number.health_changed` events so far.
async fn health_events(app: &TestApp) -> Vec<Value> {
    let page: Value = app.partner_json("/api/partner/events?limit=100").await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "number.health_changed")
        .cloned()
        .collect()
}

/// YCloud's number reads so far.
async fn reads(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.method.as_str() == "GET" && r.url.path().starts_with("/whatsapp/phoneNumbers/")
        })
        .count()
}

#[tokio::test]
async fn a_ycloud_numbers_quality_drop_is_stored_and_sent_with_before_and_after() {
    let app = ycloud_app(every_second()).await;
    // GREEN at the first read (the baseline), YELLOW from then on.
    let served = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&served);
    Mock::given(method("GET"))
        .and(path_regex(YCLOUD_NUMBER))
        .respond_with(move |_: &Request| {
            let quality = match n.fetch_add(1, Ordering::SeqCst) {
                0 => "GREEN",
                _ => "YELLOW",
            };
            ok(ycloud_number(quality))
        })
        .mount(&app.ycloud)
        .await;
    let id = connect(&app).await;

    poll_until_holds("a health change", Duration::from_secs(15), || async {
        !health_events(&app).await.is_empty()
    })
    .await;
    // Two more reads of the same YELLOW change nothing more.
    poll_until_holds("two more reads", Duration::from_secs(15), || async {
        served.load(Ordering::SeqCst) >= 4
    })
    .await;
    let events = health_events(&app).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let data = &events[0]["data"];
    assert_eq!(data["id"], id.as_str());
    assert_eq!(
        data["change"],
        json!({"field": "quality_rating", "before": "GREEN", "after": "YELLOW"})
    );
    assert_eq!(data["health"]["quality_rating"], "YELLOW");

    let seen: Value = app
        .partner_json(&format!("/api/partner/onboardings/{id}"))
        .await;
    let health = &seen["health"];
    assert_eq!(health["status"], "CONNECTED");
    assert_eq!(health["quality_rating"], "YELLOW");
    assert_eq!(health["messaging_limit"], "TIER_2K");
    assert_eq!(health["name_status"], "APPROVED");
    assert_eq!(health["code_verification_status"], "VERIFIED");
    // YCloud's number has neither; null says "not known", not "false".
    assert_eq!(health["platform_type"], Value::Null);
    assert_eq!(health["webhook_configured"], Value::Null);
    assert!(health["checked_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert!(
        seen.get("change").is_none(),
        "change belongs to events only"
    );
    // The browser's view shows no health: it is the partner's.
    let browser: Value = app.get_onboarding(&id).await.json().await.unwrap();
    assert!(browser.get("health").is_none());
}

#[tokio::test]
async fn a_pending_number_whose_follower_stopped_is_followed_again_on_the_schedule() {
    let app = spawn_app_with(Options {
        env: every_second(),
        ..Options::default()
    })
    .await;
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
    // The follower's first read: YCloud does not know the number yet, so the follower stops
    // and nobody follows the pending onboarding any more; later reads find it connected.
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"status": 404, "code": "NOT_FOUND",
                    "message": "The requested resource does not exist."}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.ycloud)
        .await;
    Mock::given(method("GET"))
        .and(path(retrieve_number_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .with_priority(2)
        .mount(&app.ycloud)
        .await;
    let r = app.post_onboarding(&standard_body()).await;
    assert_eq!(r.status(), 201);
    let o: wire::Onboarding = r.json().await.unwrap();
    assert_eq!(o.state, OnboardingState::Pending);

    // Neither a webhook nor a restart: the schedule follows it again, and it connects.
    app.wait_for_state(&o.id, OnboardingState::Connected, Duration::from_secs(20))
        .await;
    assert!(reads(&app.ycloud).await >= 2);
    let events: Value = app.partner_json("/api/partner/events?limit=100").await;
    let connected = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "onboarding.connected")
        .count();
    assert_eq!(connected, 1);
}

#[tokio::test]
async fn reads_that_find_nothing_changed_send_nothing() {
    let app = ycloud_app(every_second()).await;
    Mock::given(method("GET"))
        .and(path_regex(YCLOUD_NUMBER))
        .respond_with(ok(ycloud_number("GREEN")))
        .mount(&app.ycloud)
        .await;
    let id = connect(&app).await;
    poll_until_holds("three reads", Duration::from_secs(15), || async {
        reads(&app.ycloud).await >= 3
    })
    .await;
    assert!(health_events(&app).await.is_empty());
    let seen: Value = app
        .partner_json(&format!("/api/partner/onboardings/{id}"))
        .await;
    assert_eq!(seen["health"]["quality_rating"], "GREEN");
}

#[tokio::test]
async fn a_meta_number_losing_the_apps_webhook_and_its_quality_sends_one_event_per_field() {
    let mut opts = crate::meta::meta_options();
    opts.env.extend(every_second());
    let app = spawn_app_with(opts).await;
    let served = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&served);
    Mock::given(method("GET"))
        .and(path(crate::meta::graph_path(PHONE_ID)))
        .and(query_param("fields", proxy::providers::meta::HEALTH_FIELDS))
        .respond_with(move |_: &Request| {
            let quality = match n.fetch_add(1, Ordering::SeqCst) {
                0 => "GREEN",
                _ => "RED",
            };
            ResponseTemplate::new(200).set_body_json(json!({
                "id": PHONE_ID, "status": "CONNECTED", "quality_rating": quality,
                "whatsapp_business_manager_messaging_limit": "TIER_10K",
                "name_status": "APPROVED", "code_verification_status": "VERIFIED",
                "platform_type": "CLOUD_API"}))
        })
        .mount(&app.graph)
        .await;
    // The app is subscribed at the first read; the customer removed it by the second.
    let listed = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&listed);
    Mock::given(method("GET"))
        .and(path(crate::meta::graph_path(&format!(
            "{WABA}/subscribed_apps"
        ))))
        .respond_with(move |_: &Request| {
            let data = match l.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    json!([{"whatsapp_business_api_data": {"id": "1234567890", "name": "Partner"}}])
                }
                _ => json!([]),
            };
            ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
        })
        .mount(&app.graph)
        .await;
    let o = crate::meta::connected_onboarding(&app).await;
    assert_eq!(o.state, OnboardingState::Connected);

    poll_until_holds("two health changes", Duration::from_secs(15), || async {
        health_events(&app).await.len() >= 2
    })
    .await;
    let mut changes: Vec<Value> = health_events(&app)
        .await
        .iter()
        .map(|e| e["data"]["change"].clone())
        .collect();
    changes.sort_by_key(|c| c["field"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        changes,
        [
            json!({"field": "quality_rating", "before": "GREEN", "after": "RED"}),
            json!({"field": "webhook_configured", "before": true, "after": false}),
        ]
    );
    let seen: Value = app
        .partner_json(&format!("/api/partner/onboardings/{}", o.id))
        .await;
    assert_eq!(seen["health"]["messaging_limit"], "TIER_10K");
    assert_eq!(seen["health"]["platform_type"], "CLOUD_API");
    assert_eq!(seen["health"]["webhook_configured"], false);
    // The health reads carried the business token as a bearer, never in their URL.
    let number_path = crate::meta::graph_path(PHONE_ID);
    for r in app.graph.received_requests().await.unwrap() {
        let p = r.url.path();
        if p == number_path || (p.ends_with("/subscribed_apps") && r.method.as_str() == "GET") {
            assert!(!r.url.as_str().contains(crate::verification::TOKEN), "{p}");
            assert!(r.headers.get("authorization").is_some(), "{p}");
        }
    }
}

/// `n` connected YCloud onboardings stored in `database_url`, as a previous run left them.
pub async fn seed_connected(database_url: &str, n: usize) -> Vec<String> {
    let store = Store::connect(database_url, proxy::clock::Clock::system())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let req = CreateOnboarding {
            mode: Mode::Standard,
            waba_id: WabaId::parse(format!("7770000{i:04}")).unwrap(),
            phone_number_id: Some(PhoneNumberId::parse(format!("8880000{i:04}")).unwrap()),
            business_id: None,
            code: None,
            event: None,
            customer_ref: None,
            session: None,
        };
        let (o, created) = store.insert_or_get(&req).await.unwrap();
        assert!(created);
        store
            .start_step(&o.id, Step::Register, OnboardingState::Registering)
            .await
            .unwrap();
        let mut number = phone_json("CONNECTED");
        number["id"] = json!(req.phone_number_id.as_ref().unwrap().as_str());
        number["phoneNumber"] = json!(format!("+1555000{i:04}"));
        let update = Update {
            state: Some(OnboardingState::Connected),
            phone_number: Some(number.clone()),
            ..Update::default()
        };
        store
            .finish_step(
                &o.id,
                Step::Register,
                StepStatus::Done,
                Some(&number),
                update,
            )
            .await
            .unwrap();
        ids.push(o.id.clone());
    }
    store.close().await;
    ids
}

/// A YCloud fake answering every number read, noting when each came.
async fn timed_ycloud() -> (MockServer, Arc<Mutex<Vec<Instant>>>) {
    let ycloud = MockServer::start().await;
    let arrived = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&arrived);
    Mock::given(method("GET"))
        .and(path_regex(YCLOUD_NUMBER))
        .respond_with(move |_: &Request| {
            seen.lock().unwrap().push(Instant::now());
            ok(ycloud_number("GREEN"))
        })
        .mount(&ycloud)
        .await;
    (ycloud, arrived)
}

#[tokio::test]
async fn a_restart_with_many_connected_numbers_reads_them_at_a_pace_not_in_a_burst() {
    // Two thousand numbers, as a partner's proxy holds after a while, at 200 reads a second:
    // the restart's first round takes ten seconds instead of one burst of 2,000 calls.
    const N: usize = 2000;
    const PER_SECOND: u64 = 200;
    let dir = fresh_dir("health-paced");
    let ids = seed_connected(&database_url(&dir), N).await;
    let (ycloud, arrived) = timed_ycloud().await;
    let app = spawn_app_with(Options {
        data_dir: Some(dir),
        ycloud: Some(ycloud),
        env: vec![
            ("HEALTH_POLL_SECS", "3600".to_owned()),
            ("HEALTH_PER_SECOND", PER_SECOND.to_string()),
        ],
        ..Options::default()
    })
    .await;
    poll_until_holds("every number read", Duration::from_secs(60), || async {
        arrived.lock().unwrap().len() >= N
    })
    .await;
    let times = arrived.lock().unwrap().clone();
    // Unpaced, all of them come within a fraction of a second; paced, the reads span at
    // least (N - 1) ticks, less a tenth for the timer's slack.
    let span = times[N - 1] - times[0];
    let tick = Duration::from_millis(1000 / PER_SECOND);
    assert!(
        span >= tick * (N as u32 - 1) * 9 / 10,
        "{N} reads within {span:?}"
    );
    // And never faster than the pace over any second of it.
    for window in times.windows(PER_SECOND as usize + 1) {
        let within = window[PER_SECOND as usize] - window[0];
        assert!(
            within >= Duration::from_millis(900),
            "{} reads within {within:?}",
            PER_SECOND + 1
        );
    }
    for id in ids.iter().step_by(97) {
        let seen: Value = app
            .partner_json(&format!("/api/partner/onboardings/{id}"))
            .await;
        assert_eq!(seen["health"]["status"], "CONNECTED", "{id}");
    }
    // Once each in the period: nothing is read again.
    assert_eq!(arrived.lock().unwrap().len(), N);
}

#[tokio::test]
async fn two_instances_on_postgres_read_each_number_once_per_period() {
    const N: usize = 10;
    let database_url = crate::postgres::fresh_postgres_database().await;
    let ids = seed_connected(&database_url, N).await;
    let (ycloud, arrived) = timed_ycloud().await;
    let env = |url: &str| {
        vec![
            ("DATABASE_URL", url.to_owned()),
            ("HEALTH_POLL_SECS", "3600".to_owned()),
            ("HEALTH_PER_SECOND", "50".to_owned()),
        ]
    };
    let a = spawn_app_with(Options {
        env: env(&database_url),
        ycloud: Some(ycloud),
        ..Options::default()
    })
    .await;
    let mut b_env = env(&database_url);
    b_env.push(("YCLOUD_BASE_URL", a.ycloud.uri()));
    let b = spawn_app_with(Options {
        env: b_env,
        ..Options::default()
    })
    .await;
    // Both list the same due numbers at once; each claims what the other has not.
    poll_until_holds(
        "every number's health stored",
        Duration::from_secs(20),
        || async {
            let mut all = true;
            for id in &ids {
                let seen: Value = b
                    .partner_json(&format!("/api/partner/onboardings/{id}"))
                    .await;
                all &= seen.get("health").is_some();
            }
            all
        },
    )
    .await;
    // Both instances went through the list each took at start (every number in it claimed,
    // or found claimed, and read when claimed): a number claimed twice has been read twice
    // by now. A later pass lists nothing until the period ends.
    a.wait_for_health_passes(1, Duration::from_secs(20)).await;
    b.wait_for_health_passes(1, Duration::from_secs(20)).await;
    assert_eq!(arrived.lock().unwrap().len(), N);
}

/// The listing the schedule takes each round from: never-read numbers first (by id), then
/// the longest due, none that is not due, and at most `limit` — on SQLite, and on
/// PostgreSQL when the run has one. The listing asks each due term for its first `limit`
/// and merges them: a term walked out of order, or the limit lost, shows here.
#[tokio::test]
async fn the_due_listing_puts_never_read_numbers_first_then_the_longest_due() {
    let mut urls = vec![database_url(&fresh_dir("health-listing"))];
    if std::env::var("PROXY_TEST_POSTGRES_URL").is_ok_and(|u| !u.trim().is_empty()) {
        urls.push(crate::postgres::fresh_postgres_database().await);
    }
    for url in urls {
        let ids = seed_connected(&url, 6).await;
        let store = Store::connect(&url, proxy::clock::Clock::system())
            .await
            .unwrap();
        let now = time::OffsetDateTime::now_utc();
        let minutes = |m: i64| now + time::Duration::minutes(m);
        // Read before: 0 due ten minutes ago, 1 twenty minutes ago, 2 not due for an hour.
        for (id, next) in [(&ids[0], -10), (&ids[1], -20), (&ids[2], 60)] {
            assert!(store.claim_health(id, now, minutes(next)).await.unwrap());
        }
        let mut never_read = ids[3..].to_vec();
        never_read.sort();

        let all = store.health_due(now, 10).await.unwrap();
        let expected = [never_read.clone(), vec![ids[1].clone(), ids[0].clone()]].concat();
        assert_eq!(all, expected, "{url}");
        assert_eq!(
            store.health_due(now, 4).await.unwrap(),
            expected[..4],
            "{url}"
        );
        assert_eq!(
            store.health_due(now, 2).await.unwrap(),
            never_read[..2],
            "{url}"
        );
        store.close().await;
    }
}
