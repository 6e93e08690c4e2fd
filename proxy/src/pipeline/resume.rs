//! Resuming: the unfinished onboardings at start-up, those whose lease expired (the sweeper),
//! a few at a time.

use crate::store::{StoreError, Unleased};

use super::Pipeline;

impl Pipeline {
    /// Picks up, in the background, every unfinished onboarding that nobody holds (a
    /// previous run of this or another instance left it), at `RESUME_PER_SECOND` and
    /// [`RESUME_CONCURRENCY`] at a time.
    /// Answers how many were found; each runs only if its lease can be taken.
    ///
    /// # Errors
    /// Store failures while listing them.
    pub async fn resume_unfinished(&self) -> Result<usize, StoreError> {
        self.resume(Unleased::Free).await
    }

    /// [`Pipeline::resume_unfinished`] of the onboardings whose lease expired: their instance
    /// stopped renewing it (it crashed, or lost the database) before the end.
    ///
    /// # Errors
    /// Store failures while listing them.
    pub async fn resume_abandoned(&self) -> Result<usize, StoreError> {
        self.resume(Unleased::Expired).await
    }

    /// Runs [`Pipeline::resume_abandoned`] every lease period, until the task is aborted.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let period = pipeline.inner.lease_for.unsigned_abs();
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match pipeline.resume_abandoned().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "resuming onboardings whose lease expired"),
                    Err(e) => tracing::error!(error = %e, "sweeping for expired leases failed"),
                }
            }
        })
    }

    pub(crate) async fn resume(&self, which: Unleased) -> Result<usize, StoreError> {
        let ids = self
            .inner
            .store
            .unfinished(self.inner.clock.now(), which)
            .await?;
        let n = ids.len();
        let pipeline = self.clone();
        // Paced (`RESUME_PER_SECOND`) and at most RESUME_CONCURRENCY at once: thousands of
        // pending onboardings after a restart reach the provider as a trickle, not a burst.
        tokio::spawn(async move {
            let mut pace = tokio::time::interval(pipeline.inner.tuning.resume_pace);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for id in ids {
                pace.tick().await;
                let pipeline = pipeline.clone();
                tokio::spawn(async move {
                    let Ok(_permit) = pipeline.inner.resumes.acquire().await else {
                        return;
                    };
                    if let Err(e) = pipeline.resume_one(&id).await {
                        tracing::error!(id, error = %e, "resuming failed");
                    }
                });
            }
        });
        Ok(n)
    }

    /// Runs one listed onboarding, if it can be leased and is still unfinished (another
    /// runner may have finished it since it was listed: running a failed one again would be
    /// a retry nobody asked for).
    pub(crate) async fn resume_one(&self, id: &str) -> Result<(), StoreError> {
        let Some(lease) = self.lease(id).await? else {
            return Ok(());
        };
        let onboarding = self.current(id).await?;
        if onboarding.state.is_final() {
            lease.release().await;
            return Ok(());
        }
        tracing::info!(id, state = %onboarding.state, "resuming unfinished onboarding");
        let steps = self.inner.store.steps(id).await?;
        self.run(lease, onboarding, steps).await?;
        Ok(())
    }
}
