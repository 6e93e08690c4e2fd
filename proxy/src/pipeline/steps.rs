//! What every provider's run shares: a bind step recorded as `started` (and committed)
//! before its upstream call, and a run stopped with an error. The runs themselves are each
//! provider's (`providers::ycloud::run`, `providers::meta::run`).

use serde_json::Value;
use wire::{OnboardingError, OnboardingState};

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
}
