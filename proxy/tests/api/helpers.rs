//! `spawn_app()`: the proxy on a random port, a wiremock YCloud, a fresh SQLite database.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use proxy::config::Settings;
use proxy::startup::Application;
use serde_json::{json, Value};
use wire::{Onboarding, OnboardingState};
use wiremock::MockServer;

/// A key distinctive enough that finding it anywhere is proof of a leak.
pub const API_KEY: &str = "ycsk_TEST_d15t1nct1v3_k3y_7f31a9";
/// Other secrets, equally distinctive.
pub const APP_SECRET: &str = "fbsecret_TEST_0a9b8c7d6e";
pub const WEBHOOK_SECRET: &str = "whsec_TEST_1122334455";
/// The partner API key every test app accepts.
pub const PARTNER_KEY: &str = "pk_TEST_partner_key_0123456789abcdef";
/// A second key, as during a rotation.
pub const PARTNER_KEY_2: &str = "pk_TEST_rotated_key_fedcba9876543210";
/// The partner webhook secret (`whsec_` + base64 of 32 bytes).
pub const PARTNER_WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/DmyQsxDgVo=";

pub const WABA: &str = "104996122399160";
pub const PHONE_ID: &str = "106540352242922";
pub const E164: &str = "+16315551111";

/// Whether the captured logs hold `digits` as a number of its own: not inside a longer run of
/// digits, nor as the fraction of a timestamp (`…:12.246810Z`), which any six digits can be.
pub fn logs_hold_number(digits: &str) -> bool {
    let logs = captured_logs();
    logs.match_indices(digits).any(|(at, _)| {
        let before = logs[..at].chars().next_back();
        let after = logs[at + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// Every log line of the test process (all tests share one subscriber).
pub fn captured_logs() -> String {
    let buf = log_buffer().lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&buf).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let buf = log_buffer().clone();
        let filter = tracing_subscriber::EnvFilter::new(
            "trace,hyper=debug,hyper_util=debug,h2=debug,wiremock=info,sqlx=debug,want=info,mio=info",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || BufWriter(buf.clone()))
            .try_init();
    });
}

/// What to vary per test.
#[derive(Default)]
pub struct Options {
    /// Sandbox mode (`SANDBOX=true`, no key).
    pub sandbox: bool,
    /// Reuse this database directory (restart tests).
    pub data_dir: Option<PathBuf>,
    /// Serve this bundle.
    pub dist_dir: Option<PathBuf>,
    /// Extra environment.
    pub env: Vec<(&'static str, String)>,
    /// A YCloud mock prepared before start-up (restart tests: the resumer calls at once).
    pub ycloud: Option<MockServer>,
    /// A Graph API mock prepared before start-up (restart tests of the Meta provider).
    pub graph: Option<MockServer>,
    /// Ownership verification on (`FB_APP_SECRET` set, Graph at [`TestApp::graph`]).
    pub verification: bool,
    /// No `YCLOUD_WEBHOOK_SECRET`.
    pub no_webhook_secret: bool,
    /// The clock webhook signatures are checked against (default: the system's).
    pub clock: Option<proxy::clock::Clock>,
    /// Live mode as in production: onboardings need a session (otherwise live tests that
    /// are not about sessions set `ALLOW_ANONYMOUS_ONBOARDINGS=true`).
    pub sessions_required: bool,
    /// YCloud's whole-request timeout (default: 800 ms), for tests whose YCloud is slow.
    pub request_timeout: Option<Duration>,
}

pub struct TestApp {
    pub address: String,
    pub ycloud: MockServer,
    /// A fake Graph API (`GRAPH_BASE_URL` points here).
    pub graph: MockServer,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server task: [`TestApp::shutdown`] waits for its end.
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The health reader's passes ([`TestApp::wait_for_health_passes`]).
    health_passes: tokio::sync::watch::Receiver<u64>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Open handles do not stop an unlink on Unix; the database goes with the test.
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub fn fresh_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wa-proxy-{prefix}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn database_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}/onboarding.db", dir.display())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_sandbox_app() -> TestApp {
    spawn_app_with(Options {
        sandbox: true,
        ..Options::default()
    })
    .await
}

pub fn test_settings(ycloud_uri: &str, opts: &Options, data_dir: &std::path::Path) -> Settings {
    test_settings_with_graph(ycloud_uri, "http://127.0.0.1:1", opts, data_dir)
}

pub fn test_settings_with_graph(
    ycloud_uri: &str,
    graph_uri: &str,
    opts: &Options,
    data_dir: &std::path::Path,
) -> Settings {
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("ADDR", "127.0.0.1:0".into());
    env.insert("DATABASE_URL", database_url(data_dir));
    env.insert(
        "DIST_DIR",
        opts.dist_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("no-dist"))
            .display()
            .to_string(),
    );
    if !opts.no_webhook_secret {
        env.insert("YCLOUD_WEBHOOK_SECRET", WEBHOOK_SECRET.into());
    }
    if opts.verification {
        env.insert("FB_APP_SECRET", APP_SECRET.into());
    } else if !opts.sandbox {
        // Live tests that are not about verification run without it, as it must be asked for.
        env.insert("ALLOW_UNVERIFIED_ONBOARDINGS", "true".into());
    }
    env.insert("GRAPH_BASE_URL", graph_uri.into());
    env.insert("PARTNER_API_KEYS", format!("{PARTNER_KEY},{PARTNER_KEY_2}"));
    // A sandbox with partner keys needs sessions as live mode does: tests that are not
    // about sessions allow anonymous onboardings in both.
    if !opts.sessions_required {
        env.insert("ALLOW_ANONYMOUS_ONBOARDINGS", "true".into());
    }
    if opts.sandbox {
        env.insert("SANDBOX", "true".into());
    } else {
        env.insert("YCLOUD_API_KEY", API_KEY.into());
        env.insert("YCLOUD_BASE_URL", ycloud_uri.into());
        env.insert("FB_APP_ID", "1234567890".into());
        env.insert("FB_CONFIG_ID", "2345678901".into());
        env.insert("FB_SOLUTION_ID", "3456789012".into());
    }
    // Room for the tables of bad requests and for retries in a row; the tests of these
    // limits set their own.
    env.insert("RATE_LIMIT_BURST", "10000".into());
    env.insert("RETRY_COOLDOWN_SECS", "0".into());
    for (k, v) in &opts.env {
        env.insert(k, v.clone());
    }
    let mut settings = Settings::from_lookup(|k| env.get(k).cloned()).expect("test settings");
    let t = &mut settings.upstream;
    t.connect_timeout = Duration::from_secs(1);
    t.request_timeout = Duration::from_millis(800);
    t.max_attempts = 3;
    t.base_backoff = Duration::from_millis(10);
    t.max_retry_after = Duration::from_secs(2);
    t.poll_interval = Duration::from_millis(100);
    t.poll_for = Duration::from_secs(20);
    t.sandbox_connect_after = Duration::from_millis(400);
    // Health reads would add calls to the fakes that tests of other things count; the
    // tests of health set HEALTH_POLL_SECS.
    if !opts.env.iter().any(|(k, _)| *k == "HEALTH_POLL_SECS") {
        t.health_every = None;
    }
    if let Some(timeout) = opts.request_timeout {
        t.request_timeout = timeout;
    }
    let o = &mut settings.outbox;
    o.retry_delays = [100, 200, 300, 400, 500, 600, 700]
        .map(Duration::from_millis)
        .to_vec();
    o.attempt_timeout = Duration::from_secs(1);
    o.poll_interval = Duration::from_millis(50);
    o.lease = Duration::from_secs(3);
    settings
}

