//! The redirect flow's routes (`crate::redirect`): `POST /api/oauth/start`, Meta's way back
//! `GET /oauth/callback` (and the chooser's `POST /oauth/callback`), and
//! `POST /api/oauth/result`, where the page picks up the onboarding.
//!
//! The callback answers the customer's browser, so its answers are pages (one sentence in the
//! flow's language), not JSON; each refusal is logged with its reason, never with the code,
//! the token or Meta's free text.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wire::{
    CreateOnboarding, CreatedOnboarding, ErrorBody, Locale, Mode, Onboarding, RedirectResult,
    RedirectStarted, StartRedirect,
};

use super::AppState;
use crate::error::{Error, Json};
use crate::pipeline::{CreateError, Created, ReauthorizeError};
use crate::providers::graph::VerifyError;
use crate::redirect::page::{self, Notice};
use crate::redirect::state::{self as flow_state, digest, Claims};
use crate::redirect::{discover, sandbox_candidates, Candidate, RedirectFlow, RESULT_LIFETIME};
use crate::sessions::FlowCustomer;
use crate::store::{Consumed, Pending};
use crate::vault::Field;

/// Longest code read from Meta's redirect.
const MAX_CODE_CHARS: usize = 2048;

/// `POST /api/oauth/start`.
#[utoipa::path(
    post, path = "/api/oauth/start", tag = "onboardings",
    request_body = StartRedirect,
    responses(
        (status = 200, description = "A signed, single-use `state` (30 minutes) bound to the session and mode, with Meta's dialog address and the `redirect_uri` to send it", body = RedirectStarted),
        (status = 401, description = "`session_required` (live mode, no `session`) or `session_invalid`", body = ErrorBody),
        (status = 403, description = "`mode_not_allowed` by the session", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Wrong types, unknown mode, locale or fields", body = ErrorBody),
        (status = 429, description = "`rate_limited` (`RATE_LIMIT_PER_MINUTE`)", body = ErrorBody),
        (status = 503, description = "`redirect_flow_disabled`: `REDIRECT_FLOW` is off", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    Json(req): Json<StartRedirect>,
) -> Result<Response, Error> {
    let flow = state.redirect.as_ref().ok_or(Error::RedirectFlowDisabled)?;
    let session = state
        .sessions
        .admit_start(req.session.as_ref(), req.mode)
        .await?;
    let locale = req.locale.or(session.as_ref().and_then(|s| s.locale));
    let claims = Claims::new(session.map(|s| s.id), req.mode, locale, state.clock.now())
        .map_err(Error::Internal)?;
    let text = flow_state::issue(&flow.key, &claims);
    state
        .pipeline
        .store()
        .insert_oauth_state(
            &digest(&text),
            claims.session_id.as_deref(),
            claims.mode,
            claims.expires(),
        )
        .await?;
    tracing::info!(mode = %claims.mode, "redirect flow started");
    let answer = RedirectStarted {
        dialog_url: flow.dialog_url.clone(),
        redirect_uri: flow.redirect_uri.clone(),
        state: text,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response())
}

/// What Meta's dialog sends back (all optional: anyone can open the address).
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_reason: Option<String>,
}

/// `GET /oauth/callback`: Meta's dialog comes back here.
#[utoipa::path(
    get, path = "/oauth/callback", tag = "onboardings",
    params(
        ("code" = Option<String>, Query, description = "Meta's authorization code"),
        ("state" = Option<String>, Query, description = "The `state` of `POST /api/oauth/start`"),
        ("error" = Option<String>, Query, description = "Meta's error (e.g. `access_denied`); `error_reason` and `error_description` may accompany it and are never shown"),
    ),
    responses(
        (status = 303, description = "The onboarding was created: to the landing page, with `#wa-signup-result=<handle>` for `POST /api/oauth/result`"),
        (status = 200, description = "A page: the customer cancelled or Meta refused (one sentence), no WABA was shared, or the chooser when several numbers were", content_type = "text/html"),
        (status = 400, description = "A page: the state is unknown, used, expired or tampered with; no code", content_type = "text/html"),
        (status = 403, description = "A page: the session is no longer valid", content_type = "text/html"),
        (status = 409, description = "A page: the WABA and number belong to another customer", content_type = "text/html"),
        (status = 502, description = "A page: Meta refused the code or could not be asked", content_type = "text/html"),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let Some(flow) = state.redirect.as_ref() else {
        return html(
            StatusCode::SERVICE_UNAVAILABLE,
            page::notice(Locale::En, Notice::Failed),
        );
    };
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let Some((claims, hash)) = consume(&state, flow, q.state.as_deref()).await else {
        return html(
            StatusCode::BAD_REQUEST,
            page::notice(Locale::En, Notice::StateInvalid),
        );
    };
    let locale = claims.locale.unwrap_or(Locale::En);
    let say = |status: StatusCode, notice: Notice| html(status, page::notice(locale, notice));
    if let Some(error) = q.error.as_deref() {
        let reason = q.error_reason.as_deref().unwrap_or("");
        // Meta's words for support, bounded; its description is free text and stays out.
        tracing::info!(
            error = %error.chars().take(64).collect::<String>(),
            reason = %reason.chars().take(64).collect::<String>(),
            "redirect flow: Meta's dialog ended without a code"
        );
        let cancelled = error == "access_denied" || reason == "user_denied";
        return say(
            StatusCode::OK,
            if cancelled {
                Notice::Cancelled
            } else {
                Notice::MetaError
            },
        );
    }
    let Some(code) = q
        .code
        .filter(|c| !c.is_empty() && c.len() <= MAX_CODE_CHARS)
    else {
        return say(StatusCode::BAD_REQUEST, Notice::MetaError);
    };
    let who = match state
        .sessions
        .customer_of(claims.session_id.as_deref(), claims.mode)
        .await
    {
        Ok(c) => c,
        Err(e) => return refused_customer(locale, e),
    };
    let code_sha256 = digest(&code);
    let (candidates, token) = match state.verifier.as_deref() {
        Some(graph) => {
            // At once: Meta's code lives about 30 seconds.
            let token = match graph.exchange_redirected(&code, &flow.redirect_uri).await {
                Ok(t) => t,
                Err(e) => return graph_refused(locale, &e),
            };
            let since = claims.issued();
            match discover(graph, state.pipeline.store(), &token, since).await {
                Ok(c) => (c, token),
                Err(e) => return graph_refused(locale, &e),
            }
        }
        // Sandbox mode without an app secret: the stand-in dialog's code names the WABAs.
        None if state.sandbox => (
            sandbox_candidates(&code),
            SecretString::from(format!(
                "sandbox-business-token-{}",
                uuid::Uuid::new_v4().simple()
            )),
        ),
        None => return say(StatusCode::SERVICE_UNAVAILABLE, Notice::Failed),
    };
    tracing::info!(
        candidates = candidates.len(),
        "redirect flow: WABAs the customer's token reaches"
    );
    match candidates.as_slice() {
        [] => say(StatusCode::OK, Notice::NothingShared),
        [one] => {
            finish(
                &state,
                flow,
                &hash,
                claims.mode,
                locale,
                &who,
                one.clone(),
                &code_sha256,
                token,
            )
            .await
        }
        several => {
            // Never a guess: the customer picks. The token waits sealed (Meta provider only;
            // YCloud holds its own credentials).
            let sealed = match state.pipeline.vault() {
                Some(vault) => match vault.seal(&hash, Field::BusinessToken, token.expose_secret())
                {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::error!(error = %e, "redirect flow: the token could not be sealed");
                        return say(StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed);
                    }
                },
                None => None,
            };
            let pending = Pending {
                candidates: serde_json::to_string(several).unwrap_or_default(),
                business_token: sealed,
                code_sha256: Some(code_sha256),
            };
            if let Err(e) = state
                .pipeline
                .store()
                .await_oauth_choice(&hash, &pending)
                .await
            {
                tracing::error!(error = %e, "redirect flow: candidates not stored");
                return say(StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed);
            }
            let state_text = q.state.unwrap_or_default();
            html(StatusCode::OK, page::chooser(locale, &state_text, several))
        }
    }
}

