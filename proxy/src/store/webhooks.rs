//! YCloud webhook events: each one recorded as seen in the same transaction as the changes
//! it makes, applied per object in the order YCloud created them, and deleted by age.

use sqlx::Row;
use time::OffsetDateTime;
use wire::{EventType, OnboardingState};

use super::batch::update_statement;
use super::events::emit;
use super::rows::{format_time, record_from_row, Record, Update};
use super::tx::{Sqlx, Stmt, Tx};
use super::{Store, StoreError};

/// Which object of an onboarding an event is about; the order of events is kept per object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventObject {
    /// Its WhatsApp Business Account.
    Waba,
    /// Its phone number.
    PhoneNumber,
}

impl EventObject {
    /// The column holding the `createTime` of the newest event applied about it.
    fn column(self) -> &'static str {
        match self {
            EventObject::Waba => "waba_event_at",
            EventObject::PhoneNumber => "number_event_at",
        }
    }
}

/// A verified event about onboardings, as it is stored.
#[derive(Debug, Clone, Copy)]
pub struct IncomingEvent<'a> {
    /// YCloud's event id (stored once).
    pub id: &'a str,
    /// Its `type`.
    pub kind: &'a str,
    /// The raw body.
    pub body: &'a str,
    /// What it is about.
    pub object: EventObject,
    /// Its `createTime`, when readable: events without one are applied in arrival order.
    pub created: Option<OffsetDateTime>,
    /// The WABA id that finds its onboardings.
    pub waba_id: Option<&'a str>,
    /// The phone number id that finds its onboardings.
    pub phone_number_id: Option<&'a str>,
}

/// What an event does to one stored onboarding, as the pipeline's rules decide.
#[derive(Debug)]
pub enum Verdict {
    /// It is not about this onboarding.
    NotAbout,
    /// It is, but a runner owns the onboarding: nothing is changed now; the event waits
    /// for the run's end ([`Store::deferred_events`]).
    Busy,
    /// It is: this change (if any) is made, and the event's time recorded.
    About(Option<Update>),
}

/// How an event went.
#[derive(Debug)]
pub enum EventOutcome {
    /// Its id was stored before: nothing done again.
    Duplicate,
    /// Stored, with these onboardings changed.
    Applied {
        /// The onboardings changed: id, state before, new state (when it changed).
        changed: Vec<(String, OnboardingState, Option<OnboardingState>)>,
        /// Onboardings it was about but skipped: a newer event about the object was applied.
        stale: Vec<String>,
    },
}

/// Attempts at applying one event when another writer changes its onboardings meanwhile.
const ATTEMPTS: usize = 3;

impl Store {
    /// Stores `event` once and applies what `rules` say to the onboardings of its WABA or
    /// number, in one transaction: when it fails, nothing is recorded, and YCloud's retry of
    /// the event applies it. An event created before the newest one applied about the same
    /// object of an onboarding leaves that onboarding alone.
    ///
    /// # Errors
    /// Database failures (nothing is stored then).
    pub async fn apply_webhook_event(
        &self,
        event: &IncomingEvent<'_>,
        rules: impl Fn(&Record) -> Verdict,
    ) -> Result<EventOutcome, StoreError> {
        self.apply_event_to(event, None, rules).await
    }

    /// Applies a deferred event (stored before, while a runner owned onboarding `only`) to
    /// that onboarding alone, in one transaction with its removal from the deferred ones.
    /// [`EventOutcome::Duplicate`] when it is no longer deferred (applied meanwhile); when
    /// the onboarding is busy again, it stays deferred.
    ///
    /// # Errors
    /// Database failures.
    pub async fn apply_deferred_event(
        &self,
        event: &IncomingEvent<'_>,
        only: &str,
        rules: impl Fn(&Record) -> Verdict,
    ) -> Result<EventOutcome, StoreError> {
        self.apply_event_to(event, Some(only), rules).await
    }