pub async fn spawn_app_with(mut opts: Options) -> TestApp {
    init_logs();
    let ycloud = match opts.ycloud.take() {
        Some(server) => server,
        None => MockServer::start().await,
    };
    let data_dir = opts.data_dir.clone().unwrap_or_else(|| fresh_dir("db"));
    let graph = match opts.graph.take() {
        Some(server) => server,
        None => MockServer::start().await,
    };
    let settings = test_settings_with_graph(&ycloud.uri(), &graph.uri(), &opts, &data_dir);
    let database_url = settings.database_url.clone();
    let clock = opts
        .clock
        .take()
        .unwrap_or_else(proxy::clock::Clock::system);
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let health_passes = app.health_passes.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        ycloud,
        graph,
        client,
        data_dir,
        database_url,
        shutdown: Some(tx),
        server: Some(server),
        health_passes,
    }
}

impl TestApp {
    /// Signals the server to shut down, as SIGTERM would, and waits until it has stopped
    /// (its background tasks with it); panics if it is still serving after its grace period.
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(server) = self.server.take() else {
            return;
        };
        let within = proxy::startup::SHUTDOWN_GRACE + Duration::from_secs(5);
        tokio::time::timeout(within, server)
            .await
            .unwrap_or_else(|_| panic!("the server still runs {within:?} after its shutdown"))
            .expect("the server task")
            .expect("the server stops cleanly");
    }

    /// Waits until the health reader has done `n` passes over the numbers due (each a
    /// listing and every claim and read it led to), or panics after `within`.
    pub async fn wait_for_health_passes(&self, n: u64, within: Duration) {
        let mut passes = self.health_passes.clone();
        tokio::time::timeout(within, passes.wait_for(|done| *done >= n))
            .await
            .unwrap_or_else(|_| panic!("fewer than {n} health passes after {within:?}"))
            .expect("the health reader runs");
    }

    /// `GET {path}` on the proxy, its JSON body read as `T` (panics on anything else).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.client
            .get(format!("{}{path}", self.address))
            .headers(bearer_for_path(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// A partner API request with the test key.
    pub fn partner(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(PARTNER_KEY)
    }

    /// `GET {path}` on the partner API with the test key, its JSON body read as `T` (panics
    /// on anything else).
    pub async fn partner_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.partner(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Creates a session through the partner API (panics unless 201).
    pub async fn create_session(&self, body: &Value) -> wire::Session {
        let response = self
            .partner(reqwest::Method::POST, "/api/partner/sessions")
            .json(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 201, "session creation");
        response.json().await.expect("a session")
    }

    /// A session for `customer_ref` with the defaults; answers its token.
    pub async fn session_token(&self, customer_ref: &str) -> String {
        let session = self
            .create_session(&json!({ "customer_ref": customer_ref }))
            .await;
        session.token.expect("a token").as_str().to_owned()
    }

    /// `POST /api/session`: the page's lookup of the session whose token it holds.
    pub async fn open_session(&self, token: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/session", self.address))
            .json(&json!({ "session": token }))
            .send()
            .await
            .unwrap()
    }

    /// `POST /api/onboardings`; the answer's `client_token` is remembered for the
    /// onboarding's browser routes ([`client_token`]).
    pub async fn post_onboarding(&self, body: &Value) -> reqwest::Response {
        let response = self
            .client
            .post(format!("{}/api/onboardings", self.address))
            .json(body)
            .send()
            .await
            .expect("request");
        remember_client_token(response).await
    }

    /// Posts a webhook body with a `YCloud-Signature` header (none when `signature` is None).
    pub async fn post_webhook(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/webhooks/ycloud", self.address))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(sig) = signature {
            req = req.header("YCloud-Signature", sig);
        }
        req.send().await.expect("request")
    }

    /// Posts a webhook body signed now with the test secret.
    pub async fn post_signed_webhook(&self, body: &str) -> reqwest::Response {
        let t = time::OffsetDateTime::now_utc().unix_timestamp();
        let sig = proxy::providers::ycloud::webhook::sign(WEBHOOK_SECRET, t, body.as_bytes());
        self.post_webhook(body, Some(&sig)).await
    }

    /// `GET /api/onboardings/{id}` with its client token; an onboarding the test stored
    /// itself (no token was ever answered) is read through the partner API instead.
    pub async fn get_onboarding(&self, id: &str) -> reqwest::Response {
        if !has_client_token(id) {
            return self
                .partner(
                    reqwest::Method::GET,
                    &format!("/api/partner/onboardings/{id}"),
                )
                .send()
                .await
                .expect("request");
        }
        self.client
            .get(format!("{}/api/onboardings/{id}", self.address))
            .headers(bearer(id))
            .send()
            .await
            .expect("request")
    }

    pub async fn retry(&self, id: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/onboardings/{id}/retry", self.address))
            .headers(bearer(id))
            .send()
            .await
            .expect("request")
    }

    /// Polls until the onboarding is in `state`, or panics after `within`.
    pub async fn wait_for_state(
        &self,
        id: &str,
        state: OnboardingState,
        within: Duration,
    ) -> Onboarding {
        poll_until(within, || async {
            let o: Onboarding = self
                .get_onboarding(id)
                .await
                .json()
                .await
                .expect("onboarding json");
            if o.state == state {
                Ok(o)
            } else {
                Err(format!("still {}: {o:?}", o.state))
            }
        })
        .await
    }

    /// How many requests the fake YCloud received on `path`.
    pub async fn calls_to(&self, path: &str) -> usize {
        calls_to(&self.ycloud, path).await
    }

    /// Onboardings stored so far.
    pub async fn stored_record(&self, id: &str) -> proxy::store::Record {
        let store = proxy::store::Store::connect(&self.database_url, proxy::clock::Clock::system())
            .await
            .expect("store");
        let record = store.get(id).await.expect("read").expect("stored");
        store.close().await;
        record
    }

    pub async fn stored_onboardings(&self) -> i64 {
        let store = proxy::store::Store::connect(&self.database_url, proxy::clock::Clock::system())
            .await
            .expect("store");
        let n = store.count_onboardings().await.expect("count");
        store.close().await;
        n
    }
}

/// Client tokens answered by `POST /api/onboardings`, by onboarding id (every test app's:
/// instances sharing a database serve each other's onboardings).
static CLIENT_TOKENS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, String>>,
> = std::sync::LazyLock::new(Default::default);

/// Reads a `POST /api/onboardings` answer, remembers its `client_token`, and gives back an
/// answer with the same status, headers and body.
pub async fn remember_client_token(response: reqwest::Response) -> reqwest::Response {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a body");
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        if let (Some(id), Some(token)) = (v["id"].as_str(), v["client_token"].as_str()) {
            CLIENT_TOKENS
                .lock()
                .unwrap()
                .insert(id.to_owned(), token.to_owned());
        }
    }
    let mut rebuilt = axum::http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    reqwest::Response::from(rebuilt)
}

