//! The partner's onboardings: list, read, retry, restart, reauthorize; the funnel and the
//! setup check.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wire::{
    CustomerRef, ErrorBody, Funnel, OnboardingPage, OnboardingState, PartnerOnboarding, Setup,
};

use super::{cursor_of, decode_cursor, limit, partner_view, query_error};
use crate::error::Error;
use crate::pipeline::{ReauthorizeError, RestartError};
use crate::routes::onboarding::{onboarding_id, retry_onboarding};
use crate::routes::AppState;
use crate::store::OnboardingQuery;

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
    /// Only the onboarding(s) of this WABA id, phone number id or display phone number
    /// (digits; `+`, spaces, dashes, dots and brackets are ignored: `+1 555-0100` finds
    /// `+1 555-0100`).
    search: Option<String>,
}

/// A search's digits: an id as it is, or a phone number as people write it (`+1 (555)
/// 010-0100`); `None` for anything else.
fn search_digits(s: &str) -> Option<String> {
    let s = s.trim();
    let written = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    (written && !digits.is_empty() && digits.len() <= wire::MAX_ID_DIGITS).then_some(digits)
}

/// A page position: the last onboarding's `created_at` and id, opaque to the partner.
fn encode_cursor(o: &PartnerOnboarding) -> String {
    cursor_of(&o.onboarding.created_at, &o.onboarding.id)
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
                search_digits(&s).ok_or_else(|| {
                    Error::InvalidQuery(
                        "search must be a WABA id, a phone number id or a phone number (digits)"
                            .to_owned(),
                    )
                })
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

/// `POST /api/partner/onboardings/{id}/reauthorize`.
#[utoipa::path(
    post, path = "/api/partner/onboardings/{id}/reauthorize", tag = "partner",
    params(("id" = String, Path, description = "The onboarding's id (a UUID)")),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "The onboarding in `action_required` with code `reauthorize` (`onboarding.reauthorize_required` was sent, once): create a session with `reauthorize_onboarding_id` for the customer to sign in again", body = PartnerOnboarding),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`onboarding_not_found`", body = ErrorBody),
        (status = 409, description = "`not_reauthorizable`: the onboarding is not `connected`, `pending` or `action_required` (a run holds it, or it ended), or the provider is YCloud, which holds the token", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn reauthorize(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PartnerOnboarding>, Error> {
    let id = onboarding_id(id)?;
    match state.pipeline.request_reauthorization(&id).await {
        Ok(_) => partner_view(&state, &id).await,
        Err(e) => Err(reauthorize_refused(e, false)),
    }
}

/// The HTTP answer to a refused reauthorization; `in_session`: refusing a session's
/// `reauthorize_onboarding_id` (422) rather than the partner's request (409).
pub(crate) fn reauthorize_refused(e: ReauthorizeError, in_session: bool) -> Error {
    match e {
        ReauthorizeError::NotFound => Error::OnboardingNotFound,
        ReauthorizeError::NotReauthorizable(why) => Error::NotReauthorizable(why, in_session),
        ReauthorizeError::Mismatch(why) => Error::ReauthorizeMismatch(why),
        ReauthorizeError::Store(e) => Error::Store(e),
    }
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

#[cfg(test)]
mod tests {
    use super::search_digits;

    #[test]
    fn a_search_is_an_id_or_a_number_as_people_write_it() {
        assert_eq!(
            search_digits("304996122399160").as_deref(),
            Some("304996122399160")
        );
        assert_eq!(
            search_digits(" +1 (555) 010-0100 ").as_deref(),
            Some("15550100100")
        );
        assert_eq!(search_digits("+1.555.0100").as_deref(), Some("15550100"));
        for bad in ["", "+", " - ", "555%", "abc", "1_2", &"1".repeat(40)] {
            assert_eq!(search_digits(bad), None, "{bad}");
        }
    }
}
