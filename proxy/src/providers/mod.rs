//! Who registers the numbers (`WHATSAPP_PROVIDER`): the one interface the pipeline holds.
//!
//! - [`Provider::YCloud`]: YCloud binds and registers as a BSP (`tp/bind`, `register`,
//!   `smb/bind`), the proxy's original path, unchanged;
//! - [`Provider::Meta`]: the proxy calls Meta's Cloud API itself with the customer's business
//!   token (`subscribed_apps`, `register` with a PIN, `smb_app_data`, `deregister`).
//!
//! The pipeline asks the provider which run an onboarding gets, how a pending number is
//! followed, and whether deregistering is possible; each provider's steps live in their own
//! file (`pipeline/steps.rs`, `pipeline/direct.rs`).

mod health;
pub mod http;
pub mod meta;
pub mod ycloud;

use std::sync::Arc;

use wire::Mode;

use crate::pipeline::lease::Lease;
use crate::pipeline::{Flow, Pipeline};
use crate::store::{Ended, EventOutcome, Record, Steps, StoreError};

use crate::providers::meta::Direct;
use crate::providers::ycloud::Upstream;

/// Where the onboarding's calls go.
// One per process, inside the pipeline's `Arc`: boxing YCloud's client would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Provider {
    /// YCloud (or its sandbox fake).
    YCloud(Upstream),
    /// Meta's Cloud API directly (or its sandbox fake).
    Meta(Arc<Direct>),
}

impl Provider {
    /// The provider's name, as `WHATSAPP_PROVIDER` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::YCloud(_) => "ycloud",
            Provider::Meta(_) => "meta",
        }
    }
}

impl From<Upstream> for Provider {
    fn from(upstream: Upstream) -> Self {
        Provider::YCloud(upstream)
    }
}

impl From<Direct> for Provider {
    fn from(direct: Direct) -> Self {
        Provider::Meta(Arc::new(direct))
    }
}

impl Pipeline {
    /// The onboarding's remaining steps, as its mode has them. Writes between two upstream
    /// calls are queued and committed together right before the next call (or at the end),
    /// so each call's `started` record is durable first.
    pub(crate) async fn run_steps(
        &self,
        onboarding: &Record,
        steps: &Steps,
    ) -> Result<(Flow, Option<Ended>), StoreError> {
        let inner = &self.inner;
        let mut w = inner
            .store
            .writes()
            .leased_to(&inner.instance, inner.lease_for);
        let flow = match (&inner.provider, onboarding.mode) {
            (Provider::Meta(direct), _) => {
                self.run_direct(direct, onboarding, steps, &mut w).await?
            }
            (Provider::YCloud(upstream), Mode::Standard) => {
                self.run_standard(upstream, onboarding, steps, &mut w)
                    .await?
            }
            (Provider::YCloud(upstream), Mode::Coexistence) => {
                let id = onboarding.id.as_str();
                self.run_coexistence(upstream, id, &onboarding.waba_id, steps, &mut w)
                    .await?
            }
        };
        Ok((flow, w.ended()))
    }

    /// Starts the background follower of a `pending` number. It holds the run's lease
    /// while it polls (so no other instance follows the same number), and releases it when
    /// it stops.
    pub(crate) fn follow(&self, onboarding: &Record, lease: Lease) {
        match &self.inner.provider {
            Provider::Meta(direct) => self.follow_direct(direct.clone(), onboarding, lease),
            Provider::YCloud(_) => self.follow_ycloud(onboarding, lease),
        }
    }

    /// Applies one webhook event kept while a runner owned onboarding `id`, by the rules of
    /// the provider that sent it (Meta's are stored under `meta.*` kinds).
    pub(crate) async fn apply_deferred_event(
        &self,
        id: &str,
        event_id: &str,
        kind: &str,
        body: &str,
    ) -> Result<EventOutcome, StoreError> {
        match kind.strip_prefix("meta.") {
            Some(_) => self.apply_deferred_meta(id, event_id, kind, body).await,
            None => self.apply_deferred_ycloud(id, event_id, body).await,
        }
    }
}
