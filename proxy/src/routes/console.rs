//! The partner console (docs/API.md, "Partner console"): its page under `/console`, and its
//! sign-in, a partner API key exchanged for a cookie session.
//!
//! The key is sent once (`POST /console/login`) and never kept by the browser: the console
//! holds an HttpOnly, `SameSite=Strict` cookie of 256 random bits instead, stored here only
//! as its SHA-256 and good for 8 hours or until sign-out. With it, the partner API answers as
//! with a key ([`authenticate`], called by the partner API's gate); every write must also
//! carry `X-CSRF-Token`, a value derived from the cookie that only a page of this origin can
//! read (`GET /console/session`). Everything here answers 404 without `PARTNER_API_KEYS`:
//! no console is offered where the partner API is off.

use std::path::PathBuf;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wire::{ConsoleLogin, ConsoleSession};

use super::AppState;
use crate::clock::format_time;
use crate::error::{Error, Json};

/// The cookie's name.
pub const COOKIE: &str = "wa_console";
/// The header every write made with the cookie must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a sign-in lasts.
pub const LIFETIME: time::Duration = time::Duration::hours(8);

/// What the console needs to know of the deployment.
#[derive(Debug, Clone)]
pub struct Console {
    /// `Secure` cookies: on unless `PUBLIC_URL` is a loopback address (a browser never
    /// sends a `Secure` cookie over plain HTTP, which is what a local proxy speaks).
    pub secure_cookie: bool,
    /// The built console (`DIST_DIR/console`), when there is one.
    pub dist_dir: Option<PathBuf>,
}

impl Console {
    /// The console of a proxy reached at `public_url`, serving `dist_dir`'s `console/`.
    pub fn new(public_url: &url::Url, dist_dir: Option<&std::path::Path>) -> Self {
        let loopback = match public_url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        Self {
            secure_cookie: !loopback,
            dist_dir: dist_dir.map(|d| d.join("console")),
        }
    }
}

/// Marks a console page, whose security policy forbids every frame (see `security.rs`).
#[derive(Debug, Clone, Copy)]
pub struct ConsolePage;

/// The SHA-256 (hex) a cookie is stored and looked up by.
fn cookie_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of the sign-in holding cookie `token`: derived, so nothing more is stored,
/// and unreadable to whoever cannot read the answer of `GET /console/session`.
fn csrf_token(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(format!("csrf\0{token}").as_bytes()))
}

/// A fresh cookie value: `con_` and 32 bytes from the operating system's generator.
fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a console session: {e}")))?;
    Ok(format!(
        "con_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The console cookie's value among the request's cookies.
fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

fn set_cookie(console: &Console, value: &str, max_age: i64) -> HeaderValue {
    let secure = if console.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The live sign-in a cookie opens: its value, and when it ends.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, time::OffsetDateTime), Error> {
    let token = cookie_of(headers).ok_or(Error::Unauthorized)?;
    let found = state
        .pipeline
        .store()
        .console_sign_in(&cookie_hash(token))
        .await?;
    match found {
        Some(s) if !s.revoked && s.expires_at > state.clock.now() => {
            Ok((token.to_owned(), s.expires_at))
        }
        _ => Err(Error::Unauthorized),
    }
}

/// The partner API's second way in, for a request without `Authorization`: a live console
/// cookie, and on every method but GET and HEAD its `X-CSRF-Token`.
///
/// # Errors
/// `401 unauthorized` (no cookie, unknown, expired or signed out), `403 csrf_invalid`.
pub async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), Error> {
    let (token, _) = signed_in(state, headers).await?;
    if method == Method::GET || method == Method::HEAD {
        return Ok(());
    }
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match bool::from(presented.as_bytes().ct_eq(csrf_token(&token).as_bytes())) {
        true => Ok(()),
        false => Err(Error::CsrfInvalid),
    }
}

fn require_console(state: &AppState) -> Result<(), Error> {
    match state.partner_keys.is_empty() {
        true => Err(Error::NotFound(
            "there is nothing at this address".to_owned(),
        )),
        false => Ok(()),
    }
}

/// `POST /console/login`.
#[utoipa::path(
    post, path = "/console/login", tag = "console",
    request_body = ConsoleLogin,
    responses(
        (status = 204, description = "Signed in: an HttpOnly, SameSite=Strict cookie for 8 hours"),
        (status = 401, description = "`unauthorized`: not one of PARTNER_API_KEYS", body = wire::ErrorBody),
        (status = 400, description = "The body is not JSON", body = wire::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = wire::ErrorBody),
        (status = 422, description = "No `key`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: PARTNER_API_KEYS is not set, so there is no console", body = wire::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<ConsoleLogin>,
) -> Result<Response, Error> {
    require_console(&state)?;
    if !state.partner_keys.accepts(&req.key) {
        tracing::warn!("console sign-in refused: not a partner API key");
        return Err(Error::Unauthorized);
    }
    let token = new_token()?;
    let expires_at = state.clock.now() + LIFETIME;
    state
        .pipeline
        .store()
        .insert_console_sign_in(&cookie_hash(&token), expires_at)
        .await?;
    tracing::info!("console signed in");
    let cookie = set_cookie(&state.console, &token, LIFETIME.whole_seconds());
    Ok((
        StatusCode::NO_CONTENT,
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

/// `POST /console/logout`.
#[utoipa::path(
    post, path = "/console/logout", tag = "console",
    responses(
        (status = 204, description = "Signed out: the cookie stops working at once and is cleared"),
        (status = 401, description = "`unauthorized`: not signed in", body = wire::ErrorBody),
        (status = 403, description = "`csrf_invalid`: no or another X-CSRF-Token", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no console on this proxy", body = wire::ErrorBody),
    )
)]
pub async fn logout(State(state): State<AppState>, request: Request) -> Result<Response, Error> {
    require_console(&state)?;
    authenticate(&state, request.method(), request.headers()).await?;
    if let Some(token) = cookie_of(request.headers()) {
        state
            .pipeline
            .store()
            .revoke_console_sign_in(&cookie_hash(token))
            .await?;
    }
    tracing::info!("console signed out");
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie(&state.console, "", 0))],
    )
        .into_response())
}

