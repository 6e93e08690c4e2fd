//! The onboarding pipeline: a state machine over the store, free of HTTP.
//!
//! # Rules
//! Standard mode (`tp/bind`, then register):
//! 1. `binding`: `tp/bind`. Failure → `failed` (see `UpstreamError::to_onboarding_error`).
//! 2. `paymentMethodAttached: false` → `action_required`, code `payment_method_missing`
//!    (contact YCloud). It is retryable: `retry` re-reads the WABA (a harmless GET) and goes
//!    on once YCloud has attached its credit line. An absent flag counts as attached:
//!    YCloud's Embedded Signup guide only says what `false` means.
//! 3. No phone number id (`FINISH_ONLY_WABA`) → `action_required`, code
//!    `phone_number_missing`, not retryable: the WABA is bound, but there is nothing to
//!    register and no number can connect. `pending` would promise a change that cannot come,
//!    `connected` would claim a number that does not exist. The customer adds a number in
//!    WhatsApp Manager and signs up again; that posts the same WABA with the number, which is
//!    a new onboarding (the idempotency key is WABA + number), whose `tp/bind` is a re-bind.
//! 4. `registering`: register, unless the number's 10 register calls in 72 hours are spent
//!    (then `failed`, `register_limit`, with `retry_after`; nothing is called). Every call is
//!    counted in `register_attempts` before it is made.
//! 5. The answer's status `CONNECTED` → `connected`; otherwise `pending`, and a background
//!    follower polls the number (by its E.164 from the register answer) until `CONNECTED`.
//!    `BANNED`/`BLOCKED` → `action_required`. The follower backs off (×1.5 per unchanged
//!    answer, ×2 per failure, at most 8 intervals apart), gives up after
//!    `UpstreamTuning::poll_for` and leaves `pending` for the webhook or a restart.
//! 6. Webhooks (`apply_event`): a number turning `CONNECTED` → `connected`; `BANNED`/`BLOCKED`
//!    → `action_required`; a deleted number or WABA, or a WABA ban → `failed`; the WABA removed
//!    from the partner, the partner app uninstalled, a ban scheduled or a rejected review →
//!    `action_required`. Each with a sentence saying what the person can do.
//!
//! Coexistence mode: `binding`: `smb/bind` (answers the number; never register), then as 5.
//!
//! # Durability
//! Each step is written to `onboarding_steps` as `started` before it calls YCloud and as
//! `done`/`failed` (with the answer) after, in the same transaction as the onboarding's new
//! state. Writes with no YCloud call between them are queued (`store::Writes`) and committed
//! together right before the next call or when the run stops, so a standard sign-up commits
//! three times; a crash before such a commit runs the last call again on resume, as a crash
//! mid-call does. A restart resumes every onboarding that is neither final nor waiting for a person:
//! `done` steps are skipped, using their stored answer. A step left `started` by a crash
//! mid-call is run again, since whether YCloud saw it cannot be known; for register that
//! costs one more counted attempt, which the budget bounds.
//!
//! # Timing
//! `create` and `retry` run the steps inline, so their answer shows the outcome of bind and
//! register (`pending`, `connected`, `action_required` or `failed`); only the wait from
//! `pending` to `connected` happens in the background. That makes the answer deterministic
//! for the browser and for tests.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::broadcast;
use wire::{CreateOnboarding, Mode, Onboarding, OnboardingError, OnboardingState};

use crate::config::UpstreamTuning;
use crate::store::{
    self, Step, StepStatus, Steps, Store, StoreError, Update, Writes, REGISTER_WINDOW,
};
use crate::webhook::{BusinessAccountEvent, Event, EventType, PhoneNumberEvent};
use crate::ycloud::{Object, PhoneNumber, Upstream, UpstreamError, Waba};

/// Register calls Meta allows per number in a moving 72 hours.
pub const REGISTER_BUDGET: i64 = 10;

