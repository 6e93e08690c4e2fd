//! Provider conformance: the same black-box expectations against each provider's sandbox
//! fake (`FakeYCloud` for `WHATSAPP_PROVIDER=ycloud`, `FakeMeta` for `meta`), so the two
//! providers cannot drift apart unnoticed. Each expectation is a generic function over
//! [`Provider`], the table of what differs between them (how an app starts, the fake's
//! special WABA ids, how its webhooks are signed); [`suite!`] gives each provider its own
//! named tests (`conformance::ycloud::…`, `conformance::meta::…`).
//!
//! Where a provider has no equivalent of a fact (its fake has no failing first step, it
//! forgets its numbers on a restart), its table row says so and the expectation asserts the
//! documented alternative instead; nothing is skipped. Neither fake keeps a call log in
//! process, so the recorded steps (`steps`, one record per step, `started_at` moving when a
//! step runs again) stand for it.
//!
//! With `PROXY_TEST_POSTGRES_URL` set (`cargo xtask postgres cargo test -p proxy --test api
//! conformance`) each test runs on a fresh PostgreSQL database, otherwise on SQLite.

use std::time::Duration;

use proxy::config::DEFAULT_GRAPH_VERSION;
use proxy::store::{Store, Update};
use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState, OnboardingStep, StepName, StepState};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// The WABA of the sign-ups that go well (no special ending in either fake).
const GOOD_WABA: &str = WABA;
/// `TOKEN_ENCRYPTION_KEY` of the Meta apps: fixed, so a restarted app opens the business
/// token the first one sealed.
const META_KEY: &str = "q1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLlZzXxM=";
/// `FB_APP_ID` of the Meta apps, as the Graph mock's `debug_token` answers it.
const META_APP_ID: &str = "1234567890";
const WAIT: Duration = Duration::from_secs(10);

/// What `retry` does after the provider's upstream failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterRetry {
    /// The failed step runs again (the fake fails it again: `failed`, same code).
    RunsTheStepAgain,
    /// Refused until the error's `retry_after` (`429 register_limit`), the step not run.
    RefusedUntilRetryAfter,
}

/// An upstream failure the fake answers for a special WABA id.
#[derive(Debug, Clone, Copy)]
struct Failure {
    waba: &'static str,
    /// The step that fails; the steps before it are done.
    step: StepName,
    /// The onboarding's error code, retryable.
    code: &'static str,
    after_retry: AfterRetry,
}

/// How a pending onboarding resumed by a restarted app connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterRestart {
    /// The restarted fake reads the number `CONNECTED` (it knows no earlier registration).
    FakeConnects,
    /// The restarted fake forgot the registration (it reads `PENDING` for ever): the resumed
    /// follower holds the onboarding's lease while it polls, and the provider's `CONNECTED`
    /// webhook connects it.
    WebhookConnects,
}

/// The per-provider facts of the suite.
trait Provider {
    /// `WHATSAPP_PROVIDER`.
    const NAME: &'static str;
    /// The steps of a standard sign-up that connects, in order.
    const STANDARD_STEPS: &'static [StepName];
    /// The steps of a coexistence sign-up (never `register`), in order.
    const COEXISTENCE_STEPS: &'static [StepName];
    /// The state the coexistence sign-up answers (it ends `connected` either way).
    const COEXISTENCE_ANSWER: OnboardingState;
    /// The fake's failure, on the first step when the fake has one.
    const FAILURE: Failure;
    const AFTER_RESTART: AfterRestart;
    /// The status the webhook route acknowledges an applied notification with.
    const WEBHOOK_ACK: u16;

    /// The options of a sandbox app with this provider (everything a test of the suite needs:
    /// signed webhooks included), on `database` when given (else SQLite in `dir`).
    async fn options(dir: &std::path::Path, database: Option<&str>) -> Options;

    /// The sign-up the browser posts for `waba`.
    fn standard(waba: &str) -> Value;
    fn coexistence() -> Value;

    /// Posts the provider's webhook telling the number of `o` is now `status` (`BANNED`,
    /// `CONNECTED`), signed as the provider signs; answers the HTTP status.
    async fn post_number_status(app: &TestApp, o: &Onboarding, status: &str) -> u16;
}

struct YCloud;

