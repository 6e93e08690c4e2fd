//! Start-up configuration (docs/API.md, "Configuration"), parsed once into [`Settings`].
//!
//! Every variable is read and checked here, so the rest of the proxy holds typed values and
//! never looks at the environment. A bad value is a [`ConfigError`] naming the variable; the
//! binary prints it on one line and exits with code 2.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;
use wire::EsVersion;

mod provider;
pub mod vars;

pub use provider::{MetaSettings, ProviderSettings, WhatsappProvider};
pub use vars::usage;

/// Listen address when neither `--addr` nor `ADDR` is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// YCloud's API base.
pub const DEFAULT_YCLOUD_BASE_URL: &str = "https://api.ycloud.com/v2";
/// Graph API version for `FB.init` and the proxy's Graph calls: v26.0 (July 2026), the
/// newest when this default was last raised; `FB_GRAPH_VERSION` overrides it.
pub const DEFAULT_GRAPH_VERSION: &str = "v26.0";
/// Meta's SDK.
pub const DEFAULT_FB_SDK_URL: &str = "https://connect.facebook.net/en_US/sdk.js";
/// The proxy's own stand-in for the SDK, served in sandbox mode.
pub const SANDBOX_FB_SDK_URL: &str = "/sandbox/sdk.js";
/// Graph API base.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com";
/// The onboarding store.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/onboarding.db";
/// Where the built bundle lives.
pub const DEFAULT_DIST_DIR: &str = "dist";
/// Largest answer read from YCloud or the Graph API (their objects are a few KiB).
pub const MAX_UPSTREAM_BODY_BYTES: usize = 1024 * 1024;

/// Embedded Signup ids handed to the browser in sandbox mode. They look like Meta's ids
/// (digits) so that any validation in the browser accepts them, and they are obviously fake.
pub const SANDBOX_APP_ID: &str = "100000000000001";
/// See [`SANDBOX_APP_ID`].
pub const SANDBOX_CONFIG_ID: &str = "200000000000002";
/// See [`SANDBOX_APP_ID`].
pub const SANDBOX_SOLUTION_ID: &str = "300000000000003";

/// True when the command line asks for the usage text.
pub fn wants_help() -> bool {
    std::env::args().skip(1).any(|a| a == "--help" || a == "-h")
}

/// True when the command line asks for the version.
pub fn wants_version() -> bool {
    std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
}

/// The proxy's version, as `--version` and `/healthz` report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A start-up setting that could not be used. Displays as `VARIABLE: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable (or command-line flag) at fault.
    pub var: &'static str,
    /// What is wrong with it, quoting the value unless it is a secret.
    pub message: String,
}

impl ConfigError {
    fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

/// Which YCloud the proxy talks to.
#[derive(Debug, Clone)]
pub enum YCloudMode {
    /// `SANDBOX=true` or `--sandbox`: the in-process fake answers (see `sandbox.rs`).
    Sandbox,
    /// `WHATSAPP_PROVIDER=meta` in live mode: YCloud is not called.
    Unused,
    /// The real API (or whatever `YCLOUD_BASE_URL` points at).
    Live {
        /// `X-API-Key`; `SecretString`'s Debug prints `[REDACTED]`.
        api_key: SecretString,
        /// e.g. `https://api.ycloud.com/v2` (no trailing slash).
        base_url: Url,
    },
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `text`: one readable line per event, coloured only when stderr is a terminal.
    #[default]
    Text,
    /// `json`: one JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    fn parse(value: &str) -> Result<Self, ConfigError> {
        match value {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(ConfigError::new(
                "LOG_FORMAT",
                format!("expected text or json, got {other:?}"),
            )),
        }
    }
}

/// `HEALTH_POLL_SECS` when unset: every six hours.
pub const DEFAULT_HEALTH_POLL_SECS: u64 = 21_600;
/// Longest `HEALTH_POLL_SECS` accepted: a week.
pub const MAX_HEALTH_POLL_SECS: u64 = 604_800;

/// How the YCloud client times out and retries. Tests shorten these.
#[derive(Debug, Clone)]
pub struct UpstreamTuning {
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// Calls per operation at most, first one included, where a retry is allowed at all.
    pub max_attempts: u32,
    /// First backoff; doubled after each retry.
    pub base_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the step fails with a retry hint.
    pub max_retry_after: Duration,
    /// How often a `pending` number is polled until it is `CONNECTED`.
    pub poll_interval: Duration,
    /// How long a number is polled before the follower gives up (the webhook takes over).
    pub poll_for: Duration,
    /// Sandbox only: how long after register/smb-bind the fake number turns `CONNECTED`.
    pub sandbox_connect_after: Duration,
    /// How long an instance's lease on an onboarding lasts unless renewed (it is renewed
    /// every third of it), and how often expired leases are swept for. Longer than a
    /// stalled instance may pause; short enough that a crashed instance's onboardings do
    /// not wait long.
    pub lease_for: Duration,
    /// After a restart (and at each sweep for expired leases), the time between two resumed
    /// onboardings' starts (`RESUME_PER_SECOND`): a restart with thousands of pending
    /// onboardings resumes them at this pace, not in one burst towards the provider.
    pub resume_pace: Duration,
    /// How often each connected number's health is read (`HEALTH_POLL_SECS`, jittered by a
    /// tenth); `None`: never (tests about other things, whose fakes count their calls).
    pub health_every: Option<Duration>,
    /// The time between two health reads of this process (`HEALTH_PER_SECOND`), so a
    /// restart with thousands of connected numbers never bursts towards the provider.
    pub health_pace: Duration,
    /// Largest answer read from an upstream; a longer one is a failed call, so a broken or
    /// hostile upstream cannot make the proxy buffer without bound.
    pub max_body_bytes: usize,
}

impl UpstreamTuning {
    /// The HTTP client every upstream (YCloud, the Graph API) uses: these timeouts, the
    /// proxy's user agent, and no redirects followed (a redirect would carry the API key or
    /// the app secret to wherever it points).
    ///
    /// # Errors
    /// When the client cannot be built (TLS backend failure).
    pub fn http_client(&self) -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wa-signup-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())
    }
}

impl Default for UpstreamTuning {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_attempts: 3,
            base_backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(10),
            poll_interval: Duration::from_secs(5),
            poll_for: Duration::from_secs(15 * 60),
            sandbox_connect_after: Duration::from_secs(3),
            lease_for: Duration::from_secs(30),
            resume_pace: Duration::from_millis(50),
            health_every: Some(Duration::from_secs(DEFAULT_HEALTH_POLL_SECS)),
            health_pace: Duration::from_millis(200),
            max_body_bytes: MAX_UPSTREAM_BODY_BYTES,
        }
    }
}

