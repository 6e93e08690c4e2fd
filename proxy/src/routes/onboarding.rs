//! One onboarding as the browser's, Meta's and the partner's routes reach it: its id from the
//! path, the browser's access to it, its retry, and the answer to a refused ownership check.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderMap};
use wire::Onboarding;

use super::AppState;
use crate::error::Error;
use crate::ownership::Refusal;
use crate::pipeline::RetryError;
use crate::providers::graph::VerifyError;

/// The HTTP answer to a refused ownership check.
pub(super) fn refused(refusal: Refusal) -> Error {
    match refusal {
        Refusal::CodeMissing => Error::CodeMissing,
        Refusal::Graph(VerifyError::CodeInvalid) => Error::CodeInvalid,
        Refusal::Graph(VerifyError::NotOwned) => Error::WabaNotOwned,
        Refusal::Graph(VerifyError::NumberNotOwned) => Error::PhoneNumberNotOwned,
        Refusal::Graph(VerifyError::Unavailable(_)) => Error::VerificationUnavailable,
        Refusal::Store(e) => Error::Store(e),
    }
}

/// The retry itself, for the browser's route and the partner API's.
pub(super) async fn retry_onboarding(state: &AppState, id: &str) -> Result<Onboarding, Error> {
    match state.pipeline.retry(id).await {
        Ok(onboarding) => Ok(onboarding),
        Err(RetryError::NotFound) => Err(Error::OnboardingNotFound),
        Err(RetryError::NothingToRetry(why)) => Err(Error::NothingToRetry(why)),
        Err(RetryError::BudgetSpent(retry_after)) => Err(Error::RegisterBudgetSpent {
            retry_after,
            now: state.clock.now(),
        }),
        Err(RetryError::TooSoon(wait)) => Err(Error::RetryTooSoon { wait }),
        Err(RetryError::Store(e)) => Err(Error::Store(e)),
    }
}

/// The browser routes of onboarding `id` need its client token, while its session lives.
pub(super) async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(), Error> {
    state
        .sessions
        .authorize(headers.get(header::AUTHORIZATION), id)
        .await
}

/// Onboarding ids are UUIDs: anything else cannot exist, so it is a 404 without a query.
pub(super) fn onboarding_id(id: Result<Path<String>, PathRejection>) -> Result<String, Error> {
    let Path(id) = id.map_err(|e| Error::BadPath(e.body_text()))?;
    uuid::Uuid::parse_str(&id).map_err(|_| Error::OnboardingNotFound)?;
    Ok(id.to_ascii_lowercase())
}
