//! The partner API (`/api/partner/…`, docs/API.md "Partner API"): the partner's backend,
//! with a bearer key, creates sessions and reads what happened. And `POST /api/session`, the
//! browser's question "what does my token allow?".

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wire::{
    CreateSession, CustomerRef, DeliveryState, ErrorBody, EventPage, Funnel, OnboardingPage,
    OnboardingState, PartnerOnboarding, Session, SessionInfo, SessionLookup, SessionPage, Setup,
    WebhookTest, DEFAULT_PAGE, MAX_PAGE,
};

use super::onboardings::{onboarding_id, retry_onboarding};
use super::AppState;
use crate::clock::parse_time;
use crate::error::{Error, Json};
use crate::pipeline::RestartError;
use crate::store::{EventFilter, OnboardingQuery};

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
        (status = 422, description = "Missing or malformed `customer_ref`, unknown mode or locale, `expires_in` out of 60–2592000, metadata over 4 KiB, a `data_localization_region` Meta does not offer or with coexistence allowed, a `prefill` field breaking its rule (named in the message), a `return_url` that is not https on one of ALLOWED_ORIGINS", body = ErrorBody),
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
    if !allowed.iter().any(|a| *a == origin) {
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

/// The query of `GET /api/partner/onboardings`, as sent.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this customer's onboardings.
    customer_ref: Option<String>,
    /// Only onboardings in this state.
    state: Option<String>,
    /// Page size, 1–100 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only the onboarding(s) of this WABA id or phone number id (digits).
    search: Option<String>,
}

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

/// A page position: the last onboarding's `created_at` and id, opaque to the partner.
fn encode_cursor(o: &PartnerOnboarding) -> String {
    cursor_of(&o.onboarding.created_at, &o.onboarding.id)
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

/// `GET /api/partner/onboardings`.
#[utoipa::path(
    get, path = "/api/partner/onboardings", tag = "partner",
    params(ListParams),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "Onboardings, newest first", body = OnboardingPage),
        (status = 400, description = "`invalid_query` (limit, state, customer_ref, search) or `invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn list_onboardings(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<OnboardingPage>, Error> {
    let Query(params) = params.map_err(query_error)?;
    let query = OnboardingQuery {
        customer_ref: params
            .customer_ref
            .map(CustomerRef::parse)
            .transpose()
            .map_err(|e| Error::InvalidQuery(format!("customer_ref: {e}")))?,
        state: params
            .state
            .map(|s| s.parse::<OnboardingState>())
            .transpose()
            .map_err(|e| Error::InvalidQuery(format!("state: {e}")))?,
        limit: limit(params.limit.as_deref())?,
        before: params.cursor.as_deref().map(decode_cursor).transpose()?,
        search: params
            .search
            .map(|s| {
                let s = s.trim().trim_start_matches('+').to_owned();
                match !s.is_empty()
                    && s.len() <= wire::MAX_ID_DIGITS
                    && s.bytes().all(|b| b.is_ascii_digit())
                {
                    true => Ok(s),
                    false => Err(Error::InvalidQuery(
                        "search must be a WABA id or a phone number id (digits)".to_owned(),
                    )),
                }
            })
            .transpose()?,
    };
    let (data, more) = state.pipeline.store().partner_onboardings(&query).await?;
    let next_cursor = match more {
        true => data.last().map(encode_cursor),
        false => None,
    };
    Ok(axum::Json(OnboardingPage { data, next_cursor }))
}

