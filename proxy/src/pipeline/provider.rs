//! What the pipeline asks of whoever registers the numbers (`WHATSAPP_PROVIDER`).
//!
//! Each provider is a folder of `providers/` that implements [`Provider`]; the pipeline
//! holds one as `Arc<dyn Provider>` and never names it. The pipeline keeps the state machine,
//! the leases, the store and the event streams; a provider runs the steps of its calls, follows
//! a pending number, reads its health and applies the webhook events it stored.

use std::any::Any;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use wire::{Mode, NumberHealth};

use super::health::ReadError;
use super::lease::Lease;
use super::{Flow, Pipeline};
use crate::store::{Ended, EventOutcome, Record, Step, Steps, StoreError, Writes};
use crate::vault::Vault;

/// A provider of the onboarding's upstream calls. Methods that do work get the pipeline,
/// through which they read and write the store under the run's lease.
pub trait Provider: Any + Send + Sync {
    /// The provider's name, as `WHATSAPP_PROVIDER` spells it.
    fn name(&self) -> &'static str;

    /// The step a run in `mode` starts with (a restart starts there again).
    fn first_step(&self, mode: Mode) -> Step;

    /// The vault sealing the customer's business token and PIN, when this provider keeps
    /// them; else the sentence saying who holds the token instead (what refuses a
    /// reauthorization, where there is nothing to renew).
    fn vault(&self) -> Result<&Vault, &'static str>;

    /// Runs the onboarding's remaining steps, queueing its writes on `w`.
    fn run<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        onboarding: &'a Record,
        steps: &'a Steps,
        w: &'a mut Writes,
    ) -> BoxFuture<'a, Result<Flow, StoreError>>;

    /// Starts the background follower of a `pending` number, which holds `lease` while it
    /// polls and ends with [`Pipeline::end_follow`].
    fn follow(self: Arc<Self>, pipeline: &Pipeline, onboarding: &Record, lease: Lease);

    /// Applies one webhook event of `kind`, kept while a runner owned onboarding `id`.
    fn apply_deferred<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        id: &'a str,
        event_id: &'a str,
        kind: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<EventOutcome, StoreError>>;

    /// Reads connected onboarding `id`'s number into the provider-neutral health fields.
    fn read_health<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        id: &'a str,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<NumberHealth, ReadError>>;
}

impl Pipeline {
    /// The configured provider, when it is a `P`: how a provider's own entry points (its
    /// routes' actions) find it, and find none when another one is configured.
    pub(crate) fn provider_as<P: Provider>(&self) -> Option<Arc<P>> {
        let any: Arc<dyn Any + Send + Sync> = self.inner.provider.clone();
        any.downcast::<P>().ok()
    }

    /// The provider's name, as `WHATSAPP_PROVIDER` spells it.
    pub fn provider_name(&self) -> &'static str {
        self.inner.provider.name()
    }

    /// The vault of the customer's business tokens and PINs, when the provider keeps them:
    /// what keeps a business token sealed while the redirect flow waits for the customer's
    /// choice, and what a restart or a rekey seals again.
    pub fn vault(&self) -> Option<&Vault> {
        self.inner.provider.vault().ok()
    }

    /// True when the proxy holds the customer's business token (and so its routes create
    /// onboardings with it): the provider keeps a vault.
    pub fn holds_tokens(&self) -> bool {
        self.vault().is_some()
    }
}

impl Pipeline {
    /// The onboarding's remaining steps, as its provider and mode have them. Writes between
    /// two upstream calls are queued and committed together right before the next call (or
    /// at the end), so each call's `started` record is durable first.
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
        let flow = inner.provider.run(self, onboarding, steps, &mut w).await?;
        Ok((flow, w.ended()))
    }

    /// Starts the background follower of a `pending` number. It holds the run's lease
    /// while it polls (so no other instance follows the same number), and releases it when
    /// it stops.
    pub(crate) fn follow(&self, onboarding: &Record, lease: Lease) {
        Arc::clone(&self.inner.provider).follow(self, onboarding, lease);
    }

    /// Applies one webhook event kept while a runner owned onboarding `id`.
    pub(crate) async fn apply_deferred_event(
        &self,
        id: &str,
        event_id: &str,
        kind: &str,
        body: &str,
    ) -> Result<EventOutcome, StoreError> {
        let provider = &self.inner.provider;
        provider
            .apply_deferred(self, id, event_id, kind, body)
            .await
    }

    /// Reads connected onboarding `id`'s number from its provider.
    pub(crate) async fn read_health(
        &self,
        id: &str,
        record: &Record,
    ) -> Result<NumberHealth, ReadError> {
        self.inner.provider.read_health(self, id, record).await
    }
}
