//! `POST /webhooks/ycloud`: verified, then recorded once per event id in the transaction
//! that applies it.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use wire::ErrorBody;

use super::webhook::{self, Event, Refusal, SIGNATURE_HEADER};
use crate::error::Error;
use crate::pipeline::Applied;
use crate::providers::Hooks;

/// `POST /webhooks/ycloud`. Answers `204` once the event is stored and applied to its
/// onboardings, in one transaction (a few milliseconds), so that a failure answers `500` and
/// YCloud's retry applies the event then; telling the event streams runs in the background.
#[utoipa::path(
    post, path = "/webhooks/ycloud", tag = "webhooks",
    params(("YCloud-Signature" = String, Header,
        description = "`t={unix seconds},s={hex HMAC-SHA256(secret, \"{t}.{raw body}\")}`")),
    request_body(content = super::webhook::Envelope, description = "A YCloud event"),
    responses(
        (status = 204, description = "Applied to its onboardings and recorded, in one transaction (an event id received before is answered 204 and not applied again; a type the proxy does not act on is answered 204 and not stored)"),
        (status = 400, description = "Missing or malformed `YCloud-Signature`, or a body that is not an event", body = ErrorBody),
        (status = 401, description = "The signature does not match, or its timestamp is more than 5 minutes off", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 503, description = "No `YCLOUD_WEBHOOK_SECRET` is configured", body = ErrorBody),
    )
)]
pub async fn receive(
    State(hooks): State<Hooks>,
    VerifiedWebhook(body): VerifiedWebhook,
) -> Result<StatusCode, Error> {
    let event = Event::parse(&body)?;
    let (id, kind) = (&event.envelope.id, &event.envelope.kind);
    // Parsed as JSON above, so it is UTF-8.
    let text = String::from_utf8_lossy(&body);
    match hooks.pipeline.apply_event(&event, &text).await? {
        Applied::Ignored => {
            tracing::debug!(event = %id, kind = %kind, "webhook of a type not acted on; not stored")
        }
        Applied::Duplicate => {
            tracing::info!(event = %id, kind = %kind, "webhook received again; already applied")
        }
        Applied::Changed(n) => {
            tracing::info!(event = %id, kind = %kind, changed = n, "webhook received")
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The raw body of a webhook whose signature was verified. Parsing happens only after this.
#[derive(Debug)]
pub struct VerifiedWebhook(pub Bytes);

impl FromRequest<Hooks> for VerifiedWebhook {
    type Rejection = Error;

    async fn from_request(req: Request, hooks: &Hooks) -> Result<Self, Self::Rejection> {
        let Some(secret) = hooks.keys.ycloud_secret.as_ref() else {
            return Err(Error::WebhooksDisabled);
        };
        // The header's presence, form and age first: a request that cannot be genuine is
        // refused before its body (up to 1 MiB) is waited for or buffered.
        let signature = match req.headers().get(SIGNATURE_HEADER) {
            None => return Err(Error::SignatureMissing),
            Some(v) => webhook::parse_header(
                v.to_str()
                    .map_err(|_| Error::SignatureMalformed("the header is not ASCII"))?,
            )?,
        };
        signature.check_fresh(hooks.clock.now())?;
        let body = Bytes::from_request(req, hooks).await?;
        signature.check_mac(secret, &body)?;
        Ok(Self(body))
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::SignatureMissing => Error::SignatureMissing,
            Refusal::SignatureMalformed(why) => Error::SignatureMalformed(why),
            Refusal::SignatureInvalid => Error::SignatureInvalid,
            Refusal::SignatureStale => Error::SignatureStale,
            Refusal::MalformedJson(why) => Error::MalformedJson(why),
            Refusal::InvalidEvent(why) => Error::InvalidEvent(why),
        }
    }
}
