//! The routes of Meta's Cloud API provider (`WHATSAPP_PROVIDER=meta`): creating an
//! onboarding with the business token, the customer's PIN, the partner's view of the stored
//! credentials, deregistering, and Meta's webhooks.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wire::{CreateOnboarding, Credentials, ErrorBody, Onboarding, PartnerOnboarding, SetPin};

use super::onboarding::{authorize, onboarding_id, refused};
use super::partner::onboardings::reauthorize_refused;
use super::webhooks::VerifiedMetaWebhook;
use super::AppState;
use crate::error::{Error, Json};
use crate::ownership::{self, Refusal, Verified};
use crate::pipeline::{same_number, Applied, CreateError, Created, DeregisterError, PinError};
use crate::providers::graph::VerifyError;
use crate::providers::meta::webhook::Notification;
use crate::store::Customer;

/// Longest `hub.challenge` echoed.
const MAX_CHALLENGE_CHARS: usize = 256;

/// `POST /api/onboardings` with the Meta provider: the code is required, its business token
/// (from the ownership check's exchange) is what every later call uses.
pub(super) async fn create(
    state: &AppState,
    mut req: CreateOnboarding,
    launched: wire::Mode,
    customer: &Customer,
) -> Result<Result<Created, CreateError>, Error> {
    let Some(code) = req.code.as_ref() else {
        return Err(Error::CodeMissing);
    };
    if let Some(target) = reauthorizing(state, customer).await? {
        return reauthorize(state, &req, customer, &target).await;
    }
    let (hash, token) = match &state.verifier {
        Some(graph) => match ownership::verify(state.pipeline.store(), graph, &req).await {
            Ok(Verified::Again(existing)) => {
                return Ok(state.pipeline.again(*existing, customer).await)
            }
            Ok(Verified::Code(hash, owned)) => {
                ownership::settle_path(graph, &owned, &mut req).await;
                (hash, owned.token)
            }
            Err(Refusal::Store(e)) => return Err(Error::Store(e)),
            Err(e) => return Err(refused(e)),
        },
        // The sandbox: the fake Meta takes any token.
        None => (
            hex::encode(Sha256::digest(code.as_str().as_bytes())),
            SecretString::from(format!(
                "sandbox-business-token-{}",
                uuid::Uuid::new_v4().simple()
            )),
        ),
    };
    if !customer.allows(req.mode) {
        return Err(Error::ModeNotAllowed(req.mode));
    }
    Ok(state
        .pipeline
        .create_direct(req, launched, customer, Some(&hash), token)
        .await)
}

/// The onboarding the customer's session reauthorizes, if it does.
async fn reauthorizing(state: &AppState, customer: &Customer) -> Result<Option<String>, Error> {
    let Some(session) = &customer.session_id else {
        return Ok(None);
    };
    Ok(state
        .pipeline
        .store()
        .session_by_id(session)
        .await?
        .and_then(|s| s.reauthorize_onboarding_id))
}

/// `POST /api/onboardings` through a reauthorizing session: the sign-in must name the
/// onboarding's WABA and number (checked before the code is exchanged), and the new token
/// must reach them (the ownership check's membership test); then it replaces the stored
/// token. Any refusal stores nothing. Answered `200` with the onboarding.
async fn reauthorize(
    state: &AppState,
    req: &CreateOnboarding,
    customer: &Customer,
    target_id: &str,
) -> Result<Result<Created, CreateError>, Error> {
    let refuse = |e| reauthorize_refused(e, false);
    let customer_ref = customer
        .customer_ref
        .as_ref()
        .ok_or(Error::SessionInvalid)?;
    let (target, _) = state
        .pipeline
        .reauthorize_target(target_id, customer_ref)
        .await
        .map_err(refuse)?;
    same_number(&target, &req.waba_id, req.phone_number_id.as_ref()).map_err(refuse)?;
    let code = req.code.as_ref().ok_or(Error::CodeMissing)?;
    let token = match &state.verifier {
        Some(graph) => match graph
            .verify_ownership(
                code.as_str(),
                &target.waba_id,
                target.phone_number_id.as_ref(),
            )
            .await
        {
            Ok(owned) => owned.token,
            Err(VerifyError::NotOwned | VerifyError::NumberNotOwned) => {
                tracing::warn!(
                    id = target_id,
                    "reauthorization refused: the new token does not reach the WABA and number"
                );
                return Err(Error::ReauthorizeMismatch(
                    "the new sign-in does not reach the WhatsApp Business Account and number \
                     whose access is being renewed; sign in again and pick them"
                        .to_owned(),
                ));
            }
            Err(e) => return Err(refused(Refusal::Graph(e))),
        },
        // The sandbox: the fake Meta takes any token.
        None => SecretString::from(format!(
            "sandbox-business-token-{}",
            uuid::Uuid::new_v4().simple()
        )),
    };
    let onboarding = state
        .pipeline
        .reauthorize(target_id, token)
        .await
        .map_err(refuse)?;
    Ok(Ok(Created::Again(onboarding)))
}