/// Why `retry` was refused.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// No onboarding has this id.
    #[error("not found")]
    NotFound,
    /// Nothing is retryable (connected, pending, running, or a non-retryable failure).
    #[error("{0}")]
    NothingToRetry(String),
    /// The number's register budget is spent until the given time.
    #[error("register budget spent")]
    BudgetSpent(time::OffsetDateTime),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Inner {
    store: Store,
    upstream: Upstream,
    tuning: UpstreamTuning,
    /// Onboardings whose steps are running now (one runner per onboarding).
    running: Mutex<HashSet<String>>,
    /// Onboardings with a follower polling their number.
    following: Mutex<HashSet<String>>,
    changes: broadcast::Sender<Onboarding>,
}

/// The onboarding pipeline. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

/// Removes an id from a set when dropped, so a panic or early return cannot leave it busy.
struct Claim<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}

impl<'a> Claim<'a> {
    fn take(set: &'a Mutex<HashSet<String>>, id: &str) -> Option<Self> {
        let mut guard = set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.insert(id.to_owned()).then(|| Claim {
            set,
            id: id.to_owned(),
        })
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// How a step went, for the runner's control flow.
enum Flow {
    Continue,
    Stop,
}

impl Pipeline {
    /// A pipeline over a store and an upstream.
    pub fn new(store: Store, upstream: Upstream, tuning: UpstreamTuning) -> Self {
        let (changes, _) = broadcast::channel(256);
        Self {
            inner: Arc::new(Inner {
                store,
                upstream,
                tuning,
                running: Mutex::new(HashSet::new()),
                following: Mutex::new(HashSet::new()),
                changes,
            }),
        }
    }

    /// The store (read access for handlers).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Every change of every onboarding, as it is stored.
    pub fn subscribe(&self) -> broadcast::Receiver<Onboarding> {
        self.inner.changes.subscribe()
    }

    /// Stores the onboarding and runs its steps; or, for a WABA and number seen before,
    /// answers the existing onboarding and calls nothing. The flag is true when created now.
    /// `code_sha256`: the hash of the code that verified ownership, when verification is on.
    ///
    /// # Errors
    /// Store failures only; upstream failures are part of the onboarding.
    pub async fn create(
        &self,
        req: CreateOnboarding,
        code_sha256: Option<&str>,
    ) -> Result<(Onboarding, bool), StoreError> {
        // The first step's `started` record goes into the insert's transaction.
        let first = match req.mode {
            Mode::Standard => Step::Bind,
            Mode::Coexistence => Step::SmbBind,
        };
        let (onboarding, created) = self
            .inner
            .store
            .insert_or_get_started(&req, code_sha256, Some((first, OnboardingState::Binding)))
            .await?;
        if !created {
            tracing::info!(id = %onboarding.id, state = %onboarding.state, "same WABA and number again: existing onboarding");
            return Ok((onboarding, false));
        }
        tracing::debug!(id = %onboarding.id, mode = %req.mode, waba_id = %req.waba_id, "onboarding received");
        self.notify(&onboarding.id).await;
        let onboarding = self.advance_from(onboarding, first).await?;
        Ok((onboarding, true))
    }

    /// One onboarding.
    ///
    /// # Errors
    /// Store failures.
    pub async fn get(&self, id: &str) -> Result<Option<Onboarding>, StoreError> {
        self.inner.store.get(id).await
    }

    /// Runs the failed step again, and what follows it.
    ///
    /// # Errors
    /// See [`RetryError`].
    pub async fn retry(&self, id: &str) -> Result<Onboarding, RetryError> {
        let onboarding = self
            .inner
            .store
            .get(id)
            .await?
            .ok_or(RetryError::NotFound)?;
        let error = onboarding.error.as_ref();
        let retryable = matches!(
            onboarding.state,
            OnboardingState::Failed | OnboardingState::ActionRequired
        ) && error.is_some_and(|e| e.retryable);
        if !retryable {
            let why = match onboarding.state {
                OnboardingState::Connected => {
                    "this onboarding is connected: there is nothing to retry".to_owned()
                }
                OnboardingState::Failed | OnboardingState::ActionRequired => format!(
                    "this onboarding is {} and retrying would not help: {}",
                    onboarding.state,
                    error.map_or("no error is recorded", |e| e.message.as_str())
                ),
                state => format!(
                    "this onboarding is {state} and still moving: there is nothing to retry"
                ),
            };
            return Err(RetryError::NothingToRetry(why));
        }
        // Meta blocks a number for 72 hours after its 11th register: calling earlier would
        // only extend the block.
        if let Some(e) = error.filter(|e| e.code == "register_limit") {
            if let Some(until) = e.retry_after.as_deref().and_then(store::parse_time) {
                if until > store::now() {
                    return Err(RetryError::BudgetSpent(until));
                }
            }
        }
        if onboarding.mode == Mode::Standard && self.next_is_register(id).await? {
            if let Some(phone) = &onboarding.phone_number_id {
                if let Some(until) = self.budget_spent_until(phone).await? {
                    return Err(RetryError::BudgetSpent(until));
                }
            }
        }
        tracing::info!(id, "retrying onboarding");
        Ok(self.advance(id).await?)
    }

    /// Picks up every onboarding a previous run left unfinished, in the background.
    ///
    /// # Errors
    /// Store failures while listing them.
    pub async fn resume_unfinished(&self) -> Result<usize, StoreError> {
        let ids = self.inner.store.unfinished().await?;
        for id in &ids {
            let pipeline = self.clone();
            let id = id.clone();
            tokio::spawn(async move {
                tracing::info!(id, "resuming unfinished onboarding");
                if let Err(e) = pipeline.advance(&id).await {
                    tracing::error!(id, error = %e, "resuming failed");
                }
            });
        }
        Ok(ids.len())
    }

    async fn next_is_register(&self, id: &str) -> Result<bool, StoreError> {
        let done = |s: Option<store::StepRecord>| s.is_some_and(|s| s.status == StepStatus::Done);
        let steps = self.inner.store.steps(id).await?;
        Ok(done(steps.get(Step::Bind))
            && done(steps.get(Step::CheckPayment))
            && !done(steps.get(Step::Register)))
    }

    /// When the number's budget is spent, the time its oldest counted call leaves the window.
    async fn budget_spent_until(
        &self,
        phone: &wire::PhoneNumberId,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        let now = store::now();
        let (count, oldest) = self
            .inner
            .store
            .register_attempts_since(phone, now - REGISTER_WINDOW)
            .await?;
        Ok((count >= REGISTER_BUDGET).then(|| oldest.unwrap_or(now) + REGISTER_WINDOW))
    }

    /// Runs the onboarding's remaining steps and answers where it stands afterwards. When
    /// another runner holds it, answers its current state without running anything.
    async fn advance(&self, id: &str) -> Result<Onboarding, StoreError> {
        let Some(_claim) = Claim::take(&self.inner.running, id) else {
            return self.current(id).await;
        };
        let onboarding = self.current(id).await?;
        let steps = self.inner.store.steps(id).await?;
        self.run(onboarding, steps).await
    }

    /// [`Pipeline::advance`] of an onboarding just read (or just created).
    async fn advance_from(
        &self,
        onboarding: Onboarding,
        first: Step,
    ) -> Result<Onboarding, StoreError> {
        let Some(_claim) = Claim::take(&self.inner.running, &onboarding.id) else {
            return self.current(&onboarding.id).await;
        };
        // Just created, its first step recorded as started with it.
        self.run(onboarding, Steps::just_started(first)).await
    }

    /// The steps, with the runner's claim held.
    /// `steps`: the stored steps (one runner per onboarding, so they stay true for the steps
    /// not run yet).
    async fn run(&self, onboarding: Onboarding, steps: Steps) -> Result<Onboarding, StoreError> {
        let id = onboarding.id.as_str();
        let flow = match onboarding.mode {
            Mode::Standard => self.run_standard(&onboarding, &steps).await?,
            Mode::Coexistence => self.run_coexistence(&onboarding, &steps).await?,
        };
        let onboarding = self.current(id).await?;
        if matches!(flow, Flow::Continue) && onboarding.state == OnboardingState::Pending {
            self.follow(&onboarding);
        }
        Ok(onboarding)
    }

    async fn current(&self, id: &str) -> Result<Onboarding, StoreError> {
        self.inner
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                id: id.to_owned(),
                what: "vanished while running".to_owned(),
            })
    }

