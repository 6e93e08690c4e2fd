//! What comes in while a runner owns an onboarding: the first inbound message, and webhooks
//! kept and applied once the run's steps committed.

use crate::store::{EventOutcome, StoreError};

use super::Applied;
use super::Pipeline;

impl Pipeline {
    /// A message reached the number (of `waba`, with id `phone_number_id` or the number
    /// `to`): the onboardings of that number that had not seen one yet record when
    /// (`inbound_verified_at`, `onboarding.inbound_verified`), the proof that it receives.
    pub(crate) async fn first_inbound(
        &self,
        waba: Option<&str>,
        phone_number_id: Option<&str>,
        to: Option<&str>,
    ) -> Result<Applied, StoreError> {
        let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
        let to = to.map(digits).filter(|d| !d.is_empty());
        let store = &self.inner.store;
        let mut marked = 0;
        for o in store.onboardings_for(waba, phone_number_id).await? {
            let by_id = phone_number_id.is_some()
                && o.phone_number_id.as_ref().map(|p| p.as_str()) == phone_number_id;
            let by_number = to.as_deref().is_some_and(|to| {
                o.phone_number.as_ref().is_some_and(|n| {
                    ["phoneNumber", "display_phone_number", "displayPhoneNumber"]
                        .iter()
                        .filter_map(|k| crate::rules::str_field(n, k))
                        .any(|v| digits(v) == to)
                })
            });
            if o.inbound_verified_at.is_some() || !(by_id || by_number) {
                continue;
            }
            if store.mark_inbound(&o.id).await? {
                tracing::info!(id = %o.id, "first inbound message: the number receives");
                self.notify(&o.id).await;
                marked += 1;
            }
        }
        Ok(match marked {
            0 => Applied::Ignored,
            n => Applied::Changed(n),
        })
    }

    /// Applies the webhook events that arrived while a runner owned onboarding `id` (kept
    /// in the store, never dropped), in the order they came, now that its steps committed.
    /// Answers how many changed it; a failure leaves them deferred (for the next run's end).
    pub(crate) async fn apply_deferred(&self, id: &str) -> usize {
        let events = match self.inner.store.deferred_events(id).await {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(id, error = %e, "reading the deferred webhooks failed");
                return 0;
            }
        };
        let mut changed = 0;
        for (event_id, kind, body) in events {
            let applied = self.apply_deferred_event(id, &event_id, &kind, &body).await;
            match applied {
                Ok(EventOutcome::Applied { changed: c, .. }) if !c.is_empty() => {
                    tracing::info!(id, event = %event_id, kind, "webhook applied after the run");
                    changed += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(id, event = %event_id, error = %e, "applying a deferred webhook failed")
                }
            }
        }
        if changed > 0 {
            self.notify(id).await;
        }
        changed
    }
}
