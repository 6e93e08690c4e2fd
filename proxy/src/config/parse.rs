//! The value parsers every area of the configuration shares: booleans, addresses, URLs,
//! origins, whole numbers, a bearer token. Each names the variable at fault in its
//! [`ConfigError`].

use std::net::SocketAddr;

use secrecy::SecretString;
use url::Url;

use super::ConfigError;

/// A boolean variable; unset is false.
pub(super) fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<bool, ConfigError> {
    get(name).map_or(Ok(false), |v| parse_bool(name, &v))
}

pub(super) fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::new(
            var,
            format!("expected true or false, got {value:?}"),
        )),
    }
}

pub(super) fn parse_addr(var: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value
        .parse()
        .map_err(|_| ConfigError::new(var, format!("invalid socket address {value:?}")))
}

pub(super) fn parse_http_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
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
pub(super) fn parse_upstream_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
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
pub(super) fn parse_frame_ancestors(list: &str) -> Result<Vec<String>, ConfigError> {
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

pub(super) fn parse_origin(var: &'static str, value: &str) -> Result<String, ConfigError> {
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
pub(super) fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub(super) fn is_graph_version(v: &str) -> bool {
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
pub(super) fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A whole number from `min` to `max`.
pub(super) fn parse_whole(
    var: &'static str,
    value: &str,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
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

/// `METRICS_TOKEN`: at least 16 printable characters, none a space (sent as a bearer token).
pub(super) fn parse_metrics_token(
    value: Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
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
