//! The partner API (`/api/partner/…`, docs/API.md "Partner API"): the partner's backend,
//! with a bearer key, creates sessions and reads what happened. And `POST /api/session`, the
//! browser's question "what does my token allow?".
//!
//! This file holds the gate (the keys, `require_key`) and what the route files share: paging
//! and the partner's view of one onboarding.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wire::{PartnerOnboarding, DEFAULT_PAGE, MAX_PAGE};

use super::AppState;
use crate::clock::parse_time;
use crate::error::Error;

pub(super) mod events;
pub(super) mod onboardings;
pub(super) mod sessions;

/// The partner API keys, kept as SHA-256 digests: comparing digests of equal length in
/// constant time leaks neither a key's content nor its length.
#[derive(Debug, Clone, Default)]
pub struct PartnerKeys(Arc<Vec<[u8; 32]>>);

impl PartnerKeys {
    /// The digests of `keys`.
    pub fn new(keys: &[SecretString]) -> Self {
        Self(Arc::new(
            keys.iter()
                .map(|k| Sha256::digest(k.expose_secret().as_bytes()).into())
                .collect(),
        ))
    }

    /// No keys: the partner API and the console are off.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `presented` is one of the keys.
    pub fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Every key is compared, so the time taken does not say which one matched.
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |ok, key| ok | key.ct_eq(&digest))
            .into()
    }
}

/// The partner API's gate: `503 partner_api_disabled` without keys, `401 unauthorized`
/// without a matching `Authorization: Bearer` key. A request without `Authorization` may
/// come from the console instead (its cookie, and `X-CSRF-Token` on writes; see
/// [`super::console::authenticate`]), except for the one route that answers secrets.
pub async fn require_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    if state.partner_keys.is_empty() {
        return Err(Error::PartnerApiDisabled);
    }
    let Some(header) = request.headers().get(header::AUTHORIZATION) else {
        // Credentials go to the partner's backend only, never to a browser.
        if request.uri().path().ends_with("/credentials") {
            return Err(Error::Unauthorized);
        }
        super::console::authenticate(&state, request.method(), request.headers()).await?;
        return Ok(next.run(request).await);
    };
    let presented = header.to_str().ok().and_then(|v| {
        let (scheme, key) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
    });
    match presented {
        Some(key) if state.partner_keys.accepts(key) => Ok(next.run(request).await),
        _ => Err(Error::Unauthorized),
    }
}

/// A page size from `limit`.
fn limit(value: Option<&str>) -> Result<u32, Error> {
    match value {
        None => Ok(DEFAULT_PAGE),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(Error::InvalidQuery(format!(
                "limit must be a whole number from 1 to {MAX_PAGE}"
            ))),
        },
    }
}

fn query_error(e: QueryRejection) -> Error {
    Error::InvalidQuery(e.body_text())
}

/// A page position from the last item's `created_at` and id.
fn cursor_of(created_at: &str, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{created_at}|{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(String, String), Error> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| Error::InvalidCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::InvalidCursor)?;
    let (created_at, id) = text.split_once('|').ok_or(Error::InvalidCursor)?;
    if parse_time(created_at).is_none() || uuid::Uuid::parse_str(id).is_err() {
        return Err(Error::InvalidCursor);
    }
    Ok((created_at.to_owned(), id.to_owned()))
}

/// The partner's view of onboarding `id` (the answer of every partner route about one).
pub(super) async fn partner_view(
    state: &AppState,
    id: &str,
) -> Result<axum::Json<PartnerOnboarding>, Error> {
    let onboarding = state
        .pipeline
        .store()
        .partner_onboarding(id)
        .await?
        .ok_or(Error::OnboardingNotFound)?;
    Ok(axum::Json(onboarding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        let keys = PartnerKeys::new(&[
            SecretString::from("k".repeat(32)),
            SecretString::from("second-key-for-rotation-0123456789"),
        ]);
        assert!(keys.accepts(&"k".repeat(32)));
        assert!(keys.accepts("second-key-for-rotation-0123456789"));
        assert!(!keys.accepts(&"k".repeat(31)));
        assert!(!keys.accepts(&"k".repeat(33)));
        assert!(!keys.accepts(""));
        assert!(!PartnerKeys::default().accepts(""));
    }

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        let (t, id) = (
            "2026-11-23T10:00:00.000000Z",
            "0b6f8a52-7d0e-4c1a-9a59-3c1f4a6a2b10",
        );
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{t}|{id}"));
        assert_eq!(
            decode_cursor(&cursor).unwrap(),
            (t.to_owned(), id.to_owned())
        );
        for bad in [
            "",
            "!!",
            "bm9wZQ",
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("x|y"),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
