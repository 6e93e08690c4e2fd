//! Meta's webhooks: `GET /webhooks/meta` (the subscription's verification) and
//! `POST /webhooks/meta` (notifications), verified before their body is parsed.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wire::ErrorBody;

use super::webhook::{self as meta_webhook, Notification, Refusal};
use crate::error::Error;
use crate::pipeline::Applied;
use crate::providers::Hooks;

/// Longest `hub.challenge` echoed.
const MAX_CHALLENGE_CHARS: usize = 256;

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
    State(hooks): State<Hooks>,
    query: Result<Query<Handshake>, QueryRejection>,
) -> Result<Response, Error> {
    let Some(expected) = hooks.keys.meta.verify_token.as_ref() else {
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
    State(hooks): State<Hooks>,
    VerifiedMetaWebhook(body): VerifiedMetaWebhook,
) -> Result<StatusCode, Error> {
    let n = Notification::parse(&body)?;
    if n.object != "whatsapp_business_account" {
        tracing::info!(object = %n.object, "Meta webhook for another object; ignored");
        return Ok(StatusCode::OK);
    }
    let id = Notification::id_of(&body);
    match hooks.pipeline.apply_meta_notification(&n, &id).await? {
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

/// The raw body of a Meta webhook whose signature was verified.
#[derive(Debug)]
pub struct VerifiedMetaWebhook(pub Bytes);

impl FromRequest<Hooks> for VerifiedMetaWebhook {
    type Rejection = Error;

    async fn from_request(req: Request, hooks: &Hooks) -> Result<Self, Self::Rejection> {
        let Some(secret) = hooks.keys.meta.app_secret.as_ref() else {
            return Err(Error::MetaWebhooksDisabled("FB_APP_SECRET"));
        };
        let header = match req.headers().get(meta_webhook::SIGNATURE_HEADER) {
            None => return Err(Error::MetaSignatureMissing),
            Some(v) => v
                .to_str()
                .map_err(|_| Error::MetaSignatureMalformed("the header is not ASCII"))?
                .to_owned(),
        };
        let body = Bytes::from_request(req, hooks).await?;
        meta_webhook::verify(secret, &header, &body)?;
        Ok(Self(body))
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::SignatureMissing => Error::MetaSignatureMissing,
            Refusal::SignatureMalformed(why) => Error::MetaSignatureMalformed(why),
            Refusal::SignatureInvalid => Error::MetaSignatureInvalid,
            Refusal::InvalidEvent(why) => Error::InvalidEvent(why),
        }
    }
}