/// What clients may ask of the proxy (docs/API.md, "Limits"), each from its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// `HEADER_READ_TIMEOUT_SECS`: a connection that has not sent a whole request head by
    /// then (a first one, or the next on a kept-alive connection) is closed.
    pub header_read_timeout: Duration,
    /// `BODY_READ_TIMEOUT_SECS`: a request whose whole body has not arrived by then (counted
    /// from when its handling starts) is answered `408 body_timeout`, freeing its place.
    pub body_read_timeout: Duration,
    /// `REQUEST_TIMEOUT_SECS`: a request not answered by then is answered `503
    /// request_timeout` (body reading included; event streams excepted).
    pub request_timeout: Duration,
    /// `MAX_CONCURRENT_REQUESTS`: requests handled at once; more are answered `503
    /// overloaded` at once rather than queued.
    pub max_concurrent_requests: usize,
    /// `RATE_LIMIT_PER_MINUTE`: sign-ups (`POST /api/onboardings`), retries and PINs one client
    /// may send per minute, each route counted apart; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// `RATE_LIMIT_BURST`: how many of those may come at once before the rate applies.
    pub rate_limit_burst: u32,
    /// `TRUST_PROXY_HEADERS`: the client is the address the reverse proxy in front appended
    /// to `X-Forwarded-For`, not the connection's peer (which is that proxy).
    pub trust_proxy_headers: bool,
    /// `REQUESTS_IN_FLIGHT_PER_CLIENT`: requests one client may have in flight at once
    /// (health and metrics aside); one more is answered `429 rate_limited` at once.
    pub requests_in_flight_per_client: usize,
    /// `EVENT_STREAMS_PER_CLIENT`: event streams one client may hold open at once.
    pub event_streams_per_client: usize,
    /// `EVENT_STREAMS_MAX`: event streams open at once in all; one more is answered `503
    /// overloaded`.
    pub event_streams_max: usize,
    /// `EVENT_STREAM_MAX_SECS`: how long one event stream stays open at most (the browser's
    /// `EventSource` reconnects).
    pub event_stream_lifetime: Duration,
    /// `RETRY_COOLDOWN_SECS`: the least time between two retries of one onboarding; 0: none.
    pub retry_cooldown: Duration,
    /// `WEBHOOK_EVENT_RETENTION_DAYS`: how long received webhook events are kept (to
    /// recognise YCloud's retries), in days.
    pub webhook_event_retention: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_concurrent_requests: 512,
            rate_limit_per_minute: 60,
            rate_limit_burst: 20,
            trust_proxy_headers: false,
            requests_in_flight_per_client: 64,
            event_streams_per_client: 20,
            event_streams_max: 2000,
            event_stream_lifetime: Duration::from_secs(10 * 60),
            retry_cooldown: Duration::from_secs(10),
            webhook_event_retention: Duration::from_secs(30 * DAY_SECS),
        }
    }
}

impl LimitSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        // Each bound is far below its type's maximum, so the conversions below never clamp.
        let number = |var: &'static str, default: u64, min: u64, max: u64| {
            get(var).map_or(Ok(default), |v| parse_whole(var, &v, min, max))
        };
        let secs = |var: &'static str, default: Duration, max: u64| {
            number(var, default.as_secs(), 1, max).map(Duration::from_secs)
        };
        let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Self {
            header_read_timeout: secs("HEADER_READ_TIMEOUT_SECS", d.header_read_timeout, 3600)?,
            body_read_timeout: secs("BODY_READ_TIMEOUT_SECS", d.body_read_timeout, 3600)?,
            request_timeout: secs("REQUEST_TIMEOUT_SECS", d.request_timeout, 3600)?,
            max_concurrent_requests: count(number(
                "MAX_CONCURRENT_REQUESTS",
                d.max_concurrent_requests as u64,
                1,
                1_000_000,
            )?),
            rate_limit_per_minute: small(number(
                "RATE_LIMIT_PER_MINUTE",
                d.rate_limit_per_minute.into(),
                0,
                60_000,
            )?),
            rate_limit_burst: small(number(
                "RATE_LIMIT_BURST",
                d.rate_limit_burst.into(),
                1,
                100_000,
            )?),
            requests_in_flight_per_client: count(number(
                "REQUESTS_IN_FLIGHT_PER_CLIENT",
                d.requests_in_flight_per_client as u64,
                1,
                1_000_000,
            )?),
            event_streams_per_client: count(number(
                "EVENT_STREAMS_PER_CLIENT",
                d.event_streams_per_client as u64,
                1,
                100_000,
            )?),
            event_streams_max: count(number(
                "EVENT_STREAMS_MAX",
                d.event_streams_max as u64,
                1,
                1_000_000,
            )?),
            event_stream_lifetime: secs("EVENT_STREAM_MAX_SECS", d.event_stream_lifetime, 86_400)?,
            retry_cooldown: number("RETRY_COOLDOWN_SECS", d.retry_cooldown.as_secs(), 0, 3600)
                .map(Duration::from_secs)?,
            webhook_event_retention: number(
                "WEBHOOK_EVENT_RETENTION_DAYS",
                d.webhook_event_retention.as_secs() / DAY_SECS,
                1,
                3650,
            )
            .map(|days| Duration::from_secs(days * DAY_SECS))?,
            trust_proxy_headers: get("TRUST_PROXY_HEADERS")
                .map_or(Ok(d.trust_proxy_headers), |v| {
                    parse_bool("TRUST_PROXY_HEADERS", &v)
                })?,
        })
    }
}

const DAY_SECS: u64 = 24 * 60 * 60;

/// `METRICS_TOKEN`: at least 16 printable characters, none a space (sent as a bearer token).
fn parse_metrics_token(value: Option<String>) -> Result<Option<SecretString>, ConfigError> {
    let Some(token) = value else {
        return Ok(None);
    };
    if token.len() < 16 || !token.chars().all(|c| c.is_ascii_graphic()) {
        // Never quote a secret.
        return Err(ConfigError::new(
            "METRICS_TOKEN",
            "expected at least 16 printable ASCII characters without spaces (value not shown)",
        ));
    }
    Ok(Some(SecretString::from(token)))
}

/// A whole number from `min` to `max`.
fn parse_whole(var: &'static str, value: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ConfigError::new(
                var,
                format!("expected a whole number from {min} to {max}, got {value:?}"),
            )
        })
}

/// Everything the proxy is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address (`ADDR`, overridden by `--addr`).
    pub addr: SocketAddr,
    /// Real YCloud or the sandbox.
    pub ycloud: YCloudMode,
    /// `YCLOUD_WEBHOOK_SECRET`; none: webhooks are refused with 503.
    pub webhook_secret: Option<SecretString>,
    /// `FB_APP_ID`.
    pub fb_app_id: String,
    /// `FB_CONFIG_ID`.
    pub fb_config_id: String,
    /// `FB_SOLUTION_ID`.
    pub fb_solution_id: String,
    /// `FB_GRAPH_VERSION`, e.g. `v26.0`.
    pub graph_version: String,
    /// `FB_ES_VERSION`: the Embedded Signup version the launch button asks for.
    pub es_version: EsVersion,
    /// `FB_SDK_URL`: an absolute URL or a path on this server.
    pub sdk_url: String,
    /// `FB_APP_SECRET`; none: ownership verification is off.
    pub fb_app_secret: Option<SecretString>,
    /// `GRAPH_BASE_URL`.
    pub graph_base_url: Url,
    /// `DATABASE_URL` (`sqlite:` or `postgres:`).
    pub database_url: String,
    /// `ALLOWED_ORIGINS`, each `scheme://host[:port]`; empty: same origin only.
    pub allowed_origins: Vec<String>,
    /// `FRAME_ANCESTORS`, CSP sources: `'self'`, `'none'` or `scheme://host[:port]` origins.
    pub frame_ancestors: Vec<String>,
    /// `DIST_DIR`.
    pub dist_dir: PathBuf,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// Sandbox mode with `YCLOUD_API_KEY` set: the key is not used (start-up says so).
    pub sandbox_ignores_api_key: bool,
    /// `ALLOW_UNVERIFIED_ONBOARDINGS=true` in live mode without `FB_APP_SECRET` (start-up
    /// warns loudly).
    pub allow_unverified_onboardings: bool,
    /// Timeouts and retries: defaults, `UPSTREAM_TIMEOUT_SECS` for the per-request timeout,
    /// the rest shortened by tests only.
    pub upstream: UpstreamTuning,
    /// What one client, or all of them together, may ask of the proxy.
    pub limits: LimitSettings,
    /// `METRICS_TOKEN`: the bearer token `GET /metrics` asks for; none: it is open.
    pub metrics_token: Option<SecretString>,
    /// `PUBLIC_URL`: where customers reach this proxy (session links start with it).
    pub public_url: Url,
    /// `REDIRECT_FLOW`: the full-page sign-in is offered (`/api/oauth/start`,
    /// `/oauth/callback`).
    pub redirect_flow: bool,
    /// `PARTNER_API_KEYS`; empty: the partner API answers 503.
    pub partner_api_keys: Vec<SecretString>,
    /// `PARTNER_WEBHOOK_URL` and `PARTNER_WEBHOOK_SECRET`; none: events are only listed.
    pub partner_webhook: Option<PartnerWebhook>,
    /// `ALLOW_ANONYMOUS_ONBOARDINGS=true`: live mode accepts onboardings without a session.
    pub allow_anonymous_onboardings: bool,
    /// `PARTNER_NAME`: shown to customers; none: sentences name no partner.
    pub partner_name: Option<String>,
    /// How the partner's webhooks are retried (defaults; shortened by tests).
    pub outbox: OutboxTuning,
    /// `WHATSAPP_PROVIDER` and the Meta provider's settings.
    pub provider: ProviderSettings,
}

