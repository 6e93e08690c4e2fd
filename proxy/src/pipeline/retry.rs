//! `retry`: running a stopped onboarding's failed step again, with its cooldown and the
//! register budget's early answer.

use wire::{ErrorCode, Mode, Onboarding, OnboardingState};

use crate::budget;
use crate::store::{self, Step, StepStatus, StoreError};

use super::RetryError;
use super::{detached, Pipeline};

impl Pipeline {
    /// Runs the failed step again, and what follows it.
    ///
    /// # Errors
    /// See [`RetryError`].
    pub async fn retry(&self, id: &str) -> Result<Onboarding, RetryError> {
        let pipeline = self.clone();
        let id = id.to_owned();
        detached(async move { pipeline.retry_here(&id).await }).await
    }

    /// [`Pipeline::retry`], in the task it runs in.
    pub(crate) async fn retry_here(&self, id: &str) -> Result<Onboarding, RetryError> {
        let onboarding = self
            .inner
            .store
            .get(id)
            .await?
            .ok_or(RetryError::NotFound)?;
        let error = onboarding.error.as_ref();
        let retryable = matches!(
            onboarding.state,
            OnboardingState::Failed | OnboardingState::ActionRequired
        ) && error.is_some_and(|e| e.retryable);
        if !retryable {
            let why = match onboarding.state {
                OnboardingState::Connected => {
                    "this onboarding is connected: there is nothing to retry".to_owned()
                }
                OnboardingState::Failed | OnboardingState::ActionRequired => format!(
                    "this onboarding is {} and retrying would not help: {}",
                    onboarding.state,
                    error.map_or("no error is recorded", |e| e.message.as_str())
                ),
                state => format!(
                    "this onboarding is {state} and still moving: there is nothing to retry"
                ),
            };
            return Err(RetryError::NothingToRetry(why));
        }
        // Meta blocks a number for 72 hours after its 11th register: calling earlier would
        // only extend the block.
        if let Some(e) = error.filter(|e| e.code == ErrorCode::RegisterLimit) {
            if let Some(until) = e.retry_after.as_deref().and_then(store::parse_time) {
                if until > self.inner.clock.now() {
                    return Err(RetryError::BudgetSpent(until));
                }
            }
        }
        if onboarding.mode == Mode::Standard && self.next_is_register(id).await? {
            if let Some(phone) = &onboarding.phone_number_id {
                if let Some(until) = self.budget_spent_until(phone).await? {
                    return Err(RetryError::BudgetSpent(until));
                }
            }
        }
        if let Some(wait) = self.start_retry(id) {
            return Err(RetryError::TooSoon(wait));
        }
        tracing::info!(id, "retrying onboarding");
        let ran = self.advance(id).await?;
        Ok(self.answer(ran).await?)
    }

    /// Records a retry of `id` starting now; or, when the last one started less than the
    /// cooldown ago, the wait left. Each retry calls YCloud again (and may count against the
    /// number's register budget): a client looping on retry must not hammer it.
    pub(crate) fn start_retry(&self, id: &str) -> Option<std::time::Duration> {
        let cooldown = self.inner.retry_cooldown;
        if cooldown.is_zero() {
            return None;
        }
        let now = std::time::Instant::now();
        let mut last = self
            .inner
            .last_retries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only retries within the cooldown are kept.
        last.retain(|_, at| now.duration_since(*at) < cooldown);
        if let Some(at) = last.get(id) {
            return Some(cooldown.saturating_sub(now.duration_since(*at)));
        }
        last.insert(id.to_owned(), now);
        None
    }

    pub(crate) async fn next_is_register(&self, id: &str) -> Result<bool, StoreError> {
        let done = |s: Option<store::StepRecord>| s.is_some_and(|s| s.status == StepStatus::Done);
        let steps = self.inner.store.steps(id).await?;
        // YCloud binds and checks the payment method first; Meta subscribes the app.
        let before = (done(steps.get(Step::Bind)) && done(steps.get(Step::CheckPayment)))
            || done(steps.get(Step::SubscribeApp));
        Ok(before && !done(steps.get(Step::Register)))
    }

    /// When the number's budget is spent, the time its oldest counted call leaves the window.
    /// (A look for `retry`'s early answer; the step itself counts under the number's lock.)
    pub(crate) async fn budget_spent_until(
        &self,
        phone: &wire::PhoneNumberId,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        let now = self.inner.clock.now();
        let (count, oldest) = self
            .inner
            .store
            .register_attempts_since(phone, budget::since(now))
            .await?;
        Ok((count >= budget::CALLS).then(|| budget::free_at(oldest, now)))
    }
}