impl Provider for YCloud {
    const NAME: &'static str = "ycloud";
    const STANDARD_STEPS: &'static [StepName] =
        &[StepName::Bind, StepName::CheckPayment, StepName::Register];
    const COEXISTENCE_STEPS: &'static [StepName] = &[StepName::SmbBind];
    /// `smb/bind` answers the number `PENDING`; it reads `CONNECTED` after `connect_after`.
    const COEXISTENCE_ANSWER: OnboardingState = OnboardingState::Pending;
    /// `…500`: `tp/bind` answers `500 INTERNAL_ERROR`.
    const FAILURE: Failure = Failure {
        waba: "104996122399500",
        step: StepName::Bind,
        code: "upstream_unavailable",
        after_retry: AfterRetry::RunsTheStepAgain,
    };
    /// A `+1555…` number the fake does not know reads `CONNECTED`.
    const AFTER_RESTART: AfterRestart = AfterRestart::FakeConnects;
    const WEBHOOK_ACK: u16 = 204;

    async fn options(dir: &std::path::Path, database: Option<&str>) -> Options {
        Options {
            sandbox: true,
            data_dir: Some(dir.to_path_buf()),
            env: database_env(database),
            ..Options::default()
        }
    }

    fn standard(waba: &str) -> Value {
        json!({"mode": "standard", "waba_id": waba, "phone_number_id": PHONE_ID,
               "event": "FINISH", "customer_ref": "cust-conformance"})
    }

    fn coexistence() -> Value {
        // The fake's `smb/bind` names the number (`9{waba}`): the finish names none.
        json!({"mode": "coexistence", "waba_id": GOOD_WABA,
               "event": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
               "customer_ref": "cust-conformance"})
    }

    async fn post_number_status(app: &TestApp, o: &Onboarding, status: &str) -> u16 {
        let number = app
            .stored_record(&o.id)
            .await
            .phone_number
            .expect("a number");
        let now = time::OffsetDateTime::now_utc();
        let body = json!({"id": format!("evt_conf_{}", uuid::Uuid::new_v4().simple()),
            "type": "whatsapp.phone_number.quality_updated", "apiVersion": "v2",
            "createTime": now.format(&time::format_description::well_known::Rfc3339).unwrap(),
            "whatsappPhoneNumber": {"id": number["id"], "phoneNumber": number["phoneNumber"],
                "wabaId": o.waba_id.as_str(), "status": status, "qualityRating": "GREEN"}})
        .to_string();
        // `YCloud-Signature: t=…,s=…` with YCLOUD_WEBHOOK_SECRET.
        app.post_signed_webhook(&body).await.status().as_u16()
    }
}

struct Meta;