/// Where and how events are delivered to the partner's backend.
#[derive(Debug, Clone)]
pub struct PartnerWebhook {
    /// `PARTNER_WEBHOOK_URL`.
    pub url: Url,
    /// `PARTNER_WEBHOOK_SECRET` as given (`whsec_` + base64 of at least 24 bytes).
    pub secret: SecretString,
}

/// Shortest decoded webhook secret accepted, in bytes.
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 24;
/// Shortest partner API key accepted, in characters.
pub const MIN_PARTNER_KEY_CHARS: usize = 32;

/// The outbox's delivery schedule.
#[derive(Debug, Clone)]
pub struct OutboxTuning {
    /// Wait before each retry: the n-th entry follows the n-th failed attempt. One attempt
    /// more than entries is made in all; after the last failure the event is `failed`.
    pub retry_delays: Vec<Duration>,
    /// Per-attempt timeout (connect included).
    pub attempt_timeout: Duration,
    /// How often the deliverer looks for due events when nothing woke it.
    pub poll_interval: Duration,
    /// How long a deliverer holds an event it is posting before another may take it.
    pub lease: Duration,
}

impl Default for OutboxTuning {
    fn default() -> Self {
        // The Standard Webhooks schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h:
        // 8 attempts over 27.6 hours.
        let secs = Duration::from_secs;
        Self {
            retry_delays: vec![
                secs(5),
                secs(5 * 60),
                secs(30 * 60),
                secs(2 * 3600),
                secs(5 * 3600),
                secs(10 * 3600),
                secs(10 * 3600),
            ],
            attempt_timeout: secs(10),
            poll_interval: secs(1),
            lease: secs(60),
        }
    }
}

impl Settings {
    /// True when `POST /api/onboardings` needs a session: live mode, and a sandbox with
    /// `PARTNER_API_KEYS` (a partner trying its integration gets what live mode does),
    /// unless `ALLOW_ANONYMOUS_ONBOARDINGS=true`.
    pub fn sessions_required(&self) -> bool {
        (!self.is_sandbox() || !self.partner_api_keys.is_empty())
            && !self.allow_anonymous_onboardings
    }

    /// True in sandbox mode (`SANDBOX=true` or `--sandbox`).
    pub fn is_sandbox(&self) -> bool {
        matches!(self.ycloud, YCloudMode::Sandbox)
    }

