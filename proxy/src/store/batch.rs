//! A batch of writes coalesced into the rows it writes, and its one transaction: the counted
//! call's budget first, then the lease, the steps, the onboarding, the attempts and the
//! partner event of the state entered; the run's last commit reads the onboarding back.

use time::OffsetDateTime;
use wire::{EventType, OnboardingState, OnboardingStep};

use super::budget::{count_call, Budget, CallKind, CountedCall};
use super::events::emit;
use super::partner::STEPS_OF;
use super::rows::{
    api_step_from_row, format_time, record_from_row, Record, Step, StepStatus, Update,
};
use super::tx::{Param, Stmt, Tx, Write};
use super::writer::Done;
use super::StoreError;

#[derive(Debug, Clone)]
pub(super) enum Op {
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
    #[cfg(any(test, feature = "test-support"))]
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

/// What the run's last commit does besides its writes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ending {
    /// Gives the lease up in the same transaction.
    pub(super) release: bool,
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

/// One step's row as a batch leaves it.
struct StepWrite {
    step: Step,
    started_at: Option<String>,
    finished: Option<(StepStatus, Option<String>, String)>,
}

/// What a batch's transaction did.
pub(super) enum Outcome {
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
pub(super) struct Batch {
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
    /// The change asks the customer to reauthorize: `onboarding.reauthorize_required`
    /// follows the state's event.
    reauthorize: bool,
    deliver: bool,
    /// The run's last commit ([`Writes::end_run`]).
    pub(super) ending: Option<Ending>,
}

impl Batch {
    pub(super) fn of(
        id: &str,
        ops: Vec<Op>,
        lease: Option<(String, String)>,
        deliver: bool,
    ) -> Self {
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
                #[cfg(any(test, feature = "test-support"))]
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
        let reauthorize = onboarding.asks_reauthorization();
        Self {
            id: id.to_owned(),
            counted,
            lease,
            steps,
            onboarding: updated_at.map(|at| (onboarding, at)),
            attempts,
            entering,
            reauthorize,
            deliver,
            ending: None,
        }
    }

    /// The lease's statement and parameters: renewed, or given up by the run's last commit;
    /// either changes no row when the lease is another's.
    fn lease_statement(&self) -> Option<Stmt> {
        let (owner, until) = self.lease.as_ref()?;
        Some(match self.ending {
            Some(Ending { release: true }) => Stmt::new(RELEASE_HELD).bind(&self.id).bind(owner),
            _ => Stmt::new(RENEW_LEASE)
                .bind(until)
                .bind(&self.id)
                .bind(owner),
        })
    }

    fn released(&self) -> bool {
        self.lease.is_some() && matches!(self.ending, Some(Ending { release: true }))
    }
}

impl Write for Batch {
    type Out = Outcome;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Outcome>, StoreError> {
        let id = self.id.as_str();
        // The budget's lock comes first in every transaction that takes it, so two of them
        // never wait for each other's onboarding row.
        if let Some(call) = &self.counted {
            if let Budget::Spent { oldest } = count_call(tx, call).await? {
                return Ok(Done::Undo(Outcome::Spent { oldest }));
            }
        }
        if let Some(lease) = self.lease_statement() {
            if tx.exec(&lease).await? == 0 {
                return Ok(Done::Undo(Outcome::LeaseLost));
            }
        }
        // An onboarding entering a state the partner hears about: its event goes into this
        // transaction, written once the steps and the onboarding are.
        let event = match self.entering {
            Some((kind, entering)) => {
                let before = tx
                    .query_first(&Stmt::new(STATE_OF).bind(id), |row| row.string("state"))
                    .await?;
                (before.as_deref() != Some(entering)).then_some(kind)
            }
            None => None,
        };
        for step in self.steps.iter().filter_map(|w| w.statement(id)) {
            tx.exec(&step).await?;
        }
        let updated_at = self.onboarding.as_ref().map(|(_, at)| at.clone());
        let released = self.released();
        if let Some((update, at)) = self.onboarding {
            tx.exec(&update_statement(id, update, &at)).await?;
        }
        for (kind, waba_id, phone_number_id, at) in &self.attempts {
            let attempt = Stmt::new(insert_attempt(*kind))
                .bind(super::rows::new_row_id())
                .bind(waba_id)
                .bind(phone_number_id)
                .bind(id)
                .bind(at);
            tx.exec(&attempt).await?;
        }
        if let Some(kind) = event {
            let at = updated_at.unwrap_or_default();
            emit(tx, id, kind, &at, self.deliver).await?;
            if self.reauthorize {
                emit(tx, id, EventType::ReauthorizeRequired, &at, self.deliver).await?;
            }
        }
        let ended = match self.ending {
            Some(_) => {
                let record = tx
                    .query_first(&Stmt::new(ONBOARDING).bind(id), |row| record_from_row(row))
                    .await?
                    .ok_or_else(|| StoreError::Corrupt {
                        id: id.to_owned(),
                        what: "vanished while running".to_owned(),
                    })?;
                let steps = tx
                    .query(&Stmt::new(STEPS_OF).bind(id), |row| {
                        api_step_from_row(id, row)
                    })
                    .await?;
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
    /// Its statement; none when it neither starts nor finishes the step.
    fn statement(&self, id: &str) -> Option<Stmt> {
        Some(match (&self.started_at, &self.finished) {
            (Some(started_at), finished) => {
                let (status, result, finished_at) = match finished {
                    Some((status, result, at)) => (*status, result.clone(), Some(at.clone())),
                    None => (StepStatus::Started, None, None),
                };
                Stmt::new(
                    "INSERT INTO onboarding_steps (onboarding_id, step, status, attempts, \
                     started_at, finished_at, result) VALUES ($1, $2, $3, 1, $4, $5, $6) \
                     ON CONFLICT (onboarding_id, step) DO UPDATE SET status = $3, \
                     attempts = onboarding_steps.attempts + 1, started_at = $4, \
                     finished_at = $5, result = $6",
                )
                .bind(id)
                .bind(self.step.as_str())
                .bind(status.as_str())
                .bind(started_at)
                .bind(finished_at)
                .bind(result)
            }
            (None, Some((status, result, at))) => Stmt::new(
                "UPDATE onboarding_steps SET status = $1, finished_at = $2, result = $3 \
                 WHERE onboarding_id = $4 AND step = $5",
            )
            .bind(status.as_str())
            .bind(at)
            .bind(result)
            .bind(id)
            .bind(self.step.as_str()),
            (None, None) => return None,
        })
    }
}

/// One `UPDATE` of the onboarding row with the columns the update sets, and `updated_at`.
pub(super) fn update_statement(id: &str, update: Update, now: &str) -> Stmt {
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
    if let Some(sync) = update.sync {
        set("sync", serde_json::to_string(&sync).unwrap_or_default());
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
    Stmt::with(sql, params.into_iter().map(Param::from).collect())
}
