//! Reading every connected number's health on a schedule (`HEALTH_POLL_SECS`), both
//! providers, and telling the partner what changed (`number.health_changed`).
//!
//! Each connected onboarding has a due time (`health_due_at`; none yet: due now). One task
//! per process lists the due ones and reads them at `HEALTH_PER_SECOND`, so a restart with
//! thousands of connected numbers reaches the provider as a trickle, as resuming does. Before
//! a read the task claims it by moving the due time a jittered period ahead with one
//! conditional `UPDATE` (`Store::claim_health`): instances sharing a database never read the
//! same number twice in a period, and the jitter spreads numbers connected together over the
//! period instead of keeping them in step. A failed read waits for the next period; the
//! provider's webhooks still move the onboarding meanwhile.
//!
//! The same schedule follows `pending` onboardings that nobody follows any more (their
//! follower gave up after `poll_for`, or stopped on a store error): each is resumed (its
//! run, then a follower) once per period, claimed and paced like a read, so no pending
//! onboarding waits for a webhook or a restart that may never come.
//!
//! How each provider's answer reads into the same fields: `providers::health`.

use std::time::Duration;

use wire::OnboardingState;

use super::Pipeline;
use crate::store::StoreError;

/// Due onboardings listed at a time.
const DUE_BATCH: u32 = 100;

/// Why a number's health could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provider's call failed (the error, as it logs).
    #[error("{0}")]
    Upstream(String),
    /// What the number is read by is not stored.
    #[error("nothing to read it by: {0}")]
    Unreadable(&'static str),
    /// Meta refused the business token (190).
    #[error("Meta refused the business token")]
    TokenRefused,
}

/// `every`, give or take a tenth, from a fresh random number: numbers connected in the same
/// minute drift apart instead of being read in step forever.
fn jittered(every: Duration) -> Duration {
    let r = (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0;
    every.mul_f64(0.9 + 0.2 * r)
}

impl Pipeline {
    /// Reads connected numbers' health as they fall due, until the task is aborted. `passes`
    /// counts the passes done (a listing of due numbers and every claim and read it led to),
    /// so a test can wait for one instead of for a while.
    pub fn spawn_health_poller(
        &self,
        passes: tokio::sync::watch::Sender<u64>,
    ) -> tokio::task::JoinHandle<()> {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let Some(every) = pipeline.inner.tuning.health_every else {
                return;
            };
            // How long to wait when nothing is due: a tenth of the period, within 100 ms–30 s.
            let idle = (every / 10).clamp(Duration::from_millis(100), Duration::from_secs(30));
            let mut pace = tokio::time::interval(pipeline.inner.tuning.health_pace);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let due = pipeline
                    .inner
                    .store
                    .health_due(pipeline.inner.clock.now(), DUE_BATCH)
                    .await;
                let ids = match due {
                    Ok(ids) if !ids.is_empty() => ids,
                    Ok(_) => {
                        passes.send_modify(|n| *n += 1);
                        tokio::time::sleep(idle).await;
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "listing numbers due for a health read failed");
                        tokio::time::sleep(idle).await;
                        continue;
                    }
                };
                for id in ids {
                    pace.tick().await;
                    let now = pipeline.inner.clock.now();
                    let next = now + jittered(every);
                    match pipeline.inner.store.claim_health(&id, now, next).await {
                        Ok(true) => {}
                        // Another instance read it, or it is no longer connected.
                        Ok(false) => continue,
                        Err(e) => {
                            tracing::error!(id, error = %e, "claiming a health read failed");
                            continue;
                        }
                    }
                    if let Err(e) = pipeline.check_health(&id).await {
                        tracing::warn!(id, error = %e, "reading the number's health failed; next period");
                    }
                }
                passes.send_modify(|n| *n += 1);
            }
        })
    }

    /// Reads onboarding `id`'s number and stores what was read, with an event per change;
    /// a pending one nobody follows is resumed instead.
    async fn check_health(&self, id: &str) -> Result<(), ReadError> {
        let record = self.current(id).await?;
        if record.state == OnboardingState::Pending {
            tracing::info!(id, "pending and unfollowed: following it again");
            return Ok(self.resume_one(id).await?);
        }
        if record.state != OnboardingState::Connected {
            return Ok(());
        }
        let health = match self.read_health(id, &record).await {
            Ok(health) => health,
            // The token expired or was revoked: the customer must sign in again.
            Err(ReadError::TokenRefused) => {
                self.token_refused(id).await;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let changes = self.inner.store.record_health(id, &health).await?;
        for c in &changes {
            tracing::info!(id, field = c.field, before = %c.before, after = %c.after, "number health changed");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_is_jittered_by_a_tenth_at_most() {
        let every = Duration::from_secs(21_600);
        for _ in 0..100 {
            let j = jittered(every);
            assert!(j >= every.mul_f64(0.9) && j <= every.mul_f64(1.1), "{j:?}");
        }
    }
}