impl Provider for Meta {
    const NAME: &'static str = "meta";
    const STANDARD_STEPS: &'static [StepName] = &[StepName::SubscribeApp, StepName::Register];
    const COEXISTENCE_STEPS: &'static [StepName] = &[
        StepName::SubscribeApp,
        StepName::SyncContacts,
        StepName::SyncHistory,
    ];
    /// A synced number is on the app already: the fake reads it `CONNECTED` at once.
    const COEXISTENCE_ANSWER: OnboardingState = OnboardingState::Connected;
    /// The fake's `subscribed_apps` never fails: no first-step failure. Its documented
    /// upstream failure is `…016`, `register` answering `133016`, whose `retry_after`
    /// (Meta's 72-hour block) refuses a retry rather than run it.
    const FAILURE: Failure = Failure {
        waba: "104996122399016",
        step: StepName::Register,
        code: "register_limit",
        after_retry: AfterRetry::RefusedUntilRetryAfter,
    };
    /// The fake keeps its registrations in memory only.
    const AFTER_RESTART: AfterRestart = AfterRestart::WebhookConnects;
    const WEBHOOK_ACK: u16 = 200;

    /// The sandbox's fake Meta for the Cloud API calls, and `FB_APP_SECRET` set so Meta's
    /// webhooks are accepted (`X-Hub-Signature-256`); the secret turns the ownership check
    /// on, whose code exchange a Graph mock answers for any WABA.
    async fn options(dir: &std::path::Path, database: Option<&str>) -> Options {
        let graph = MockServer::start().await;
        let v = DEFAULT_GRAPH_VERSION;
        Mock::given(method("GET"))
            .and(path(format!("/{v}/oauth/access_token")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": crate::verification::TOKEN, "token_type": "bearer"}),
            ))
            .mount(&graph)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/{v}/debug_token")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
                "app_id": META_APP_ID, "is_valid": true,
                "granular_scopes": [{"scope": "business_management"}]}})))
            .mount(&graph)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(format!(r"^/{v}/[0-9]+/phone_numbers$")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": PHONE_ID}]})),
            )
            .mount(&graph)
            .await;
        let mut env = database_env(database);
        env.extend([
            ("WHATSAPP_PROVIDER", "meta".to_owned()),
            ("TOKEN_ENCRYPTION_KEY", META_KEY.to_owned()),
            ("FB_APP_SECRET", APP_SECRET.to_owned()),
            ("FB_APP_ID", META_APP_ID.to_owned()),
        ]);
        Options {
            sandbox: true,
            data_dir: Some(dir.to_path_buf()),
            graph: Some(graph),
            env,
            ..Options::default()
        }
    }

    fn standard(waba: &str) -> Value {
        json!({"mode": "standard", "waba_id": waba, "phone_number_id": PHONE_ID,
               "code": "AQB_conformance", "event": "FINISH",
               "customer_ref": "cust-conformance"})
    }

    fn coexistence() -> Value {
        // The syncs are asked of the number: the finish names it.
        json!({"mode": "coexistence", "waba_id": GOOD_WABA, "phone_number_id": PHONE_ID,
               "code": "AQB_conformance", "event": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
               "customer_ref": "cust-conformance"})
    }

    async fn post_number_status(app: &TestApp, o: &Onboarding, status: &str) -> u16 {
        let phone = o.phone_number_id.as_ref().expect("a number");
        let body = json!({"object": "whatsapp_business_account", "entry": [{
            "id": o.waba_id.as_str(),
            "time": time::OffsetDateTime::now_utc().unix_timestamp(),
            "changes": [{"field": "phone_number_quality_update", "value": {
                "phone_number_id": phone.as_str(), "status": status}}]}]})
        .to_string();
        let sig = proxy::providers::meta::webhook::sign(APP_SECRET, body.as_bytes());
        app.client
            .post(format!("{}/webhooks/meta", app.address))
            .header("content-type", "application/json")
            .header("X-Hub-Signature-256", sig)
            .body(body)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    }
}

/// `DATABASE_URL` for `database`, when given.
fn database_env(database: Option<&str>) -> Vec<(&'static str, String)> {
    database
        .map(|url| ("DATABASE_URL", url.to_owned()))
        .into_iter()
        .collect()
}

/// A fresh PostgreSQL database when the run has a server, else none (SQLite).
async fn database() -> Option<String> {
    let server = std::env::var("PROXY_TEST_POSTGRES_URL").ok();
    match server.filter(|u| !u.trim().is_empty()) {
        Some(_) => Some(crate::postgres::fresh_postgres_database().await),
        None => None,
    }
}

/// A sandbox app of provider `P` on a fresh database.
async fn spawn<P: Provider>() -> TestApp {
    let dir = fresh_dir("conformance");
    let database = database().await;
    let app = spawn_app_with(P::options(&dir, database.as_deref()).await).await;
    if let Some(url) = &database {
        assert_eq!(
            &app.database_url, url,
            "the app runs on the test's database"
        );
    }
    let health: wire::Health = app.get_json("/healthz").await;
    assert_eq!(
        health.provider,
        P::NAME,
        "the app runs the provider under test"
    );
    app
}

async fn post<P: Provider>(app: &TestApp, body: &Value) -> (u16, Onboarding) {
    let r = app.post_onboarding(body).await;
    let status = r.status().as_u16();
    let text = r.text().await.expect("a body");
    let o = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {status} {text}"));
    (status, o)
}

fn rfc3339(at: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{at}: {e}"))
}

fn names(steps: &[OnboardingStep]) -> Vec<StepName> {
    steps.iter().map(|s| s.name).collect()
}

fn step(o: &Onboarding, name: StepName) -> &OnboardingStep {
    o.steps
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} step: {:?}", o.steps))
}

async fn connected_standard<P: Provider>(app: &TestApp) -> Onboarding {
    let (status, o) = post::<P>(app, &P::standard(GOOD_WABA)).await;
    assert_eq!(status, 201, "{o:?}");
    app.wait_for_state(&o.id, OnboardingState::Connected, WAIT)
        .await
}