    /// Reads `.env` (if present), the process environment and the command line.
    ///
    /// # Errors
    /// The first bad value, naming its variable.
    pub fn from_env_and_args() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is worth stopping for.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError::new("DOTENV", format!("cannot read .env: {e}"))),
        }
        let args: Vec<String> = std::env::args().skip(1).collect();
        let flags = parse_args(&args)?;
        Self::from_lookup_and_flags(|name: &str| std::env::var(name).ok(), &flags)
    }

    /// Builds the settings from a variable lookup (the environment, or a map in tests).
    /// Empty values count as unset, so `FOO=` in a `.env` file means "the default".
    ///
    /// # Errors
    /// The first bad value, naming its variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup_and_flags(lookup, &Flags::default())
    }

    /// [`Settings::from_lookup`] with the command-line flags, which win over the variables.
    ///
    /// # Errors
    /// The first bad value, naming its variable (or flag).
    pub fn from_lookup_and_flags(
        lookup: impl Fn(&str) -> Option<String>,
        flags: &Flags,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            // The docs, --help and .env.example come from one table: nothing read outside it.
            debug_assert!(
                vars::is_known(name),
                "{name} is read but not listed in proxy/src/config/vars.rs"
            );
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let flag = |name: &'static str| -> Result<bool, ConfigError> {
            get(name).map_or(Ok(false), |v| parse_bool(name, &v))
        };

        let addr = match &flags.addr {
            Some(addr) => parse_addr("--addr", addr)?,
            None => parse_addr(
                "ADDR",
                &get("ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            )?,
        };
        // Sandbox mode answers fake successes: only ever on request, and only where nobody
        // else can reach it unless that is asked for too.
        let sandbox = flags.sandbox || flag("SANDBOX")?;
        if sandbox && !addr.ip().is_loopback() && !flag("SANDBOX_ALLOW_PUBLIC")? {
            return Err(ConfigError::new(
                "SANDBOX",
                format!(
                    "refused on the non-loopback ADDR {addr} (anyone reaching it would get \
                     fake successes); listen on 127.0.0.1 or set SANDBOX_ALLOW_PUBLIC=true"
                ),
            ));
        }

        let provider = provider::parse(&get, sandbox)?;

        let base_url = parse_upstream_url(
            "YCLOUD_BASE_URL",
            &get("YCLOUD_BASE_URL").unwrap_or_else(|| DEFAULT_YCLOUD_BASE_URL.to_owned()),
        )?;
        let api_key = get("YCLOUD_API_KEY");
        let sandbox_ignores_api_key = sandbox && api_key.is_some();
        let ycloud = match api_key {
            _ if sandbox => YCloudMode::Sandbox,
            _ if provider.provider == WhatsappProvider::Meta => YCloudMode::Unused,
            None => {
                return Err(ConfigError::new(
                    "YCLOUD_API_KEY",
                    "required (or run the simulated sandbox with SANDBOX=true or --sandbox)",
                ))
            }
            Some(key) => {
                // Never quote the key: say what is wrong without showing it.
                if !key.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(ConfigError::new(
                        "YCLOUD_API_KEY",
                        "holds spaces or non-ASCII characters (value not shown)",
                    ));
                }
                YCloudMode::Live {
                    api_key: SecretString::from(key),
                    base_url,
                }
            }
        };

        let fb_id = |var: &'static str, sandbox_value: &str| -> Result<String, ConfigError> {
            match get(var) {
                Some(v)
                    if v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    Ok(v)
                }
                Some(v) => Err(ConfigError::new(var, format!("not an id: {v:?}"))),
                None if sandbox => Ok(sandbox_value.to_owned()),
                // Without these the browser cannot open Embedded Signup at all.
                None => Err(ConfigError::new(var, "required in live mode")),
            }
        };
        let fb_app_id = fb_id("FB_APP_ID", SANDBOX_APP_ID)?;
        let fb_config_id = fb_id("FB_CONFIG_ID", SANDBOX_CONFIG_ID)?;
        // A YCloud partner solution's id; a Tech Provider onboarding through its own app
        // (the `meta` provider) has none, and the launch then sends `setup: {}`.
        let fb_solution_id = match provider.provider {
            WhatsappProvider::Meta if !sandbox && get("FB_SOLUTION_ID").is_none() => String::new(),
            _ => fb_id("FB_SOLUTION_ID", SANDBOX_SOLUTION_ID)?,
        };

        let graph_version =
            get("FB_GRAPH_VERSION").unwrap_or_else(|| DEFAULT_GRAPH_VERSION.to_owned());
        if !is_graph_version(&graph_version) {
            return Err(ConfigError::new(
                "FB_GRAPH_VERSION",
                format!("expected a version like v26.0, got {graph_version:?}"),
            ));
        }
        let es_version = match get("FB_ES_VERSION") {
            None => EsVersion::default(),
            // A retired version still "works" at Meta, but as a standard sign-up whatever
            // the button: refused, so a coexistence customer is never quietly registered.
            Some(v) if wire::RETIRED_ES_VERSIONS.contains(&v.as_str()) => {
                return Err(ConfigError::new(
                    "FB_ES_VERSION",
                    format!(
                        "Embedded Signup {v} was retired by Meta on {}; use v4 or \
                         v4-public-preview",
                        wire::ES_RETIRED_ON
                    ),
                ))
            }
            Some(v) => v
                .parse()
                .map_err(|e| ConfigError::new("FB_ES_VERSION", format!("{e}, got {v:?}")))?,
        };

        let sdk_url = match get("FB_SDK_URL") {
            None if sandbox => SANDBOX_FB_SDK_URL.to_owned(),
            None => DEFAULT_FB_SDK_URL.to_owned(),
            Some(v) if v.starts_with('/') && !v.starts_with("//") => v,
            Some(v) => {
                let url = parse_http_url("FB_SDK_URL", &v)?;
                // In live mode the page runs this script: nobody on the way may swap it.
                if !sandbox && url.scheme() != "https" && !is_loopback_url(&url) {
                    return Err(ConfigError::new(
                        "FB_SDK_URL",
                        format!("must be https in live mode (plain http only on a loopback address), got {url}"),
                    ));
                }
                url.to_string()
            }
        };

        let graph_base_url = parse_upstream_url(
            "GRAPH_BASE_URL",
            &get("GRAPH_BASE_URL").unwrap_or_else(|| DEFAULT_GRAPH_BASE_URL.to_owned()),
        )?;

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let scheme = database_url.split(':').next().unwrap_or_default();
        if !matches!(scheme, "sqlite" | "postgres" | "postgresql") || !database_url.contains(':') {
            return Err(ConfigError::new(
                "DATABASE_URL",
                format!(
                    "unknown scheme (expected sqlite: or postgres:) in {:?}",
                    redact_url(&database_url)
                ),
            ));
        }

        let allowed_origins = match get("ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|o| parse_origin("ALLOWED_ORIGINS", o))
                .collect::<Result<_, _>>()?,
        };
        let frame_ancestors = match get("FRAME_ANCESTORS") {
            None => vec!["'self'".to_owned()],
            Some(list) => parse_frame_ancestors(&list)?,
        };

        let dist_dir =
            PathBuf::from(get("DIST_DIR").unwrap_or_else(|| DEFAULT_DIST_DIR.to_owned()));

        let log_format = get("LOG_FORMAT")
            .map(|v| LogFormat::parse(&v))
            .transpose()?
            .unwrap_or_default();

        let fb_app_secret = get("FB_APP_SECRET").map(SecretString::from);
        let allow_unverified_onboardings =
            !sandbox && fb_app_secret.is_none() && flag("ALLOW_UNVERIFIED_ONBOARDINGS")?;
        if !sandbox && fb_app_secret.is_none() && !allow_unverified_onboardings {
            return Err(ConfigError::new(
                "FB_APP_SECRET",
                "required in live mode to verify WABA ownership (set \
                 ALLOW_UNVERIFIED_ONBOARDINGS=true to run without verification)",
            ));
        }

        let public_url = match get("PUBLIC_URL") {
            None => parse_http_url("ADDR", &format!("http://{addr}"))?,
            Some(v) => {
                let url = parse_http_url("PUBLIC_URL", &v)?;
                // Session links carry their token: in live mode never over plain http.
                if !sandbox && url.scheme() != "https" && !is_loopback_url(&url) {
                    return Err(ConfigError::new(
                        "PUBLIC_URL",
                        format!("must be https in live mode (plain http only on a loopback address), got {url}"),
                    ));
                }
                url
            }
        };
        let partner_api_keys = match get("PARTNER_API_KEYS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .enumerate()
                .map(|(i, k)| {
                    // Never quote a key: say which one is wrong and why.
                    if k.chars().count() < MIN_PARTNER_KEY_CHARS || !k.chars().all(|c| c.is_ascii_graphic()) {
                        Err(ConfigError::new(
                            "PARTNER_API_KEYS",
                            format!(
                                "key {} must be at least {MIN_PARTNER_KEY_CHARS} printable ASCII characters without spaces (value not shown)",
                                i + 1
                            ),
                        ))
                    } else {
                        Ok(SecretString::from(k.to_owned()))
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        let partner_webhook = match (get("PARTNER_WEBHOOK_URL"), get("PARTNER_WEBHOOK_SECRET")) {
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::new(
                "PARTNER_WEBHOOK_SECRET",
                "required with PARTNER_WEBHOOK_URL (the partner verifies each delivery with it)",
            )),
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "PARTNER_WEBHOOK_URL",
                    "required with PARTNER_WEBHOOK_SECRET",
                ))
            }
            (Some(url), Some(secret)) => {
                let url = parse_http_url("PARTNER_WEBHOOK_URL", &url)?;
                if url.scheme() != "https" && !is_loopback_url(&url) {
                    return Err(ConfigError::new(
                        "PARTNER_WEBHOOK_URL",
                        format!("must be https (plain http only to a loopback address), got {url}"),
                    ));
                }
                check_webhook_secret(&secret)?;
                Some(PartnerWebhook {
                    url,
                    secret: SecretString::from(secret),
                })
            }
        };
        let partner_name = match get("PARTNER_NAME") {
            None => None,
            Some(name) if name.chars().count() <= 128 && !name.chars().any(char::is_control) => {
                Some(name)
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "PARTNER_NAME",
                    "must be 1 to 128 characters without control characters",
                ))
            }
        };
        let allow_anonymous_onboardings = flag("ALLOW_ANONYMOUS_ONBOARDINGS")?;
        let redirect_flow = redirect_flow(get("REDIRECT_FLOW"), sandbox, fb_app_secret.is_some())?;
        let mut upstream = UpstreamTuning::default();
        if let Some(v) = get("ONBOARDING_LEASE_SECS") {
            upstream.lease_for = match v.parse::<u64>() {
                Ok(n) if (1..=3600).contains(&n) => Duration::from_secs(n),
                _ => {
                    return Err(ConfigError::new(
                        "ONBOARDING_LEASE_SECS",
                        format!("expected whole seconds from 1 to 3600, got {v:?}"),
                    ))
                }
            };
        }
        if let Some(v) = get("RESUME_PER_SECOND") {
            upstream.resume_pace = match v.parse::<u32>() {
                Ok(n) if (1..=10_000).contains(&n) => Duration::from_secs(1) / n,
                _ => {
                    return Err(ConfigError::new(
                        "RESUME_PER_SECOND",
                        format!("expected a whole number from 1 to 10000, got {v:?}"),
                    ))
                }
            };
        }
        if let Some(v) = get("HEALTH_POLL_SECS") {
            upstream.health_every = match v.parse::<u64>() {
                Ok(n) if (1..=MAX_HEALTH_POLL_SECS).contains(&n) => Some(Duration::from_secs(n)),
                _ => {
                    return Err(ConfigError::new(
                        "HEALTH_POLL_SECS",
                        format!(
                            "expected a whole number from 1 to {MAX_HEALTH_POLL_SECS}, got {v:?}"
                        ),
                    ))
                }
            };
        }
        if let Some(v) = get("HEALTH_PER_SECOND") {
            upstream.health_pace = match v.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => Duration::from_secs(1) / n,
                _ => {
                    return Err(ConfigError::new(
                        "HEALTH_PER_SECOND",
                        format!("expected a whole number from 1 to 1000, got {v:?}"),
                    ))
                }
            };
        }
        if let Some(v) = get("UPSTREAM_TIMEOUT_SECS") {
            upstream.request_timeout = match v.parse::<u64>() {
                Ok(n) if (1..=300).contains(&n) => Duration::from_secs(n),
                _ => {
                    return Err(ConfigError::new(
                        "UPSTREAM_TIMEOUT_SECS",
                        format!("expected whole seconds from 1 to 300, got {v:?}"),
                    ))
                }
            };
        }

        Ok(Settings {
            addr,
            ycloud,
            webhook_secret: get("YCLOUD_WEBHOOK_SECRET").map(SecretString::from),
            fb_app_id,
            fb_config_id,
            fb_solution_id,
            graph_version,
            es_version,
            sdk_url,
            fb_app_secret,
            graph_base_url,
            database_url,
            allowed_origins,
            frame_ancestors,
            dist_dir,
            log_format,
            sandbox_ignores_api_key,
            allow_unverified_onboardings,
            upstream,
            public_url,
            partner_api_keys,
            partner_webhook,
            allow_anonymous_onboardings,
            partner_name,
            outbox: OutboxTuning::default(),
            provider,
            limits: LimitSettings::from_lookup(&get)?,
            metrics_token: parse_metrics_token(get("METRICS_TOKEN"))?,
            redirect_flow,
        })
    }
}

