//! Start-up configuration (docs/API.md, "Configuration"), parsed once into [`Settings`].
//!
//! Every variable is read and checked here, so the rest of the proxy holds typed values and
//! never looks at the environment. A bad value is a [`ConfigError`] naming the variable; the
//! binary prints it on one line and exits with code 2.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use url::Url;
use wire::EsVersion;

mod args;
mod limits;
mod page;
mod parse;
mod partner;
mod provider;
mod sandbox;
mod setup;
mod upstream;
pub mod vars;

pub use args::{parse_args, wants_help, wants_version, Flags, VERSION};
pub use limits::LimitSettings;
pub use page::{DEFAULT_FB_SDK_URL, DEFAULT_GRAPH_VERSION};
pub use partner::{OutboxTuning, PartnerWebhook, MIN_PARTNER_KEY_CHARS, MIN_WEBHOOK_SECRET_BYTES};
pub use provider::{MetaSettings, ProviderSettings, WhatsappProvider};
pub use sandbox::{SANDBOX_APP_ID, SANDBOX_CONFIG_ID, SANDBOX_FB_SDK_URL, SANDBOX_SOLUTION_ID};
pub use setup::setup_report;
pub use upstream::{
    UpstreamTuning, YCloudMode, DEFAULT_GRAPH_BASE_URL, DEFAULT_HEALTH_POLL_SECS,
    DEFAULT_YCLOUD_BASE_URL, MAX_HEALTH_POLL_SECS, MAX_UPSTREAM_BODY_BYTES,
};
pub use vars::usage;

use parse::{flag, parse_addr, parse_metrics_token, redact_url};

/// Listen address when neither `--addr` nor `ADDR` is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The onboarding store.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/onboarding.db";
/// Where the built bundle lives.
pub const DEFAULT_DIST_DIR: &str = "dist";

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

        let addr = match &flags.addr {
            Some(addr) => parse_addr("--addr", addr)?,
            None => parse_addr(
                "ADDR",
                &get("ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            )?,
        };
        let sandbox = sandbox::enabled(&get, flags.sandbox, addr)?;
        let provider = provider::parse(&get, sandbox)?;
        let (ycloud, sandbox_ignores_api_key) =
            YCloudMode::parse(&get, sandbox, provider.provider)?;
        let (fb_app_id, fb_config_id, fb_solution_id) =
            page::fb_ids(&get, sandbox, provider.provider)?;
        let graph_version = page::graph_version(&get)?;
        let es_version = page::es_version(&get)?;
        let sdk_url = page::sdk_url(&get, sandbox)?;
        let graph_base_url = upstream::graph_base_url(&get)?;

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

        let allowed_origins = page::allowed_origins(&get)?;
        let frame_ancestors = page::frame_ancestors(&get)?;

        let dist_dir =
            PathBuf::from(get("DIST_DIR").unwrap_or_else(|| DEFAULT_DIST_DIR.to_owned()));

        let log_format = get("LOG_FORMAT")
            .map(|v| LogFormat::parse(&v))
            .transpose()?
            .unwrap_or_default();

        let fb_app_secret = get("FB_APP_SECRET").map(SecretString::from);
        let allow_unverified_onboardings =
            !sandbox && fb_app_secret.is_none() && flag(&get, "ALLOW_UNVERIFIED_ONBOARDINGS")?;
        if !sandbox && fb_app_secret.is_none() && !allow_unverified_onboardings {
            return Err(ConfigError::new(
                "FB_APP_SECRET",
                "required in live mode to verify WABA ownership (set \
                 ALLOW_UNVERIFIED_ONBOARDINGS=true to run without verification)",
            ));
        }

        let public_url = page::public_url(&get, addr, sandbox)?;
        let partner_api_keys = partner::api_keys(&get)?;
        let partner_webhook = partner::webhook(&get)?;
        let partner_name = partner::name(&get)?;
        let allow_anonymous_onboardings = flag(&get, "ALLOW_ANONYMOUS_ONBOARDINGS")?;
        let redirect_flow =
            page::redirect_flow(get("REDIRECT_FLOW"), sandbox, fb_app_secret.is_some())?;
        let upstream = UpstreamTuning::from_lookup(&get)?;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

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