/// The chooser's form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChoiceForm {
    /// The flow's `state`, as the chooser page carries it.
    state: String,
    /// The index of one of the listed numbers.
    choice: String,
}

/// `POST /oauth/callback`: the customer's choice among several numbers.
#[utoipa::path(
    post, path = "/oauth/callback", tag = "onboardings",
    request_body(content = ChoiceForm, content_type = "application/x-www-form-urlencoded", description = "`state` (the flow's) and `choice` (the index of a listed number)"),
    responses(
        (status = 303, description = "The onboarding was created: to the landing page, with `#wa-signup-result=<handle>`"),
        (status = 400, description = "A page: the state is invalid, or no choice waits for it (chosen already)", content_type = "text/html"),
    )
)]
pub async fn choose(
    State(state): State<AppState>,
    form: Result<Form<ChoiceForm>, FormRejection>,
) -> Response {
    let Some(flow) = state.redirect.as_ref() else {
        return html(
            StatusCode::SERVICE_UNAVAILABLE,
            page::notice(Locale::En, Notice::Failed),
        );
    };
    let invalid = |locale| {
        html(
            StatusCode::BAD_REQUEST,
            page::notice(locale, Notice::StateInvalid),
        )
    };
    let Ok(Form(form)) = form else {
        return invalid(Locale::En);
    };
    let Ok(claims) = flow_state::open(&flow.key, &form.state, state.clock.now()) else {
        return invalid(Locale::En);
    };
    let locale = claims.locale.unwrap_or(Locale::En);
    let hash = digest(&form.state);
    let pending = match state.pipeline.store().take_oauth_choice(&hash).await {
        Ok(Some(p)) => p,
        Ok(None) => return invalid(locale),
        Err(e) => {
            tracing::error!(error = %e, "redirect flow: the choice could not be read");
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::notice(locale, Notice::Failed),
            );
        }
    };
    let candidates: Vec<Candidate> = serde_json::from_str(&pending.candidates).unwrap_or_default();
    let Some(chosen) = form
        .choice
        .parse::<usize>()
        .ok()
        .and_then(|i| candidates.get(i))
    else {
        return invalid(locale);
    };
    let token = match (pending.business_token, state.pipeline.vault()) {
        (Some(sealed), Some(vault)) => match vault.open(&hash, Field::BusinessToken, &sealed) {
            Ok(t) => t,
            Err(_) => {
                return html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page::notice(locale, Notice::Failed),
                )
            }
        },
        // YCloud: the token is not needed after the check.
        _ => SecretString::from(String::new()),
    };
    let who = match state
        .sessions
        .customer_of(claims.session_id.as_deref(), claims.mode)
        .await
    {
        Ok(c) => c,
        Err(e) => return refused_customer(locale, e),
    };
    let code_sha256 = pending.code_sha256.unwrap_or_default();
    finish(
        &state,
        flow,
        &hash,
        claims.mode,
        locale,
        &who,
        chosen.clone(),
        &code_sha256,
        token,
    )
    .await
}

