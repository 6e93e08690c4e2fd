//! The partner's sessions: create, list, read, revoke; and `POST /api/session`, the
//! browser's question "what does my token allow?".

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wire::{
    CreateSession, CustomerRef, ErrorBody, Session, SessionInfo, SessionLookup, SessionPage,
};

use super::{cursor_of, decode_cursor, limit, query_error};
use crate::error::{Error, Json};
use crate::routes::AppState;

/// `POST /api/partner/sessions`.
#[utoipa::path(
    post, path = "/api/partner/sessions", tag = "partner",
    request_body = CreateSession,
    security(("partner_key" = [])),
    responses(
        (status = 201, description = "The session, with its token and hosted link (shown this once)", body = Session),
        (status = 401, description = "`unauthorized`: missing or wrong key", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing or malformed `customer_ref`, unknown mode or locale, `expires_in` out of 60–2592000, metadata over 4 KiB, a `data_localization_region` Meta does not offer or with coexistence allowed, a `prefill` field breaking its rule (named in the message), a `return_url` that is not https on one of ALLOWED_ORIGINS; `invalid_body` for a `reauthorize_onboarding_id` that is not a UUID, `not_reauthorizable` when it names another customer's onboarding, one whose state does not allow it (not `connected`, `pending` or `action_required`), or the provider is YCloud", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`: `reauthorize_onboarding_id` names no onboarding", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`: PARTNER_API_KEYS is not set", body = ErrorBody),
    )
)]
pub async fn create_session(
    State(state): State<AppState>,
    Json(req): Json<CreateSession>,
) -> Result<Response, Error> {
    if req.modes.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::InvalidBody(
            "modes must name at least one of standard and coexistence".to_owned(),
        ));
    }
    // Meta offers no local storage for numbers shared with the WhatsApp Business App: a
    // region is for the standard numbers a session onboards, so a session must allow them.
    let standard = req
        .modes
        .as_ref()
        .is_none_or(|m| m.contains(&wire::Mode::Standard));
    if req.data_localization_region.is_some() && !standard {
        return Err(Error::InvalidBody(
            "data_localization_region applies to standard numbers (Meta offers no local \
             storage in coexistence): allow the standard mode with it"
                .to_owned(),
        ));
    }
    if let Some(url) = &req.return_url {
        check_return_url(url, &state.allowed_origins, state.sandbox)?;
    }
    let mut req = req;
    if let Some(id) = &req.reauthorize_onboarding_id {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(Error::InvalidBody(
                "reauthorize_onboarding_id must be an onboarding's id (a UUID)".to_owned(),
            ));
        }
        let (_, mode) = state
            .pipeline
            .reauthorize_target(id, &req.customer_ref)
            .await
            .map_err(|e| super::onboardings::reauthorize_refused(e, true))?;
        // The sign-in runs the flow the onboarding was made with, unless the partner says.
        req.modes.get_or_insert_with(|| vec![mode]);
    }
    let session = state.sessions.create(&req).await?;
    Ok((StatusCode::CREATED, axum::Json(session)).into_response())
}

/// Longest `return_url` accepted.
const MAX_RETURN_URL_CHARS: usize = 2048;

/// A session's `return_url`: an `https` URL (plain `http` to a loopback host in a sandbox)
/// on one of `ALLOWED_ORIGINS`, so a finished page only ever links back to the partner.
fn check_return_url(url: &str, allowed: &[String], sandbox: bool) -> Result<(), Error> {
    let refuse = |why: &str| Error::InvalidBody(format!("return_url {why}"));
    if url.chars().count() > MAX_RETURN_URL_CHARS {
        return Err(refuse("is longer than 2048 characters"));
    }
    let parsed = url::Url::parse(url).map_err(|_| refuse("is not an absolute URL"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "https" => {}
        "http" if sandbox && loopback => {}
        _ => {
            return Err(refuse(
                "must be https (http only to this machine in a sandbox)",
            ))
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("must not carry a user name or password"));
    }
    let origin = parsed.origin().ascii_serialization();
    if !allowed.contains(&origin) {
        return Err(refuse(&format!(
            "must be on one of ALLOWED_ORIGINS (its origin {origin} is not)"
        )));
    }
    Ok(())
}

/// The query of `GET /api/partner/sessions`, as sent.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    /// Only this customer's sessions.
    customer_ref: Option<String>,
    /// Page size, 1–100 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /api/partner/sessions`.
#[utoipa::path(
    get, path = "/api/partner/sessions", tag = "partner",
    params(SessionParams),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "Sessions, newest first, without their tokens", body = SessionPage),
        (status = 400, description = "`invalid_query` (limit, customer_ref, another parameter) or `invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    params: Result<Query<SessionParams>, QueryRejection>,
) -> Result<axum::Json<SessionPage>, Error> {
    let Query(params) = params.map_err(query_error)?;
    let customer_ref = params
        .customer_ref
        .map(CustomerRef::parse)
        .transpose()
        .map_err(|e| Error::InvalidQuery(format!("customer_ref: {e}")))?;
    let limit = limit(params.limit.as_deref())?;
    let before = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let (data, more) = state
        .pipeline
        .store()
        .partner_sessions(customer_ref.as_ref(), before.as_ref(), limit)
        .await?;
    let next_cursor = match more {
        true => data.last().map(|s| cursor_of(&s.created_at, &s.id)),
        false => None,
    };
    Ok(axum::Json(SessionPage { data, next_cursor }))
}

/// `GET /api/partner/sessions/{id}`.
#[utoipa::path(
    get, path = "/api/partner/sessions/{id}", tag = "partner",
    params(("id" = String, Path, description = "The session's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "The session, without its token", body = Session),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`session_not_found`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn get_session(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<Session>, Error> {
    let Path(id) = id.map_err(|e| Error::BadPath(e.body_text()))?;
    uuid::Uuid::parse_str(&id).map_err(|_| Error::SessionNotFound)?;
    let session = state
        .pipeline
        .store()
        .partner_session(&id.to_ascii_lowercase())
        .await?
        .ok_or(Error::SessionNotFound)?;
    Ok(axum::Json(session))
}

/// `DELETE /api/partner/sessions/{id}`.
#[utoipa::path(
    delete, path = "/api/partner/sessions/{id}", tag = "partner",
    params(("id" = String, Path, description = "The session's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 204, description = "Revoked: its token stops working at once"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`session_not_found`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let Path(id) = id.map_err(|e| Error::BadPath(e.body_text()))?;
    uuid::Uuid::parse_str(&id).map_err(|_| Error::SessionNotFound)?;
    state.sessions.revoke(&id.to_ascii_lowercase()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/session`: what the page's session token allows (the browser's question; no
/// key needed, the token is the credential).
#[utoipa::path(
    post, path = "/api/session", tag = "onboardings",
    request_body = SessionLookup,
    responses(
        (status = 200, description = "The session is live: the modes and locale the page may offer", body = SessionInfo),
        (status = 401, description = "`session_invalid`: unknown, expired or revoked", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "No `session`, or a malformed one", body = ErrorBody),
    )
)]
pub async fn session_info(
    State(state): State<AppState>,
    Json(req): Json<SessionLookup>,
) -> Result<Response, Error> {
    let info = state.sessions.info(&req.session).await?;
    // About a live token: kept by no cache, and named to no other site.
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        axum::Json(info),
    )
        .into_response())
}
