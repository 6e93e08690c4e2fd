//! Writes: the batch the pipeline commits between two upstream calls, the register and
//! deregister budgets' counts (atomic per number), and the conditional update of an
//! onboarding that no runner owns.

use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;
use wire::{EventType, OnboardingState, OnboardingStep, PhoneNumberId, WabaId};

use super::partner::{emit, emit_sqlite, STEPS_OF};
use super::rows::{
    api_step_from_row, format_time, parse_time, record_from_row, Record, Step, StepStatus, Update,
};
use super::writer::{self, Done};
use super::{Store, StoreError};
use crate::clock::Clock;

/// Writes queued for one onboarding, committed together by [`Store::commit`].
///
/// The pipeline queues what happens between two upstream calls (the end of one step, the
/// onboarding's change, the start of the next step, a counted register call) and commits it
/// in one transaction right before the next call, so every step is still durable as
/// `started` before its call and as `done`/`failed` before anything that follows it.
/// Made by [`Store::writes`]; each write is timed by the store's clock when it is queued.
#[derive(Debug)]
pub struct Writes {
    clock: Clock,
    ops: Vec<Op>,
    /// The runner's lease, checked and renewed by every commit ([`Writes::leased_to`]).
    lease: Option<(String, time::Duration)>,
    /// Set by [`Writes::end_run`] for the next commit.
    ending: Option<Ending>,
    /// What the run's last commit left ([`Writes::ended`]).
    ended: Option<Ended>,
}

/// What the run's last commit does besides its writes.
#[derive(Debug, Clone, Copy)]
struct Ending {
    /// Gives the lease up in the same transaction.
    release: bool,
}

/// The onboarding as the run's last commit left it, read in that commit's transaction.
#[derive(Debug)]
pub struct Ended {
    /// The stored onboarding.
    pub record: Record,
    /// Its steps, as the API shows them.
    pub steps: Vec<OnboardingStep>,
    /// Whether that commit gave the lease up.
    pub released: bool,
}

/// Which of a number's budgets a counted call spends. Meta allows 10 register and 10
/// deregister requests per number in a moving 72 hours; each is counted apart, both under
/// the same lock of the number ([`Store::commit_counted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `register` (YCloud's or Meta's: the budget is Meta's either way).
    Register,
    /// `deregister` (the Meta provider).
    Deregister,
}

impl CallKind {
    /// The table its calls are recorded in.
    fn table(self) -> &'static str {
        match self {
            CallKind::Register => "register_attempts",
            CallKind::Deregister => "deregister_attempts",
        }
    }
}

/// A register or deregister call about to be made, counted against its number's budget of
/// that kind: at most `limit` calls at or after `since`.
#[derive(Debug, Clone)]
pub struct CountedCall {
    /// Which budget it spends.
    pub kind: CallKind,
    /// The WABA the number is registered for.
    pub waba_id: WabaId,
    /// The number.
    pub phone_number_id: PhoneNumberId,
    /// When the call is made.
    pub at: OffsetDateTime,
    /// Where the budget's window begins.
    pub since: OffsetDateTime,
    /// How many calls the window allows.
    pub limit: i64,
}

/// What [`Store::commit_counted`] found in the number's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The call is counted, its step started: make it.
    Counted,
    /// The window's calls are spent: nothing of the step was written. `oldest` is the
    /// oldest counted call in the window (it leaves the window first).
    Spent {
        /// The oldest counted call in the window.
        oldest: Option<OffsetDateTime>,
    },
}

#[derive(Debug, Clone)]
enum Op {
    Start {
        step: Step,
        state: OnboardingState,
        at: String,
    },
    Finish {
        step: Step,
        status: StepStatus,
        result: Option<String>,
        update: Update,
        at: String,
    },
    Update {
        update: Update,
        at: String,
    },
    Attempt {
        kind: CallKind,
        waba_id: String,
        phone_number_id: String,
        at: String,
    },
    /// A step's start and a call counted against the number's budget, written only when
    /// the budget allows ([`Store::commit_counted`]). Without a state, the onboarding is
    /// left as it is (a step outside its run).
    StartCounted {
        step: Step,
        state: Option<OnboardingState>,
        call: CountedCall,
    },
}

