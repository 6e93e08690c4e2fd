//! What the page is handed and who may embed it: the Embedded Signup ids and versions, the
//! SDK's address, the allowed origins and frame ancestors, the public URL, the redirect flow.

use std::net::SocketAddr;

use url::Url;
use wire::EsVersion;

use super::parse::{
    is_graph_version, is_loopback_url, parse_bool, parse_frame_ancestors, parse_http_url,
    parse_origin,
};
use super::sandbox::{SANDBOX_APP_ID, SANDBOX_CONFIG_ID, SANDBOX_FB_SDK_URL, SANDBOX_SOLUTION_ID};
use super::{ConfigError, WhatsappProvider};

/// Graph API version for `FB.init` and the proxy's Graph calls: v26.0 (July 2026), the
/// newest when this default was last raised; `FB_GRAPH_VERSION` overrides it.
pub const DEFAULT_GRAPH_VERSION: &str = "v26.0";
/// Meta's SDK.
pub const DEFAULT_FB_SDK_URL: &str = "https://connect.facebook.net/en_US/sdk.js";

/// `FB_APP_ID`, `FB_CONFIG_ID` and `FB_SOLUTION_ID`, in that order.
pub(super) fn fb_ids(
    get: &impl Fn(&str) -> Option<String>,
    sandbox: bool,
    provider: WhatsappProvider,
) -> Result<(String, String, String), ConfigError> {
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
    let fb_solution_id = match provider {
        WhatsappProvider::Meta if !sandbox && get("FB_SOLUTION_ID").is_none() => String::new(),
        _ => fb_id("FB_SOLUTION_ID", SANDBOX_SOLUTION_ID)?,
    };

    Ok((fb_app_id, fb_config_id, fb_solution_id))
}

/// `FB_GRAPH_VERSION`.
pub(super) fn graph_version(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let graph_version = get("FB_GRAPH_VERSION").unwrap_or_else(|| DEFAULT_GRAPH_VERSION.to_owned());
    if !is_graph_version(&graph_version) {
        return Err(ConfigError::new(
            "FB_GRAPH_VERSION",
            format!("expected a version like v26.0, got {graph_version:?}"),
        ));
    }
    Ok(graph_version)
}

/// `FB_ES_VERSION`.
pub(super) fn es_version(get: &impl Fn(&str) -> Option<String>) -> Result<EsVersion, ConfigError> {
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

    Ok(es_version)
}

/// `FB_SDK_URL`.
pub(super) fn sdk_url(
    get: &impl Fn(&str) -> Option<String>,
    sandbox: bool,
) -> Result<String, ConfigError> {
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
    Ok(sdk_url)
}

/// `ALLOWED_ORIGINS`.
pub(super) fn allowed_origins(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ConfigError> {
    let allowed_origins = match get("ALLOWED_ORIGINS") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|o| parse_origin("ALLOWED_ORIGINS", o))
            .collect::<Result<_, _>>()?,
    };
    Ok(allowed_origins)
}

/// `FRAME_ANCESTORS`.
pub(super) fn frame_ancestors(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ConfigError> {
    let frame_ancestors = match get("FRAME_ANCESTORS") {
        None => vec!["'self'".to_owned()],
        Some(list) => parse_frame_ancestors(&list)?,
    };
    Ok(frame_ancestors)
}

/// `PUBLIC_URL`, by default the listen address.
pub(super) fn public_url(
    get: &impl Fn(&str) -> Option<String>,
    addr: SocketAddr,
    sandbox: bool,
) -> Result<Url, ConfigError> {
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
    Ok(public_url)
}

/// `REDIRECT_FLOW`: whether the full-page sign-in is offered. Unset, it is on wherever it can
/// work: sandbox mode, or live with `FB_APP_SECRET` (the proxy exchanges Meta's code itself).
/// Meta redirects only to https (or to this machine), which live mode already demands of
/// `PUBLIC_URL`. Asked for explicitly (`true`) where it cannot work, start-up stops naming
/// what is missing; a live proxy that does not ask for it is never refused because of it.
pub(super) fn redirect_flow(
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
