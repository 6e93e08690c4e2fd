//! The upstreams: which YCloud (the real one, the sandbox's fake, or none when Meta's API is
//! used directly), the Graph API's base, and how their clients time out, retry and pace.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::parse::parse_upstream_url;
use super::{ConfigError, WhatsappProvider};

/// YCloud's API base.
pub const DEFAULT_YCLOUD_BASE_URL: &str = "https://api.ycloud.com/v2";
/// Graph API base.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com";
/// Largest answer read from YCloud or the Graph API (their objects are a few KiB).
pub const MAX_UPSTREAM_BODY_BYTES: usize = 1024 * 1024;

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

impl fmt::Display for YCloudMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YCloudMode::Sandbox => f.write_str("sandbox mode"),
            YCloudMode::Unused => f.write_str("Meta's Cloud API directly"),
            YCloudMode::Live { base_url, .. } => write!(f, "YCloud at {base_url}"),
        }
    }
}

impl YCloudMode {
    /// `YCLOUD_BASE_URL` and `YCLOUD_API_KEY`, with whether sandbox mode leaves a given key
    /// unused.
    pub(super) fn parse(
        get: &impl Fn(&str) -> Option<String>,
        sandbox: bool,
        provider: WhatsappProvider,
    ) -> Result<(Self, bool), ConfigError> {
        let base_url = parse_upstream_url(
            "YCLOUD_BASE_URL",
            &get("YCLOUD_BASE_URL").unwrap_or_else(|| DEFAULT_YCLOUD_BASE_URL.to_owned()),
        )?;
        let api_key = get("YCLOUD_API_KEY");
        let sandbox_ignores_api_key = sandbox && api_key.is_some();
        let ycloud = match api_key {
            _ if sandbox => YCloudMode::Sandbox,
            _ if provider == WhatsappProvider::Meta => YCloudMode::Unused,
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
        Ok((ycloud, sandbox_ignores_api_key))
    }
}

/// `GRAPH_BASE_URL`.
pub(super) fn graph_base_url(get: &impl Fn(&str) -> Option<String>) -> Result<Url, ConfigError> {
    parse_upstream_url(
        "GRAPH_BASE_URL",
        &get("GRAPH_BASE_URL").unwrap_or_else(|| DEFAULT_GRAPH_BASE_URL.to_owned()),
    )
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

impl UpstreamTuning {
    /// The defaults with what `ONBOARDING_LEASE_SECS`, `RESUME_PER_SECOND`,
    /// `HEALTH_POLL_SECS`, `HEALTH_PER_SECOND` and `UPSTREAM_TIMEOUT_SECS` change.
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
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
        Ok(upstream)
    }
}
