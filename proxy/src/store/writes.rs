//! Writes: the batch the pipeline commits between two upstream calls ([`Writes`]), committed
//! in one transaction as `batch.rs` writes it.

use serde_json::Value;
#[cfg(any(test, feature = "test-support"))]
use time::OffsetDateTime;
use wire::OnboardingState;
#[cfg(any(test, feature = "test-support"))]
use wire::{PhoneNumberId, WabaId};

use super::batch::{Batch, Ended, Ending, Op, Outcome};
#[cfg(any(test, feature = "test-support"))]
use super::budget::CallKind;
use super::budget::{Budget, CountedCall};
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
    /// The runner's lease, checked and renewed by every commit ([`Writes::leased_to`]).
    lease: Option<(String, time::Duration)>,
    /// Set by [`Writes::end_run`] for the next commit.
    ending: Option<Ending>,
    /// What the run's last commit left ([`Writes::ended`]).
    ended: Option<Ended>,
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

    /// Records that `step` is about to call out, and moves the onboarding to `state`
    /// (clearing any previous error).
    pub fn start_step(&mut self, step: Step, state: OnboardingState) {
        self.ops.push(Op::Start {
            step,
            state,
            at: format_time(self.clock.now()),
        });
    }

    /// Records a step's outcome and the onboarding's resulting change.
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

    /// Counts one register call for a number (made or about to be made).
    #[cfg(any(test, feature = "test-support"))]
    pub fn register_attempt(
        &mut self,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        at: OffsetDateTime,
    ) {
        self.attempt(CallKind::Register, waba_id, phone_number_id, at);
    }

    /// Counts one deregister call for a number (made or about to be made).
    #[cfg(any(test, feature = "test-support"))]
    pub fn deregister_attempt(
        &mut self,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        at: OffsetDateTime,
    ) {
        self.attempt(CallKind::Deregister, waba_id, phone_number_id, at);
    }

    #[cfg(any(test, feature = "test-support"))]
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
        let outcome = self.transact(batch).await?;
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