/// `POST /api/oauth/result`.
#[utoipa::path(
    post, path = "/api/oauth/result", tag = "onboardings",
    request_body = RedirectResult,
    responses(
        (status = 200, description = "The onboarding the redirect flow created (the handle works once, for 10 minutes), with `client_token`, shown once: the bearer token of this onboarding's browser routes, as `POST /api/onboardings` answers", body = CreatedOnboarding),
        (status = 401, description = "`session_invalid`: the flow's session was revoked or expired meanwhile", body = ErrorBody),
        (status = 404, description = "`result_not_found`: unknown, used or expired", body = ErrorBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Wrong types or unknown fields", body = ErrorBody),
        (status = 503, description = "`redirect_flow_disabled`", body = ErrorBody),
    )
)]
pub async fn result(
    State(state): State<AppState>,
    Json(req): Json<RedirectResult>,
) -> Result<Response, Error> {
    state.redirect.as_ref().ok_or(Error::RedirectFlowDisabled)?;
    let picked = state
        .pipeline
        .store()
        .take_oauth_result(&digest(&req.result))
        .await?
        .ok_or(Error::ResultNotFound)?;
    // A client token only while the flow's session lives, as for `POST /api/onboardings`.
    if let Some(session) = picked.session_id.as_deref() {
        state.sessions.ensure_live(session).await?;
    }
    let onboarding = state
        .pipeline
        .get(&picked.onboarding_id)
        .await?
        .ok_or(Error::OnboardingNotFound)?;
    let client_token = state
        .sessions
        .issue_client_token(&onboarding.id, picked.session_id.as_deref())
        .await?;
    let body = CreatedOnboarding {
        onboarding,
        client_token,
    };
    // The token is a secret: no cache on the way keeps the answer.
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response())
}

