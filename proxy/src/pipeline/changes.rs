//! Telling event streams about stored changes: one channel per onboarding that an event
//! stream follows, made by its first subscriber and dropped with its last. A change of an
//! onboarding nobody follows costs no read of the store, and a stream hears of its own
//! onboarding only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;
use wire::Onboarding;

use super::Pipeline;

/// Each followed onboarding's latest stored state (`None` until a change is sent), by id.
/// Boxed: a channel whose onboarding has not changed yet (most of them) holds a pointer, not
/// an onboarding's worth of bytes.
type Channels = HashMap<String, watch::Sender<Option<Box<Onboarding>>>>;

/// The channels of the onboardings that event streams follow.
#[derive(Debug, Default)]
pub(crate) struct Changes(Arc<Mutex<Channels>>);

/// One event stream's view of one onboarding's changes. Dropping it leaves the channel; the
/// last one to leave removes it.
#[derive(Debug)]
pub struct Subscription {
    id: String,
    /// Taken out only by `drop`, so the count of receivers is right when it looks.
    receiver: Option<watch::Receiver<Option<Box<Onboarding>>>>,
    channels: Arc<Mutex<Channels>>,
}

fn lock(channels: &Mutex<Channels>) -> MutexGuard<'_, Channels> {
    channels.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Subscription {
    /// The onboarding at its next stored change; the latest one when several came since the
    /// last call (a slow stream skips states, never falls behind). `None` once no change
    /// can come.
    pub async fn next(&mut self) -> Option<Onboarding> {
        let receiver = self.receiver.as_mut()?;
        loop {
            receiver.changed().await.ok()?;
            if let Some(onboarding) = receiver.borrow_and_update().as_deref() {
                return Some(onboarding.clone());
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let mut channels = lock(&self.channels);
        if channels
            .get(&self.id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.id);
        }
    }
}

impl Changes {
    fn subscribe(&self, id: &str) -> Subscription {
        let mut channels = lock(&self.0);
        let receiver = match channels.get(id) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = watch::channel(None);
                channels.insert(id.to_owned(), sender);
                receiver
            }
        };
        Subscription {
            id: id.to_owned(),
            receiver: Some(receiver),
            channels: Arc::clone(&self.0),
        }
    }

    fn is_followed(&self, id: &str) -> bool {
        lock(&self.0).contains_key(id)
    }

    /// Hands the onboarding to its subscribers, unless they already hold a later write:
    /// two notifications racing (the follower and a webhook) may arrive in either order.
    fn send(&self, onboarding: Onboarding) {
        let channels = lock(&self.0);
        let Some(sender) = channels.get(&onboarding.id) else {
            return;
        };
        sender.send_if_modified(|current| {
            let newer = current
                .as_ref()
                .is_none_or(|c| c.updated_at <= onboarding.updated_at && **c != onboarding);
            if newer {
                *current = Some(Box::new(onboarding));
            }
            newer
        });
    }
}

impl Pipeline {
    /// The stored changes of onboarding `id` from now on, for as long as the subscription is
    /// kept. Subscribe before reading the onboarding, so a change between the two is not
    /// lost.
    pub fn subscribe(&self, id: &str) -> Subscription {
        self.inner.changes.subscribe(id)
    }

    /// Sends onboarding `id` as stored now to its event streams; reads nothing when no
    /// stream follows it.
    pub(crate) async fn notify(&self, id: &str) {
        if !self.inner.changes.is_followed(id) {
            return;
        }
        match self.api(id).await {
            Ok(Some(o)) => self.inner.changes.send(o),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(id, error = %e, "reading the onboarding for a change event failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wire::OnboardingState;

    use super::*;

    fn onboarding(id: &str, state: OnboardingState, updated_at: &str) -> Onboarding {
        serde_json::from_value(json!({"id": id, "mode": "standard", "waba_id": "1",
            "state": state, "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": updated_at}))
        .unwrap()
    }

    #[tokio::test]
    async fn a_channel_lives_while_a_stream_follows_and_carries_its_onboarding_only() {
        let changes = Changes::default();
        assert!(!changes.is_followed("a"));
        let mut a1 = changes.subscribe("a");
        let mut a2 = changes.subscribe("a");
        let mut b = changes.subscribe("b");
        assert!(changes.is_followed("a"));

        let pending = onboarding("a", OnboardingState::Pending, "2026-01-01T00:00:01.000000Z");
        changes.send(pending.clone());
        assert_eq!(a1.next().await, Some(pending.clone()));
        assert_eq!(a2.next().await, Some(pending));
        // Nothing was sent for b.
        let nothing = tokio::time::timeout(std::time::Duration::from_millis(20), b.next());
        assert!(nothing.await.is_err());
        // An onboarding nobody follows gets no channel.
        changes.send(onboarding("c", OnboardingState::Pending, "x"));
        assert!(!changes.is_followed("c"));

        drop(a1);
        assert!(changes.is_followed("a"));
        drop(a2);
        assert!(!changes.is_followed("a"));
        assert!(changes.is_followed("b"));
    }

    #[tokio::test]
    async fn a_stale_read_does_not_replace_a_later_one() {
        let changes = Changes::default();
        let mut s = changes.subscribe("a");
        let later = onboarding(
            "a",
            OnboardingState::Connected,
            "2026-01-01T00:00:02.000000Z",
        );
        changes.send(later.clone());
        changes.send(onboarding(
            "a",
            OnboardingState::Pending,
            "2026-01-01T00:00:01.000000Z",
        ));
        assert_eq!(s.next().await, Some(later));
        let nothing = tokio::time::timeout(std::time::Duration::from_millis(20), s.next());
        assert!(nothing.await.is_err(), "the stale state was not sent");
    }
}