    /// The events deferred for onboarding `id`, oldest first: id, type, body.
    ///
    /// # Errors
    /// Database failures.
    pub async fn deferred_events(
        &self,
        id: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.event_id, e.type, e.body FROM deferred_webhook_events d \
             JOIN webhook_events e ON e.id = d.event_id WHERE d.onboarding_id = $1 \
             ORDER BY d.deferred_at, d.event_id",
        )
        .bind(id)
        .fetch_all(&self.write)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("event_id")?,
                    r.try_get("type")?,
                    r.try_get("body")?,
                ))
            })
            .collect()
    }

    async fn apply_event_to(
        &self,
        event: &IncomingEvent<'_>,
        only: Option<&str>,
        rules: impl Fn(&Record) -> Verdict,
    ) -> Result<EventOutcome, StoreError> {
        let mut attempt = 1;
        loop {
            let mut touched = Vec::new();
            let result = self.try_apply(event, only, &rules, &mut touched).await;
            for id in &touched {
                self.forget(id);
            }
            match result {
                Ok(Some(outcome)) => return Ok(outcome),
                Ok(None) if attempt < ATTEMPTS => attempt += 1,
                Ok(None) => {
                    return Err(StoreError::Corrupt {
                        id: event.id.to_owned(),
                        what: "its onboardings kept changing while it was applied".to_owned(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt; `None` when an onboarding changed between its read and its update (only
    /// possible with PostgreSQL, shared with other instances): the caller tries again.
    async fn try_apply(
        &self,
        event: &IncomingEvent<'_>,
        only: Option<&str>,
        rules: &impl Fn(&Record) -> Verdict,
        touched: &mut Vec<String>,
    ) -> Result<Option<EventOutcome>, StoreError> {
        let now = format_time(self.clock.now());
        let created = event.created.map(format_time);
        let _gate = self.exclusive().await;
        let mut tx = self.write.begin().await?;
        let fresh = match only {
            None => sqlx::query(
                "INSERT INTO webhook_events (id, type, received_at, body) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(event.id)
            .bind(event.kind)
            .bind(&now)
            .bind(event.body)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Some(id) => sqlx::query(
                "DELETE FROM deferred_webhook_events WHERE event_id = $1 AND onboarding_id = $2",
            )
            .bind(event.id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        };
        if fresh == 0 {
            tx.rollback().await?;
            return Ok(Some(EventOutcome::Duplicate));
        }
        // Read in the transaction: with SQLite it holds the one writer, so nothing changes
        // these rows before the updates below.
        let rows = match only {
            None => {
                sqlx::query(
                    "SELECT * FROM onboardings WHERE (waba_id = $1 OR phone_number_id = $2) \
                     AND superseded_by IS NULL ORDER BY created_at",
                )
                .bind(event.waba_id.unwrap_or(""))
                .bind(event.phone_number_id.unwrap_or(""))
                .fetch_all(&mut *tx)
                .await?
            }
            Some(id) => {
                sqlx::query("SELECT * FROM onboardings WHERE id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        let column = event.object.column();
        let mut changed = Vec::new();
        let mut stale = Vec::new();
        let mut emitted = false;
        for row in &rows {
            let record = record_from_row(row)?;
            let update = match rules(&record) {
                Verdict::NotAbout => continue,
                Verdict::Busy if only.is_some() => {
                    // Still running: it stays deferred.
                    tx.rollback().await?;
                    return Ok(Some(EventOutcome::Applied {
                        changed: Vec::new(),
                        stale: Vec::new(),
                    }));
                }
                Verdict::Busy => {
                    // Kept for the run's end. The guard makes a run that commits meanwhile
                    // send this attempt round again (then it applies directly), so the run
                    // cannot end between this read and the deferral unseen.
                    let updated_at: String = row.try_get("updated_at")?;
                    let guarded = sqlx::query(
                        "UPDATE onboardings SET updated_at = updated_at \
                         WHERE id = $1 AND updated_at = $2",
                    )
                    .bind(&record.id)
                    .bind(&updated_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if guarded == 0 {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    sqlx::query(
                        "INSERT INTO deferred_webhook_events (event_id, onboarding_id, \
                         deferred_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(event.id)
                    .bind(&record.id)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                    continue;
                }
                Verdict::About(update) => update,
            };
            let newest: Option<String> = row.try_get(column)?;
            if let (Some(created), Some(newest)) = (&created, &newest) {
                if created < newest {
                    stale.push(record.id.clone());
                    continue;
                }
            }
            let updated_at: String = row.try_get("updated_at")?;
            touched.push(record.id.clone());
            // Guarded by the row as read; the column keeps its value for an event without
            // a time.
            let matched = sqlx::query(&format!(
                "UPDATE onboardings SET {column} = COALESCE($1, {column}) \
                 WHERE id = $2 AND updated_at = $3"
            ))
            .bind(created.clone())
            .bind(&record.id)
            .bind(&updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if matched == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            if let Some(update) = update {
                let to = update.state;
                // Entering a state the partner hears about: its event commits with the change.
                let event = to
                    .filter(|s| *s != record.state)
                    .and_then(EventType::entering);
                let also = update.emits;
                let mut on = Sqlx(&mut tx);
                on.exec(&update_statement(&record.id, update, &now)).await?;
                for kind in event.into_iter().chain(also) {
                    emit(&mut on, &record.id, kind, &now, self.deliver_events).await?;
                    emitted = true;
                }
                changed.push((record.id.clone(), record.state, to));
            }
        }
        tx.commit().await?;
        if emitted {
            self.wake_outbox();
        }
        Ok(Some(EventOutcome::Applied { changed, stale }))
    }

    /// Deletes the stored events received before `before`; answers how many.
    ///
    /// # Errors
    /// Database failures.
    pub async fn prune_webhook_events(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.exec(
            Stmt::new("DELETE FROM webhook_events WHERE received_at < $1")
                .bind(format_time(before)),
        )
        .await
    }
}