    async fn run_standard(
        &self,
        onboarding: &Onboarding,
        steps: &Steps,
    ) -> Result<Flow, StoreError> {
        let id = onboarding.id.as_str();
        let store = &self.inner.store;
        let upstream = &self.inner.upstream;
        // Writes between two upstream calls are queued and committed together right before
        // the next call (or at the end), so each call's `started` record is durable first.
        let mut w = Writes::new();

        // 1. Bind.
        let bind = steps.get(Step::Bind);
        let mut waba: Option<Value> = onboarding.waba.clone();
        if !bind.as_ref().is_some_and(|s| s.status == StepStatus::Done) {
            if !steps.is_just_started(Step::Bind) {
                w.start_step(Step::Bind, OnboardingState::Binding);
                store.commit(id, &mut w).await?;
            }
            self.notify(id).await;
            match upstream.tp_bind(&onboarding.waba_id).await {
                Ok(bound) => {
                    let update = Update {
                        waba: Some(bound.raw.clone()),
                        ..Update::default()
                    };
                    w.finish_step(Step::Bind, StepStatus::Done, Some(&bound.raw), update);
                    waba = Some(bound.raw);
                }
                Err(e) => {
                    return self
                        .fail(
                            id,
                            &mut w,
                            Step::Bind,
                            &e,
                            "bind the WhatsApp Business Account",
                        )
                        .await
                }
            }
        } else if waba.is_none() {
            waba = bind.and_then(|s| s.result);
        }

        // 2. Payment method. The first time, the bind's answer decides; after an
        //    `action_required`, a retry re-reads the WABA.
        let check = steps.get(Step::CheckPayment);
        if !check.as_ref().is_some_and(|s| s.status == StepStatus::Done) {
            w.start_step(Step::CheckPayment, OnboardingState::Binding);
            if check.is_some() {
                store.commit(id, &mut w).await?;
                match upstream.retrieve_waba(&onboarding.waba_id).await {
                    Ok(read) => waba = Some(read.raw),
                    Err(e) => {
                        return self
                            .fail(
                                id,
                                &mut w,
                                Step::CheckPayment,
                                &e,
                                "read the WhatsApp Business Account",
                            )
                            .await
                    }
                }
            }
            let attached = waba
                .as_ref()
                .and_then(|w| serde_json::from_value::<Waba>(w.clone()).ok())
                .and_then(|w| w.payment_method_attached);
            if attached == Some(false) {
                let error = OnboardingError {
                    code: "payment_method_missing".to_owned(),
                    message: "YCloud could not attach a payment method to this WhatsApp Business \
                              Account (often because an existing account with its own payment \
                              method was chosen); contact YCloud support, then retry."
                        .to_owned(),
                    retryable: true,
                    upstream_request_id: None,
                    retry_after: None,
                };
                let update = Update {
                    state: Some(OnboardingState::ActionRequired),
                    waba: waba.clone(),
                    error: Some(Some(error)),
                    ..Update::default()
                };
                w.finish_step(
                    Step::CheckPayment,
                    StepStatus::Failed,
                    waba.as_ref(),
                    update,
                );
                store.commit(id, &mut w).await?;
                self.notify(id).await;
                return Ok(Flow::Stop);
            }
            if attached.is_none() {
                tracing::warn!(
                    id,
                    "YCloud's WABA has no paymentMethodAttached field; assuming attached"
                );
            }
            let update = Update {
                waba: waba.clone(),
                ..Update::default()
            };
            w.finish_step(Step::CheckPayment, StepStatus::Done, None, update);
        }

        // 3. A number to register?
        let Some(phone_id) = onboarding.phone_number_id.as_ref() else {
            let error = OnboardingError {
                code: "phone_number_missing".to_owned(),
                message: "The WhatsApp Business Account is bound, but no phone number was added; \
                          add one in WhatsApp Manager, then sign up again with it."
                    .to_owned(),
                retryable: false,
                upstream_request_id: None,
                retry_after: None,
            };
            let update = Update {
                state: Some(OnboardingState::ActionRequired),
                error: Some(Some(error)),
                ..Update::default()
            };
            w.update(update);
            store.commit(id, &mut w).await?;
            self.notify(id).await;
            return Ok(Flow::Stop);
        };

        // 4. Register.
        let register = steps.get(Step::Register);
        let phone: Option<Object<PhoneNumber>> = match register {
            Some(s) if s.status == StepStatus::Done => None,
            _ => {
                if let Some(until) = self.budget_spent_until(phone_id).await? {
                    let error = OnboardingError {
                        code: "register_limit".to_owned(),
                        message: "This number has used Meta's 10 register requests for 72 hours; \
                                  retry once the oldest one is 72 hours old."
                            .to_owned(),
                        retryable: true,
                        upstream_request_id: None,
                        retry_after: Some(store::format_time(until)),
                    };
                    let update = Update {
                        state: Some(OnboardingState::Failed),
                        error: Some(Some(error)),
                        ..Update::default()
                    };
                    w.update(update);
                    store.commit(id, &mut w).await?;
                    self.notify(id).await;
                    return Ok(Flow::Stop);
                }
                // The step's start and the counted call in one commit, before the call.
                w.start_step(Step::Register, OnboardingState::Registering);
                w.register_attempt(&onboarding.waba_id, phone_id, store::now());
                store.commit(id, &mut w).await?;
                self.notify(id).await;
                match upstream.register(&onboarding.waba_id, phone_id).await {
                    Ok(p) => Some(p),
                    Err(e) => {
                        return self
                            .fail(id, &mut w, Step::Register, &e, "register the phone number")
                            .await
                    }
                }
            }
        };
        self.settle(id, &mut w, Step::Register, phone).await
    }

