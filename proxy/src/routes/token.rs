//! The routes of a provider that keeps the customer's business token (Meta's Cloud API,
//! `WHATSAPP_PROVIDER=meta`): creating an onboarding with the business token, the customer's
//! PIN, the partner's view of the stored credentials, deregistering. Another provider answers
//! each of them with its refusal (the pipeline asks the provider).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use wire::{CreateOnboarding, Credentials, ErrorBody, Onboarding, PartnerOnboarding, SetPin};

use super::onboarding::{authorize, onboarding_id, refused};
use super::partner::onboardings::reauthorize_refused;
use super::AppState;
use crate::error::{Error, Json};
use crate::ownership::{self, Refusal, Verified};
use crate::pipeline::{
    same_number, CreateError, Created, DeregisterError, PinError, ReauthorizeError,
};
use crate::providers::graph::VerifyError;
use crate::store::Customer;

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

/// The onboarding the customer's session renews the token of, when the proxy keeps tokens.
pub(super) async fn renewing(
    state: &AppState,
    customer: &Customer,
) -> Result<Option<String>, Error> {
    match state.pipeline.holds_tokens() {
        true => reauthorizing(state, customer).await,
        false => Ok(None),
    }
}

/// A reauthorizing session's sign-in for `waba` (and number), whose `token` reaches them:
/// they must be onboarding `target_id`'s, of this customer; then `token` replaces the stored
/// one. Any refusal stores nothing.
///
/// # Errors
/// See [`ReauthorizeError`].
pub(super) async fn renew(
    state: &AppState,
    customer: &Customer,
    target_id: &str,
    (waba, phone): (&wire::WabaId, Option<&wire::PhoneNumberId>),
    token: SecretString,
) -> Result<Onboarding, ReauthorizeError> {
    let customer_ref = customer.customer_ref.as_ref().ok_or_else(|| {
        ReauthorizeError::NotReauthorizable("the session names no customer_ref".to_owned())
    })?;
    renewed_target(state, customer_ref, target_id, waba, phone).await?;
    state.pipeline.reauthorize(target_id, token).await
}

/// Onboarding `target_id`, when a sign-in for `waba` (and `phone`) may renew its token: it is
/// `customer_ref`'s, in a state whose token may be renewed, and of that WABA and number.
async fn renewed_target(
    state: &AppState,
    customer_ref: &wire::CustomerRef,
    target_id: &str,
    waba: &wire::WabaId,
    phone: Option<&wire::PhoneNumberId>,
) -> Result<wire::ReauthorizeTarget, ReauthorizeError> {
    let (target, _) = state
        .pipeline
        .reauthorize_target(target_id, customer_ref)
        .await?;
    same_number(&target, waba, phone)?;
    Ok(target)
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
    let phone = req.phone_number_id.as_ref();
    let target = renewed_target(state, customer_ref, target_id, &req.waba_id, phone)
        .await
        .map_err(refuse)?;
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
