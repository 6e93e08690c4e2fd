//! The outbox of partner events: written by [`emit`] inside the transaction of the change
//! that caused them (`queries.rs`'s insert, `writes.rs`'s commits), so a change is never
//! stored without its event nor an event without its change; listed for the partner, and
//! taken by the deliverer in leased rounds.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use wire::{
    Delivery, DeliveryAttempt, DeliveryState, EventType, PartnerEvent, PartnerOnboarding,
    MAX_DELIVERY_HISTORY,
};

use super::partner::partner_view;
use super::rows::{format_time, Columns};
use super::tx::{Param, Statements, Stmt, Tx};
use super::{Store, StoreError};

/// Which events a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events of this type.
    pub event_type: Option<wire::EventType>,
    /// Only this onboarding's.
    pub onboarding_id: Option<String>,
    /// Only those whose delivery stands so.
    pub delivery_state: Option<DeliveryState>,
}

/// An event a deliverer took: what to POST, and how many attempts came before.
#[derive(Debug, Clone)]
pub struct DueEvent {
    /// `evt_…`: the `webhook-id`.
    pub id: String,
    /// The body to POST, as stored.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How one delivery attempt went.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// 2xx.
    Delivered,
    /// Anything else; retried at `next` (none: no attempts left, the event is `failed`).
    Failed {
        /// Why, for the logs and the row (no secrets: a status or a transport error).
        error: String,
        /// When to try again.
        next: Option<OffsetDateTime>,
    },
}

/// One POST of an event: how it went, and what its delivery's history keeps of it.
#[derive(Debug, Clone)]
pub struct Posted {
    /// How it went.
    pub outcome: Attempt,
    /// When it was sent.
    pub at: OffsetDateTime,
    /// How long the receiver took (or until the attempt failed).
    pub duration: std::time::Duration,
    /// The receiver's HTTP status, when one came.
    pub status: Option<u16>,
    /// Attempts made before it ([`DueEvent::attempts`]).
    pub before: u32,
}

/// Writes the event `kind` about onboarding `id` on `tx` (inside the change's transaction),
/// with the onboarding as it now stands. `deliver`: whether a webhook URL is configured.
pub(super) async fn emit(
    tx: &mut impl Tx,
    id: &str,
    kind: EventType,
    now: &str,
    deliver: bool,
) -> Result<(), StoreError> {
    let Some(data) = partner_view(tx, id).await? else {
        return Ok(());
    };
    tx.exec(&EventRow::new(id, kind, now, deliver, &data)?.insert())
        .await?;
    Ok(())
}

/// One partner event as it is inserted: built before the transaction when the caller knows
/// the onboarding without reading it (the insert of a new one).
#[derive(Debug)]
pub(super) struct EventRow {
    id: String,
    kind: EventType,
    onboarding_id: String,
    created_at: String,
    data: String,
    state: DeliveryState,
    next_attempt_at: Option<String>,
}

const INSERT_EVENT: &str = "INSERT INTO partner_events (id, type, onboarding_id, created_at, \
     data, delivery_state, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)";

impl EventRow {
    /// The event `kind` about onboarding `id` with `data`, the onboarding as the change
    /// leaves it. `deliver`: whether a webhook URL is configured.
    pub(super) fn new(
        id: &str,
        kind: EventType,
        now: &str,
        deliver: bool,
        data: &PartnerOnboarding,
    ) -> Result<Self, StoreError> {
        let data = serde_json::to_string(data).map_err(|e| StoreError::Corrupt {
            id: id.to_owned(),
            what: e.to_string(),
        })?;
        Ok(Self::with_data(id, kind, now, deliver, data))
    }

    /// The event `kind` about no onboarding (`signup.*`), with `data` as its `data`.
    pub(super) fn about_signup(
        kind: EventType,
        now: &str,
        deliver: bool,
        data: &wire::SignupOutcome,
    ) -> Result<Self, StoreError> {
        let data = serde_json::to_string(data).map_err(|e| StoreError::Corrupt {
            id: String::new(),
            what: e.to_string(),
        })?;
        // No onboarding: the column (NOT NULL) holds the empty string.
        Ok(Self::with_data("", kind, now, deliver, data))
    }