/// Whether `POST /api/onboardings` answered a client token for `id`.
pub fn has_client_token(id: &str) -> bool {
    CLIENT_TOKENS.lock().unwrap().contains_key(id)
}

/// `Authorization: Bearer <client token of id>`, or nothing when none was answered.
pub fn bearer(id: &str) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = CLIENT_TOKENS.lock().unwrap().get(id) {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("a header"),
        );
    }
    headers
}

/// [`bearer`] for the onboarding a path `/api/onboardings/{id}…` names.
pub fn bearer_for_path(path: &str) -> reqwest::header::HeaderMap {
    match path.strip_prefix("/api/onboardings/") {
        Some(rest) => bearer(rest.split(['/', '?']).next().unwrap_or("")),
        None => reqwest::header::HeaderMap::new(),
    }
}

/// How many requests `server` received on `path`.
pub async fn calls_to(server: &MockServer, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == path)
        .count()
}

pub fn standard_body() -> Value {
    json!({"mode": "standard", "waba_id": WABA, "phone_number_id": PHONE_ID,
           "business_id": "2729063490586005", "code": "AQB_x-1", "event": "FINISH",
           "customer_ref": "cust-42"})
}

/// YCloud's WABA, as YCloud's Embedded Signup guide shows it (plus a field the proxy does not
/// know).
pub fn waba_json(payment_attached: bool) -> Value {
    json!({"id": WABA, "name": "WABA name", "accountReviewStatus": "APPROVED",
           "paymentMethodAttached": payment_attached, "currency": "AUD", "timezoneId": "1",
           "someFutureField": {"nested": true}})
}

