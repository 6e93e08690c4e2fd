//! The partner's events: list, one with its delivery's attempts, redeliver, and the test
//! event.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wire::{DeliveryState, ErrorBody, EventPage, PartnerEvent, WebhookTest};

use super::{limit, query_error};
use crate::error::Error;
use crate::routes::AppState;
use crate::store::EventFilter;

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
        (status = 200, description = "Events, oldest first, each with its delivery state and the delivery's `history` (its newest attempts, at most 20)", body = EventPage),
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

/// `GET /api/partner/events/{id}`.
#[utoipa::path(
    get, path = "/api/partner/events/{id}", tag = "partner",
    params(("id" = String, Path, description = "The event's id (`evt_…`)")),
    security(("partner_key" = [])),
    responses(
        (status = 200, description = "The event with its delivery, and the delivery's `history`: its newest attempts (at most 20), oldest first", body = PartnerEvent),
        (status = 400, description = "`bad_path`: not an event id", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`event_not_found`", body = ErrorBody),
        (status = 503, description = "`partner_api_disabled`", body = ErrorBody),
    )
)]
pub async fn event(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<PartnerEvent>, Error> {
    let Path(id) = id.map_err(|e| Error::BadPath(e.body_text()))?;
    let id = event_id(&id)
        .map_err(|_| Error::BadPath("not an event id (evt_ and 32 hex digits)".to_owned()))?;
    match state.pipeline.store().partner_event(id).await? {
        Some(event) => Ok(axum::Json(event)),
        None => Err(Error::EventNotFound),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_checked() {
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
