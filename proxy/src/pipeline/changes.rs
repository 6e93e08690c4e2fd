//! Telling event streams about stored changes.

use tokio::sync::broadcast;
use wire::Onboarding;

use super::Pipeline;

impl Pipeline {
    /// Every change of every onboarding, as it is stored.
    pub fn subscribe(&self) -> broadcast::Receiver<Onboarding> {
        self.inner.changes.subscribe()
    }

    /// Sends the onboarding as stored now to the event streams.
    pub(super) async fn notify(&self, id: &str) {
        if self.inner.changes.receiver_count() == 0 {
            return;
        }
        match self.api(id).await {
            Ok(Some(o)) => {
                let _ = self.inner.changes.send(o);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(id, error = %e, "reading the onboarding for a change event failed")
            }
        }
    }
}
