//! YCloud as the pipeline's [`Provider`]: its runs (`run.rs`), its follower, its health read
//! and the events it stored while a runner owned their onboarding (`events.rs`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use wire::{Mode, NumberHealth};

use super::Upstream;
use crate::pipeline::health::ReadError;
use crate::pipeline::lease::Lease;
use crate::pipeline::provider::Provider;
use crate::pipeline::{Flow, Pipeline};
use crate::providers::health::from_ycloud;
use crate::store::{EventOutcome, Record, Step, Steps, StoreError, Writes};
use crate::vault::Vault;

/// Why there is no token to renew with YCloud.
const YCLOUD_HOLDS_THE_TOKEN: &str = "this proxy onboards through YCloud \
(WHATSAPP_PROVIDER=ycloud), which holds the customer's business token: there is nothing for \
the proxy to renew";

impl Provider for Upstream {
    fn name(&self) -> &'static str {
        "ycloud"
    }

    fn first_step(&self, mode: Mode) -> Step {
        match mode {
            Mode::Standard => Step::Bind,
            Mode::Coexistence => Step::SmbBind,
        }
    }

    fn vault(&self) -> Result<&Vault, &'static str> {
        Err(YCLOUD_HOLDS_THE_TOKEN)
    }

    fn run<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        onboarding: &'a Record,
        steps: &'a Steps,
        w: &'a mut Writes,
    ) -> BoxFuture<'a, Result<Flow, StoreError>> {
        Box::pin(async move {
            match onboarding.mode {
                Mode::Standard => pipeline.run_standard(self, onboarding, steps, w).await,
                Mode::Coexistence => {
                    let id = onboarding.id.as_str();
                    pipeline
                        .run_coexistence(self, id, &onboarding.waba_id, steps, w)
                        .await
                }
            }
        })
    }

    fn follow(self: Arc<Self>, pipeline: &Pipeline, onboarding: &Record, lease: Lease) {
        pipeline.follow_ycloud(self, onboarding, lease);
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
        _id: &'a str,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<NumberHealth, ReadError>> {
        Box::pin(async move {
            // YCloud reads a number by its E.164, which its answers carried.
            let e164 = record
                .phone_number
                .as_ref()
                .and_then(|p| crate::providers::health::text(p, &["phoneNumber"]))
                .ok_or(ReadError::Unreadable("no E.164 number stored"))?;
            let number = self
                .retrieve_phone_number(&record.onboarding.waba_id, &e164)
                .await
                .map_err(|e| ReadError::Upstream(e.to_string()))?;
            Ok(from_ycloud(&number.raw, pipeline.inner.clock.now()))
        })
    }
}