    fn with_data(id: &str, kind: EventType, now: &str, deliver: bool, data: String) -> Self {
        Self {
            id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
            kind,
            onboarding_id: id.to_owned(),
            created_at: now.to_owned(),
            data,
            state: match deliver {
                true => DeliveryState::Pending,
                false => DeliveryState::Disabled,
            },
            next_attempt_at: deliver.then(|| now.to_owned()),
        }
    }

    /// Its insert.
    pub(super) fn insert(&self) -> Stmt {
        Stmt::new(INSERT_EVENT)
            .bind(&self.id)
            .bind(self.kind.as_str())
            .bind(&self.onboarding_id)
            .bind(&self.created_at)
            .bind(&self.data)
            .bind(self.state.as_str())
            .bind(&self.next_attempt_at)
    }
}

fn event_from_row(row: &AnyRow) -> Result<PartnerEvent, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt {
        id: id.clone(),
        what: what.to_owned(),
    };
    let kind = row
        .try_get::<String, _>("type")?
        .parse::<EventType>()
        .map_err(|_| corrupt("event type"))?;
    let state = row
        .try_get::<String, _>("delivery_state")?
        .parse::<DeliveryState>()
        .map_err(|_| corrupt("delivery state"))?;
    let data: String = row.try_get("data")?;
    let data = match kind {
        EventType::SignupCancelled | EventType::SignupFailed => {
            wire::EventData::Signup(serde_json::from_str(&data).map_err(|_| corrupt("event data"))?)
        }
        _ => wire::EventData::Onboarding(Box::new(
            serde_json::from_str(&data).map_err(|_| corrupt("event data"))?,
        )),
    };
    let attempts: i64 = row.try_get("attempts")?;
    Ok(PartnerEvent {
        kind,
        created_at: row.try_get("created_at")?,
        data,
        delivery: Some(Delivery {
            state,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            last_error: match state {
                DeliveryState::Delivered => None,
                _ => row.try_get("last_error")?,
            },
            next_attempt_at: match state {
                DeliveryState::Pending => row.try_get("next_attempt_at")?,
                _ => None,
            },
            history: Vec::new(),
        }),
        id,
    })
}

/// One row of `partner_event_attempts`: its event's id, and the attempt.
fn attempt_from_row(row: &AnyRow) -> Result<(String, DeliveryAttempt), StoreError> {
    let event: String = row.try_get("event_id")?;
    let attempt: i64 = row.try_get("attempt")?;
    let duration: i64 = row.try_get("duration_ms")?;
    let status: Option<i64> = row.try_get("status")?;
    Ok((
        event,
        DeliveryAttempt {
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            at: row.try_get("attempted_at")?,
            duration_ms: u64::try_from(duration).unwrap_or(0),
            status: status.and_then(|s| u16::try_from(s).ok()),
            error: row.try_get("error")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
        },
    ))
}

/// The webhook body of an event: `{"id","type","created_at","data"}`, built from the stored
/// text without parsing `data` again.
fn webhook_body(row: &(impl Columns + ?Sized)) -> Result<String, StoreError> {
    let id = row.string("id")?;
    let kind = row.string("type")?;
    let created_at = row.string("created_at")?;
    let data = row.string("data")?;
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    Ok(format!(
        "{{\"id\":{},\"type\":{},\"created_at\":{},\"data\":{data}}}",
        quote(&id),
        quote(&kind),
        quote(&created_at)
    ))
}

