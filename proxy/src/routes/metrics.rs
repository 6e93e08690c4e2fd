//! `GET /metrics`: the proxy's metrics for Prometheus (see `crate::metrics`), behind
//! `METRICS_TOKEN` when one is set.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wire::ErrorBody;

use super::AppState;
use crate::error::Error;

/// `GET /metrics`.
#[utoipa::path(
    get, path = "/metrics", tag = "service",
    params(("Authorization" = Option<String>, Header,
        description = "`Bearer {METRICS_TOKEN}`, required when the proxy has `METRICS_TOKEN` set")),
    responses(
        (status = 200, description = "The metrics in the OpenMetrics text format (Prometheus scrapes it): `wa_signup_http_requests_total`, `wa_signup_http_request_duration_seconds`, `wa_signup_onboardings`, `wa_signup_upstream_calls_total`, `wa_signup_upstream_call_duration_seconds`", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not carry it (`unauthorized`)", body = ErrorBody),
    )
)]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    if let Some(token) = &state.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Compared in constant time, as digests of one length: the answer must tell neither
        // how much of a guess was right nor how long the token is.
        let (sent, token) = (
            Sha256::digest(sent.as_bytes()),
            Sha256::digest(token.expose_secret().as_bytes()),
        );
        if !bool::from(sent.ct_eq(&token)) {
            return Err(Error::Unauthorized);
        }
    }
    let counts = state.pipeline.store().count_by_state().await?;
    Ok((
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(&counts),
    )
        .into_response())
}