/// Opens and consumes the state: `None` when it is absent, malformed, tampered with,
/// expired, or used before (here or on another instance).
async fn consume(
    state: &AppState,
    flow: &RedirectFlow,
    text: Option<&str>,
) -> Option<(Claims, String)> {
    let claims = match text.map(|t| flow_state::open(&flow.key, t, state.clock.now())) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            tracing::info!(why = %e, "redirect flow: state refused");
            return None;
        }
        None => {
            tracing::info!("redirect flow: callback without a state");
            return None;
        }
    };
    let hash = digest(text?);
    match state.pipeline.store().consume_oauth_state(&hash).await {
        Ok(Consumed::Fresh) => Some((claims, hash)),
        Ok(Consumed::Spent) => {
            tracing::info!("redirect flow: state used before");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "redirect flow: state not consumed");
            None
        }
    }
}

/// Creates the onboarding through the same pipeline as the popup's post, then sends the
/// customer to the landing page (the session's `return_url`, else the standalone page) with
/// the result's handle in the fragment.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: &AppState,
    flow: &RedirectFlow,
    hash: &str,
    mode: Mode,
    locale: Locale,
    who: &FlowCustomer,
    chosen: Candidate,
    code_sha256: &str,
    token: SecretString,
) -> Response {
    let say = |status: StatusCode, notice: Notice| html(status, page::notice(locale, notice));
    let customer = &who.customer;
    // The same path rule as the popup's: a number Meta reports on the WhatsApp Business app
    // is coexistence, never registered; then the session must allow the mode run.
    let facts = crate::biz_app::NumberFacts {
        is_on_biz_app: chosen.is_on_biz_app,
        ..Default::default()
    };
    let launched = mode;
    let mode = crate::biz_app::decide(launched, Some(&facts));
    if !customer.allows(mode) {
        tracing::info!(mode = %mode, "redirect flow: the session does not allow the mode Meta reports");
        return say(StatusCode::FORBIDDEN, Notice::SessionInvalid);
    }
    let req = CreateOnboarding {
        mode,
        waba_id: chosen.waba_id,
        phone_number_id: chosen.phone_number_id,
        business_id: chosen.business_id,
        code: None,
        event: None,
        customer_ref: None,
        session: None,
    };
    // A session renewing an onboarding's business token: this sign-in renews it, for the
    // same WABA and number only (the choices are what the new token reaches).
    match super::token::renewing(state, customer).await {
        Ok(None) => {}
        Ok(Some(target)) => {
            let waba = (&req.waba_id, req.phone_number_id.as_ref());
            return match super::token::renew(state, customer, &target, waba, token).await {
                Ok(onboarding) => land(state, flow, hash, locale, who, &onboarding).await,
                Err(e) => renew_refused(locale, &target, e),
            };
        }
        Err(e) => {
            tracing::error!(error = %e, "redirect flow: session not read");
            return say(StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed);
        }
    }
    let code_sha256 = Some(code_sha256).filter(|c| !c.is_empty());
    let created = match state.pipeline.holds_tokens() {
        true => {
            state
                .pipeline
                .create_direct(req, launched, customer, code_sha256, token)
                .await
        }
        false => {
            state
                .pipeline
                .create(req, launched, customer, code_sha256)
                .await
        }
    };
    let onboarding = match created {
        Ok(Created::New(o) | Created::Again(o)) => o,
        Err(CreateError::AlreadyOnboarded) => {
            return say(StatusCode::CONFLICT, Notice::AlreadyOnboarded)
        }
        Err(CreateError::SessionExhausted) => {
            return say(StatusCode::TOO_MANY_REQUESTS, Notice::SessionExhausted)
        }
        // Revoked or expired while the onboarding was being stored.
        Err(CreateError::SessionEnded) => {
            return say(StatusCode::FORBIDDEN, Notice::SessionInvalid)
        }
        Err(CreateError::Store(e)) => {
            tracing::error!(error = %e, "redirect flow: onboarding not stored");
            return say(StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed);
        }
    };
    land(state, flow, hash, locale, who, &onboarding).await
}

