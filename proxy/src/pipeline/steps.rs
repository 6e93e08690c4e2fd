//! What every provider's run shares: a bind step recorded as `started` (and committed)
//! before its upstream call, a run stopped with an error, and the wait for the number's
//! display name (a register before it is ready fails with Meta's 100/2388001, which YCloud
//! relays too). The runs themselves are each provider's (the `run.rs` of its folder under
//! `providers/`).

use serde_json::Value;
use wire::{OnboardingError, OnboardingState};

use super::lease::Lease;
use super::{Flow, Pipeline};
use crate::store::{Step, StepStatus, Steps, StoreError, Update, Writes};

impl Pipeline {
    /// Before a bind call: records the step as started (unless it was, with the onboarding
    /// itself), commits, and tells the event streams.
    pub(crate) async fn start_bind(
        &self,
        id: &str,
        w: &mut Writes,
        steps: &Steps,
        step: Step,
    ) -> Result<(), StoreError> {
        if !steps.is_just_started(step) {
            w.start_step(step, OnboardingState::Binding);
            self.inner.store.commit(id, w).await?;
        }
        self.notify(id).await;
        Ok(())
    }

    /// Ends the run in `state` with `error`: recorded as the outcome of the step that
    /// failed (with what it answered) when there is one, else on the onboarding alone;
    /// committed with everything queued, and told to the event streams.
    pub(crate) async fn stop(
        &self,
        id: &str,
        w: &mut Writes,
        state: OnboardingState,
        error: OnboardingError,
        failed: Option<(Step, Option<&Value>)>,
    ) -> Result<Flow, StoreError> {
        let update = Update {
            state: Some(state),
            error: Some(Some(error)),
            ..Update::default()
        };
        match failed {
            Some((step, result)) => w.finish_step(step, StepStatus::Failed, result, update),
            None => w.update(update),
        }
        // A stopped run gives its lease up.
        w.end_run(true);
        self.inner.store.commit(id, w).await?;
        self.notify(id).await;
        Ok(Flow::Stop)
    }

    /// The onboarding waits (`pending`, step `awaiting_display_name` started) for the
    /// number's display name; the follower (or the name's webhook) resumes it.
    pub(crate) async fn await_display_name(
        &self,
        id: &str,
        w: &mut Writes,
        steps: &Steps,
        number: Option<Value>,
    ) -> Result<Flow, StoreError> {
        let waiting = steps
            .get(Step::AwaitingDisplayName)
            .is_some_and(|s| s.status == StepStatus::Started);
        if !waiting {
            w.start_step(Step::AwaitingDisplayName, OnboardingState::Pending);
        }
        w.update(Update {
            state: Some(OnboardingState::Pending),
            phone_number: number,
            error: Some(None),
            ..Update::default()
        });
        self.inner.store.commit(id, w).await?;
        tracing::info!(id, "waiting for the number's display name");
        self.notify(id).await;
        Ok(Flow::Continue)
    }

    /// Goes on with an onboarding that waits for its display name, now approved: its run
    /// registers the number. When the follower holds it, the follower's next read sees the
    /// approval instead.
    pub(crate) fn resume_after_display_name(&self, id: &str) {
        let pipeline = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let waiting = matches!(
                pipeline.inner.store.step(&id, Step::AwaitingDisplayName).await,
                Ok(Some(s)) if s.status == StepStatus::Started
            );
            if waiting {
                if let Err(e) = pipeline.advance(&id).await {
                    tracing::error!(id, error = %e, "registering after the display name failed");
                }
            }
        });
    }

    /// Where a follower ends: when the display name it waited for became ready (`resume`)
    /// and it still holds the lease, the run goes on with that lease; otherwise it lets the
    /// lease go (unless another instance took it over).
    pub(crate) async fn end_follow(&self, id: &str, lease: Lease, resume: bool) {
        if resume && !lease.is_lost() {
            let run = async {
                let onboarding = self.current(id).await?;
                let steps = self.inner.store.steps(id).await?;
                Box::pin(self.run(lease, onboarding, steps)).await
            };
            if let Err(e) = run.await {
                tracing::error!(id, error = %e, "registering after the display name failed");
            }
        } else if !lease.is_lost() {
            lease.release().await;
        }
    }
}
