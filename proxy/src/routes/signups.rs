//! `POST /api/signup-events`: the popup outcomes that never create an onboarding (the
//! customer closed Meta's popup, or reported an error in it), and launches for the funnel.

use axum::extract::State;
use axum::http::StatusCode;
use wire::{ErrorBody, ReportSignupEvent};

use super::AppState;
use crate::error::{Error, Json};

/// `POST /api/signup-events`: `202`, stored (with its partner event for a cancel or error).
#[utoipa::path(
    post, path = "/api/signup-events", tag = "onboardings",
    request_body = ReportSignupEvent,
    responses(
        (status = 202, description = "Stored; a `CANCEL` or `ERROR` is also sent to the partner as `signup.cancelled` or `signup.failed` (a `LAUNCH` only feeds the funnel)"),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "`session_required` (live mode, no `session`) or `session_invalid` (unknown, expired or revoked)", body = ErrorBody),
        (status = 403, description = "`mode_not_allowed` by the session", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Wrong types, unknown fields or events, malformed step, error code or Meta session id (`invalid_body`)", body = ErrorBody),
        (status = 429, description = "This client sent more reports than `RATE_LIMIT_PER_MINUTE` allows (`rate_limited`, with `Retry-After`)", body = ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    Json(report): Json<ReportSignupEvent>,
) -> Result<StatusCode, Error> {
    let customer = state
        .sessions
        .admit_report(report.session.as_ref(), report.mode)
        .await?;
    let stored = state
        .pipeline
        .store()
        .record_signup_event(
            &report,
            customer.session_id.as_deref(),
            customer.customer_ref.as_ref(),
        )
        .await?;
    tracing::info!(
        id = %stored.id,
        kind = %stored.kind,
        mode = %stored.mode,
        current_step = stored.current_step.as_deref(),
        error_code = stored.error_code.as_deref(),
        "popup outcome reported"
    );
    Ok(StatusCode::ACCEPTED)
}