impl Writes {
    /// Makes the next commit the run's last: it reads the onboarding back in its own
    /// transaction (the run's answer, without another query) and, with `release`, gives the
    /// lease up there too (without a statement of its own after it).
    pub fn end_run(&mut self, release: bool) {
        self.ending = Some(Ending { release });
    }

    /// What the last commit made after [`Writes::end_run`] left, once.
    pub fn ended(&mut self) -> Option<Ended> {
        self.ended.take()
    }

    /// Makes every commit of this batch check that `owner` still holds the onboarding's
    /// lease, and renew it for `lease_for`, in its transaction: a runner whose lease expired
    /// and was taken over writes nothing more ([`StoreError::LeaseLost`]), so two instances
    /// never both record a step's outcome.
    #[must_use]
    pub fn leased_to(mut self, owner: &str, lease_for: time::Duration) -> Self {
        self.lease = Some((owner.to_owned(), lease_for));
        self
    }

    /// Starts `step` (moving to `state`) together with counting `call` against its number's
    /// budget; committed only by [`Store::commit_counted`], which writes both or, when the
    /// budget is spent, neither.
    pub fn start_counted_step(&mut self, step: Step, state: OnboardingState, call: CountedCall) {
        self.ops.push(Op::StartCounted {
            step,
            state: Some(state),
            call,
        });
    }

    /// [`Writes::start_counted_step`] of a step outside the onboarding's run (deregister):
    /// its state and error stay as they are.
    pub fn start_counted_side_step(&mut self, step: Step, call: CountedCall) {
        self.ops.push(Op::StartCounted {
            step,
            state: None,
            call,
        });
    }

    /// See [`Store::start_step`].
    pub fn start_step(&mut self, step: Step, state: OnboardingState) {
        self.ops.push(Op::Start {
            step,
            state,
            at: format_time(self.clock.now()),
        });
    }

    /// See [`Store::finish_step`].
    pub fn finish_step(
        &mut self,
        step: Step,
        status: StepStatus,
        result: Option<&Value>,
        update: Update,
    ) {
        self.ops.push(Op::Finish {
            step,
            status,
            result: result.map(Value::to_string),
            update,
            at: format_time(self.clock.now()),
        });
    }

    /// Changes the onboarding without finishing a step.
    pub fn update(&mut self, update: Update) {
        self.ops.push(Op::Update {
            update,
            at: format_time(self.clock.now()),
        });
    }

    /// See [`Store::record_register_attempt`].
    pub fn register_attempt(
        &mut self,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        at: OffsetDateTime,
    ) {
        self.attempt(CallKind::Register, waba_id, phone_number_id, at);
    }

    /// See [`Store::record_deregister_attempt`].
    pub fn deregister_attempt(
        &mut self,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        at: OffsetDateTime,
    ) {
        self.attempt(CallKind::Deregister, waba_id, phone_number_id, at);
    }

    fn attempt(
        &mut self,
        kind: CallKind,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        at: OffsetDateTime,
    ) {
        self.ops.push(Op::Attempt {
            kind,
            waba_id: waba_id.as_str().to_owned(),
            phone_number_id: phone_number_id.as_str().to_owned(),
            at: format_time(at),
        });
    }
}

/// One step's row as a batch leaves it.
struct StepWrite {
    step: Step,
    started_at: Option<String>,
    finished: Option<(StepStatus, Option<String>, String)>,
}

impl Store {
    /// An empty batch of writes, timed by this store's clock.
    pub fn writes(&self) -> Writes {
        Writes {
            clock: self.clock.clone(),
            ops: Vec::new(),
            lease: None,
            ending: None,
            ended: None,
        }
    }

    /// Commits the queued writes of onboarding `id` in one transaction and empties the
    /// queue; nothing when it is empty.
    ///
    /// # Errors
    /// Database failures (the queue is emptied all the same: the transaction rolled back).
    pub async fn commit(&self, id: &str, writes: &mut Writes) -> Result<(), StoreError> {
        self.commit_counted(id, writes).await.map(|_| ())
    }

