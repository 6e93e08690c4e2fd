//! Reading connected numbers' health on a schedule (and following unfollowed pending ones
//! again): which are due, claiming one so that no other instance reads it this period, and storing what was read with one
//! `number.health_changed` event per changed field, in the same transaction.

use time::OffsetDateTime;
use wire::{EventType, HealthChange, NumberHealth};

use super::events::EventRow;
use super::partner::partner_view;
use super::rows::format_time;
use super::tx::{Stmt, Tx, Write};
use super::writer::Done;
use super::{Store, StoreError};

/// Due: not superseded by a newer onboarding, never read or read a period ago, and either
/// connected (its health is read) or pending with nobody following it (its follower gave up,
/// or stopped on a store error: it is followed again, so no pending onboarding is left to a
/// webhook that may never come).
///
/// Spelled as four terms, each a state and a due time, so each is a range of the index
/// `onboardings_state_health (state, health_due_at, id)` (migration 20261221000000): the
/// claim reads the due rows only, not every connected one (a scan of the whole table with a
/// million stored).
const DUE: &str = "superseded_by IS NULL AND (\
     (state = 'connected' AND health_due_at IS NULL) \
     OR (state = 'connected' AND health_due_at <= $1) \
     OR (state = 'pending' AND health_due_at IS NULL AND (lease_until IS NULL OR lease_until < $1)) \
     OR (state = 'pending' AND health_due_at <= $1 AND (lease_until IS NULL OR lease_until < $1)))";

/// [`DUE`]'s four terms one by one, for the listing: each walks its range of the index in
/// the listing's order and stops at the limit. Listed with `DUE` as one condition, every due
/// row was read and sorted to take the first hundred (0.57 s and the whole table read with a
/// million due, every 100 reads).
const DUE_TERMS: [&str; 4] = [
    "state = 'connected' AND health_due_at IS NULL",
    "state = 'connected' AND health_due_at <= $1",
    "state = 'pending' AND health_due_at IS NULL AND (lease_until IS NULL OR lease_until < $1)",
    "state = 'pending' AND health_due_at <= $1 AND (lease_until IS NULL OR lease_until < $1)",
];

impl Store {
    /// Up to `limit` onboardings due at `now` ([`DUE`]): connected ones for a health read,
    /// unfollowed pending ones to be followed again; the longest due first (never read at
    /// all before any).
    ///
    /// # Errors
    /// Database failures.
    pub async fn health_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let terms = DUE_TERMS.map(|term| {
            format!(
                "SELECT * FROM (SELECT id, health_due_at FROM onboardings \
                 WHERE superseded_by IS NULL AND {term} ORDER BY health_due_at, id LIMIT $2) t"
            )
        });
        let sql = format!(
            "SELECT id FROM ({}) due ORDER BY COALESCE(health_due_at, ''), id LIMIT $2",
            terms.join(" UNION ALL ")
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(format_time(now))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?)
    }

    /// Takes onboarding `id`'s health read (or follow-up) of this period: moves its due time
    /// to `next`, but only while it is still due at `now`. One conditional `UPDATE`: of several instances
    /// sharing the database, only the first to commit it sees a row change, so a number is
    /// read once per period whatever the number of instances.
    ///
    /// # Errors
    /// Database failures.
    pub async fn claim_health(
        &self,
        id: &str,
        now: OffsetDateTime,
        next: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = format!("UPDATE onboardings SET health_due_at = $2 WHERE {DUE} AND id = $3");
        Ok(self
            .exec(
                Stmt::new(sql)
                    .bind(format_time(now))
                    .bind(format_time(next))
                    .bind(id),
            )
            .await?
            == 1)
    }

    /// Stores `health` as onboarding `id`'s and, when an earlier read is stored, writes a
    /// `number.health_changed` event for each field that differs from it. The first read
    /// only sets the baseline: there is nothing to compare it with. Answers the changes.
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_health(
        &self,
        id: &str,
        health: &NumberHealth,
    ) -> Result<Vec<HealthChange>, StoreError> {
        let now = format_time(self.clock.now());
        let text = serde_json::to_string(health).map_err(|e| StoreError::Corrupt {
            id: id.to_owned(),
            what: format!("health: {e}"),
        })?;
        let changes = self
            .transact(RecordHealth {
                id: id.to_owned(),
                health: health.clone(),
                text,
                now,
                deliver: self.deliver_events,
            })
            .await?;
        self.forget(id);
        if !changes.is_empty() {
            self.wake_outbox();
        }
        Ok(changes)
    }
}

/// [`Store::record_health`]'s write: answers the changes since the stored read.
struct RecordHealth {
    id: String,
    health: NumberHealth,
    /// `health` as stored.
    text: String,
    now: String,
    deliver: bool,
}

impl Write for RecordHealth {
    type Out = Vec<HealthChange>;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Vec<HealthChange>>, StoreError> {
        let id = self.id.as_str();
        let before = Stmt::new("SELECT health FROM onboardings WHERE id = $1").bind(id);
        let Some(before) = tx.query_first(&before, |row| row.text("health")).await? else {
            return Ok(Done::Keep(Vec::new()));
        };
        // A stored value that no longer reads is replaced, without events: there is no
        // "before" to tell the partner.
        let changes = before
            .and_then(|b| serde_json::from_str::<NumberHealth>(&b).ok())
            .map(|b| self.health.changes_since(&b))
            .unwrap_or_default();
        // `updated_at` stays: a read is not a change of the onboarding, and event streams
        // follow the onboarding's state.
        let store = Stmt::new("UPDATE onboardings SET health = $1 WHERE id = $2")
            .bind(&self.text)
            .bind(id);
        tx.exec(&store).await?;
        if !changes.is_empty() {
            if let Some(mut view) = partner_view(tx, id).await? {
                for change in &changes {
                    view.change = Some(change.clone());
                    let kind = EventType::NumberHealthChanged;
                    let event = EventRow::new(id, kind, &self.now, self.deliver, &view)?;
                    tx.exec(&event.insert()).await?;
                }
            }
        }
        Ok(Done::Keep(changes))
    }
}
