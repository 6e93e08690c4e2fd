//! `POST /webhooks/ycloud`: verified, stored once per event id, applied in the background.

use axum::extract::State;
use axum::http::StatusCode;
use wire::ErrorBody;

use super::AppState;
use crate::error::Error;
use crate::webhook::{Event, VerifiedWebhook};

/// `POST /webhooks/ycloud`. Answers as soon as the event is stored; applying it to the
/// onboardings (and telling their event streams) runs in a background task, so a slow
/// database or many streams never hold YCloud's 6-second deadline.
#[utoipa::path(
    post, path = "/webhooks/ycloud", tag = "webhooks",
    params(("YCloud-Signature" = String, Header,
        description = "`t={unix seconds},s={hex HMAC-SHA256(secret, \"{t}.{raw body}\")}`")),
    request_body(content = crate::webhook::Envelope, description = "A YCloud event"),
    responses(
        (status = 204, description = "Stored; applied to its onboardings in the background (an event id received before is answered 204 and not applied again)"),
        (status = 400, description = "Missing or malformed `YCloud-Signature`, or a body that is not an event", body = ErrorBody),
        (status = 401, description = "The signature does not match, or its timestamp is more than 5 minutes off", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 503, description = "No `YCLOUD_WEBHOOK_SECRET` is configured", body = ErrorBody),
    )
)]
pub async fn ycloud(
    State(state): State<AppState>,
    VerifiedWebhook(body): VerifiedWebhook,
) -> Result<StatusCode, Error> {
    let event = Event::parse(&body)?;
    // Parsed as JSON above, so it is UTF-8.
    let text = String::from_utf8_lossy(&body);
    let pipeline = state.pipeline.clone();
    let fresh = pipeline
        .store()
        .insert_webhook_event(&event.envelope.id, &event.envelope.kind, &text)
        .await?;
    if !fresh {
        tracing::info!(event = %event.envelope.id, kind = %event.envelope.kind, "webhook received again; already applied");
        return Ok(StatusCode::NO_CONTENT);
    }
    tracing::info!(event = %event.envelope.id, kind = %event.envelope.kind, "webhook received");
    tokio::spawn(async move {
        if let Err(e) = pipeline.apply_event(&event).await {
            tracing::error!(event = %event.envelope.id, error = %e, "applying the webhook failed");
        }
    });
    Ok(StatusCode::NO_CONTENT)
}
