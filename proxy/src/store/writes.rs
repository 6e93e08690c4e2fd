//! Writes: the batch the pipeline commits between two upstream calls, and the conditional
//! update of an onboarding that no runner owns.

use serde_json::Value;
use time::OffsetDateTime;
use wire::{OnboardingState, PhoneNumberId, WabaId};

use super::rows::{format_time, Step, StepStatus, Update};
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
}

#[derive(Debug)]
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
    RegisterAttempt {
        waba_id: String,
        phone_number_id: String,
        at: String,
    },
}

impl Writes {
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
        self.ops.push(Op::RegisterAttempt {
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
        }
    }

    /// Commits the queued writes of onboarding `id` in one transaction and empties the
    /// queue; nothing when it is empty.
    ///
    /// # Errors
    /// Database failures (the queue is emptied all the same: the transaction rolled back).
    pub async fn commit(&self, id: &str, writes: &mut Writes) -> Result<(), StoreError> {
        if writes.ops.is_empty() {
            return Ok(());
        }
        let result = self.commit_ops(id, writes).await;
        self.forget(id);
        result
    }

    async fn commit_ops(&self, id: &str, writes: &mut Writes) -> Result<(), StoreError> {
        let ops = std::mem::take(&mut writes.ops);
        // Coalesced: a step started and finished in the same batch is one row write, and the
        // onboarding's changes are one UPDATE (later values win, as applied in order).
        let mut steps: Vec<StepWrite> = Vec::new();
        let mut onboarding = Update::default();
        let mut updated_at = String::new();
        let mut touched = false;
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
                    updated_at = at;
                    touched = true;
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
                    updated_at = at;
                    touched = true;
                }
                Op::Update { update, at } => {
                    onboarding.merge(update);
                    updated_at = at;
                    touched = true;
                }
                Op::RegisterAttempt {
                    waba_id,
                    phone_number_id,
                    at,
                } => {
                    attempts.push((waba_id, phone_number_id, at));
                }
            }
        }
        let mut tx = self.write.begin().await?;
        for w in steps {
            match (w.started_at, w.finished) {
                (Some(started_at), finished) => {
                    let (status, result, finished_at) = match finished {
                        Some((status, result, at)) => (status, result, Some(at)),
                        None => (StepStatus::Started, None, None),
                    };
                    sqlx::query(
                        "INSERT INTO onboarding_steps (onboarding_id, step, status, attempts, \
                         started_at, finished_at, result) VALUES ($1, $2, $3, 1, $4, $5, $6) \
                         ON CONFLICT (onboarding_id, step) DO UPDATE SET status = $3, \
                         attempts = onboarding_steps.attempts + 1, started_at = $4, \
                         finished_at = $5, result = $6",
                    )
                    .bind(id)
                    .bind(w.step.as_str())
                    .bind(status.as_str())
                    .bind(started_at)
                    .bind(finished_at)
                    .bind(result)
                    .execute(&mut *tx)
                    .await?;
                }
                (None, Some((status, result, at))) => {
                    sqlx::query(
                        "UPDATE onboarding_steps SET status = $1, finished_at = $2, result = $3 \
                         WHERE onboarding_id = $4 AND step = $5",
                    )
                    .bind(status.as_str())
                    .bind(at)
                    .bind(result)
                    .bind(id)
                    .bind(w.step.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                (None, None) => {}
            }
        }
        if touched {
            apply_update(&mut tx, id, onboarding, &updated_at).await?;
        }
        for (waba_id, phone_number_id, at) in attempts {
            sqlx::query(
                "INSERT INTO register_attempts (id, waba_id, phone_number_id, onboarding_id, \
                 attempted_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(waba_id)
            .bind(phone_number_id)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
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
        apply_update(&mut tx, id, update, &now).await?;
        tx.commit().await?;
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
}

/// One `UPDATE` of the onboarding row with the columns the update sets, and `updated_at`.
pub(super) async fn apply_update(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    update: Update,
    now: &str,
) -> Result<(), StoreError> {
    let mut sql = String::from("UPDATE onboardings SET updated_at = $1");
    let mut n = 1;
    let mut set = |col: &str| {
        n += 1;
        sql.push_str(&format!(", {col} = ${n}"));
    };
    let state = update.state.map(|s| s.as_str());
    let waba = update.waba.map(|w| w.to_string());
    let phone = update.phone_number.map(|p| p.to_string());
    let error = update
        .error
        .map(|e| e.map(|e| serde_json::to_string(&e).unwrap_or_default()));
    if state.is_some() {
        set("state");
    }
    if waba.is_some() {
        set("waba");
    }
    if phone.is_some() {
        set("phone_number");
    }
    if error.is_some() {
        set("error");
    }
    n += 1;
    sql.push_str(&format!(" WHERE id = ${n}"));
    let mut q = sqlx::query(&sql).bind(now);
    if let Some(state) = state {
        q = q.bind(state);
    }
    if let Some(waba) = waba {
        q = q.bind(waba);
    }
    if let Some(phone) = phone {
        q = q.bind(phone);
    }
    if let Some(error) = error {
        q = q.bind(error);
    }
    q.bind(id).execute(&mut **tx).await?;
    Ok(())
}