/// [`super::token::renew`]'s refusal, as the page says it.
fn renew_refused(locale: Locale, target_id: &str, e: ReauthorizeError) -> Response {
    let (status, notice) = match e {
        ReauthorizeError::Mismatch(why) => {
            tracing::info!(
                id = target_id,
                why,
                "redirect flow: reauthorization for another account"
            );
            (StatusCode::FORBIDDEN, Notice::WrongAccount)
        }
        ReauthorizeError::NotFound | ReauthorizeError::NotReauthorizable(_) => {
            (StatusCode::FORBIDDEN, Notice::SessionInvalid)
        }
        ReauthorizeError::Store(e) => {
            tracing::error!(error = %e, "redirect flow: token not renewed");
            (StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed)
        }
    };
    html(status, page::notice(locale, notice))
}

/// Keeps `onboarding` as the flow's result and sends the customer to the landing page with
/// the result's handle in the fragment.
async fn land(
    state: &AppState,
    flow: &RedirectFlow,
    hash: &str,
    locale: Locale,
    who: &FlowCustomer,
    onboarding: &Onboarding,
) -> Response {
    let say = |status: StatusCode, notice: Notice| html(status, page::notice(locale, notice));
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        return say(StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed);
    }
    let handle = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let until = state.clock.now() + RESULT_LIFETIME;
    if let Err(e) = state
        .pipeline
        .store()
        .set_oauth_result(hash, &onboarding.id, &digest(&handle), until)
        .await
    {
        tracing::error!(error = %e, "redirect flow: result not stored");
        return say(StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed);
    }
    tracing::info!(id = %onboarding.id, state = %onboarding.state, "redirect flow: onboarding created");
    let location = flow.landing_for(who.return_url.as_deref(), &state.allowed_origins, &handle);
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// The page for a session that may no longer onboard.
fn refused_customer(locale: Locale, e: Error) -> Response {
    let (status, notice) = match e {
        Error::Store(e) => {
            tracing::error!(error = %e, "redirect flow: session not read");
            (StatusCode::INTERNAL_SERVER_ERROR, Notice::Failed)
        }
        other => {
            tracing::info!(code = %other.code().as_str(), "redirect flow: session refused at the callback");
            (StatusCode::FORBIDDEN, Notice::SessionInvalid)
        }
    };
    html(status, page::notice(locale, notice))
}

/// The page for a Graph refusal.
fn graph_refused(locale: Locale, e: &VerifyError) -> Response {
    tracing::warn!(error = %e, "redirect flow: Graph refused or unavailable");
    let notice = match e {
        VerifyError::CodeInvalid => Notice::CodeRefused,
        VerifyError::NotOwned | VerifyError::NumberNotOwned => Notice::NothingShared,
        VerifyError::Unavailable(_) => Notice::Unavailable,
    };
    html(StatusCode::BAD_GATEWAY, page::notice(locale, notice))
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
