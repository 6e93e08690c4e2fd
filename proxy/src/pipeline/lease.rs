//! The runner's hold on an onboarding: in this process a claim (one runner per onboarding,
//! without asking the database), across instances the lease on its row
//! (`store/leases.rs`), renewed in the background every third of its period while the steps
//! run and the follower polls, and released at the end. A runner that ends any other way
//! (a store failure, a panic, a crash) leaves the lease to expire, and the sweep of some
//! instance resumes the onboarding.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, PoisonError};

use tokio::task::JoinHandle;

use super::Pipeline;
use crate::store::StoreError;

/// This process holds the onboarding. Dropping it ends the claim and the renewal, leaving
/// the lease in the store to expire; [`Lease::release`] gives it up at once.
pub struct Lease {
    pipeline: Pipeline,
    id: String,
    renewal: JoinHandle<()>,
    /// Set when a renewal found the lease taken over.
    lost: Arc<AtomicBool>,
}

/// A time as the lease's in-memory expiry keeps it.
fn micros(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

impl Pipeline {
    /// Takes onboarding `id` for this process: its claim here, then its row's lease. `None`
    /// when another runner holds it, in this process or in another instance.
    pub(crate) async fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        let Some(until) = self.claim(id) else {
            return Ok(None);
        };
        let inner = &self.inner;
        let now = inner.clock.now();
        let taken = inner
            .store
            .take_lease(id, &inner.instance, now, now + inner.lease_for)
            .await;
        match taken {
            Ok(true) => {
                until.store(micros(now + inner.lease_for), Ordering::Relaxed);
                Ok(Some(Lease::renewed(self.clone(), id.to_owned(), until)))
            }
            Ok(false) => {
                self.unclaim(id);
                tracing::debug!(id, "another instance holds the onboarding");
                Ok(None)
            }
            Err(e) => {
                self.unclaim(id);
                Err(e)
            }
        }
    }

    /// [`Pipeline::lease`] of an onboarding this instance just inserted with its lease: only
    /// the claim here is taken (the store already holds the lease).
    pub(crate) fn lease_inserted(&self, id: &str) -> Option<Lease> {
        let until = self.claim(id)?;
        // The insert leased it until a moment ago plus a period: counted from now, a little
        // long, and corrected by the first renewal.
        until.store(
            micros(self.inner.clock.now() + self.inner.lease_for),
            Ordering::Relaxed,
        );
        Some(Lease::renewed(self.clone(), id.to_owned(), until))
    }

    /// Claims `id` in this process: its lease's in-memory expiry (not yet set), or `None`
    /// when another runner here holds it.
    fn claim(&self, id: &str) -> Option<Arc<AtomicI64>> {
        let mut running = self
            .inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if running.contains_key(id) {
            return None;
        }
        let until = Arc::new(AtomicI64::new(0));
        running.insert(id.to_owned(), Arc::clone(&until));
        Some(until)
    }

    /// Right before an upstream call of onboarding `id`'s run: refuses once the lease has
    /// passed by this process's clock and its last renewal (the process was paused, or
    /// renewals failed), since another instance may have taken the onboarding over and be
    /// sending the same call. A run without a lease here is not refused.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`].
    pub(crate) fn lease_current(&self, id: &str) -> Result<(), StoreError> {
        let until = self
            .inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .map(|u| u.load(Ordering::Relaxed));
        match until {
            Some(until) if until != 0 && micros(self.inner.clock.now()) >= until => {
                tracing::warn!(id, "the lease has passed; no upstream call is sent");
                Err(StoreError::LeaseLost { id: id.to_owned() })
            }
            _ => Ok(()),
        }
    }

    fn unclaim(&self, id: &str) {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

impl Lease {
    /// A lease just taken, with its renewal started.
    fn renewed(pipeline: Pipeline, id: String, valid_until: Arc<AtomicI64>) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = tokio::spawn({
            let pipeline = pipeline.clone();
            let id = id.clone();
            let lost = Arc::clone(&lost);
            async move {
                let inner = &pipeline.inner;
                let every = inner.lease_for.unsigned_abs() / 3;
                loop {
                    tokio::time::sleep(every).await;
                    let until = inner.clock.now() + inner.lease_for;
                    match inner.store.renew_lease(&id, &inner.instance, until).await {
                        Ok(true) => valid_until.store(micros(until), Ordering::Relaxed),
                        Ok(false) => {
                            tracing::warn!(id, "the onboarding's lease was taken over; stopping");
                            lost.store(true, Ordering::Relaxed);
                            return;
                        }
                        // The next renewal may work; until the lease runs out it is ours.
                        Err(e) => tracing::warn!(id, error = %e, "renewing the lease failed"),
                    }
                }
            }
        });
        Self {
            pipeline,
            id,
            renewal,
            lost,
        }
    }

    /// True once another instance took the onboarding over (this one's lease had expired).
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Gives the onboarding up: no more renewals, and the lease cleared in the store, so no
    /// sweep resumes it. (A failure to clear it only means it expires instead.)
    pub(crate) async fn release(self) {
        self.renewal.abort();
        let inner = &self.pipeline.inner;
        if let Err(e) = inner.store.release_lease(&self.id, &inner.instance).await {
            tracing::warn!(id = %self.id, error = %e, "releasing the lease failed; it will expire");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        self.pipeline.unclaim(&self.id);
    }
}