    async fn run_coexistence(
        &self,
        onboarding: &Onboarding,
        steps: &Steps,
    ) -> Result<Flow, StoreError> {
        let id = onboarding.id.as_str();
        let store = &self.inner.store;
        let mut w = Writes::new();
        let bind = steps.get(Step::SmbBind);
        let phone = match bind {
            Some(s) if s.status == StepStatus::Done => None,
            _ => {
                if !steps.is_just_started(Step::SmbBind) {
                    w.start_step(Step::SmbBind, OnboardingState::Binding);
                    store.commit(id, &mut w).await?;
                }
                self.notify(id).await;
                match self.inner.upstream.smb_bind(&onboarding.waba_id).await {
                    Ok(p) => Some(p),
                    Err(e) => {
                        return self
                            .fail(
                                id,
                                &mut w,
                                Step::SmbBind,
                                &e,
                                "bind the WhatsApp Business App number",
                            )
                            .await
                    }
                }
            }
        };
        self.settle(id, &mut w, Step::SmbBind, phone).await
    }

    /// After the last step: records the number (when just answered) and moves to
    /// `connected` or `pending`. With `None`, the step was done before (a resume): the stored
    /// number decides.
    async fn settle(
        &self,
        id: &str,
        w: &mut Writes,
        step: Step,
        answer: Option<Object<PhoneNumber>>,
    ) -> Result<Flow, StoreError> {
        let store = &self.inner.store;
        match answer {
            Some(p) => {
                let state = if p.typed.is_connected() {
                    OnboardingState::Connected
                } else {
                    OnboardingState::Pending
                };
                let update = Update {
                    state: Some(state),
                    phone_number: Some(p.raw.clone()),
                    error: Some(None),
                    ..Update::default()
                };
                w.finish_step(step, StepStatus::Done, Some(&p.raw), update);
                store.commit(id, w).await?;
                tracing::info!(id, %state, status = p.typed.status.as_deref(), "number answered");
            }
            None => {
                // What is queued (steps done before a resume) is stored before reading.
                store.commit(id, w).await?;
                let current = self.current(id).await?;
                if current.state.is_final() {
                    return Ok(Flow::Stop);
                }
                let stored = match current.phone_number {
                    Some(p) => Some(p),
                    None => store.step(id, step).await?.and_then(|s| s.result),
                };
                let connected = stored
                    .as_ref()
                    .and_then(|p| serde_json::from_value::<PhoneNumber>(p.clone()).ok())
                    .is_some_and(|p| p.is_connected());
                let state = if connected {
                    OnboardingState::Connected
                } else {
                    OnboardingState::Pending
                };
                w.update(Update {
                    state: Some(state),
                    phone_number: stored,
                    ..Update::default()
                });
                store.commit(id, w).await?;
            }
        }
        self.notify(id).await;
        Ok(Flow::Continue)
    }