impl Store {
    /// Events after `after` (an event id), oldest first, at most `limit`, only those
    /// `filter` keeps.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_events(
        &self,
        after: Option<&str>,
        limit: u32,
        filter: &EventFilter,
    ) -> Result<Vec<PartnerEvent>, StoreError> {
        let mut sql = String::from("SELECT * FROM partner_events WHERE id > $1");
        let mut n = 1;
        if filter.event_type.is_some() {
            n += 1;
            sql.push_str(&format!(" AND type = ${n}"));
        }
        if filter.onboarding_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND onboarding_id = ${n}"));
        }
        if filter.delivery_state.is_some() {
            n += 1;
            sql.push_str(&format!(" AND delivery_state = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", n + 1));
        let mut q = sqlx::query(&sql).bind(after.unwrap_or(""));
        if let Some(kind) = &filter.event_type {
            q = q.bind(kind.as_str());
        }
        if let Some(id) = &filter.onboarding_id {
            q = q.bind(id.clone());
        }
        if let Some(state) = filter.delivery_state {
            q = q.bind(state.as_str());
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.read).await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.with_history(&mut events).await?;
        Ok(events)
    }

    /// One event, with its delivery's history.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_event(&self, id: &str) -> Result<Option<PartnerEvent>, StoreError> {
        let row = sqlx::query("SELECT * FROM partner_events WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut events = vec![event_from_row(&row)?];
        self.with_history(&mut events).await?;
        Ok(events.pop())
    }

    /// Fills in the delivery history of `events` (of those attempted), in one query.
    async fn with_history(&self, events: &mut [PartnerEvent]) -> Result<(), StoreError> {
        let attempted: Vec<&str> = events
            .iter()
            .filter(|e| e.delivery.as_ref().is_some_and(|d| d.attempts > 0))
            .map(|e| e.id.as_str())
            .collect();
        if attempted.is_empty() {
            return Ok(());
        }
        let list = (1..=attempted.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT * FROM partner_event_attempts WHERE event_id IN ({list}) \
             ORDER BY event_id, attempt"
        );
        let mut q = sqlx::query(&sql);
        for id in &attempted {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.read).await?;
        let mut history = std::collections::HashMap::<String, Vec<DeliveryAttempt>>::new();
        for row in &rows {
            let (event, attempt) = attempt_from_row(row)?;
            history.entry(event).or_default().push(attempt);
        }
        for event in events {
            if let (Some(delivery), Some(attempts)) =
                (event.delivery.as_mut(), history.remove(&event.id))
            {
                delivery.history = attempts;
            }
        }
        Ok(())
    }

    /// Takes up to `max` events due for delivery at `now`, leasing each until `lease_until`
    /// so no other deliverer (here or in another instance) posts it meanwhile. One
    /// `UPDATE … RETURNING` takes them all and answers them: the writer is the store's
    /// bottleneck, so a round costs it one statement, not one per event (nor a second one
    /// reading them back, which found them by a column without an index: a scan of the
    /// whole outbox per round).
    ///
    /// # Errors
    /// Database failures.
    pub async fn take_due_events(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        max: u32,
    ) -> Result<Vec<DueEvent>, StoreError> {
        let now = format_time(now);
        let lease_until = format_time(lease_until);
        let round = uuid::Uuid::new_v4().simple().to_string();
        let pending = DeliveryState::Pending.as_str();
        let max = i64::from(max);
        // SQLite's writer thread is its database's one writer: the simpler statement.
        let sql = match self.writer.is_some() {
            true => TAKE_DUE_SQLITE,
            false => TAKE_DUE,
        };
        let take = Stmt::new(sql)
            .bind(round)
            .bind(lease_until)
            .bind(pending)
            .bind(now)
            .bind(max);
        let mut due = self.returning(take, |row| due_event(row)).await?;
        // RETURNING answers in no particular order; ids sort by creation.
        due.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(due)
    }

    /// Records how a round's attempts went and releases their leases, in one transaction:
    /// the delivered ones in one statement, each failure in its own (it has its own next
    /// time), and each attempt in its event's history (the newest
    /// [`MAX_DELIVERY_HISTORY`] kept).
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_attempts(&self, outcomes: &[(String, Posted)]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.transact(Statements(attempt_statements(outcomes)))
            .await?;
        Ok(())
    }
}

// The conditions stand in the outer WHERE too: PostgreSQL re-checks them on a row another
// instance leased between the subquery and the update.
const TAKE_DUE: &str = "UPDATE partner_events SET lease_owner = $1, lease_until = $2 \
     WHERE delivery_state = $3 AND next_attempt_at <= $4 \
     AND (lease_until IS NULL OR lease_until < $4) AND id IN (\
       SELECT id FROM partner_events WHERE delivery_state = $3 \
       AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until < $4) \
       ORDER BY next_attempt_at, id LIMIT $5) \
     RETURNING id, type, created_at, data, attempts";

