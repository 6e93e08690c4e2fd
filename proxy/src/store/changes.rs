//! Changes to an onboarding that no runner owns: its first inbound message, the conditional
//! update of the follower and the webhooks (only while it is still in the state they saw),
//! and reauthorization (asked for, and the renewed business token).

use wire::{ErrorCode, EventType, OnboardingError, OnboardingState};

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

/// What [`Store::ask_reauthorization`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reauthorization {
    /// The onboarding now waits for the customer (`action_required`, `reauthorize`), and
    /// `onboarding.reauthorize_required` was written.
    Asked,
    /// It was waiting already: nothing written.
    Already,
    /// Its state does not allow it (a run holds it, or it ended).
    NotAllowed(OnboardingState),
    /// No onboarding has this id.
    Missing,
}

/// States whose business token may be renewed: the number was handed over (or waits), or a
/// person must act.
pub fn reauthorizable(state: OnboardingState) -> bool {
    matches!(
        state,
        OnboardingState::Connected | OnboardingState::Pending | OnboardingState::ActionRequired
    )
}

impl Store {
    /// Puts onboarding `id` in `action_required` with `error` (code `reauthorize`), with
    /// `onboarding.action_required` (when it enters that state) and
    /// `onboarding.reauthorize_required` (once: not again while it waits).
    ///
    /// # Errors
    /// Database failures.
    pub async fn ask_reauthorization(
        &self,
        id: &str,
        error: OnboardingError,
    ) -> Result<Reauthorization, StoreError> {
        let result = self
            .transact(AskReauthorization {
                id: id.to_owned(),
                error,
                now: format_time(self.clock.now()),
                deliver: self.deliver_events,
            })
            .await;
        self.forget(id);
        if matches!(result, Ok(Reauthorization::Asked)) {
            self.wake_outbox();
        }
        result
    }

    /// Replaces onboarding `id`'s sealed business token with a renewed one, with the
    /// `onboarding.reauthorized` event in the same transaction; false when no onboarding has
    /// this id. `resume`: it waited for the token (`action_required`), and moves on
    /// (`binding`, error cleared) for its run to take it back to where it stands.
    ///
    /// # Errors
    /// Database failures.
    pub async fn renew_business_token(
        &self,
        id: &str,
        sealed: &str,
        resume: bool,
    ) -> Result<bool, StoreError> {
        let renewed = self
            .transact(RenewToken {
                id: id.to_owned(),
                sealed: sealed.to_owned(),
                resume,
                now: format_time(self.clock.now()),
                deliver: self.deliver_events,
            })
            .await?;
        self.forget(id);
        if renewed {
            self.wake_outbox();
        }
        Ok(renewed)
    }
}

/// [`Store::ask_reauthorization`]'s write.
struct AskReauthorization {
    id: String,
    error: OnboardingError,
    now: String,
    deliver: bool,
}

impl Write for AskReauthorization {
    type Out = Reauthorization;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Reauthorization>, StoreError> {
        let (id, now) = (self.id.as_str(), self.now.as_str());
        let Some((state, error)) = tx
            .query_first(
                &Stmt::new("SELECT state, error FROM onboardings WHERE id = $1").bind(id),
                |row| Ok((row.string("state")?, row.text("error")?)),
            )
            .await?
        else {
            return Ok(Done::Undo(Reauthorization::Missing));
        };
        let state = state
            .parse::<OnboardingState>()
            .map_err(|_| StoreError::Corrupt {
                id: id.to_owned(),
                what: "state".to_owned(),
            })?;
        if !reauthorizable(state) {
            return Ok(Done::Undo(Reauthorization::NotAllowed(state)));
        }
        let waiting = error
            .as_deref()
            .and_then(|e| serde_json::from_str::<OnboardingError>(e).ok())
            .is_some_and(|e| e.code == ErrorCode::Reauthorize);
        if state == OnboardingState::ActionRequired && waiting {
            return Ok(Done::Undo(Reauthorization::Already));
        }
        // Guarded by the state read: a runner or webhook that moved it meanwhile wins.
        let guard =
            Stmt::new("UPDATE onboardings SET updated_at = $1 WHERE id = $2 AND state = $3")
                .bind(now)
                .bind(id)
                .bind(state.as_str());
        if tx.exec(&guard).await? == 0 {
            return Ok(Done::Undo(Reauthorization::NotAllowed(state)));
        }
        let update = Update {
            state: Some(OnboardingState::ActionRequired),
            error: Some(Some(self.error)),
            ..Update::default()
        };
        tx.exec(&update_statement(id, update, now)).await?;
        if state != OnboardingState::ActionRequired {
            emit(tx, id, EventType::ActionRequired, now, self.deliver).await?;
        }
        emit(tx, id, EventType::ReauthorizeRequired, now, self.deliver).await?;
        Ok(Done::Keep(Reauthorization::Asked))
    }
}

/// [`Store::renew_business_token`]'s write.
struct RenewToken {
    id: String,
    sealed: String,
    resume: bool,
    now: String,
    deliver: bool,
}

impl Write for RenewToken {
    type Out = bool;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<bool>, StoreError> {
        let (id, now) = (self.id.as_str(), self.now.as_str());
        let touch = Stmt::new("UPDATE onboardings SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id);
        if tx.exec(&touch).await? == 0 {
            return Ok(Done::Undo(false));
        }
        // The PIN and region stay: only the token is renewed.
        let renew = Stmt::new(
            "INSERT INTO meta_credentials (onboarding_id, business_token, updated_at) \
             VALUES ($1, $2, $3) ON CONFLICT (onboarding_id) DO UPDATE SET \
             business_token = $2, updated_at = $3",
        )
        .bind(id)
        .bind(&self.sealed)
        .bind(now);
        tx.exec(&renew).await?;
        if self.resume {
            // Not a state the partner hears about: the run's outcome is.
            let resume = Stmt::new(
                "UPDATE onboardings SET state = $1, error = NULL WHERE id = $2 AND state = $3",
            )
            .bind(OnboardingState::Binding.as_str())
            .bind(id)
            .bind(OnboardingState::ActionRequired.as_str());
            tx.exec(&resume).await?;
        }
        emit(tx, id, EventType::Reauthorized, now, self.deliver).await?;
        Ok(Done::Keep(true))
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
        let reauthorize = self.update.asks_reauthorization();
        tx.exec(&update_statement(id, self.update, now)).await?;
        if let Some(kind) = event {
            emit(tx, id, kind, now, self.deliver).await?;
            if reauthorize {
                emit(tx, id, EventType::ReauthorizeRequired, now, self.deliver).await?;
            }
        }
        Ok(Done::Keep(Some(event.is_some())))
    }
}
