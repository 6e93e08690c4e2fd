//! The partner's settings: its API keys, its webhook and the outbox's schedule, its name.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::parse::{is_loopback_url, parse_http_url};
use super::ConfigError;

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

/// `PARTNER_API_KEYS`, comma-separated; none: the partner API answers 503.
pub(super) fn api_keys(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<SecretString>, ConfigError> {
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
    Ok(partner_api_keys)
}

/// `PARTNER_WEBHOOK_URL` and `PARTNER_WEBHOOK_SECRET`: both or neither.
pub(super) fn webhook(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<PartnerWebhook>, ConfigError> {
    let partner_webhook =
        match (get("PARTNER_WEBHOOK_URL"), get("PARTNER_WEBHOOK_SECRET")) {
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
    Ok(partner_webhook)
}

/// `PARTNER_NAME`.
pub(super) fn name(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
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
    Ok(partner_name)
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