/// [`TAKE_DUE`] for SQLite's writer thread, the one writer of its database: nobody can lease
/// a row between the subquery and the update, so the outer WHERE only names the rows. (With
/// the conditions repeated there, SQLite's planner walked the whole backlog of pending events
/// by the due index for every round, instead of looking the few ids up.)
const TAKE_DUE_SQLITE: &str = "UPDATE partner_events SET lease_owner = $1, lease_until = $2 \
     WHERE id IN (\
       SELECT id FROM partner_events WHERE delivery_state = $3 \
       AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until < $4) \
       ORDER BY next_attempt_at, id LIMIT $5) \
     RETURNING id, type, created_at, data, attempts";

/// One event [`TAKE_DUE`] answered.
fn due_event(row: &(impl Columns + ?Sized)) -> Result<DueEvent, StoreError> {
    Ok(DueEvent {
        id: row.string("id")?,
        body: webhook_body(row)?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
    })
}

/// The statements recording a round's outcomes (parameters: text or NULL): the delivered
/// ones in one, each failure in its own (it has its own next time); then each attempt's
/// line in its event's history.
fn attempt_statements(outcomes: &[(String, Posted)]) -> Vec<Stmt> {
    let mut statements = Vec::new();
    let delivered: Vec<Option<String>> = outcomes
        .iter()
        .filter(|(_, a)| matches!(a.outcome, Attempt::Delivered))
        .map(|(id, _)| Some(id.clone()))
        .collect();
    if !delivered.is_empty() {
        let list = (0..delivered.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE partner_events SET delivery_state = $1, attempts = attempts + 1, \
             next_attempt_at = NULL, last_error = NULL, lease_owner = NULL, \
             lease_until = NULL WHERE id IN ({list})"
        );
        let mut params = vec![Some(DeliveryState::Delivered.as_str().to_owned())];
        params.extend(delivered);
        statements.push(Stmt::with(
            sql,
            params.into_iter().map(Param::from).collect(),
        ));
    }
    for (id, posted) in outcomes {
        let (state, next, error) = match &posted.outcome {
            Attempt::Delivered => continue,
            Attempt::Failed {
                error,
                next: Some(t),
            } => (DeliveryState::Pending, Some(format_time(*t)), error),
            Attempt::Failed { error, next: None } => (DeliveryState::Failed, None, error),
        };
        statements.push(
            Stmt::new(
                "UPDATE partner_events SET delivery_state = $1, attempts = attempts + 1, \
                 next_attempt_at = $2, last_error = $3, lease_owner = NULL, \
                 lease_until = NULL WHERE id = $4",
            )
            .bind(state.as_str())
            .bind(next)
            .bind(error)
            .bind(id),
        );
    }
    for (id, posted) in outcomes {
        statements.extend(history_statements(id, posted));
    }
    statements
}

/// The line of `posted` in event `id`'s history, numbered by the event's `attempts` as the
/// update before it left them (so two instances posting one event, a lease having expired,
/// never write the same number twice); and, once the history is full, the removal of its
/// oldest line.
fn history_statements(id: &str, posted: &Posted) -> Vec<Stmt> {
    let (error, next) = match &posted.outcome {
        Attempt::Delivered => (None, None),
        Attempt::Failed { error, next } => (Some(error.clone()), next.map(format_time)),
    };
    let mut statements = vec![Stmt::new(
        "INSERT INTO partner_event_attempts (event_id, attempt, attempted_at, duration_ms, \
         status, error, next_attempt_at) SELECT id, attempts, $2, $3, $4, $5, $6 \
         FROM partner_events WHERE id = $1 ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(format_time(posted.at))
    .bind(i64::try_from(posted.duration.as_millis()).unwrap_or(i64::MAX))
    .bind(posted.status.map(i32::from))
    .bind(error)
    .bind(next)];
    // Only an event past the cap has a line to remove: the others spare the writer a
    // statement.
    if posted.before + 1 > MAX_DELIVERY_HISTORY {
        statements.push(
            Stmt::new(
                "DELETE FROM partner_event_attempts WHERE event_id = $1 AND attempt <= \
                 (SELECT attempts FROM partner_events WHERE id = $1) - $2",
            )
            .bind(id)
            .bind(i64::from(MAX_DELIVERY_HISTORY)),
        );
    }
    statements
}