/// `GET /console/session`.
#[utoipa::path(
    get, path = "/console/session", tag = "console",
    responses(
        (status = 200, description = "Signed in: the CSRF token for writes, and when the sign-in ends", body = ConsoleSession),
        (status = 401, description = "`unauthorized`: not signed in (or expired, or signed out)", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no console on this proxy", body = wire::ErrorBody),
    )
)]
pub async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    require_console(&state)?;
    let (token, expires_at) = signed_in(&state, &headers).await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(ConsoleSession {
            csrf_token: csrf_token(&token),
            expires_at: format_time(expires_at),
        }),
    )
        .into_response())
}

/// `GET /console` (and `/console/`): the console's page. Read at each request, like the
/// widget's.
pub async fn page(State(state): State<AppState>) -> Result<Response, Error> {
    require_console(&state)?;
    let html = match &state.console.dist_dir {
        Some(dir) => tokio::fs::read_to_string(dir.join("index.html")).await.ok(),
        None => None,
    };
    let Some(html) = html else {
        return Err(Error::NotFound(
            "the console is not built; run `cargo xtask build` to build it".to_owned(),
        ));
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response();
    response.extensions_mut().insert(ConsolePage);
    Ok(response)
}

/// `GET /console/{file}`: the console's scripts, wasm and styles (404 without keys).
pub async fn file(State(state): State<AppState>, request: Request) -> Response {
    if let Err(e) = require_console(&state) {
        return e.into_response();
    }
    let service = super::assets::bundle_service(state.dist_dir.clone());
    match tower::ServiceExt::oneshot(service, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_oversized_ones_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; wa_console=con_abc ; b=2"),
        );
        assert_eq!(cookie_of(&headers), Some("con_abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("wa_consoleX=1"));
        assert_eq!(cookie_of(&headers), None);
        let long = format!("wa_console={}", "x".repeat(200));
        headers.insert(header::COOKIE, HeaderValue::from_str(&long).unwrap());
        assert_eq!(cookie_of(&headers), None);
    }

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        for (url, secure) in [
            ("http://127.0.0.1:8080", false),
            ("http://localhost:3000", false),
            ("http://[::1]:8080", false),
            ("https://onboard.example.com", true),
            ("http://10.0.0.5:8080", true),
        ] {
            let console = Console::new(&url::Url::parse(url).unwrap(), None);
            assert_eq!(console.secure_cookie, secure, "{url}");
            let cookie = set_cookie(&console, "v", 28800);
            let cookie = cookie.to_str().unwrap();
            assert!(
                cookie.contains("HttpOnly; SameSite=Strict; Max-Age=28800"),
                "{cookie}"
            );
            assert_eq!(cookie.ends_with("; Secure"), secure, "{cookie}");
        }
    }

    #[test]
    fn tokens_are_random_and_csrf_tokens_derived() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), "con_".len() + 43);
        assert_eq!(csrf_token(&a), csrf_token(&a));
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert_ne!(csrf_token(&a), a);
    }
}