/// A standard sign-up binds/subscribes, registers and connects; its answer lists the steps.
async fn standard_sign_up_connects<P: Provider>() {
    let app = spawn::<P>().await;
    let (status, answered) = post::<P>(&app, &P::standard(GOOD_WABA)).await;
    assert_eq!(status, 201, "{answered:?}");
    // The steps ran before the answer: the number is registered, connected or on its way.
    assert!(
        matches!(
            answered.state,
            OnboardingState::Pending | OnboardingState::Connected
        ),
        "{answered:?}"
    );
    assert_eq!(names(&answered.steps), P::STANDARD_STEPS, "{answered:?}");
    assert!(answered.error.is_none(), "{answered:?}");
    let o = app
        .wait_for_state(&answered.id, OnboardingState::Connected, WAIT)
        .await;
    assert_eq!(names(&o.steps), P::STANDARD_STEPS);
    for s in &o.steps {
        assert_eq!(s.state, StepState::Done, "{s:?}");
        assert!(s.finished_at.is_some() && s.error.is_none(), "{s:?}");
    }
    assert_eq!(
        o.phone_number_id.as_ref().map(|p| p.as_str()),
        Some(PHONE_ID)
    );
}

/// The same WABA and number posted again answer the same onboarding, running nothing again.
async fn posting_again_is_idempotent<P: Provider>() {
    let app = spawn::<P>().await;
    let first = connected_standard::<P>(&app).await;
    let (status, again) = post::<P>(&app, &P::standard(GOOD_WABA)).await;
    assert_eq!(status, 200, "{again:?}");
    assert_eq!(again.id, first.id);
    assert_eq!(again.state, OnboardingState::Connected);
    assert_eq!(again.steps, first.steps, "a step ran again");
    assert_eq!(app.stored_onboardings().await, 1);
}

/// A coexistence sign-up never registers the number (it is in use on the Business app) and
/// ends as the provider documents: connected, at once or once the fake reads it so.
async fn coexistence_never_registers<P: Provider>() {
    let app = spawn::<P>().await;
    let (status, answered) = post::<P>(&app, &P::coexistence()).await;
    assert_eq!(status, 201, "{answered:?}");
    assert_eq!(answered.mode, wire::Mode::Coexistence);
    assert_eq!(answered.state, P::COEXISTENCE_ANSWER, "{answered:?}");
    assert_eq!(names(&answered.steps), P::COEXISTENCE_STEPS);
    let o = app
        .wait_for_state(&answered.id, OnboardingState::Connected, WAIT)
        .await;
    assert_eq!(names(&o.steps), P::COEXISTENCE_STEPS);
    assert!(
        !o.steps.iter().any(|s| s.name == StepName::Register),
        "{:?}",
        o.steps
    );
}

/// The fake's upstream failure ends `failed` with a retryable code, the steps before the
/// failing one done; `retry` does what the provider's row says.
async fn an_upstream_failure_is_retryable<P: Provider>() {
    let app = spawn::<P>().await;
    let f = P::FAILURE;
    let (status, o) = post::<P>(&app, &P::standard(f.waba)).await;
    assert_eq!(status, 201, "{o:?}");
    assert_eq!(o.state, OnboardingState::Failed, "{o:?}");
    let error = o.error.clone().expect("an error");
    assert_eq!(error.code, f.code, "{error:?}");
    assert!(error.retryable, "{error:?}");
    let last = o.steps.last().expect("steps");
    assert_eq!(
        (last.name, last.state),
        (f.step, StepState::Failed),
        "{o:?}"
    );
    for s in &o.steps[..o.steps.len() - 1] {
        assert_eq!(s.state, StepState::Done, "{s:?}");
    }
    let failed = step(&o, f.step).clone();
    let r = app.retry(&o.id).await;
    match f.after_retry {
        AfterRetry::RunsTheStepAgain => {
            assert_eq!(r.status(), 200);
            let again: Onboarding = r.json().await.expect("an onboarding");
            assert_eq!(again.state, OnboardingState::Failed, "{again:?}");
            assert_eq!(again.error.as_ref().expect("an error").code, f.code);
            let rerun = step(&again, f.step);
            assert_eq!(rerun.state, StepState::Failed);
            assert!(
                rfc3339(&rerun.started_at) > rfc3339(&failed.started_at),
                "the failed step did not run again: {rerun:?} after {failed:?}"
            );
            // Only the failed step ran again.
            assert_eq!(
                again.steps[..again.steps.len() - 1],
                o.steps[..o.steps.len() - 1]
            );
        }
        AfterRetry::RefusedUntilRetryAfter => {
            assert!(error.retry_after.is_some(), "{error:?}");
            let body = assert_error_shape(r, 429).await;
            assert_eq!(body.error.code, "register_limit", "{body:?}");
            let now: Onboarding = app
                .get_onboarding(&o.id)
                .await
                .json()
                .await
                .expect("an onboarding");
            assert_eq!(now.state, OnboardingState::Failed);
            assert_eq!(now.steps, o.steps, "a refused retry ran a step");
        }
    }
}

