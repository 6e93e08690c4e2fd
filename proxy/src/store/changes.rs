//! Changes to an onboarding that no runner owns: its first inbound message, and the
//! conditional update of the follower and the webhooks (only while it is still in the state
//! they saw).

use wire::{EventType, OnboardingState};

use super::batch::update_statement;
use super::events::emit;
use super::rows::{format_time, Update};
use super::tx::{Stmt, Tx, Write};
use super::writer::Done;
use super::{Store, StoreError};

impl Store {
    /// Records that the number of onboarding `id` received its first message (now), with
    /// the `onboarding.inbound_verified` event; false when it was recorded before.
    ///
    /// # Errors
    /// Database failures.
    pub async fn mark_inbound(&self, id: &str) -> Result<bool, StoreError> {
        let marked = self
            .transact(MarkInbound {
                id: id.to_owned(),
                now: format_time(self.clock.now()),
                deliver: self.deliver_events,
            })
            .await?;
        self.forget(id);
        if marked {
            self.wake_outbox();
        }
        Ok(marked)
    }

    /// Changes the onboarding outside a run (the follower, a webhook), but only while it is
    /// still in `expected`; false when it was not (someone else moved it on).
    ///
    /// # Errors
    /// Database failures.
    pub async fn update_if(
        &self,
        id: &str,
        expected: OnboardingState,
        update: Update,
    ) -> Result<bool, StoreError> {
        let result = self.update_if_inner(id, expected, update).await;
        self.forget(id);
        result
    }

    async fn update_if_inner(
        &self,
        id: &str,
        expected: OnboardingState,
        update: Update,
    ) -> Result<bool, StoreError> {
        let applied = self
            .transact(UpdateIf {
                id: id.to_owned(),
                expected,
                update,
                now: format_time(self.clock.now()),
                deliver: self.deliver_events,
            })
            .await?;
        if applied == Some(true) {
            self.wake_outbox();
        }
        Ok(applied.is_some())
    }
}

/// [`Store::mark_inbound`]'s write: answers whether it marked the onboarding.
struct MarkInbound {
    id: String,
    now: String,
    deliver: bool,
}

impl Write for MarkInbound {
    type Out = bool;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<bool>, StoreError> {
        let mark = Stmt::new(
            "UPDATE onboardings SET inbound_verified_at = $1, updated_at = $1 \
             WHERE id = $2 AND inbound_verified_at IS NULL",
        )
        .bind(&self.now)
        .bind(&self.id);
        let marked = tx.exec(&mark).await? == 1;
        if marked {
            let kind = EventType::InboundVerified;
            emit(tx, &self.id, kind, &self.now, self.deliver).await?;
        }
        Ok(Done::Keep(marked))
    }
}

/// [`Store::update_if`]'s write: `None` when the onboarding was not in `expected`, else
/// whether a partner event was written.
struct UpdateIf {
    id: String,
    expected: OnboardingState,
    update: Update,
    now: String,
    deliver: bool,
}

impl Write for UpdateIf {
    type Out = Option<bool>;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Option<bool>>, StoreError> {
        let (id, now) = (self.id.as_str(), self.now.as_str());
        let matched =
            Stmt::new("UPDATE onboardings SET updated_at = $1 WHERE id = $2 AND state = $3")
                .bind(now)
                .bind(id)
                .bind(self.expected.as_str());
        if tx.exec(&matched).await? == 0 {
            return Ok(Done::Undo(None));
        }
        let event = self
            .update
            .state
            .filter(|s| *s != self.expected)
            .and_then(EventType::entering);
        tx.exec(&update_statement(id, self.update, now)).await?;
        if let Some(kind) = event {
            emit(tx, id, kind, now, self.deliver).await?;
        }
        Ok(Done::Keep(Some(event.is_some())))
    }
}
