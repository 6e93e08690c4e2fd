//! Meta's Cloud API as the pipeline's [`Provider`]: its run and follower (`run.rs`), its
//! health read, and the events it stored while a runner owned their onboarding (`rules.rs`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use wire::{Mode, NumberHealth};

use super::Direct;
use crate::pipeline::health::ReadError;
use crate::pipeline::lease::Lease;
use crate::pipeline::provider::Provider;
use crate::pipeline::{Flow, Pipeline};
use crate::providers::health::from_meta;
use crate::store::{EventOutcome, Record, Step, Steps, StoreError, Writes};
use crate::vault::Vault;

impl Provider for Direct {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn first_step(&self, _mode: Mode) -> Step {
        // Both modes start by subscribing the partner's app to the WABA.
        Step::SubscribeApp
    }

    fn vault(&self) -> Result<&Vault, &'static str> {
        Ok(&self.vault)
    }

    fn run<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        onboarding: &'a Record,
        steps: &'a Steps,
        w: &'a mut Writes,
    ) -> BoxFuture<'a, Result<Flow, StoreError>> {
        Box::pin(pipeline.run_direct(self, onboarding, steps, w))
    }

    fn follow(self: Arc<Self>, pipeline: &Pipeline, onboarding: &Record, lease: Lease) {
        pipeline.follow_direct(self, onboarding, lease);
    }

    fn apply_deferred<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        id: &'a str,
        event_id: &'a str,
        kind: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<EventOutcome, StoreError>> {
        Box::pin(crate::providers::apply_deferred(
            pipeline, id, event_id, kind, body,
        ))
    }

    fn read_health<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        id: &'a str,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<NumberHealth, ReadError>> {
        Box::pin(async move {
            let phone = record
                .onboarding
                .phone_number_id
                .as_ref()
                .ok_or(ReadError::Unreadable("no phone number id"))?;
            let token = pipeline
                .business_token(self, id)
                .await?
                .ok_or(ReadError::Unreadable("no business token stored"))?;
            let number = match self.api.health(&token, phone).await {
                Ok(number) => number,
                Err(e) if e.is_token_invalid() => return Err(ReadError::TokenRefused),
                Err(e) => return Err(ReadError::Upstream(e.to_string())),
            };
            let waba = &record.onboarding.waba_id;
            let subscribed = match self.api.subscribed_apps(&token, waba).await {
                Ok(s) => Some(s),
                Err(e) if e.is_token_invalid() => return Err(ReadError::TokenRefused),
                Err(e) => {
                    tracing::warn!(id, error = %e, "reading the WABA's subscribed apps failed");
                    None
                }
            };
            Ok(from_meta(
                &number,
                subscribed.as_ref(),
                &self.app_id,
                pipeline.inner.clock.now(),
            ))
        })
    }
}
