//! Several runners on one database: pipelines and `wa-signup-proxy` processes sharing one
//! PostgreSQL database (leases, the register budget's lock), and sign-ups racing for one
//! number's register budget in one process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use wire::{CreateOnboarding, Mode, Onboarding, OnboardingState, PhoneNumberId, WabaId};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer};

use proxy::budget::CALLS as REGISTER_BUDGET;
use proxy::clock::Clock;
use proxy::config::UpstreamTuning;
use proxy::pipeline::Pipeline;
use proxy::providers::ycloud::{Upstream, YCloudClient};
use proxy::store::Store;

use crate::helpers::*;
use crate::postgres::{fresh_postgres_database, spawn_postgres_app};

const BIND: &str = r"^/whatsapp/businessAccounts/\d+/tp/bind$";
const REGISTER: &str = r"^/whatsapp/phoneNumbers/\d+/\d+/register$";

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
    Pipeline::new(
        store,
        std::sync::Arc::new(Upstream::Http(client)),
        tuning,
        clock,
        std::time::Duration::ZERO,
    )
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
        session: None,
    }
}

#[tokio::test]
async fn one_instance_runs_an_onboarding_until_its_lease_expires_then_another_takes_over() {
    let database_url = fresh_postgres_database().await;
    let ycloud = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_secs(4)))
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path(register_path()))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&ycloud)
        .await;
    // Short, so the test does not wait long for it to expire; A renews it every 0.67 s.
    let lease_for = Duration::from_secs(2);

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
                let _ = a
                    .create(
                        request(),
                        wire::Mode::Standard,
                        &proxy::store::Customer::default(),
                        None,
                    )
                    .await;
            });
            let _ = crashed.recv();
            runtime.shutdown_background();
        }
    });
    poll_until_holds("A's bind call", Duration::from_secs(10), || async {
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
    let (owner, until) = store.lease(&id).await.unwrap().expect("A holds a lease");
    assert_ne!(owner, b.instance());
    // B starting up while A runs the onboarding: A's live lease keeps B off it.
    assert_eq!(b.resume_unfinished().await.unwrap(), 0);
    assert_eq!(b.resume_abandoned().await.unwrap(), 0);
    // A renews its lease while its bind runs, and still binds only once.
    let still = poll_until(Duration::from_secs(10), || async {
        let (who, later) = store.lease(&id).await.unwrap().unwrap();
        if later > until {
            Ok(who)
        } else {
            Err(format!("{who} until {later}, not renewed"))
        }
    })
    .await;
    assert_eq!(still, owner);
    assert_eq!(calls_to(&ycloud, &tp_bind_path()).await, 1, "only A binds");

    // A crashes mid-bind. Its lease is no longer renewed; once it expires, B's sweep takes
    // the onboarding over and runs the interrupted bind again, then register.
    crash.send(()).unwrap();
    a.join().unwrap();
    let _sweeper = b.spawn_sweeper();
    poll_until_holds(
        "B connects the onboarding",
        Duration::from_secs(20),
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

/// Mocks a YCloud that binds any WABA and registers any number, and posts one sign-up per
/// WABA, all with the same number, all at once, spread over `apps`; answers them.
async fn race_for_one_number(apps: &[&TestApp], wabas: usize) -> Vec<Onboarding> {
    let ycloud = &apps[0].ycloud;
    Mock::given(method("POST"))
        .and(path_regex(BIND))
        .respond_with(ok(waba_json(true)))
        .mount(ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(REGISTER))
        .respond_with(ok(phone_json("CONNECTED")).set_delay(Duration::from_millis(100)))
        .mount(ycloud)
        .await;
    let posts = (0..wabas).map(|n| {
        let app = apps[n % apps.len()];
        let body = json!({"mode": "standard", "waba_id": format!("{WABA}{n:02}"),
                          "phone_number_id": PHONE_ID});
        async move {
            let r = app.post_onboarding(&body).await;
            assert_eq!(r.status(), 201);
            r.json::<Onboarding>().await.unwrap()
        }
    });
    join_all(posts).await
}

/// Every register call reached YCloud within the budget, and every sign-up beyond it was
/// refused without one.
async fn assert_budget_held(app: &TestApp, answers: &[Onboarding]) {
    let budget = usize::try_from(REGISTER_BUDGET).unwrap();
    let registers = app
        .ycloud
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/register"))
        .count();
    assert_eq!(registers, budget, "register calls");
    let connected = answers
        .iter()
        .filter(|o| o.state == OnboardingState::Connected)
        .count();
    assert_eq!(connected, budget);
    for o in answers
        .iter()
        .filter(|o| o.state != OnboardingState::Connected)
    {
        assert_eq!(o.state, OnboardingState::Failed, "{o:?}");
        assert_eq!(o.error.as_ref().unwrap().code, "register_limit", "{o:?}");
    }
    let store = Store::connect(&app.database_url, Clock::system())
        .await
        .unwrap();
    let phone = PhoneNumberId::parse(PHONE_ID).unwrap();
    let since = Clock::system().now() - time::Duration::hours(72);
    let (counted, _) = store.register_attempts_since(&phone, since).await.unwrap();
    assert_eq!(counted, REGISTER_BUDGET, "counted calls");
    store.close().await;
}

#[tokio::test]
async fn the_register_budget_holds_when_two_instances_race_for_one_number() {
    let (a, database_url) = spawn_postgres_app(Options::default()).await;
    let b = spawn_app_with(Options {
        env: vec![
            ("DATABASE_URL", database_url),
            ("YCLOUD_BASE_URL", a.ycloud.uri()),
        ],
        ..Options::default()
    })
    .await;
    let answers = race_for_one_number(&[&a, &b], 16).await;
    assert_budget_held(&a, &answers).await;
}

#[tokio::test]
async fn the_register_budget_holds_when_sign_ups_race_for_one_number() {
    let app = spawn_app().await;
    let answers = race_for_one_number(&[&app], 16).await;
    assert_budget_held(&app, &answers).await;
}

/// A `wa-signup-proxy` process, killed when dropped.
struct Process {
    child: Child,
    address: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary in live mode on `database_url` with YCloud at `ycloud`; answers
/// once it listens. Its log goes to `log`.
async fn start_process(database_url: &str, ycloud: &str, log: &std::path::Path) -> Process {
    start_process_with(database_url, ycloud, log, &[]).await
}

/// [`start_process`] with more variables.
async fn start_process_with(
    database_url: &str,
    ycloud: &str,
    log: &std::path::Path,
    vars: &[(&str, &str)],
) -> Process {
    let dir = log.parent().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wa-signup-proxy"))
        .env_clear()
        .current_dir(dir)
        .env("ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("DIST_DIR", dir.join("no-dist"))
        .env("YCLOUD_API_KEY", API_KEY)
        .env("YCLOUD_BASE_URL", ycloud)
        .env("ALLOW_UNVERIFIED_ONBOARDINGS", "true")
        .env("ALLOW_ANONYMOUS_ONBOARDINGS", "true")
        // One client racing many posts on purpose: the per-client limit is not under test.
        .env("RATE_LIMIT_PER_MINUTE", "0")
        .env("FB_APP_ID", "1234567890")
        .env("FB_CONFIG_ID", "2345678901")
        .env("FB_SOLUTION_ID", "3456789012")
        .env("RUST_LOG", "info")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the proxy starts");
    let stdout = child.stdout.take().expect("stdout");
    let banner = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .expect("the banner");
    let address = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {banner:?}: see {}", log.display()))
        .to_owned();
    Process { child, address }
}

#[tokio::test]
async fn two_proxy_processes_on_one_database_run_each_onboarding_once() {
    const WABAS: usize = 12;
    const POSTS_EACH: usize = 2;
    let database_url = fresh_postgres_database().await;
    let ycloud = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(BIND))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_millis(200)))
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(REGISTER))
        .respond_with(ok(phone_json("CONNECTED")).set_delay(Duration::from_millis(100)))
        .mount(&ycloud)
        .await;
    let dir = fresh_dir("two-processes");
    // Both start at once, migrating the empty database together.
    let (uri, logs) = (ycloud.uri(), [dir.join("one.log"), dir.join("two.log")]);
    let (one, two) = tokio::join!(
        start_process(&database_url, &uri, &logs[0]),
        start_process(&database_url, &uri, &logs[1]),
    );
    let client = &reqwest::Client::builder().no_proxy().build().unwrap();
    let processes = [&one, &two];

    // Every WABA (all with the same number) is posted to both processes at once, twice.
    let posts = (0..WABAS).flat_map(|n| {
        let body = json!({"mode": "standard", "waba_id": format!("{WABA}{n:02}"),
                          "phone_number_id": PHONE_ID});
        processes
            .into_iter()
            .cycle()
            .take(2 * POSTS_EACH)
            .map(move |process| {
                let body = body.clone();
                let url = format!("{}/api/onboardings", process.address);
                async move {
                    let r = client.post(url).json(&body).send().await.unwrap();
                    let r = remember_client_token(r).await;
                    let status = r.status().as_u16();
                    (n, status, r.json::<Onboarding>().await.unwrap())
                }
            })
            .collect::<Vec<_>>()
    });
    let answers = join_all(posts).await;

    let mut ids = std::collections::HashMap::new();
    for (n, status, o) in &answers {
        assert!(*status == 200 || *status == 201, "{status}");
        let id = ids.entry(*n).or_insert_with(|| o.id.clone());
        assert_eq!(*id, o.id, "one onboarding per WABA and number");
    }
    for n in 0..WABAS {
        let created = answers
            .iter()
            .filter(|(m, status, _)| *m == n && *status == 201)
            .count();
        assert_eq!(created, 1, "WABA {n}: created once");
        let waba = format!("{WABA}{n:02}");
        let binds = calls_to(
            &ycloud,
            &format!("/whatsapp/businessAccounts/{waba}/tp/bind"),
        )
        .await;
        assert_eq!(binds, 1, "WABA {n}: bound once");
        let registers = calls_to(
            &ycloud,
            &format!("/whatsapp/phoneNumbers/{waba}/{PHONE_ID}/register"),
        )
        .await;
        assert!(registers <= 1, "WABA {n}: registered {registers} times");
    }
    let store = Store::connect(&database_url, Clock::system())
        .await
        .unwrap();
    assert_eq!(store.count_onboardings().await.unwrap(), WABAS as i64);
    let phone = PhoneNumberId::parse(PHONE_ID).unwrap();
    let since = Clock::system().now() - time::Duration::hours(72);
    let (counted, _) = store.register_attempts_since(&phone, since).await.unwrap();
    assert_eq!(counted, REGISTER_BUDGET, "the number's budget, not more");
    let registers = ycloud
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/register"))
        .count();
    assert_eq!(registers as i64, REGISTER_BUDGET, "register calls");
    // Every onboarding settled, none left to the other process's sweep.
    for id in ids.values() {
        let o: Onboarding = client
            .get(format!("{}/api/onboardings/{id}", one.address))
            .headers(bearer(id))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(o.state.is_final(), "{o:?}");
    }
    store.close().await;
    drop((one, two));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends `signal` (`STOP`, `CONT`) to `process`.
fn signal(process: &Process, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(process.child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal}");
}

#[tokio::test]
async fn a_paused_instance_whose_lease_passed_sends_no_register_when_it_wakes() {
    let database_url = fresh_postgres_database().await;
    let ycloud = MockServer::start().await;
    // The bind takes a while: long enough to pause the instance in the middle of it.
    Mock::given(method("POST"))
        .and(path_regex(BIND))
        .respond_with(ok(waba_json(true)).set_delay(Duration::from_millis(1500)))
        .mount(&ycloud)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(REGISTER))
        .respond_with(ok(phone_json("CONNECTED")))
        .mount(&ycloud)
        .await;
    let dir = fresh_dir("paused-instance");
    let (uri, logs) = (
        ycloud.uri(),
        [dir.join("paused.log"), dir.join("other.log")],
    );
    let lease = [("ONBOARDING_LEASE_SECS", "2")];
    let paused = start_process_with(&database_url, &uri, &logs[0], &lease).await;
    let other = start_process_with(&database_url, &uri, &logs[1], &lease).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = tokio::spawn({
        let url = format!("{}/api/onboardings", paused.address);
        let client = client.clone();
        async move {
            let body = json!({"mode": "standard", "waba_id": WABA, "phone_number_id": PHONE_ID});
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    // Paused in the middle of its bind call.
    let bind_path = format!("/whatsapp/businessAccounts/{WABA}/tp/bind");
    poll_until(Duration::from_secs(10), || async {
        match calls_to(&ycloud, &bind_path).await {
            0 => Err("no bind yet"),
            _ => Ok(()),
        }
    })
    .await;
    signal(&paused, "STOP");
    // Its lease passes; the other instance takes the onboarding over and finishes it.
    let store = Store::connect(&database_url, Clock::system())
        .await
        .unwrap();
    let register_path = format!("/whatsapp/phoneNumbers/{WABA}/{PHONE_ID}/register");
    poll_until(Duration::from_secs(30), || async {
        let stored = store.count_onboardings().await.unwrap();
        match (stored, calls_to(&ycloud, &register_path).await) {
            (1, 1) => Ok(()),
            seen => Err(seen),
        }
    })
    .await;
    // Woken, the paused instance finds its lease gone: its request ends without a register.
    signal(&paused, "CONT");
    let answered = tokio::time::timeout(Duration::from_secs(30), post)
        .await
        .expect("the woken instance answers")
        .unwrap();
    assert!(answered.is_ok(), "{answered:?}");
    let registers = calls_to(&ycloud, &register_path).await;
    assert_eq!(
        registers, 1,
        "one register, from the instance holding the lease"
    );
    store.close().await;
    drop((paused, other));
    let _ = std::fs::remove_dir_all(&dir);
}