/// `REDIRECT_FLOW`: whether the full-page sign-in is offered. Unset, it is on wherever it can
/// work: sandbox mode, or live with `FB_APP_SECRET` (the proxy exchanges Meta's code itself).
/// Meta redirects only to https (or to this machine), which live mode already demands of
/// `PUBLIC_URL`. Asked for explicitly (`true`) where it cannot work, start-up stops naming
/// what is missing; a live proxy that does not ask for it is never refused because of it.
fn redirect_flow(
    value: Option<String>,
    sandbox: bool,
    has_app_secret: bool,
) -> Result<bool, ConfigError> {
    match value {
        None => Ok(sandbox || has_app_secret),
        Some(v) => {
            let on = parse_bool("REDIRECT_FLOW", &v)?;
            if on && !sandbox && !has_app_secret {
                return Err(ConfigError::new(
                    "REDIRECT_FLOW",
                    "true needs FB_APP_SECRET: the redirect flow exchanges Meta's code itself",
                ));
            }
            Ok(on)
        }
    }
}

/// The command-line flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--addr HOST:PORT` or `--addr=HOST:PORT`: overrides `ADDR`.
    pub addr: Option<String>,
    /// `--sandbox`: same as `SANDBOX=true`.
    pub sandbox: bool,
}

/// Parses `--addr HOST:PORT`, `--addr=HOST:PORT` and `--sandbox`.
///
/// # Errors
/// An unknown argument or `--addr` without a value.
pub fn parse_args(args: &[String]) -> Result<Flags, ConfigError> {
    let mut flags = Flags::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--sandbox" {
            flags.sandbox = true;
        } else if arg == "--addr" {
            match it.next() {
                Some(v) => flags.addr = Some(v.clone()),
                None => {
                    return Err(ConfigError::new(
                        "--addr",
                        "expects an address, e.g. 127.0.0.1:8080",
                    ))
                }
            }
        } else if let Some(v) = arg.strip_prefix("--addr=") {
            flags.addr = Some(v.to_owned());
        } else {
            return Err(ConfigError::new(
                "arguments",
                format!(
                    "unknown argument {arg:?} (only --addr and --sandbox are accepted; see --help)"
                ),
            ));
        }
    }
    Ok(flags)
}

fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::new(
            var,
            format!("expected true or false, got {value:?}"),
        )),
    }
}

fn parse_addr(var: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value
        .parse()
        .map_err(|_| ConfigError::new(var, format!("invalid socket address {value:?}")))
}

fn parse_http_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(value)
        .map_err(|e| ConfigError::new(var, format!("invalid URL {value:?} ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::new(
            var,
            format!("expected an http(s) URL, got {value:?}"),
        ));
    }
    // Paths are joined by segment later; a trailing slash would double up.
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// An upstream's base: it receives the API key or the app secret, so plain `http://` is
/// refused unless the host is this machine (tests, a local fake).
fn parse_upstream_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = parse_http_url(var, value)?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        return Err(ConfigError::new(
            var,
            format!(
                "expected an https URL, got {value:?} (http is accepted only for 127.0.0.1, \
                 ::1 or localhost)"
            ),
        ));
    }
    Ok(url)
}

/// `FRAME_ANCESTORS`: `'self'` and `'none'` (quotes optional) or origins, separated by commas;
/// `'none'` stands alone. An empty list means the default, `'self'`.
fn parse_frame_ancestors(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut sources = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let source = match item.trim_matches('\'') {
            k if k.eq_ignore_ascii_case("self") => "'self'".to_owned(),
            k if k.eq_ignore_ascii_case("none") => "'none'".to_owned(),
            _ => parse_origin("FRAME_ANCESTORS", item)?,
        };
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    if sources.len() > 1 && sources.iter().any(|s| s == "'none'") {
        return Err(ConfigError::new(
            "FRAME_ANCESTORS",
            "'none' cannot be combined with other sources".to_owned(),
        ));
    }
    if sources.is_empty() {
        sources.push("'self'".to_owned());
    }
    Ok(sources)
}