/// `GET /api/partner/onboardings/{id}`.
#[utoipa::path(
    get, path = "/api/partner/onboardings/{id}", tag = "partner",
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "The onboarding with its steps, session and metadata", body = PartnerOnboarding),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn get_onboarding(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PartnerOnboarding>, Error> {
    let id = onboarding_id(id)?;
    partner_view(&state, &id).await
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

/// `POST /api/partner/onboardings/{id}/retry`.
#[utoipa::path(
    post, path = "/api/partner/onboardings/{id}/retry", tag = "partner",
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "The failed step and what follows it ran again", body = PartnerOnboarding),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`", body = ErrorBody),
        (status = 409, description = "`nothing_to_retry`", body = ErrorBody),
        (status = 429, description = "`register_limit`: the number's 72-hour register budget is spent", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PartnerOnboarding>, Error> {
    let id = onboarding_id(id)?;
    // Only the partner gives the customer three more PINs.
    state.pipeline.store().clear_pin_attempts(&id).await?;
    retry_onboarding(&state, &id).await?;
    partner_view(&state, &id).await
}

/// `POST /api/partner/onboardings/{id}/restart`.
#[utoipa::path(
    post, path = "/api/partner/onboardings/{id}/restart", tag = "partner",
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 201, description = "A new onboarding of the same WABA and number (`previous_onboarding_id` names this one), its steps run", body = PartnerOnboarding),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`", body = ErrorBody),
        (status = 409, description = "`not_restartable`: the onboarding is not `failed` or `deregistered`, or was started over already", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn restart(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let id = onboarding_id(id)?;
    let new = match state.pipeline.restart(&id).await {
        Ok(new) => new,
        Err(RestartError::NotFound) => return Err(Error::OnboardingNotFound),
        Err(RestartError::NotRestartable(why)) => return Err(Error::NotRestartable(why)),
        Err(RestartError::Store(e)) => return Err(Error::Store(e)),
    };
    let view = partner_view(&state, &new.id).await?;
    Ok((StatusCode::CREATED, view).into_response())
}

/// The query of `GET /api/partner/events`, as sent; any other parameter is refused, so a
/// misspelt filter is never silently ignored.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Only events after this event id (`next_cursor` of the previous page).
    after: Option<String>,
    /// Page size, 1–100 (default 50).
    limit: Option<String>,
    /// Only events of this type, e.g. `onboarding.connected`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
    /// Only this onboarding's events (its UUID).
    onboarding_id: Option<String>,
    /// Only events whose delivery stands so: `pending`, `delivered`, `failed`, `disabled`.
    delivery_state: Option<String>,
}

/// `evt_` and 32 lower-case hex digits: what [`crate::store`] gives out.
fn event_id(after: &str) -> Result<&str, Error> {
    let ok = after.strip_prefix("evt_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    ok.then_some(after).ok_or(Error::InvalidCursor)
}

/// `GET /api/partner/events`.
#[utoipa::path(
    get, path = "/api/partner/events", tag = "partner",
    params(EventParams),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "Events, oldest first, each with its delivery state", body = EventPage),
        (status = 400, description = "`invalid_query` (limit, type, onboarding_id, delivery_state, or a parameter that is not one of these) or `invalid_cursor` (after)", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    params: Result<Query<EventParams>, QueryRejection>,
) -> Result<axum::Json<EventPage>, Error> {
    let Query(params) = params.map_err(query_error)?;
    let after = params.after.as_deref().map(event_id).transpose()?;
    let limit = limit(params.limit.as_deref())?;
    let filter = EventFilter {
        event_type: params
            .event_type
            .map(|t| t.parse::<wire::EventType>())
            .transpose()
            .map_err(|e| Error::InvalidQuery(format!("type: {e}")))?,
        onboarding_id: params
            .onboarding_id
            .map(|id| {
                uuid::Uuid::parse_str(&id)
                    .map(|u| u.to_string())
                    .map_err(|_| Error::InvalidQuery("onboarding_id must be a UUID".to_owned()))
            })
            .transpose()?,
        delivery_state: params
            .delivery_state
            .map(|s| s.parse::<DeliveryState>())
            .transpose()
            .map_err(|e| Error::InvalidQuery(format!("delivery_state: {e}")))?,
    };
    let data = state
        .pipeline
        .store()
        .partner_events(after, limit, &filter)
        .await?;
    let next_cursor = match data.len() == limit as usize {
        true => data.last().map(|e| e.id.clone()),
        false => None,
    };
    Ok(axum::Json(EventPage { data, next_cursor }))
}

/// `POST /api/partner/events/{id}/redeliver`.
#[utoipa::path(
    post, path = "/api/partner/events/{id}/redeliver", tag = "partner",
    params(("id" = String, Path, description = "The event's id (`evt_…`)")),
    security(("partner_key" = [])),
    responses(
        (status = 202, description = "The event is due now: posted again at once (a failed one gets one more attempt)"),
        (status = 400, description = "`bad_path`: not an event id", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`csrf_invalid`: a console write without its X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "`event_not_found`", body = ErrorBody),
        (status = 409, description = "`partner_webhook_not_configured`: no PARTNER_WEBHOOK_URL", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn redeliver(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Error> {
    let Path(id) = id.map_err(|e| Error::BadPath(e.body_text()))?;
    let id = event_id(&id)
        .map_err(|_| Error::BadPath("not an event id (evt_ and 32 hex digits)".to_owned()))?;
    if state.deliverer.is_none() {
        return Err(Error::PartnerWebhookNotConfigured);
    }
    match state.pipeline.store().redeliver_event(id).await? {
        true => {
            tracing::info!(event = %id, "partner event due again (redeliver)");
            Ok(StatusCode::ACCEPTED)
        }
        false => Err(Error::EventNotFound),
    }
}

/// `POST /api/partner/webhook-test`.
#[utoipa::path(
    post, path = "/api/partner/webhook-test", tag = "partner",
    security(("partner_key" = [])),
    responses(
        (status = 202, description = "A signed `ping` event is being posted to PARTNER_WEBHOOK_URL (once, not listed)", body = WebhookTest),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`csrf_invalid`: a console write without its X-CSRF-Token", body = ErrorBody),
        (status = 409, description = "`partner_webhook_not_configured`: no PARTNER_WEBHOOK_URL", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn webhook_test(State(state): State<AppState>) -> Result<Response, Error> {
    let deliverer = state
        .deliverer
        .as_ref()
        .ok_or(Error::PartnerWebhookNotConfigured)?;
    let id = deliverer.ping();
    Ok((StatusCode::ACCEPTED, axum::Json(WebhookTest { id })).into_response())
}

/// The query of `GET /api/partner/funnel`, as sent.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FunnelParams {
    /// The window in days: `7` (the default) or `30`.
    days: Option<String>,
}

/// `GET /api/partner/funnel`.
#[utoipa::path(
    get, path = "/api/partner/funnel", tag = "partner",
    params(FunnelParams),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "Sessions created, links opened, popups launched, sign-ups finished and connected over the window, with cancel steps and popup error codes", body = Funnel),
        (status = 400, description = "`invalid_query`: days is not 7 or 30", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn funnel(
    State(state): State<AppState>,
    params: Result<Query<FunnelParams>, QueryRejection>,
) -> Result<axum::Json<Funnel>, Error> {
    let Query(params) = params.map_err(query_error)?;
    let days: u32 = match params.days.as_deref() {
        None | Some("7") => 7,
        Some("30") => 30,
        Some(_) => return Err(Error::InvalidQuery("days must be 7 or 30".to_owned())),
    };
    let since = state.clock.now() - time::Duration::days(days.into());
    let counts = state.pipeline.store().funnel_counts(since).await?;
    let popups = state.pipeline.store().signup_funnel(since).await?;
    let by_key = |list: Vec<(String, u64)>| {
        list.into_iter()
            .map(|(key, count)| wire::FunnelCount { key, count })
            .collect::<Vec<_>>()
    };
    Ok(axum::Json(Funnel {
        days,
        since: crate::clock::format_time(since),
        sessions_created: counts.sessions_created,
        links_opened: counts.links_opened,
        popups_launched: Some(popups.launched),
        finished: counts.finished,
        connected: counts.connected,
        cancelled: by_key(popups.cancelled),
        errors: by_key(popups.errors),
    }))
}

/// `GET /api/partner/setup`.
#[utoipa::path(
    get, path = "/api/partner/setup", tag = "partner",
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "Mode, provider, which settings are set and needed (never their values), webhook addresses, and the partner webhook's last delivery", body = Setup),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn setup(State(state): State<AppState>) -> Result<axum::Json<Setup>, Error> {
    let mut setup = state.setup.clone();
    setup.last_delivery =
        state
            .pipeline
            .store()
            .last_delivery()
            .await?
            .map(|(event_id, state, last_error)| wire::LastDelivery {
                event_id,
                state,
                last_error,
            });
    Ok(axum::Json(setup))
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
        assert!(event_id("evt_0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "evt_",
            "evt_0123456789ABCDEF0123456789ABCDEF",
            "x",
            "evt_0123456789abcdef0123456789abcde'",
        ] {
            assert!(event_id(bad).is_err(), "{bad}");
        }
    }
}