/// The provider's signed webhook telling the number is banned moves a connected onboarding
/// to `action_required` (`phone_number_blocked`).
async fn a_banned_number_needs_action<P: Provider>() {
    let app = spawn::<P>().await;
    let o = connected_standard::<P>(&app).await;
    assert_eq!(
        P::post_number_status(&app, &o, "BANNED").await,
        P::WEBHOOK_ACK
    );
    let now = app
        .wait_for_state(&o.id, OnboardingState::ActionRequired, WAIT)
        .await;
    let error = now.error.expect("an error");
    assert_eq!(error.code, "phone_number_blocked", "{error:?}");
    assert_eq!(now.steps, o.steps, "a webhook ran a step");
}

/// A restart resumes an onboarding left `pending` (the process died while the number was
/// polled) without running any finished step again.
async fn a_restart_repeats_no_finished_step<P: Provider>() {
    let dir = fresh_dir("conformance-restart");
    let database = database().await;
    let mut first = spawn_app_with(P::options(&dir, database.as_deref()).await).await;
    let o = connected_standard::<P>(&first).await;
    first.shutdown();
    // Keep the database: the next app opens it.
    std::mem::forget(first);
    let store = Store::connect(
        database.as_deref().unwrap_or(&database_url(&dir)),
        proxy::clock::Clock::system(),
    )
    .await
    .expect("store");
    let staged = Update {
        state: Some(OnboardingState::Pending),
        ..Update::default()
    };
    assert!(store
        .update_if(&o.id, OnboardingState::Connected, staged)
        .await
        .expect("staged"));
    // Nobody holds it: whoever works on it next is the restarted app.
    assert_eq!(store.lease(&o.id).await.expect("lease"), None);

    let app = spawn_app_with(P::options(&dir, database.as_deref()).await).await;
    if P::AFTER_RESTART == AfterRestart::WebhookConnects {
        // The resumed follower holds the lease while it polls the forgetful fake.
        poll_until(WAIT, || async {
            match store.lease(&o.id).await.expect("lease") {
                Some(lease) => Ok(lease),
                None => Err("no lease"),
            }
        })
        .await;
        assert_eq!(
            P::post_number_status(&app, &o, "CONNECTED").await,
            P::WEBHOOK_ACK
        );
    }
    store.close().await;
    let resumed = app
        .wait_for_state(&o.id, OnboardingState::Connected, WAIT)
        .await;
    assert_eq!(
        resumed.steps, o.steps,
        "a finished step ran again after the restart"
    );
}

/// Each provider's module of the suite: one named test per expectation.
macro_rules! suite {
    ($provider:ident, $table:ty) => {
        mod $provider {
            #[tokio::test]
            async fn standard_sign_up_connects() {
                super::standard_sign_up_connects::<$table>().await;
            }

            #[tokio::test]
            async fn posting_again_is_idempotent() {
                super::posting_again_is_idempotent::<$table>().await;
            }

            #[tokio::test]
            async fn coexistence_never_registers() {
                super::coexistence_never_registers::<$table>().await;
            }

            #[tokio::test]
            async fn an_upstream_failure_is_retryable() {
                super::an_upstream_failure_is_retryable::<$table>().await;
            }

            #[tokio::test]
            async fn a_banned_number_needs_action() {
                super::a_banned_number_needs_action::<$table>().await;
            }

            #[tokio::test]
            async fn a_restart_repeats_no_finished_step() {
                super::a_restart_repeats_no_finished_step::<$table>().await;
            }
        }
    };
}

suite!(ycloud, super::YCloud);
suite!(meta, super::Meta);