    /// [`Store::commit`] of a batch with a counted step ([`Writes::start_counted_step`]).
    /// In the same transaction, before anything else, the number's budget row is locked,
    /// its calls in the window counted, and the call recorded if one is left: two runners
    /// (in this process or another instance) cannot both see the last call free. When the
    /// budget is spent, the transaction is rolled back and the rest of the batch stays
    /// queued for the next commit, without the counted step.
    ///
    /// # Errors
    /// Database failures, or [`StoreError::LeaseLost`] (the queue is emptied then).
    pub async fn commit_counted(
        &self,
        id: &str,
        writes: &mut Writes,
    ) -> Result<Budget, StoreError> {
        if writes.ops.is_empty() {
            return Ok(Budget::Counted);
        }
        let result = self.commit_ops(id, writes).await;
        self.forget(id);
        result
    }

    async fn commit_ops(&self, id: &str, writes: &mut Writes) -> Result<Budget, StoreError> {
        let ops = std::mem::take(&mut writes.ops);
        // When the budget is spent, the rest of the batch stays queued, without the counted
        // step.
        let rest: Option<Vec<Op>> = ops
            .iter()
            .any(|op| matches!(op, Op::StartCounted { .. }))
            .then(|| {
                ops.iter()
                    .filter(|op| !matches!(op, Op::StartCounted { .. }))
                    .cloned()
                    .collect()
            });
        let lease = writes
            .lease
            .as_ref()
            .map(|(owner, lease_for)| (owner.clone(), format_time(self.clock.now() + *lease_for)));
        let ending = writes.ending.take();
        let mut batch = Batch::of(id, ops, lease, self.deliver_events);
        batch.ending = ending;
        let outcome = match &self.writer {
            Some(writer) => writer.run(move |conn| batch.write_sqlite(conn)).await?,
            None => batch.write(self).await?,
        };
        match outcome {
            Outcome::Committed { event, ended } => {
                if event {
                    self.wake_outbox();
                }
                writes.ended = ended.map(|e| *e);
                Ok(Budget::Counted)
            }
            Outcome::Spent { oldest } => {
                writes.ops = rest.unwrap_or_default();
                Ok(Budget::Spent { oldest })
            }
            Outcome::LeaseLost => Err(StoreError::LeaseLost { id: id.to_owned() }),
        }
    }

    /// Records that a step is about to call out, and moves the onboarding to `state`
    /// (clearing any previous error), in one transaction. This and the next two commit one
    /// write on its own: tests write stored states with them, while the pipeline queues the
    /// same writes in [`Writes`].
    ///
    /// # Errors
    /// Database failures.
    pub async fn start_step(
        &self,
        id: &str,
        step: Step,
        state: OnboardingState,
    ) -> Result<(), StoreError> {
        let mut w = self.writes();
        w.start_step(step, state);
        self.commit(id, &mut w).await
    }

    /// Records a step's outcome and the onboarding's resulting change, in one transaction.
    ///
    /// # Errors
    /// Database failures.
    pub async fn finish_step(
        &self,
        id: &str,
        step: Step,
        status: StepStatus,
        result: Option<&Value>,
        update: Update,
    ) -> Result<(), StoreError> {
        let mut w = self.writes();
        w.finish_step(step, status, result, update);
        self.commit(id, &mut w).await
    }