/// `POST /api/onboardings/{id}/pin`.
#[utoipa::path(
    post, path = "/api/onboardings/{id}/pin", tag = "onboardings",
    security(("client_token" = [])),
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    request_body = SetPin,
    responses(
        (status = 200, description = "The number was registered again with the PIN, which is stored (encrypted) only once Meta accepted it: `pending`, `connected`, or `action_required` again when Meta refused it", body = Onboarding),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no `Authorization: Bearer <client_token>` of this onboarding, or its session was revoked or expired", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`", body = ErrorBody),
        (status = 409, description = "`pin_not_expected`: the onboarding is not waiting for a PIN, another request or instance works on it, or the provider is YCloud", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "`invalid_body`: the PIN is not exactly six digits", body = ErrorBody),
        (status = 429, description = "`pin_attempts_exhausted`: three PINs were sent for this onboarding in 24 hours (the partner's retry allows three more); `register_limit`: the number's 72-hour register budget is spent; or this client sent more PINs than `RATE_LIMIT_PER_MINUTE` allows (`rate_limited`); each with `Retry-After`", body = ErrorBody),
    )
)]
pub async fn pin(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    Json(body): Json<SetPin>,
) -> Result<axum::Json<Onboarding>, Error> {
    let id = onboarding_id(id)?;
    authorize(&state, &headers, &id).await?;
    match state.pipeline.submit_pin(&id, body.pin).await {
        Ok(onboarding) => Ok(axum::Json(onboarding)),
        Err(PinError::NotFound) => Err(Error::OnboardingNotFound),
        Err(PinError::NotExpected(why)) => Err(Error::PinNotExpected(why)),
        Err(PinError::AttemptsExhausted) => Err(Error::PinAttemptsExhausted),
        Err(PinError::BudgetSpent(retry_after)) => Err(Error::RegisterBudgetSpent {
            retry_after,
            now: state.clock.now(),
        }),
        Err(PinError::Store(e)) => Err(Error::Store(e)),
        Err(PinError::Internal(e)) => Err(Error::Internal(e)),
    }
}