    async fn fail(
        &self,
        id: &str,
        w: &mut Writes,
        step: Step,
        e: &UpstreamError,
        what: &str,
    ) -> Result<Flow, StoreError> {
        let error = e.to_onboarding_error(what);
        tracing::warn!(
            id, step = step.as_str(), error = %e, code = %error.code,
            upstream_request_id = error.upstream_request_id.as_deref(), "onboarding step failed"
        );
        let result = serde_json::to_value(&error).ok();
        let update = Update {
            state: Some(OnboardingState::Failed),
            error: Some(Some(error)),
            ..Update::default()
        };
        w.finish_step(step, StepStatus::Failed, result.as_ref(), update);
        self.inner.store.commit(id, w).await?;
        self.notify(id).await;
        Ok(Flow::Stop)
    }

    /// Starts the background follower of a `pending` number, unless one runs already.
    fn follow(&self, onboarding: &Onboarding) {
        let e164 = onboarding
            .phone_number
            .as_ref()
            .and_then(|p| serde_json::from_value::<PhoneNumber>(p.clone()).ok())
            .and_then(|p| p.phone_number);
        let Some(e164) = e164 else {
            tracing::warn!(id = %onboarding.id, "pending number without an E.164 number: waiting for the webhook");
            return;
        };
        let pipeline = self.clone();
        let id = onboarding.id.clone();
        let waba = onboarding.waba_id.clone();
        tokio::spawn(async move {
            let Some(_claim) = Claim::take(&pipeline.inner.following, &id) else {
                return;
            };
            let tuning = &pipeline.inner.tuning;
            let deadline = tokio::time::Instant::now() + tuning.poll_for;
            let mut last_status: Option<String> = None;
            // Backoff: a number that stays pending (or a YCloud that keeps failing) is asked
            // less and less often, up to 8 intervals apart; a webhook usually comes first.
            let max_wait = tuning.poll_interval.saturating_mul(8);
            let mut wait = tuning.poll_interval;
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(wait).await;
                wait = wait
                    .saturating_mul(3)
                    .checked_div(2)
                    .unwrap_or(wait)
                    .min(max_wait);
                let number = match pipeline
                    .inner
                    .upstream
                    .retrieve_phone_number(&waba, &e164)
                    .await
                {
                    Ok(n) => n,
                    // Polling again cannot make YCloud know the number: leave it to the
                    // webhook instead of logging the same failure until the deadline.
                    Err(e @ UpstreamError::Status { status: 404, .. }) => {
                        tracing::warn!(id, error = %e, "YCloud does not know the number; stopped polling");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(id, error = %e, "polling the number failed; will poll again");
                        wait = wait.saturating_mul(2).min(max_wait);
                        continue;
                    }
                };
                let status = number.typed.status.clone();
                let state = match status.as_deref() {
                    Some("CONNECTED") => Some(OnboardingState::Connected),
                    Some("BANNED" | "BLOCKED") => Some(OnboardingState::ActionRequired),
                    _ => None,
                };
                if state.is_none() && status == last_status {
                    continue;
                }
                last_status = status.clone();
                let error =
                    (state == Some(OnboardingState::ActionRequired)).then(|| OnboardingError {
                        code: "phone_number_blocked".to_owned(),
                        message: format!(
                        "WhatsApp reports this number as {}; see WhatsApp Manager for the reason.",
                        status.as_deref().unwrap_or("blocked")
                    ),
                        retryable: false,
                        upstream_request_id: None,
                        retry_after: None,
                    });
                let update = Update {
                    state,
                    phone_number: Some(number.raw),
                    error: error.map(Some),
                    ..Update::default()
                };
                match pipeline
                    .inner
                    .store
                    .update_if(&id, OnboardingState::Pending, update)
                    .await
                {
                    Ok(true) => pipeline.notify(&id).await,
                    // Someone else (a webhook, a retry) moved it on: stop following.
                    Ok(false) => return,
                    Err(e) => tracing::error!(id, error = %e, "storing the polled number failed"),
                }
                if let Some(state) = state {
                    tracing::info!(id, %state, "number settled");
                    return;
                }
            }
            tracing::info!(
                id,
                "number still pending; leaving it to the webhook or the next start"
            );
        });
    }

    /// Applies a verified webhook event to the onboardings it is about and tells their event
    /// streams. Answers how many changed. Only onboardings no runner owns are touched
    /// (`pending`, `connected`, `action_required`, `failed`): a runner mid-step would
    /// overwrite the change, and its own answer, or the follower, brings the news anyway.
    ///
    /// # Errors
    /// Store failures.
    pub async fn apply_event(&self, event: &Event) -> Result<usize, StoreError> {
        let env = &event.envelope;
        let (object, waba_id, phone_id) = match &event.kind {
            EventType::PhoneNumber(_) => {
                let Some(p) = env.whatsapp_phone_number.as_ref().filter(|p| p.is_object()) else {
                    return Ok(0);
                };
                (p, str_field(p, "wabaId"), str_field(p, "id"))
            }
            EventType::BusinessAccount(_) => {
                let Some(w) = env
                    .whatsapp_business_account
                    .as_ref()
                    .filter(|w| w.is_object())
                else {
                    return Ok(0);
                };
                (w, str_field(w, "id"), None)
            }
            EventType::Other(_) => return Ok(0),
        };
        if waba_id.is_none() && phone_id.is_none() {
            return Ok(0);
        }
        let mut changed = 0;
        for o in self.inner.store.onboardings_for(waba_id, phone_id).await? {
            let about_it = match &event.kind {
                EventType::PhoneNumber(_) => phone_id.is_some_and(|p| {
                    o.phone_number_id
                        .as_ref()
                        .is_some_and(|id| id.as_str() == p)
                        || o.phone_number.as_ref().and_then(|n| str_field(n, "id")) == Some(p)
                }),
                _ => waba_id == Some(o.waba_id.as_str()),
            };
            if !about_it {
                continue;
            }
            if !matches!(
                o.state,
                OnboardingState::Pending
                    | OnboardingState::Connected
                    | OnboardingState::ActionRequired
                    | OnboardingState::Failed
            ) {
                tracing::info!(id = %o.id, state = %o.state, event = %env.id, "onboarding is running; webhook stored, not applied");
                continue;
            }
            let update = match &event.kind {
                EventType::PhoneNumber(kind) => phone_event_update(&o, kind, object),
                EventType::BusinessAccount(kind) => waba_event_update(&o, kind, object),
                EventType::Other(_) => None,
            };
            let Some(update) = update else { continue };
            let state = update.state;
            if self.inner.store.update_if(&o.id, o.state, update).await? {
                tracing::info!(id = %o.id, event = %env.id, kind = %env.kind, from = %o.state, to = ?state.map(OnboardingState::as_str), "webhook applied");
                self.notify(&o.id).await;
                changed += 1;
            }
        }
        Ok(changed)
    }

    async fn notify(&self, id: &str) {
        if self.inner.changes.receiver_count() == 0 {
            return;
        }
        match self.inner.store.get(id).await {
            Ok(Some(o)) => {
                let _ = self.inner.changes.send(o);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(id, error = %e, "reading the onboarding for a change event failed")
            }
        }
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `stored` with `fresh`'s fields written over it: events may carry a thinner object than
/// the one stored, and what they omit is still true.
fn merged(stored: Option<&Value>, fresh: &Value) -> Value {
    let mut out = stored
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if let (Some(out), Some(fresh)) = (out.as_object_mut(), fresh.as_object()) {
        for (k, v) in fresh {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn person_error(code: &str, message: String) -> OnboardingError {
    OnboardingError {
        code: code.to_owned(),
        message,
        retryable: false,
        upstream_request_id: None,
        retry_after: None,
    }
}

/// What a `whatsapp.phone_number.*` event changes; `None` when nothing.
fn phone_event_update(o: &Onboarding, kind: &PhoneNumberEvent, object: &Value) -> Option<Update> {
    let number = merged(o.phone_number.as_ref(), object);
    let status = str_field(object, "status");
    let blocked_before = o
        .error
        .as_ref()
        .is_some_and(|e| e.code == "phone_number_blocked");
    let (state, error) = if *kind == PhoneNumberEvent::Deleted {
        (
            Some(OnboardingState::Failed),
            Some(Some(person_error(
                "phone_number_deleted",
                "The phone number was deleted from the WhatsApp Business Account; sign up again \
                 with a number."
                    .to_owned(),
            ))),
        )
    } else {
        match status {
            Some("CONNECTED")
                if o.state == OnboardingState::Pending
                    || (o.state == OnboardingState::ActionRequired && blocked_before) =>
            {
                (Some(OnboardingState::Connected), Some(None))
            }
            Some(s @ ("BANNED" | "BLOCKED")) if o.state != OnboardingState::Failed => (
                Some(OnboardingState::ActionRequired),
                Some(Some(person_error(
                    "phone_number_blocked",
                    format!(
                        "WhatsApp reports this number as {s}; see WhatsApp Manager for the reason."
                    ),
                ))),
            ),
            _ => (None, None),
        }
    };
    if state.is_none() && o.phone_number.as_ref() == Some(&number) {
        return None;
    }
    Some(Update {
        state,
        phone_number: Some(number),
        error,
        ..Update::default()
    })
}

/// What a `whatsapp.business_account.*` event changes; `None` when nothing.
fn waba_event_update(
    o: &Onboarding,
    kind: &BusinessAccountEvent,
    object: &Value,
) -> Option<Update> {
    let waba = merged(o.waba.as_ref(), object);
    let action = |code: &str, message: &str| {
        Some((
            OnboardingState::ActionRequired,
            person_error(code, message.to_owned()),
        ))
    };
    let outcome = match kind {
        BusinessAccountEvent::Deleted => Some((
            OnboardingState::Failed,
            person_error(
                "waba_deleted",
                "The WhatsApp Business Account was deleted; the customer must sign up again."
                    .to_owned(),
            ),
        )),
        BusinessAccountEvent::Updated => match str_field(object, "updateEvent") {
            Some("PARTNER_REMOVED") => action(
                "partner_removed",
                "The WhatsApp Business Account was removed from the partner connection; the \
                 customer must sign up again to reconnect it.",
            ),
            Some("PARTNER_APP_UNINSTALLED") => action(
                "partner_app_uninstalled",
                "The customer uninstalled the partner app from this WhatsApp Business Account; \
                 they must sign up again to reconnect it.",
            ),
            Some("DISABLED_UPDATE") => match str_field(object, "banState") {
                Some("SCHEDULE_FOR_DISABLE") => action(
                    "waba_ban_scheduled",
                    "Meta scheduled this WhatsApp Business Account to be disabled for a policy \
                     violation; appeal in WhatsApp Manager before the ban date.",
                ),
                // A reinstatement lifts the ban; the number's own events say when it
                // connects again.
                Some("REINSTATE") => None,
                _ => Some((
                    OnboardingState::Failed,
                    person_error(
                        "waba_banned",
                        "Meta disabled this WhatsApp Business Account for a policy violation; \
                         see WhatsApp Manager to appeal."
                            .to_owned(),
                    ),
                )),
            },
            _ => None,
        },
        BusinessAccountEvent::Reviewed => match str_field(object, "accountReviewStatus") {
            Some("REJECTED") => action(
                "waba_rejected",
                "Meta rejected the review of this WhatsApp Business Account; see WhatsApp \
                 Manager for the reason.",
            ),
            _ => None,
        },
        BusinessAccountEvent::Other(_) => None,
    };
    if outcome.is_none() && o.waba.as_ref() == Some(&waba) {
        return None;
    }
    let (state, error) = match outcome {
        Some((state, error)) => (Some(state), Some(Some(error))),
        None => (None, None),
    };
    Some(Update {
        state,
        waba: Some(waba),
        error,
        ..Update::default()
    })
}
