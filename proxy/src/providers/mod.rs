//! Who registers the numbers (`WHATSAPP_PROVIDER`): one folder per provider, each
//! implementing the pipeline's [`crate::pipeline::provider::Provider`].
//!
//! - `ycloud/`: YCloud binds and registers as a BSP (`tp/bind`, `register`, `smb/bind`);
//!   [`ycloud::Upstream`] is the provider;
//! - `meta/`: the proxy calls Meta's Cloud API itself with the customer's business token
//!   (`subscribed_apps`, `register` with a PIN, `smb_app_data`, `deregister`);
//!   [`meta::Direct`] is the provider;
//! - `http.rs`: the upstream layer both clients call through (URLs, retries, caps, metrics);
//! - `graph.rs`: the one client of Meta's Graph API: the sign-up's checks in every mode (code
//!   exchange, ownership, the Business app's numbers, the redirect flow's grants) and the
//!   Meta provider's Cloud API calls;
//! - `health.rs`: each provider's number object read into the same health fields;
//! - this file: every provider's webhook receivers ([`webhook_routes`], each provider's
//!   `routes.rs`), with the keys they check, and their OpenAPI part.
//!
//! Adding a provider is a folder here, its `Provider` implementation, and the lines of
//! `pick.rs` that build it from the configuration.

pub mod graph;
mod health;
pub mod http;
pub mod meta;
mod pick;
pub mod ycloud;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;

use crate::clock::Clock;
use crate::pipeline::Pipeline;
use crate::store::{EventOutcome, StoreError};

pub use pick::from_settings;

/// Largest webhook body read. Larger than the API's 64 KiB: history events can be big, and a
/// 413 would only make the provider retry the same body again and again.
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// What the providers' webhook receivers check: each provider's secret.
#[derive(Debug, Clone, Default)]
pub struct WebhookKeys {
    /// `YCLOUD_WEBHOOK_SECRET`; none: `/webhooks/ycloud` answers 503.
    pub ycloud_secret: Option<SecretString>,
    /// What `/webhooks/meta` checks: `FB_APP_SECRET`, `META_WEBHOOK_VERIFY_TOKEN`.
    pub meta: meta::webhook::MetaWebhooks,
}

/// The state of the webhook receivers: where events go, the clock that ages signatures,
/// and the keys.
#[derive(Clone)]
pub struct Hooks {
    /// Applies what the events change.
    pub pipeline: Pipeline,
    /// The signatures' age is measured by it.
    pub clock: Clock,
    /// The secrets the signatures are checked with.
    pub keys: WebhookKeys,
}

/// Every provider's webhook receiver, with its own state, for any application state:
/// `POST /webhooks/ycloud`, and `GET`/`POST /webhooks/meta`.
pub fn webhook_routes<S: Clone + Send + Sync + 'static>(hooks: Hooks) -> Router<S> {
    let limit = || DefaultBodyLimit::max(MAX_WEBHOOK_BYTES);
    Router::new()
        .route(
            "/webhooks/ycloud",
            post(ycloud::routes::receive).layer(limit()),
        )
        .route(
            "/webhooks/meta",
            get(meta::routes::handshake)
                .post(meta::routes::notification)
                .layer(limit()),
        )
        .with_state(hooks)
}

/// The webhook receivers' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        ycloud::routes::receive,
        meta::routes::handshake,
        meta::routes::notification
    ),
    components(schemas(ycloud::webhook::Envelope))
)]
pub struct WebhookApi;

/// Applies one webhook event kept while a runner owned onboarding `id`, by the rules of the
/// provider that sent it (Meta's are stored under `meta.*` kinds): an event stored before the
/// configuration changed provider is still applied by its own rules.
pub(crate) async fn apply_deferred(
    pipeline: &Pipeline,
    id: &str,
    event_id: &str,
    kind: &str,
    body: &str,
) -> Result<EventOutcome, StoreError> {
    match kind.strip_prefix("meta.") {
        Some(_) => pipeline.apply_deferred_meta(id, event_id, kind, body).await,
        None => pipeline.apply_deferred_ycloud(id, event_id, body).await,
    }
}