/// `GET /api/partner/onboardings/{id}/credentials`.
#[utoipa::path(
    get, path = "/api/partner/onboardings/{id}/credentials", tag = "partner",
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "The number's PIN and the customer's business token, decrypted (Meta provider only)", body = Credentials),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`, or `credentials_not_found` when nothing is stored (always with YCloud)", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn credentials(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let id = onboarding_id(id)?;
    state
        .pipeline
        .store()
        .get(&id)
        .await?
        .ok_or(Error::OnboardingNotFound)?;
    let credentials = state
        .pipeline
        .credentials(&id)
        .await?
        .ok_or(Error::CredentialsNotFound)?;
    tracing::info!(id, "credentials read through the partner API");
    // Secrets: never kept by a cache on the way.
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(credentials),
    )
        .into_response())
}

/// `POST /api/partner/onboardings/{id}/deregister`.
#[utoipa::path(
    post, path = "/api/partner/onboardings/{id}/deregister", tag = "partner",
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "Deregistered at Meta: the onboarding is `deregistered` (and `onboarding.deregistered` is sent)", body = PartnerOnboarding),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`", body = ErrorBody),
        (status = 409, description = "`not_deregistrable`: the provider is YCloud (deregister at YCloud), a coexistence number, a number never registered or already deregistered; or Meta's refusal a person must fix (`business_token_invalid`, `on_premises_retired`)", body = ErrorBody),
        (status = 429, description = "`deregister_limit`: the number's 10 deregister requests in 72 hours are spent (counted by the proxy, or Meta's 133016); `retry_after` says when", body = ErrorBody),
        (status = 502, description = "Meta failed or refused the deregister (`upstream_*`); the onboarding is unchanged", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn deregister(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PartnerOnboarding>, Error> {
    let id = onboarding_id(id)?;
    match state.pipeline.deregister(&id).await {
        Ok(_) => {}
        Err(DeregisterError::NotFound) => return Err(Error::OnboardingNotFound),
        Err(DeregisterError::NotDeregistrable(why)) => return Err(Error::NotDeregistrable(why)),
        Err(DeregisterError::BudgetSpent(retry_after)) => {
            return Err(Error::DeregisterBudgetSpent {
                retry_after,
                now: state.clock.now(),
            })
        }
        Err(DeregisterError::Meta(e)) => return Err(Error::MetaRefused(e)),
        Err(DeregisterError::Store(e)) => return Err(Error::Store(e)),
    }
    super::partner::partner_view(&state, &id).await
}

/// The query of Meta's verification request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Handshake {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    mode: Option<String>,
    /// Must equal `META_WEBHOOK_VERIFY_TOKEN`.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    verify_token: Option<String>,
    /// Echoed back.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// `GET /webhooks/meta`: Meta's verification request when the callback URL is configured.
#[utoipa::path(
    get, path = "/webhooks/meta", tag = "webhooks",
    params(Handshake),
    responses(
        (status = 200, description = "`hub.challenge`, as `text/plain`", content_type = "text/plain", body = String),
        (status = 403, description = "`verify_token_invalid`: not `hub.mode=subscribe` with META_WEBHOOK_VERIFY_TOKEN", body = ErrorBody),
        (status = 503, description = "`webhooks_disabled`: META_WEBHOOK_VERIFY_TOKEN is not configured", body = ErrorBody),
    )
)]
pub async fn handshake(
    State(state): State<AppState>,
    query: Result<Query<Handshake>, QueryRejection>,
) -> Result<Response, Error> {
    let Some(expected) = state.meta_webhooks.verify_token.as_ref() else {
        return Err(Error::MetaWebhooksDisabled("META_WEBHOOK_VERIFY_TOKEN"));
    };
    let Ok(Query(q)) = query else {
        return Err(Error::VerifyTokenInvalid);
    };
    // Digests of equal length, compared in constant time.
    let matches = |given: &str| {
        let a = Sha256::digest(given.as_bytes());
        let b = Sha256::digest(expected.expose_secret().as_bytes());
        bool::from(a.ct_eq(&b))
    };
    let ok =
        q.mode.as_deref() == Some("subscribe") && q.verify_token.as_deref().is_some_and(matches);
    let challenge = q
        .challenge
        .filter(|c| !c.is_empty() && c.chars().count() <= MAX_CHALLENGE_CHARS);
    match (ok, challenge) {
        (true, Some(challenge)) => {
            tracing::info!("Meta webhook subscription verified");
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge,
            )
                .into_response())
        }
        _ => Err(Error::VerifyTokenInvalid),
    }
}

/// `POST /webhooks/meta`: verified, then each change recorded once in the transaction that
/// applies it (as YCloud's events are).
#[utoipa::path(
    post, path = "/webhooks/meta", tag = "webhooks",
    params(("X-Hub-Signature-256" = String, Header,
        description = "`sha256={hex HMAC-SHA256(FB_APP_SECRET, raw body)}`")),
    request_body(content = Object, description = "A Meta notification: `{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\",\"time\",\"changes\":[{\"field\",\"value\"}]}]}`"),
    responses(
        (status = 200, description = "Applied to its onboardings and recorded, each change in one transaction with what it changes (the same notification again is not applied twice)"),
        (status = 400, description = "`signature_missing`, `signature_malformed`, or `invalid_event` for a body that is not a notification", body = ErrorBody),
        (status = 401, description = "`signature_invalid`", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 500, description = "`internal_error`: the store failed; the changes not recorded are applied when Meta sends the notification again", body = ErrorBody),
        (status = 503, description = "`webhooks_disabled`: FB_APP_SECRET is not configured", body = ErrorBody),
    )
)]
pub async fn notification(
    State(state): State<AppState>,
    VerifiedMetaWebhook(body): VerifiedMetaWebhook,
) -> Result<StatusCode, Error> {
    let n = Notification::parse(&body)?;
    if n.object != "whatsapp_business_account" {
        tracing::info!(object = %n.object, "Meta webhook for another object; ignored");
        return Ok(StatusCode::OK);
    }
    let id = Notification::id_of(&body);
    match state.pipeline.apply_meta_notification(&n, &id).await? {
        Applied::Ignored => tracing::debug!(event = %id, "Meta webhook without changes"),
        Applied::Duplicate => {
            tracing::info!(event = %id, "Meta webhook received again; already applied")
        }
        Applied::Changed(changed) => {
            tracing::info!(event = %id, kinds = %n.kinds(), changed, "Meta webhook received")
        }
    }
    Ok(StatusCode::OK)
}