fn parse_origin(var: &'static str, value: &str) -> Result<String, ConfigError> {
    let url = Url::parse(value)
        .map_err(|_| ConfigError::new(var, format!("invalid origin {value:?}")))?;
    let bare = matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
        return Err(ConfigError::new(
            var,
            format!("expected an origin like https://example.com, got {value:?}"),
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// `http://` is accepted only towards the machine itself.
fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `whsec_` followed by the base64 of at least [`MIN_WEBHOOK_SECRET_BYTES`] bytes.
fn check_webhook_secret(secret: &str) -> Result<(), ConfigError> {
    use base64::Engine as _;
    let bad = |why: &str| {
        Err(ConfigError::new(
            "PARTNER_WEBHOOK_SECRET",
            format!("{why} (value not shown); e.g. whsec_ followed by `openssl rand -base64 32`"),
        ))
    };
    let Some(b64) = secret.strip_prefix("whsec_") else {
        return bad("must start with whsec_");
    };
    match base64::engine::general_purpose::STANDARD.decode(b64) {
        Ok(key) if key.len() >= MIN_WEBHOOK_SECRET_BYTES => Ok(()),
        Ok(_) => bad("must hold at least 24 random bytes"),
        Err(_) => bad("the part after whsec_ must be base64"),
    }
}

fn is_graph_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let (Some(major), Some(minor), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    [major, minor]
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A database URL with any password removed, for messages.
fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl fmt::Display for YCloudMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YCloudMode::Sandbox => f.write_str("sandbox mode"),
            YCloudMode::Unused => f.write_str("Meta's Cloud API directly"),
            YCloudMode::Live { base_url, .. } => write!(f, "YCloud at {base_url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    /// [`settings`] with `SANDBOX=true` first (the variables may override it).
    fn sandboxed(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut all = vec![("SANDBOX", "true")];
        all.extend_from_slice(vars);
        settings(&all)
    }

    const LIVE: [(&str, &str); 5] = [
        ("YCLOUD_API_KEY", "k"),
        ("FB_APP_ID", "1"),
        ("FB_CONFIG_ID", "2"),
        ("FB_SOLUTION_ID", "3"),
        ("FB_APP_SECRET", "s"),
    ];

    fn live(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut all = LIVE.to_vec();
        all.extend_from_slice(vars);
        settings(&all)
    }

    #[test]
    fn the_redirect_flow_is_refused_only_when_asked_for_where_it_cannot_work() {
        // Unset: on where it can work, off elsewhere, never an error.
        assert!(sandboxed(&[]).unwrap().redirect_flow);
        assert!(
            live(&[]).unwrap().redirect_flow,
            "loopback PUBLIC_URL, app secret"
        );
        assert!(
            live(&[("PUBLIC_URL", "https://signup.example.com")])
                .unwrap()
                .redirect_flow
        );
        let unverified = settings(&[
            ("YCLOUD_API_KEY", "k"),
            ("FB_APP_ID", "1"),
            ("FB_CONFIG_ID", "2"),
            ("FB_SOLUTION_ID", "3"),
            ("ALLOW_UNVERIFIED_ONBOARDINGS", "true"),
        ])
        .unwrap();
        assert!(!unverified.redirect_flow, "no app secret: no code exchange");
        // Asked for where it cannot work: start-up stops, naming the variable.
        let e = settings(&[
            ("YCLOUD_API_KEY", "k"),
            ("FB_APP_ID", "1"),
            ("FB_CONFIG_ID", "2"),
            ("FB_SOLUTION_ID", "3"),
            ("ALLOW_UNVERIFIED_ONBOARDINGS", "true"),
            ("REDIRECT_FLOW", "true"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "REDIRECT_FLOW");
        assert_eq!(
            live(&[("REDIRECT_FLOW", "maybe")]).unwrap_err().var,
            "REDIRECT_FLOW"
        );
        assert!(!live(&[("REDIRECT_FLOW", "false")]).unwrap().redirect_flow);
    }

    #[test]
    fn sandbox_defaults() {
        let s = sandboxed(&[]).unwrap();
        assert!(s.is_sandbox());
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.sdk_url, SANDBOX_FB_SDK_URL);
        assert_eq!(s.fb_app_id, SANDBOX_APP_ID);
        assert_eq!(s.graph_version, DEFAULT_GRAPH_VERSION);
        assert_eq!(s.es_version, EsVersion::V4);
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert!(s.allowed_origins.is_empty());
    }

    #[test]
    fn live_mode_needs_the_embedded_signup_ids() {
        let err = settings(&[("YCLOUD_API_KEY", "k")]).unwrap_err();
        assert_eq!(err.var, "FB_APP_ID");
        let s = live(&[]).unwrap();
        assert!(!s.is_sandbox());
        assert!(!s.allow_unverified_onboardings);
        assert_eq!(s.sdk_url, DEFAULT_FB_SDK_URL);
    }

    #[test]
    fn partner_settings_are_checked_without_showing_secrets() {
        let s = live(&[]).unwrap();
        assert!(s.sessions_required(), "live mode needs sessions by default");
        assert!(s.partner_api_keys.is_empty());
        assert!(s.partner_webhook.is_none());
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:8080/");
        assert!(!live(&[("ALLOW_ANONYMOUS_ONBOARDINGS", "true")])
            .unwrap()
            .sessions_required());
        assert!(!sandboxed(&[]).unwrap().sessions_required());
        // A sandbox with partner keys is a partner's rehearsal of live mode.
        let keyed = [("PARTNER_API_KEYS", "k".repeat(32))];
        let keyed: Vec<(&str, &str)> = keyed.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert!(sandboxed(&keyed).unwrap().sessions_required());
        let mut open = keyed.clone();
        open.push(("ALLOW_ANONYMOUS_ONBOARDINGS", "true"));
        assert!(!sandboxed(&open).unwrap().sessions_required());

        let key = "k".repeat(32);
        let two = format!("{key}, {}", "j".repeat(40));
        assert_eq!(
            live(&[("PARTNER_API_KEYS", &two)])
                .unwrap()
                .partner_api_keys
                .len(),
            2
        );
        let short = format!("{key},short-key-0123");
        let err = live(&[("PARTNER_API_KEYS", &short)]).unwrap_err();
        assert_eq!(err.var, "PARTNER_API_KEYS");
        assert!(err.message.contains("key 2"), "{}", err.message);
        assert!(!err.to_string().contains("short-key"), "{err}");

        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/DmyQsxDgVo=";
        let ok = live(&[
            ("PARTNER_WEBHOOK_URL", "https://partner.example/hooks"),
            ("PARTNER_WEBHOOK_SECRET", secret),
        ])
        .unwrap();
        assert_eq!(
            ok.partner_webhook.unwrap().url.as_str(),
            "https://partner.example/hooks"
        );
        for (vars, var) in [
            (
                vec![("PARTNER_WEBHOOK_URL", "https://p.example")],
                "PARTNER_WEBHOOK_SECRET",
            ),
            (
                vec![("PARTNER_WEBHOOK_SECRET", secret)],
                "PARTNER_WEBHOOK_URL",
            ),
            (
                vec![
                    ("PARTNER_WEBHOOK_URL", "http://p.example"),
                    ("PARTNER_WEBHOOK_SECRET", secret),
                ],
                "PARTNER_WEBHOOK_URL",
            ),
            (
                vec![
                    ("PARTNER_WEBHOOK_URL", "https://p.example"),
                    ("PARTNER_WEBHOOK_SECRET", "whsec_c2hvcnQ="),
                ],
                "PARTNER_WEBHOOK_SECRET",
            ),
            (
                vec![
                    ("PARTNER_WEBHOOK_URL", "https://p.example"),
                    ("PARTNER_WEBHOOK_SECRET", "no-prefix-secret-000000000000000"),
                ],
                "PARTNER_WEBHOOK_SECRET",
            ),
            (vec![("PUBLIC_URL", "ftp://x")], "PUBLIC_URL"),
            (
                vec![("ALLOW_ANONYMOUS_ONBOARDINGS", "maybe")],
                "ALLOW_ANONYMOUS_ONBOARDINGS",
            ),
        ] {
            let err = live(&vars).unwrap_err();
            assert_eq!(err.var, var, "{vars:?}: {err}");
            assert!(!err.to_string().contains("whsec_c2hvcnQ"), "{err}");
        }
        // Plain http to the machine itself is fine (a receiver beside the proxy).
        assert!(live(&[
            ("PARTNER_WEBHOOK_URL", "http://127.0.0.1:9000/hooks"),
            ("PARTNER_WEBHOOK_SECRET", secret),
        ])
        .is_ok());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            ("ADDR", "x", "ADDR: invalid socket address \"x\""),
            (
                "YCLOUD_BASE_URL",
                "ftp://a",
                "YCLOUD_BASE_URL: expected an http(s) URL",
            ),
            ("GRAPH_BASE_URL", "nope", "GRAPH_BASE_URL: invalid URL"),
            ("DATABASE_URL", "mysql://x", "DATABASE_URL: unknown scheme"),
            (
                "ALLOWED_ORIGINS",
                "https://a.com/path",
                "ALLOWED_ORIGINS: expected an origin",
            ),
            (
                "FRAME_ANCESTORS",
                "https://a.com/path",
                "FRAME_ANCESTORS: expected an origin",
            ),
            ("FRAME_ANCESTORS", "*", "FRAME_ANCESTORS: invalid origin"),
            (
                "FRAME_ANCESTORS",
                "'none', https://a.com",
                "FRAME_ANCESTORS: 'none' cannot be combined",
            ),
            (
                "FB_GRAPH_VERSION",
                "22",
                "FB_GRAPH_VERSION: expected a version",
            ),
            (
                "FB_ES_VERSION",
                "v5",
                "FB_ES_VERSION: expected v4 or v4-public-preview, got \"v5\"",
            ),
            (
                "FB_SDK_URL",
                "javascript:alert(1)",
                "FB_SDK_URL: expected an http(s) URL",
            ),
            (
                "YCLOUD_BASE_URL",
                "http://api.ycloud.com/v2",
                "YCLOUD_BASE_URL: expected an https URL",
            ),
            (
                "GRAPH_BASE_URL",
                "http://10.0.0.5:8080",
                "GRAPH_BASE_URL: expected an https URL",
            ),
            (
                "REQUEST_TIMEOUT_SECS",
                "0",
                "REQUEST_TIMEOUT_SECS: expected a whole number from 1 to 3600, got \"0\"",
            ),
            (
                "RATE_LIMIT_BURST",
                "0",
                "RATE_LIMIT_BURST: expected a whole number from 1 to 100000",
            ),
            (
                "TRUST_PROXY_HEADERS",
                "maybe",
                "TRUST_PROXY_HEADERS: expected true or false",
            ),
            (
                "MAX_CONCURRENT_REQUESTS",
                "lots",
                "MAX_CONCURRENT_REQUESTS: expected a whole number",
            ),
            (
                "LOG_FORMAT",
                "xml",
                "LOG_FORMAT: expected text or json, got \"xml\"",
            ),
        ];
        for (var, value, want) in cases {
            let err = live(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(want), "{err}");
        }
    }

    #[test]
    fn the_api_key_is_never_shown() {
        let s = live(&[
            ("YCLOUD_API_KEY", "very-secret-key-123"),
            ("FB_APP_SECRET", "app-secret-456"),
            ("YCLOUD_WEBHOOK_SECRET", "hook-secret-789"),
        ])
        .unwrap();
        let shown = format!("{s:?} {}", s.ycloud);
        for secret in ["very-secret-key-123", "app-secret-456", "hook-secret-789"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let err = settings(&[("YCLOUD_API_KEY", "bad key")]).unwrap_err();
        assert!(!err.to_string().contains("bad key"));
        let s = sandboxed(&[("YCLOUD_API_KEY", "very-secret-key-123")]).unwrap();
        assert!(!format!("{s:?}").contains("very-secret-key-123"));
    }

    #[test]
    fn origins_and_urls_are_normalised() {
        let s = sandboxed(&[
            (
                "ALLOWED_ORIGINS",
                "https://shop.example.com, http://localhost:3000",
            ),
            ("YCLOUD_BASE_URL", "http://127.0.0.1:9999/v2/"),
        ])
        .unwrap();
        assert_eq!(
            s.allowed_origins,
            ["https://shop.example.com", "http://localhost:3000"]
        );
        assert_eq!(s.frame_ancestors, ["'self'"]);
        let s = sandboxed(&[("FRAME_ANCESTORS", "self, https://shop.example.com/")]).unwrap();
        assert_eq!(s.frame_ancestors, ["'self'", "https://shop.example.com"]);
        let s = sandboxed(&[("FRAME_ANCESTORS", "'none'")]).unwrap();
        assert_eq!(s.frame_ancestors, ["'none'"]);
        // Plain http only towards this machine.
        for local in ["http://localhost:1", "http://[::1]:2", "http://127.0.0.2:3"] {
            assert!(live(&[("GRAPH_BASE_URL", local)]).is_ok(), "{local}");
        }
        let live = live(&[("YCLOUD_BASE_URL", "http://127.0.0.1:9999/v2/")]).unwrap();
        assert_eq!(
            live.ycloud.to_string(),
            "YCloud at http://127.0.0.1:9999/v2"
        );
    }

    #[test]
    fn meta_runs_live_without_a_ycloud_key() {
        let s = settings(&[
            ("WHATSAPP_PROVIDER", "meta"),
            ("FB_APP_ID", "1"),
            ("FB_CONFIG_ID", "2"),
            ("FB_SOLUTION_ID", "3"),
            ("FB_APP_SECRET", "s"),
            (
                "TOKEN_ENCRYPTION_KEY",
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/DmyQsxDgVo=",
            ),
        ])
        .unwrap();
        assert_eq!(s.provider.provider, WhatsappProvider::Meta);
        assert_eq!(s.ycloud.to_string(), "Meta's Cloud API directly");
        assert!(!format!("{s:?}").contains("MfKQ9r8G"));
        // An unknown provider stops start-up before anything else is asked for.
        let err = settings(&[("WHATSAPP_PROVIDER", "Meta")]).unwrap_err();
        assert_eq!(err.var, "WHATSAPP_PROVIDER");
        assert!(live(&[]).unwrap().provider.meta.is_none());
        // A Tech Provider's own app has no YCloud solution id: none needed with `meta`,
        // still required with YCloud.
        let own_app = settings(&[
            ("WHATSAPP_PROVIDER", "meta"),
            ("FB_APP_ID", "1"),
            ("FB_CONFIG_ID", "2"),
            ("FB_APP_SECRET", "s"),
            (
                "TOKEN_ENCRYPTION_KEY",
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/DmyQsxDgVo=",
            ),
        ])
        .unwrap();
        assert_eq!(own_app.fb_solution_id, "");
        let err = settings(&[
            ("YCLOUD_API_KEY", "k"),
            ("FB_APP_ID", "1"),
            ("FB_CONFIG_ID", "2"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "FB_SOLUTION_ID");
    }

    #[test]
    fn limits_have_defaults_and_read_their_variables() {
        assert_eq!(sandboxed(&[]).unwrap().limits, LimitSettings::default());
        let s = sandboxed(&[
            ("HEADER_READ_TIMEOUT_SECS", "1"),
            ("REQUEST_TIMEOUT_SECS", "2"),
            ("MAX_CONCURRENT_REQUESTS", "3"),
            ("RATE_LIMIT_PER_MINUTE", "0"),
            ("RATE_LIMIT_BURST", "5"),
            ("TRUST_PROXY_HEADERS", "true"),
            ("EVENT_STREAMS_PER_CLIENT", "6"),
            ("EVENT_STREAM_MAX_SECS", "7"),
            ("RETRY_COOLDOWN_SECS", "0"),
            ("WEBHOOK_EVENT_RETENTION_DAYS", "2"),
        ])
        .unwrap();
        assert_eq!(
            s.limits.webhook_event_retention,
            Duration::from_secs(2 * 24 * 3600)
        );
        assert_eq!(s.limits.retry_cooldown, Duration::ZERO);
        assert_eq!(s.limits.event_streams_per_client, 6);
        assert_eq!(s.limits.event_stream_lifetime, Duration::from_secs(7));
        assert_eq!(s.limits.rate_limit_per_minute, 0);
        assert_eq!(s.limits.rate_limit_burst, 5);
        assert!(s.limits.trust_proxy_headers);
        assert_eq!(s.limits.header_read_timeout, Duration::from_secs(1));
        assert_eq!(s.limits.request_timeout, Duration::from_secs(2));
        assert_eq!(s.limits.max_concurrent_requests, 3);
    }

    #[test]
    fn the_metrics_token_is_checked_and_never_shown() {
        assert!(sandboxed(&[]).unwrap().metrics_token.is_none());
        let s = sandboxed(&[("METRICS_TOKEN", "scrape-me-0123456789")]).unwrap();
        assert!(s.metrics_token.is_some());
        assert!(!format!("{s:?}").contains("scrape-me-0123456789"));
        for bad in ["short", "has a space in it ok"] {
            let err = sandboxed(&[("METRICS_TOKEN", bad)]).unwrap_err();
            assert_eq!(err.var, "METRICS_TOKEN");
            assert!(!err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn every_embedded_signup_version_is_read() {
        for v in EsVersion::ALL {
            assert_eq!(
                sandboxed(&[("FB_ES_VERSION", v.as_str())])
                    .unwrap()
                    .es_version,
                v
            );
        }
    }

    #[test]
    fn retired_embedded_signup_versions_stop_start_up_naming_the_date() {
        for v in wire::RETIRED_ES_VERSIONS {
            let err = sandboxed(&[("FB_ES_VERSION", v)]).unwrap_err();
            assert_eq!(err.var, "FB_ES_VERSION");
            let line = err.to_string();
            assert!(line.contains("2026-10-15") && line.contains(v), "{line}");
            assert!(!line.contains('\n'), "one line: {line}");
        }
        let err = sandboxed(&[("FB_ES_VERSION", "v5")]).unwrap_err();
        assert!(err.to_string().contains("v4 or v4-public-preview"), "{err}");
    }

    #[test]
    fn log_formats_are_text_by_default_or_json() {
        assert_eq!(sandboxed(&[]).unwrap().log_format, LogFormat::Text);
        assert_eq!(
            sandboxed(&[("LOG_FORMAT", "text")]).unwrap().log_format,
            LogFormat::Text
        );
        assert_eq!(
            sandboxed(&[("LOG_FORMAT", "json")]).unwrap().log_format,
            LogFormat::Json
        );
        // Empty counts as unset, like every other variable.
        assert_eq!(
            sandboxed(&[("LOG_FORMAT", " ")]).unwrap().log_format,
            LogFormat::Text
        );
        for bad in ["JSON", "logfmt", "pretty"] {
            let err = sandboxed(&[("LOG_FORMAT", bad)]).unwrap_err();
            assert_eq!(err.var, "LOG_FORMAT");
            assert_eq!(
                err.to_string(),
                format!("LOG_FORMAT: expected text or json, got {bad:?}")
            );
        }
    }

    #[test]
    fn addr_flag_forms() {
        assert_eq!(parse_args(&[]).unwrap(), Flags::default());
        assert_eq!(
            parse_args(&["--addr".into(), "0.0.0.0:1".into()])
                .unwrap()
                .addr
                .as_deref(),
            Some("0.0.0.0:1")
        );
        assert_eq!(
            parse_args(&["--addr=1.2.3.4:5".into()])
                .unwrap()
                .addr
                .as_deref(),
            Some("1.2.3.4:5")
        );
        assert!(parse_args(&["--port".into()]).is_err());
    }

    #[test]
    fn no_key_without_sandbox_is_an_error_naming_the_key() {
        for vars in [
            &[][..],
            &[("YCLOUD_API_KEY", "")][..],
            &[("SANDBOX", "false")][..],
        ] {
            let err = settings(vars).unwrap_err();
            assert_eq!(err.var, "YCLOUD_API_KEY", "{vars:?}");
            assert!(err.to_string().starts_with("YCLOUD_API_KEY: required"));
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn sandbox_only_when_asked() {
        assert!(settings(&[("SANDBOX", "true")]).unwrap().is_sandbox());
        assert!(settings(&[("SANDBOX", "1")]).unwrap().is_sandbox());
        let err = settings(&[("SANDBOX", "maybe")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SANDBOX: expected true or false, got \"maybe\""
        );
        // A configured key is not used in sandbox mode, and start-up says so.
        let s = sandboxed(&LIVE).unwrap();
        assert!(s.is_sandbox());
        assert!(s.sandbox_ignores_api_key);
        assert!(!live(&[]).unwrap().sandbox_ignores_api_key);
        assert!(!sandboxed(&[]).unwrap().sandbox_ignores_api_key);
    }

    #[test]
    fn the_sandbox_flag_turns_sandbox_on() {
        let flags = parse_args(&["--sandbox".into()]).unwrap();
        assert!(flags.sandbox);
        let s = Settings::from_lookup_and_flags(|_| None, &flags).unwrap();
        assert!(s.is_sandbox());
        assert_eq!(s.sdk_url, SANDBOX_FB_SDK_URL);
        // --addr wins over ADDR and is checked like it.
        let flags = parse_args(&["--sandbox".into(), "--addr=127.0.0.2:9".into()]).unwrap();
        let s = Settings::from_lookup_and_flags(
            |k| (k == "ADDR").then(|| "127.0.0.1:1".to_owned()),
            &flags,
        )
        .unwrap();
        assert_eq!(s.addr.to_string(), "127.0.0.2:9");
    }

    #[test]
    fn sandbox_stays_on_loopback_unless_forced() {
        for addr in ["0.0.0.0:8080", "[::]:8080", "192.168.1.5:80"] {
            let err = sandboxed(&[("ADDR", addr)]).unwrap_err();
            assert_eq!(err.var, "SANDBOX", "{addr}");
            let text = err.to_string();
            assert!(
                text.contains("ADDR") && text.contains("SANDBOX_ALLOW_PUBLIC"),
                "{text}"
            );
            let s = sandboxed(&[("ADDR", addr), ("SANDBOX_ALLOW_PUBLIC", "true")]).unwrap();
            assert!(s.is_sandbox());
        }
        for addr in ["127.0.0.1:8080", "127.1.2.3:1", "[::1]:8080"] {
            assert!(sandboxed(&[("ADDR", addr)]).is_ok(), "{addr}");
        }
        let flags = parse_args(&["--sandbox".into(), "--addr".into(), "0.0.0.0:1".into()]).unwrap();
        let err = Settings::from_lookup_and_flags(|_| None, &flags).unwrap_err();
        assert_eq!(err.var, "SANDBOX");
        // Live mode may listen anywhere.
        assert!(live(&[("ADDR", "0.0.0.0:8080")]).is_ok());
    }

    #[test]
    fn live_mode_needs_the_app_secret_unless_unverified_is_allowed() {
        let without: Vec<_> = LIVE
            .into_iter()
            .filter(|(k, _)| *k != "FB_APP_SECRET")
            .collect();
        let err = settings(&without).unwrap_err();
        assert_eq!(err.var, "FB_APP_SECRET");
        assert!(err
            .to_string()
            .contains("ALLOW_UNVERIFIED_ONBOARDINGS=true"));
        let mut allowed = without.clone();
        allowed.push(("ALLOW_UNVERIFIED_ONBOARDINGS", "true"));
        let s = settings(&allowed).unwrap();
        assert!(s.allow_unverified_onboardings);
        assert!(s.fb_app_secret.is_none());
        // With the secret the permission changes nothing; the sandbox does not need it.
        assert!(
            !live(&[("ALLOW_UNVERIFIED_ONBOARDINGS", "true")])
                .unwrap()
                .allow_unverified_onboardings
        );
        assert!(sandboxed(&[]).unwrap().fb_app_secret.is_none());
    }
}