    /// Records that the number of onboarding `id` received its first message (now), with
    /// the `onboarding.inbound_verified` event; false when it was recorded before.
    ///
    /// # Errors
    /// Database failures.
    pub async fn mark_inbound(&self, id: &str) -> Result<bool, StoreError> {
        let now = format_time(self.clock.now());
        let marked = {
            let _gate = self.exclusive().await;
            let mut tx = self.write.begin().await?;
            let marked = sqlx::query(
                "UPDATE onboardings SET inbound_verified_at = $1, updated_at = $1 \
                 WHERE id = $2 AND inbound_verified_at IS NULL",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if marked {
                emit(
                    &mut tx,
                    id,
                    EventType::InboundVerified,
                    &now,
                    self.deliver_events,
                )
                .await?;
            }
            tx.commit().await?;
            marked
        };
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
        let now = format_time(self.clock.now());
        let _gate = self.exclusive().await;
        let mut tx = self.write.begin().await?;
        let matched =
            sqlx::query("UPDATE onboardings SET updated_at = $1 WHERE id = $2 AND state = $3")
                .bind(&now)
                .bind(id)
                .bind(expected.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if matched == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let event = update
            .state
            .filter(|s| *s != expected)
            .and_then(EventType::entering);
        apply_update(&mut tx, id, update, &now).await?;
        if let Some(kind) = event {
            emit(&mut tx, id, kind, &now, self.deliver_events).await?;
        }
        tx.commit().await?;
        if event.is_some() {
            self.wake_outbox();
        }
        Ok(true)
    }

    /// Counts one register call for a number (made or about to be made).
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_register_attempt(
        &self,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        onboarding_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut w = self.writes();
        w.register_attempt(waba_id, phone_number_id, at);
        self.commit(onboarding_id, &mut w).await
    }

    /// Counts one deregister call for a number (made or about to be made).
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_deregister_attempt(
        &self,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        onboarding_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut w = self.writes();
        w.deregister_attempt(waba_id, phone_number_id, at);
        self.commit(onboarding_id, &mut w).await
    }
}

/// What a batch's transaction did.
enum Outcome {
    /// Committed; `event`: with a partner event; `ended`: the run's last commit's read.
    Committed {
        event: bool,
        ended: Option<Box<Ended>>,
    },
    /// The counted call's budget is spent: nothing written.
    Spent { oldest: Option<OffsetDateTime> },
    /// The runner's lease is another's now: nothing written.
    LeaseLost,
}

/// A batch coalesced into the rows it writes: a step started and finished in the same batch
/// is one row write, and the onboarding's changes are one `UPDATE` (later values win, as
/// applied in order). Built before the transaction, written by either driver.
struct Batch {
    id: String,
    /// The counted call, checked first.
    counted: Option<CountedCall>,
    /// The runner's lease (owner, renewed until), checked and renewed next.
    lease: Option<(String, String)>,
    steps: Vec<StepWrite>,
    /// The onboarding's change and its time, when it changes.
    onboarding: Option<(Update, String)>,
    attempts: Vec<(CallKind, String, String, String)>,
    /// The event of the state entered, if the partner hears about it (written only when the
    /// onboarding was in another state before).
    entering: Option<(EventType, &'static str)>,
    deliver: bool,
    /// The run's last commit ([`Writes::end_run`]).
    ending: Option<Ending>,
}

impl Batch {
    fn of(id: &str, ops: Vec<Op>, lease: Option<(String, String)>, deliver: bool) -> Self {
        let mut counted = None;
        let mut steps: Vec<StepWrite> = Vec::new();
        let mut onboarding = Update::default();
        let mut updated_at = None;
        let mut attempts = Vec::new();
        for op in ops {
            match op {
                Op::Start { step, state, at } => {
                    onboarding.merge(Update {
                        state: Some(state),
                        error: Some(None),
                        ..Update::default()
                    });
                    steps.push(StepWrite {
                        step,
                        started_at: Some(at.clone()),
                        finished: None,
                    });
                    updated_at = Some(at);
                }
                Op::Finish {
                    step,
                    status,
                    result,
                    update,
                    at,
                } => {
                    onboarding.merge(update);
                    match steps.last_mut() {
                        Some(last)
                            if last.step == step
                                && last.started_at.is_some()
                                && last.finished.is_none() =>
                        {
                            last.finished = Some((status, result, at.clone()));
                        }
                        _ => steps.push(StepWrite {
                            step,
                            started_at: None,
                            finished: Some((status, result, at.clone())),
                        }),
                    }
                    updated_at = Some(at);
                }
                Op::Update { update, at } => {
                    onboarding.merge(update);
                    updated_at = Some(at);
                }
                Op::Attempt {
                    kind,
                    waba_id,
                    phone_number_id,
                    at,
                } => {
                    attempts.push((kind, waba_id, phone_number_id, at));
                }
                Op::StartCounted { step, state, call } => {
                    let at = format_time(call.at);
                    steps.push(StepWrite {
                        step,
                        started_at: Some(at.clone()),
                        finished: None,
                    });
                    attempts.push((
                        call.kind,
                        call.waba_id.as_str().to_owned(),
                        call.phone_number_id.as_str().to_owned(),
                        at.clone(),
                    ));
                    if let Some(state) = state {
                        onboarding.merge(Update {
                            state: Some(state),
                            error: Some(None),
                            ..Update::default()
                        });
                        updated_at = Some(at);
                    }
                    counted = Some(call);
                }
            }
        }
        let entering = onboarding
            .state
            .and_then(|s| EventType::entering(s).map(|kind| (kind, s.as_str())));
        Self {
            id: id.to_owned(),
            counted,
            lease,
            steps,
            onboarding: updated_at.map(|at| (onboarding, at)),
            attempts,
            entering,
            deliver,
            ending: None,
        }
    }

    /// The lease's statement and parameters: renewed, or given up by the run's last commit;
    /// either changes no row when the lease is another's.
    fn lease_statement(&self) -> Option<(&'static str, Vec<&str>)> {
        let (owner, until) = self.lease.as_ref()?;
        Some(match self.ending {
            Some(Ending { release: true }) => (RELEASE_HELD, vec![&self.id, owner]),
            _ => (RENEW_LEASE, vec![until, &self.id, owner]),
        })
    }

    fn released(&self) -> bool {
        self.lease.is_some() && matches!(self.ending, Some(Ending { release: true }))
    }

    /// Through sqlx (PostgreSQL; an in-memory SQLite database).
    async fn write(self, store: &Store) -> Result<Outcome, StoreError> {
        let id = self.id.as_str();
        let mut tx = store.write.begin().await?;
        // The budget's lock comes first in every transaction that takes it, so two of them
        // never wait for each other's onboarding row.
        if let Some(call) = &self.counted {
            if let Budget::Spent { oldest } = count_call(&mut tx, call).await? {
                tx.rollback().await?;
                return Ok(Outcome::Spent { oldest });
            }
        }
        if let Some((sql, params)) = self.lease_statement() {
            let mut q = sqlx::query(sql);
            for p in params {
                q = q.bind(p);
            }
            let held = q.execute(&mut *tx).await?.rows_affected();
            if held == 0 {
                tx.rollback().await?;
                return Ok(Outcome::LeaseLost);
            }
        }
        // An onboarding entering a state the partner hears about: its event goes into this
        // transaction, written once the steps and the onboarding are.
        let event = match self.entering {
            Some((kind, entering)) => {
                let before: Option<String> = sqlx::query_scalar(STATE_OF)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                (before.as_deref() != Some(entering)).then_some(kind)
            }
            None => None,
        };
        for (sql, params) in self.steps.iter().filter_map(|w| w.statement(id)) {
            let mut q = sqlx::query(sql);
            for p in params {
                q = q.bind(p);
            }
            q.execute(&mut *tx).await?;
        }
        let updated_at = self.onboarding.as_ref().map(|(_, at)| at.clone());
        let released = self.released();
        if let Some((update, at)) = self.onboarding {
            apply_update(&mut tx, id, update, &at).await?;
        }
        for (kind, waba_id, phone_number_id, at) in &self.attempts {
            sqlx::query(&insert_attempt(*kind))
                .bind(super::rows::new_row_id())
                .bind(waba_id)
                .bind(phone_number_id)
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(kind) = event {
            let at = updated_at.unwrap_or_default();
            emit(&mut tx, id, kind, &at, self.deliver).await?;
        }
        let ended = match self.ending {
            Some(_) => {
                let record = sqlx::query(ONBOARDING).bind(id).fetch_one(&mut *tx).await?;
                let record = record_from_row(&record)?;
                let mut steps = Vec::new();
                for row in sqlx::query(STEPS_OF).bind(id).fetch_all(&mut *tx).await? {
                    steps.extend(api_step_from_row(id, &row)?);
                }
                Some(Box::new(Ended {
                    record,
                    steps,
                    released,
                }))
            }
            None => None,
        };
        tx.commit().await?;
        Ok(Outcome::Committed {
            event: event.is_some(),
            ended,
        })
    }

    /// The same on SQLite's writer thread, as one job of a group.
    fn write_sqlite(self, conn: &rusqlite::Connection) -> Result<Done<Outcome>, StoreError> {
        let id = self.id.as_str();
        if let Some(call) = &self.counted {
            if let Budget::Spent { oldest } = count_call_sqlite(conn, call)? {
                return Ok(Done::Undo(Outcome::Spent { oldest }));
            }
        }
        if let Some((sql, params)) = self.lease_statement() {
            let params: Vec<&dyn rusqlite::ToSql> =
                params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
            if writer::exec(conn, sql, &params)? == 0 {
                return Ok(Done::Undo(Outcome::LeaseLost));
            }
        }
        let event = match self.entering {
            Some((kind, entering)) => {
                let before =
                    writer::query(conn, STATE_OF, &[&id], |row| Ok(row.get::<_, String>(0)?))?;
                (before.first().map(String::as_str) != Some(entering)).then_some(kind)
            }
            None => None,
        };
        for (sql, params) in self.steps.iter().filter_map(|w| w.statement(id)) {
            let params: Vec<&dyn rusqlite::ToSql> =
                params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
            writer::exec(conn, sql, &params)?;
        }
        let updated_at = self.onboarding.as_ref().map(|(_, at)| at.clone());
        let released = self.released();
        if let Some((update, at)) = self.onboarding {
            let (sql, params) = update_statement(id, update, &at);
            let params: Vec<&dyn rusqlite::ToSql> =
                params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
            writer::exec(conn, &sql, &params)?;
        }
        for (kind, waba_id, phone_number_id, at) in &self.attempts {
            let attempt = super::rows::new_row_id();
            writer::exec(
                conn,
                &insert_attempt(*kind),
                &[&attempt, waba_id, phone_number_id, &id, at],
            )?;
        }
        if let Some(kind) = event {
            let at = updated_at.unwrap_or_default();
            emit_sqlite(conn, id, kind, &at, self.deliver)?;
        }
        let ended = match self.ending {
            Some(_) => {
                let record = writer::query(conn, ONBOARDING, &[&id], |row| record_from_row(row))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| StoreError::Corrupt {
                        id: id.to_owned(),
                        what: "vanished while running".to_owned(),
                    })?;
                let steps =
                    writer::query(conn, STEPS_OF, &[&id], |row| api_step_from_row(id, row))?;
                Some(Box::new(Ended {
                    record,
                    steps: steps.into_iter().flatten().collect(),
                    released,
                }))
            }
            None => None,
        };
        Ok(Done::Keep(Outcome::Committed {
            event: event.is_some(),
            ended,
        }))
    }
}

const RENEW_LEASE: &str =
    "UPDATE onboardings SET lease_until = $1 WHERE id = $2 AND lease_owner = $3";
const STATE_OF: &str = "SELECT state FROM onboardings WHERE id = $1";
const RELEASE_HELD: &str = "UPDATE onboardings SET lease_owner = NULL, lease_until = NULL \
     WHERE id = $1 AND lease_owner = $2";
const ONBOARDING: &str = "SELECT * FROM onboardings WHERE id = $1";

fn insert_attempt(kind: CallKind) -> String {
    format!(
        "INSERT INTO {} (id, waba_id, phone_number_id, onboarding_id, attempted_at) \
         VALUES ($1, $2, $3, $4, $5)",
        kind.table()
    )
}

impl StepWrite {
    /// Its statement and parameters (text or NULL); none when it neither starts nor
    /// finishes the step.
    fn statement(&self, id: &str) -> Option<(&'static str, Vec<Option<String>>)> {
        Some(match (&self.started_at, &self.finished) {
            (Some(started_at), finished) => {
                let (status, result, finished_at) = match finished {
                    Some((status, result, at)) => (*status, result.clone(), Some(at.clone())),
                    None => (StepStatus::Started, None, None),
                };
                (
                    "INSERT INTO onboarding_steps (onboarding_id, step, status, attempts, \
                     started_at, finished_at, result) VALUES ($1, $2, $3, 1, $4, $5, $6) \
                     ON CONFLICT (onboarding_id, step) DO UPDATE SET status = $3, \
                     attempts = onboarding_steps.attempts + 1, started_at = $4, \
                     finished_at = $5, result = $6",
                    vec![
                        Some(id.to_owned()),
                        Some(self.step.as_str().to_owned()),
                        Some(status.as_str().to_owned()),
                        Some(started_at.clone()),
                        finished_at,
                        result,
                    ],
                )
            }
            (None, Some((status, result, at))) => (
                "UPDATE onboarding_steps SET status = $1, finished_at = $2, result = $3 \
                 WHERE onboarding_id = $4 AND step = $5",
                vec![
                    Some(status.as_str().to_owned()),
                    Some(at.clone()),
                    result.clone(),
                    Some(id.to_owned()),
                    Some(self.step.as_str().to_owned()),
                ],
            ),
            (None, None) => return None,
        })
    }
}

/// Locks the number's budget row (an upsert, which holds the row until the transaction
/// ends, in PostgreSQL as in SQLite) and counts the number's calls of the kind in the
/// window, seeing every call committed before the lock was granted. Every WABA's calls
/// count: Meta's limit is the number's. One lock serves both kinds: a register and a
/// deregister of one number wait for each other, which costs nothing (they are rare).
async fn count_call(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    call: &CountedCall,
) -> Result<Budget, StoreError> {
    let number = call.phone_number_id.as_str();
    sqlx::query(LOCK_BUDGET)
        .bind(number)
        .bind(format_time(call.at))
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query(&count_calls(call.kind))
        .bind(number)
        .bind(format_time(call.since))
        .fetch_one(&mut **tx)
        .await?;
    let n: i64 = row.try_get("n")?;
    let oldest: Option<String> = row.try_get("oldest")?;
    Ok(budget(call, n, oldest))
}

/// [`count_call`] on SQLite's writer thread (whose transaction holds the one write lock).
fn count_call_sqlite(
    conn: &rusqlite::Connection,
    call: &CountedCall,
) -> Result<Budget, StoreError> {
    let number = call.phone_number_id.as_str();
    writer::exec(conn, LOCK_BUDGET, &[&number, &format_time(call.at)])?;
    let counted = writer::query(
        conn,
        &count_calls(call.kind),
        &[&number, &format_time(call.since)],
        |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?)),
    )?;
    let (n, oldest) = counted.into_iter().next().unwrap_or((0, None));
    Ok(budget(call, n, oldest))
}

const LOCK_BUDGET: &str = "INSERT INTO register_budgets (phone_number_id, locked_at) \
     VALUES ($1, $2) ON CONFLICT (phone_number_id) DO UPDATE SET locked_at = $2";

fn count_calls(kind: CallKind) -> String {
    format!(
        "SELECT COUNT(*) AS n, MIN(attempted_at) AS oldest FROM {} \
         WHERE phone_number_id = $1 AND attempted_at >= $2",
        kind.table()
    )
}

/// What `n` calls in the window, the oldest at `oldest`, leave of the budget.
fn budget(call: &CountedCall, n: i64, oldest: Option<String>) -> Budget {
    match n < call.limit {
        true => Budget::Counted,
        false => Budget::Spent {
            oldest: oldest.as_deref().and_then(parse_time),
        },
    }
}

/// One `UPDATE` of the onboarding row with the columns the update sets, and `updated_at`.
pub(super) async fn apply_update(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    update: Update,
    now: &str,
) -> Result<(), StoreError> {
    let (sql, params) = update_statement(id, update, now);
    let mut q = sqlx::query(&sql);
    for p in params {
        q = q.bind(p);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// [`apply_update`]'s statement and parameters.
fn update_statement(id: &str, update: Update, now: &str) -> (String, Vec<String>) {
    let mut sql = String::from("UPDATE onboardings SET updated_at = $1");
    let mut params = vec![now.to_owned()];
    let mut set = |col: &str, value: String| {
        params.push(value);
        sql.push_str(&format!(", {col} = ${}", params.len()));
    };
    if let Some(state) = update.state {
        set("state", state.as_str().to_owned());
    }
    if let Some(waba) = update.waba {
        set("waba", waba.to_string());
    }
    if let Some(phone) = update.phone_number {
        set("phone_number", phone.to_string());
    }
    // `Some(None)` clears the error: NULL. An error always serializes.
    let error = update
        .error
        .map(|e| e.map(|e| serde_json::to_string(&e).unwrap_or_default()));
    let clear = matches!(error, Some(None));
    if let Some(Some(error)) = error {
        set("error", error);
    }
    if clear {
        sql.push_str(", error = NULL");
    }
    params.push(id.to_owned());
    sql.push_str(&format!(" WHERE id = ${}", params.len()));
    (sql, params)
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use wire::{CreateOnboarding, Mode};

    use super::*;
    use crate::store::{Customer, Insert};

    #[tokio::test]
    async fn concurrent_calls_never_spend_more_than_either_budget() {
        let dir = std::env::temp_dir().join(format!("store-budget-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/x.db", dir.display());
        let store = Store::connect(&url, Clock::system()).await.unwrap();
        let waba = WabaId::parse("1").unwrap();
        let phone = PhoneNumberId::parse("2").unwrap();
        let req: CreateOnboarding = serde_json::from_value(serde_json::json!({
            "mode": Mode::Standard, "waba_id": "1", "phone_number_id": "2"}))
        .unwrap();
        let customer = Customer::anonymous(&req);
        let Insert::Created(o) = store
            .insert_or_get_started(&req, Mode::Standard, &customer, None, None, None)
            .await
            .unwrap()
        else {
            panic!("not created");
        };
        let now = OffsetDateTime::now_utc();
        let call = |kind, at: OffsetDateTime| CountedCall {
            kind,
            waba_id: waba.clone(),
            phone_number_id: phone.clone(),
            at,
            since: at - Duration::hours(72),
            limit: 10,
        };
        for (kind, step) in [
            (CallKind::Register, Step::Register),
            (CallKind::Deregister, Step::Deregister),
        ] {
            let tries = (0..25).map(|_| {
                let (store, id, call) = (store.clone(), o.id.clone(), call(kind, now));
                tokio::spawn(async move {
                    let mut w = store.writes();
                    w.start_counted_side_step(step, call);
                    store.commit_counted(&id, &mut w).await.unwrap()
                })
            });
            let mut counted = 0;
            for t in tries {
                if t.await.unwrap() == Budget::Counted {
                    counted += 1;
                }
            }
            assert_eq!(counted, 10, "{kind:?}");
        }
        // Refused until the oldest leaves the window; then one call is free again.
        let mut w = store.writes();
        w.start_counted_side_step(Step::Deregister, call(CallKind::Deregister, now));
        let Budget::Spent { oldest } = store.commit_counted(&o.id, &mut w).await.unwrap() else {
            panic!("counted an 11th deregister");
        };
        assert_eq!(oldest.map(format_time), Some(format_time(now)));
        let later = now + Duration::hours(72) + Duration::seconds(1);
        let mut w = store.writes();
        w.start_counted_side_step(Step::Deregister, call(CallKind::Deregister, later));
        assert_eq!(
            store.commit_counted(&o.id, &mut w).await.unwrap(),
            Budget::Counted
        );
        // A side step leaves the onboarding's state as it was.
        let stored = store.get(&o.id).await.unwrap().unwrap();
        assert_eq!(stored.state, o.state);
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