/// YCloud's phone number with a status.
pub fn phone_json(status: &str) -> Value {
    json!({"id": PHONE_ID, "phoneNumber": E164, "displayPhoneNumber": "+1 631-555-1111",
           "wabaId": WABA, "verifiedName": "John's Cake Shop", "qualityRating": "GREEN",
           "messagingLimit": "TIER_250", "codeVerificationStatus": "VERIFIED",
           "nameStatus": "APPROVED", "status": status})
}

/// A YCloud success: HTTP 200 with `body`, and the request id header YCloud always sends.
pub fn ok(body: Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200)
        .set_body_json(body)
        .insert_header("YCloud-Request-ID", "req_ok")
}

/// `tp/bind` answers a WABA with its payment method attached, and must be called exactly once.
pub async fn expect_bind_once(app: &TestApp) {
    use wiremock::matchers::{method, path};
    wiremock::Mock::given(method("POST"))
        .and(path(tp_bind_path()))
        .respond_with(ok(waba_json(true)))
        .expect(1)
        .mount(&app.ycloud)
        .await;
}

pub fn tp_bind_path() -> String {
    format!("/whatsapp/businessAccounts/{WABA}/tp/bind")
}
pub fn smb_bind_path() -> String {
    format!("/whatsapp/businessAccounts/{WABA}/smb/bind")
}
pub fn register_path() -> String {
    format!("/whatsapp/phoneNumbers/{WABA}/{PHONE_ID}/register")
}
pub fn retrieve_number_path() -> String {
    format!("/whatsapp/phoneNumbers/{WABA}/{E164}")
}
pub fn retrieve_waba_path() -> String {
    format!("/whatsapp/businessAccounts/{WABA}")
}

/// Asserts the project's error shape and answers the body.
pub async fn assert_error_shape(response: reqwest::Response, status: u16) -> wire::ErrorBody {
    assert_eq!(response.status().as_u16(), status, "status");
    let ct = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "content type {ct:?}");
    let text = response.text().await.expect("body");
    let body: wire::ErrorBody =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let code = body.error.code.as_str();
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "{code}"
    );
    assert!(body.error.message.ends_with('.'), "{}", body.error.message);
    body
}

/// Asks `probe` until it answers `Some` (a fact the test waits on: a row, a delivery, a
/// request the fake received), or panics after `within` with the last thing it saw.
pub async fn poll_until<T, S, Fut>(within: Duration, mut probe: impl FnMut() -> Fut) -> T
where
    S: std::fmt::Debug,
    Fut: std::future::Future<Output = Result<T, S>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(seen) => assert!(
                tokio::time::Instant::now() < deadline,
                "not there after {within:?}; last seen: {seen:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`poll_until`] for a yes-or-no fact: waits until `check` holds, or panics naming `what`
/// after `within`.
pub async fn poll_until_holds<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll_until(within, || {
        let checked = check();
        async move {
            match checked.await {
                true => Ok(()),
                false => Err(what.to_owned()),
            }
        }
    })
    .await
}
