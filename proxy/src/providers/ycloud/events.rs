//! Applying YCloud's webhook events to the onboardings they are about: each event recorded
//! once, in the transaction that applies it, in `createTime` order per object; the rules of
//! what an event changes are `rules.rs`'s.

use time::OffsetDateTime;
use wire::OnboardingState;

use super::rules::Subject;
use super::types::name_ready;
use super::webhook::{Event, PhoneNumberEvent};
use crate::pipeline::{Applied, Pipeline};
use crate::rules::may_change;
use crate::store::{EventOutcome, IncomingEvent, StoreError, Verdict};

impl Pipeline {
    pub(crate) async fn apply_deferred_ycloud(
        &self,
        id: &str,
        event_id: &str,
        body: &str,
    ) -> Result<EventOutcome, StoreError> {
        let event = Event::parse(body.as_bytes()).ok();
        let subject = event.as_ref().and_then(Subject::of);
        let (Some(event), Some(subject)) = (event.as_ref(), subject) else {
            return Ok(EventOutcome::Duplicate);
        };
        let incoming = IncomingEvent {
            id: event_id,
            kind: &event.envelope.kind,
            body,
            object: subject.object(),
            created: event.envelope.create_time.as_deref().and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            }),
            waba_id: subject.waba_id(),
            phone_number_id: subject.phone_number_id(),
        };
        self.inner
            .store
            .apply_deferred_event(&incoming, id, |o| {
                if !subject.is_about(o) {
                    Verdict::NotAbout
                } else if !may_change(o.state) {
                    Verdict::Busy
                } else {
                    Verdict::About(subject.change(o))
                }
            })
            .await
    }

    /// Applies a verified webhook event to the onboardings it is about, in one transaction
    /// with the record that it was seen, then tells their event streams. Events of types the
    /// proxy does not act on (or about no WABA or number) are not stored at all. Only
    /// onboardings no runner owns are changed ([`crate::rules::may_change`]), and an event
    /// created before one already applied about the same object changes nothing; the rules
    /// themselves are in `rules.rs`.
    ///
    /// # Errors
    /// Store failures: nothing was recorded, so the event can come again.
    pub async fn apply_event(&self, event: &Event, body: &str) -> Result<Applied, StoreError> {
        let env = &event.envelope;
        // A customer's message: only that it arrived is kept (the body is never stored).
        if env.kind == crate::providers::ycloud::webhook::INBOUND_MESSAGE {
            let Some(message) = env.whatsapp_inbound_message.as_ref() else {
                return Ok(Applied::Ignored);
            };
            let waba = crate::rules::str_field(message, "wabaId");
            let to = crate::rules::str_field(message, "to");
            return self.first_inbound(waba, None, to).await;
        }
        let Some(subject) = Subject::of(event) else {
            return Ok(Applied::Ignored);
        };
        let created = env.create_time.as_deref().and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        let incoming = IncomingEvent {
            id: &env.id,
            kind: &env.kind,
            body,
            object: subject.object(),
            created,
            waba_id: subject.waba_id(),
            phone_number_id: subject.phone_number_id(),
        };
        let outcome = self
            .inner
            .store
            .apply_webhook_event(&incoming, |o| {
                if !subject.is_about(o) {
                    Verdict::NotAbout
                } else if !may_change(o.state) {
                    tracing::info!(id = %o.id, state = %o.state, event = %env.id, "onboarding is running; webhook applied after the run");
                    Verdict::Busy
                } else {
                    Verdict::About(subject.change(o))
                }
            })
            .await?;
        let (changed, stale) = match outcome {
            EventOutcome::Duplicate => return Ok(Applied::Duplicate),
            EventOutcome::Applied { changed, stale } => (changed, stale),
        };
        // A display name now ready: the onboardings of the number waiting for it register.
        if let Subject::PhoneNumber(PhoneNumberEvent::NameUpdated, number) = subject {
            if name_ready(number) == Some(true) {
                let found = self
                    .inner
                    .store
                    .onboardings_for(subject.waba_id(), subject.phone_number_id())
                    .await?;
                for o in found.iter().filter(|o| subject.is_about(o)) {
                    self.resume_after_display_name(&o.id);
                }
            }
        }
        for id in &stale {
            tracing::info!(id, event = %env.id, create_time = env.create_time.as_deref(), "a newer event about this object was applied already; this one changes nothing");
        }
        for (id, from, to) in &changed {
            tracing::info!(id, event = %env.id, kind = %env.kind, from = %from, to = ?to.map(OnboardingState::as_str), "webhook applied");
        }
        // Telling the streams reads each onboarding again: not on the webhook's answer.
        let ids: Vec<String> = changed.into_iter().map(|(id, _, _)| id).collect();
        let n = ids.len();
        if n > 0 {
            let pipeline = self.clone();
            tokio::spawn(async move {
                for id in ids {
                    pipeline.notify(&id).await;
                }
            });
        }
        Ok(Applied::Changed(n))
    }
}
