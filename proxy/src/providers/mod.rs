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
//! - `health.rs`: each provider's number object read into the same health fields.
//!
//! Adding a provider is a folder here, its `Provider` implementation, and the line of
//! `startup.rs` that builds it from the configuration.

pub mod graph;
mod health;
pub mod http;
pub mod meta;
pub mod ycloud;

use crate::pipeline::Pipeline;
use crate::store::{EventOutcome, StoreError};

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
