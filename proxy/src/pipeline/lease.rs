//! The runner's hold on an onboarding: in this process a claim (one runner per onboarding,
//! without asking the database), across instances the lease on its row
//! (`store/leases.rs`), renewed in the background every third of its period while the steps
//! run and the follower polls, and released at the end. A runner that ends any other way
//! (a store failure, a panic, a crash) leaves the lease to expire, and the sweep of some
//! instance resumes the onboarding.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};

use tokio::task::JoinHandle;

use super::Pipeline;
use crate::store::StoreError;

/// This process holds the onboarding. Dropping it ends the claim and the renewal, leaving
/// the lease in the store to expire; [`Lease::release`] gives it up at once.
pub(super) struct Lease {
    pipeline: Pipeline,
    id: String,
    renewal: JoinHandle<()>,
    /// Set when a renewal found the lease taken over.
    lost: Arc<AtomicBool>,
}

impl Pipeline {
    /// Takes onboarding `id` for this process: its claim here, then its row's lease. `None`
    /// when another runner holds it, in this process or in another instance.
    pub(super) async fn lease(&self, id: &str) -> Result<Option<Lease>, StoreError> {
        if !self.claim(id) {
            return Ok(None);
        }
        let inner = &self.inner;
        let now = inner.clock.now();
        let taken = inner
            .store
            .take_lease(id, &inner.instance, now, now + inner.lease_for)
            .await;
        match taken {
            Ok(true) => Ok(Some(Lease::renewed(self.clone(), id.to_owned()))),
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
    pub(super) fn lease_inserted(&self, id: &str) -> Option<Lease> {
        self.claim(id)
            .then(|| Lease::renewed(self.clone(), id.to_owned()))
    }

    fn claim(&self, id: &str) -> bool {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned())
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
    fn renewed(pipeline: Pipeline, id: String) -> Self {
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
                        Ok(true) => {}
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
    pub(super) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Gives the onboarding up: no more renewals, and the lease cleared in the store, so no
    /// sweep resumes it. (A failure to clear it only means it expires instead.)
    pub(super) async fn release(self) {
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
