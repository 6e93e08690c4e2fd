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
//!    counted in `register_attempts` before it is made, in the transaction that counts the
//!    calls before it under a lock of the number ([`Store::commit_counted`]), so instances
//!    sharing a database cannot together exceed the budget.
//! 5. The answer's status `CONNECTED` → `connected`; otherwise `pending`, and a background
//!    follower polls the number (by its E.164 from the register answer) until `CONNECTED`.
//!    `BANNED`/`BLOCKED` → `action_required`. The follower backs off (×1.5 per unchanged
//!    answer, ×2 per failure, at most 8 intervals apart), gives up after
//!    `UpstreamTuning::poll_for` and leaves `pending` for the webhook or a restart.
//! 6. Webhooks (`apply_event`, each recorded as seen in the transaction that applies it, in
//!    the order of their `createTime` per WABA and number): a number turning `CONNECTED` → `connected`; `BANNED`/`BLOCKED`
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
//! # Several instances
//! Instances may share one PostgreSQL database. Whoever runs an onboarding's steps (or
//! follows its number) holds a lease on its row (`lease.rs`): taken with one conditional
//! `UPDATE`, renewed every third of [`UpstreamTuning::lease_for`] (30 s), checked and
//! renewed again by every commit of the run, released at the end. Each process has a random
//! instance id. A start-up resumes the unfinished onboardings nobody holds; every lease
//! period, a sweep resumes those whose lease expired (their instance crashed or lost the
//! database), so they do not wait for a restart.
//!
//! # Timing
//! `create` and `retry` answer once bind and register ran, so their answer shows the outcome
//! (`pending`, `connected`, `action_required` or `failed`); only the wait from `pending` to
//! `connected` happens in the background. That makes the answer deterministic for the
//! browser and for tests. The steps run in a task of their own that the request only waits
//! for: a client that hangs up drops the request, not the steps, which would otherwise stop
//! mid-call and leave the onboarding stuck in `binding` or `registering`.
//!
//! # Files
//! - this file: [`Pipeline`], `create`, `get`, `retry`, resuming and sweeping, and applying
//!   a webhook to the onboardings it is about;
//! - `lease.rs`: the runner's hold on an onboarding (a claim here, a lease in the store);
//! - `steps.rs`: the standard and coexistence runs, settling the number, failing a step;
//! - `follower.rs`: polling a `pending` number until it settles;
//! - `health.rs`: reading every connected number's health on a schedule, paced;
//! - `direct.rs`: the Meta provider (`WHATSAPP_PROVIDER=meta`): its run, follower, the
//!   customer's PIN and deregistering, under the same leases and budget lock;
//! - `meta_rules.rs`: what a Meta webhook change changes, applied as YCloud's events are;
//! - `restart.rs`: starting an ended onboarding over at the partner's request;
//! - `rekey.rs`: sealing stored secrets again after `TOKEN_ENCRYPTION_KEY` changed;
//! - `webhook_rules.rs`: what a webhook changes, as pure functions of the event and the
//!   onboarding;
//! - `changes.rs`: telling event streams about a stored change.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use tokio::sync::Semaphore;
use wire::{CreateOnboarding, ErrorCode, Mode, Onboarding, OnboardingState};

use crate::budget;
use crate::clock::Clock;
use crate::config::UpstreamTuning;
use crate::providers::ycloud::webhook::Event;
use crate::providers::Provider;
use crate::store::{
    self, Customer, EventOutcome, IncomingEvent, Insert, Record, Step, StepStatus, Steps, Store,
    StoreError, Unleased, Verdict,
};

mod changes;
pub(crate) mod follower;
mod health;
pub(crate) mod lease;
mod rekey;
mod restart;
mod steps;
pub(crate) mod webhook_rules;

pub use crate::providers::meta::{DeregisterError, PinError};
pub use changes::Subscription;
pub use rekey::{ResealError, Resealed};
pub use restart::RestartError;

use lease::Lease;

use webhook_rules::{may_change, Subject};

/// Unfinished onboardings resumed at the same time: a restart after an outage may find
/// thousands, and running them all at once would hit YCloud and the database together.
pub const RESUME_CONCURRENCY: usize = 16;

/// What `create` answered.
#[derive(Debug)]
pub enum Created {
    /// Stored now, its synchronous steps run.
    New(Onboarding),
    /// The same customer's onboarding of this WABA and number, stored before.
    Again(Onboarding),
}

/// Why `create` stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The session created all the onboardings it may.
    #[error("session exhausted")]
    SessionExhausted,
    /// The session was revoked or expired while the request ran.
    #[error("session ended")]
    SessionEnded,
    /// The WABA and number belong to another customer's onboarding.
    #[error("already onboarded for another customer")]
    AlreadyOnboarded,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a webhook event did ([`Pipeline::apply_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A type the proxy does not act on, or about no WABA or number: not stored.
    Ignored,
    /// Its id was seen before: not applied again.
    Duplicate,
    /// Stored and applied: this many onboardings changed.
    Changed(usize),
}

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
    /// This onboarding was retried less than the retry cooldown ago; the wait left.
    #[error("retried too soon")]
    TooSoon(std::time::Duration),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    /// YCloud, or Meta's Cloud API directly.
    pub(crate) provider: Provider,
    pub(crate) tuning: UpstreamTuning,
    /// Where the register budget's, the leases' and retry's "now" comes from.
    pub(crate) clock: Clock,
    /// This process among the instances sharing the database: the owner of its leases.
    pub(crate) instance: String,
    /// How long a lease lasts unless renewed.
    pub(crate) lease_for: Duration,
    /// Onboardings a runner or follower of this process holds (one per onboarding).
    /// Each with until when its lease holds by this process's last renewal (unix µs).
    pub(crate) running: Mutex<HashMap<String, Arc<std::sync::atomic::AtomicI64>>>,
    /// Permits for resumed runs ([`RESUME_CONCURRENCY`]).
    pub(crate) resumes: Semaphore,
    /// The event streams' channels, one per followed onboarding.
    pub(crate) changes: changes::Changes,
    /// The least time between two retries of one onboarding (zero: none).
    pub(crate) retry_cooldown: std::time::Duration,
    /// When each onboarding retried within the cooldown was retried (monotonic clock).
    pub(crate) last_retries: Mutex<HashMap<String, std::time::Instant>>,
    /// PINs the customer sent, waiting for the register run that tries them: kept in
    /// memory only, and stored (sealed) once Meta accepted one.
    pub(crate) customer_pins: Mutex<HashMap<String, wire::Pin>>,
}

/// The onboarding pipeline. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Pipeline {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

/// Runs `work` in a task of its own and waits for its result. Dropping the wait (a client
/// that hung up) leaves the work running to its end; a panic in it panics the waiter, as if
/// it had run inline.
pub(crate) async fn detached<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> T {
    match tokio::spawn(work).await {
        Ok(done) => done,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // Only a runtime shutting down cancels a task, and then nobody waits here.
            Err(e) => panic!("onboarding task cancelled: {e}"),
        },
    }
}

/// Where a run left the onboarding.
pub(crate) struct Ran {
    record: Record,
    /// Its steps as the API shows them, when the run's last commit read them.
    steps: Option<Vec<wire::OnboardingStep>>,
}

impl Ran {
    /// An onboarding read on its own (no steps yet).
    pub(crate) fn read(record: Record) -> Self {
        Self {
            record,
            steps: None,
        }
    }
}

/// How a step went, for the runner's control flow.
pub(crate) enum Flow {
    Continue,
    Stop,
}

impl Pipeline {
    /// A pipeline over a store and a provider (YCloud's [`crate::providers::ycloud::Upstream`] or
    /// Meta's [`crate::providers::meta::Direct`]), reading the time from `clock`, with a random
    /// instance id of its own, refusing a retry of one onboarding within `retry_cooldown` of
    /// the last.
    pub fn new(
        store: Store,
        provider: impl Into<Provider>,
        tuning: UpstreamTuning,
        clock: Clock,
        retry_cooldown: std::time::Duration,
    ) -> Self {
        // At least a second: it is renewed every third of it, and swept for as often.
        let lease_for = tuning.lease_for.max(std::time::Duration::from_secs(1));
        let lease_for = Duration::try_from(lease_for).unwrap_or(Duration::seconds(30));
        Self {
            inner: Arc::new(Inner {
                store,
                provider: provider.into(),
                tuning,
                clock,
                instance: uuid::Uuid::new_v4().to_string(),
                lease_for,
                running: Mutex::new(HashMap::new()),
                resumes: Semaphore::new(RESUME_CONCURRENCY),
                changes: changes::Changes::default(),
                retry_cooldown,
                last_retries: Mutex::default(),
                customer_pins: Mutex::default(),
            }),
        }
    }

    /// The store, for handlers: reads, and storing webhook events as they arrive.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// This process's instance id: the owner of the leases it takes.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// Stores the onboarding for `customer` and runs its steps (`req.mode`: the mode Meta
    /// reported, which the onboarding runs; `launched`: the button's); or, for a WABA and number
    /// seen before, answers the existing onboarding and calls nothing, when it is the same
    /// customer's. `code_sha256`: the hash of the code that verified ownership, when
    /// verification is on. The steps run in a task of their own: a client hanging up does
    /// not stop them.
    ///
    /// # Errors
    /// See [`CreateError`]; upstream failures are part of the onboarding.
    pub async fn create(
        &self,
        req: CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
    ) -> Result<Created, CreateError> {
        let pipeline = self.clone();
        let customer = customer.clone();
        let code_sha256 = code_sha256.map(str::to_owned);
        detached(async move {
            pipeline
                .create_here(req, launched, &customer, code_sha256.as_deref())
                .await
        })
        .await
    }

    /// [`Pipeline::create`], in the task it runs in.
    pub(crate) async fn create_here(
        &self,
        req: CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
    ) -> Result<Created, CreateError> {
        // The first step's `started` record goes into the insert's transaction.
        let first = match req.mode {
            Mode::Standard => Step::Bind,
            Mode::Coexistence => Step::SmbBind,
        };
        let onboarding = match self
            .insert_post(&req, launched, customer, code_sha256, first)
            .await?
        {
            Ok(onboarding) => onboarding,
            Err(answered) => return Ok(answered),
        };
        tracing::debug!(id = %onboarding.id, mode = %req.mode, waba_id = %req.waba_id, "onboarding received");
        self.notify(&onboarding.id).await;
        let ran = self.advance_from(onboarding, first).await?;
        Ok(Created::New(self.answer(ran).await?))
    }

    /// Stores a posted onboarding, leased to this instance, with its first step started; or,
    /// for a WABA and number stored before, the answer to give (`Err`): the existing
    /// onboarding, unless it ended (`failed`, `deregistered`), is the same customer's and the
    /// post carries a new code, in which case a new onboarding starts over from it
    /// (`previous_onboarding_id`). The code's hash is kept so the same post again is answered
    /// idempotently.
    pub(crate) async fn insert_post(
        &self,
        req: &CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
        first: Step,
    ) -> Result<Result<Record, Created>, CreateError> {
        let inner = &self.inner;
        let hash = code_sha256.map(str::to_owned).or_else(|| {
            req.code
                .as_ref()
                .map(|c| hex::encode(Sha256::digest(c.as_str().as_bytes())))
        });
        let lease = (inner.instance.as_str(), inner.clock.now() + inner.lease_for);
        let started = Some((first, OnboardingState::Binding));
        let existing = match inner
            .store
            .insert_or_get_started(
                req,
                launched,
                customer,
                hash.as_deref(),
                started,
                Some(lease),
            )
            .await?
        {
            Insert::Created(onboarding) => return Ok(Ok(onboarding)),
            Insert::Existing(existing) => existing,
            Insert::SessionExhausted => return Err(CreateError::SessionExhausted),
            Insert::SessionEnded => return Err(CreateError::SessionEnded),
        };
        let ended = matches!(
            existing.state,
            OnboardingState::Failed | OnboardingState::Deregistered
        );
        if let Some(hash) = hash.filter(|_| {
            ended && existing.belongs_to(customer.customer_ref.as_ref(), customer.verified)
        }) {
            let stored = inner.store.code_hash(&existing.id).await?;
            if stored.as_deref() != Some(hash.as_str()) {
                match inner
                    .store
                    .insert_started_over(
                        req,
                        launched,
                        customer,
                        Some(&hash),
                        started,
                        Some(lease),
                        &existing.id,
                        true,
                    )
                    .await?
                {
                    Insert::Created(onboarding) => {
                        tracing::info!(id = %onboarding.id, previous = %existing.id, "a new sign-up starts over from an ended onboarding");
                        return Ok(Ok(onboarding));
                    }
                    Insert::Existing(current) => {
                        return Ok(Err(self.again(current, customer).await?))
                    }
                    Insert::SessionExhausted => return Err(CreateError::SessionExhausted),
                    Insert::SessionEnded => return Err(CreateError::SessionEnded),
                }
            }
        }
        Ok(Err(self.again(existing, customer).await?))
    }

    /// The answer to a post of a WABA and number stored before: the onboarding itself for
    /// its own customer, and nothing about it for anyone else.
    ///
    /// # Errors
    /// [`CreateError::AlreadyOnboarded`] for another customer; store failures.
    pub async fn again(
        &self,
        existing: Record,
        customer: &Customer,
    ) -> Result<Created, CreateError> {
        if !existing.belongs_to(customer.customer_ref.as_ref(), customer.verified) {
            tracing::info!(id = %existing.id, "same WABA and number posted for another customer: refused");
            return Err(CreateError::AlreadyOnboarded);
        }
        tracing::info!(id = %existing.id, state = %existing.state, "same WABA and number again: existing onboarding");
        Ok(Created::Again(self.inner.store.api(existing).await?))
    }

    /// One onboarding.
    ///
    /// # Errors
    /// Store failures.
    pub async fn get(&self, id: &str) -> Result<Option<Onboarding>, StoreError> {
        self.api(id).await
    }

    /// The API's answer for one onboarding, steps included.
    pub(crate) async fn api(&self, id: &str) -> Result<Option<Onboarding>, StoreError> {
        match self.inner.store.get(id).await? {
            Some(record) => Ok(Some(self.inner.store.api(record).await?)),
            None => Ok(None),
        }
    }

    /// Runs the failed step again, and what follows it.
    ///
    /// # Errors
    /// See [`RetryError`].
    pub async fn retry(&self, id: &str) -> Result<Onboarding, RetryError> {
        let pipeline = self.clone();
        let id = id.to_owned();
        detached(async move { pipeline.retry_here(&id).await }).await
    }

    /// [`Pipeline::retry`], in the task it runs in.
    pub(crate) async fn retry_here(&self, id: &str) -> Result<Onboarding, RetryError> {
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
        if let Some(e) = error.filter(|e| e.code == ErrorCode::RegisterLimit) {
            if let Some(until) = e.retry_after.as_deref().and_then(store::parse_time) {
                if until > self.inner.clock.now() {
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
        if let Some(wait) = self.start_retry(id) {
            return Err(RetryError::TooSoon(wait));
        }
        tracing::info!(id, "retrying onboarding");
        let ran = self.advance(id).await?;
        Ok(self.answer(ran).await?)
    }

    /// Records a retry of `id` starting now; or, when the last one started less than the
    /// cooldown ago, the wait left. Each retry calls YCloud again (and may count against the
    /// number's register budget): a client looping on retry must not hammer it.
    pub(crate) fn start_retry(&self, id: &str) -> Option<std::time::Duration> {
        let cooldown = self.inner.retry_cooldown;
        if cooldown.is_zero() {
            return None;
        }
        let now = std::time::Instant::now();
        let mut last = self
            .inner
            .last_retries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only retries within the cooldown are kept.
        last.retain(|_, at| now.duration_since(*at) < cooldown);
        if let Some(at) = last.get(id) {
            return Some(cooldown.saturating_sub(now.duration_since(*at)));
        }
        last.insert(id.to_owned(), now);
        None
    }

    /// Picks up, in the background, every unfinished onboarding that nobody holds (a
    /// previous run of this or another instance left it), at `RESUME_PER_SECOND` and
    /// [`RESUME_CONCURRENCY`] at a time.
    /// Answers how many were found; each runs only if its lease can be taken.
    ///
    /// # Errors
    /// Store failures while listing them.
    pub async fn resume_unfinished(&self) -> Result<usize, StoreError> {
        self.resume(Unleased::Free).await
    }

    /// [`Pipeline::resume_unfinished`] of the onboardings whose lease expired: their instance
    /// stopped renewing it (it crashed, or lost the database) before the end.
    ///
    /// # Errors
    /// Store failures while listing them.
    pub async fn resume_abandoned(&self) -> Result<usize, StoreError> {
        self.resume(Unleased::Expired).await
    }

    /// Runs [`Pipeline::resume_abandoned`] every lease period, until the task is aborted.
    pub fn spawn_sweeper(&self) -> tokio::task::JoinHandle<()> {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let period = pipeline.inner.lease_for.unsigned_abs();
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match pipeline.resume_abandoned().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "resuming onboardings whose lease expired"),
                    Err(e) => tracing::error!(error = %e, "sweeping for expired leases failed"),
                }
            }
        })
    }

    pub(crate) async fn resume(&self, which: Unleased) -> Result<usize, StoreError> {
        let ids = self
            .inner
            .store
            .unfinished(self.inner.clock.now(), which)
            .await?;
        let n = ids.len();
        let pipeline = self.clone();
        // Paced (`RESUME_PER_SECOND`) and at most RESUME_CONCURRENCY at once: thousands of
        // pending onboardings after a restart reach the provider as a trickle, not a burst.
        tokio::spawn(async move {
            let mut pace = tokio::time::interval(pipeline.inner.tuning.resume_pace);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for id in ids {
                pace.tick().await;
                let pipeline = pipeline.clone();
                tokio::spawn(async move {
                    let Ok(_permit) = pipeline.inner.resumes.acquire().await else {
                        return;
                    };
                    if let Err(e) = pipeline.resume_one(&id).await {
                        tracing::error!(id, error = %e, "resuming failed");
                    }
                });
            }
        });
        Ok(n)
    }

    /// Runs one listed onboarding, if it can be leased and is still unfinished (another
    /// runner may have finished it since it was listed: running a failed one again would be
    /// a retry nobody asked for).
    pub(crate) async fn resume_one(&self, id: &str) -> Result<(), StoreError> {
        let Some(lease) = self.lease(id).await? else {
            return Ok(());
        };
        let onboarding = self.current(id).await?;
        if onboarding.state.is_final() {
            lease.release().await;
            return Ok(());
        }
        tracing::info!(id, state = %onboarding.state, "resuming unfinished onboarding");
        let steps = self.inner.store.steps(id).await?;
        self.run(lease, onboarding, steps).await?;
        Ok(())
    }

    pub(crate) async fn next_is_register(&self, id: &str) -> Result<bool, StoreError> {
        let done = |s: Option<store::StepRecord>| s.is_some_and(|s| s.status == StepStatus::Done);
        let steps = self.inner.store.steps(id).await?;
        // YCloud binds and checks the payment method first; Meta subscribes the app.
        let before = (done(steps.get(Step::Bind)) && done(steps.get(Step::CheckPayment)))
            || done(steps.get(Step::SubscribeApp));
        Ok(before && !done(steps.get(Step::Register)))
    }

    /// When the number's budget is spent, the time its oldest counted call leaves the window.
    /// (A look for `retry`'s early answer; the step itself counts under the number's lock.)
    pub(crate) async fn budget_spent_until(
        &self,
        phone: &wire::PhoneNumberId,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        let now = self.inner.clock.now();
        let (count, oldest) = self
            .inner
            .store
            .register_attempts_since(phone, budget::since(now))
            .await?;
        Ok((count >= budget::CALLS).then(|| budget::free_at(oldest, now)))
    }

    /// Runs the onboarding's remaining steps and answers where it stands afterwards. When
    /// another runner holds it (here or in another instance), answers its current state
    /// without running anything.
    pub(crate) async fn advance(&self, id: &str) -> Result<Ran, StoreError> {
        let Some(lease) = self.lease(id).await? else {
            return self.current(id).await.map(Ran::read);
        };
        let onboarding = self.current(id).await?;
        let steps = self.inner.store.steps(id).await?;
        self.run(lease, onboarding, steps).await
    }

    /// [`Pipeline::advance`] of an onboarding just created (leased to this instance by its
    /// insert).
    pub(crate) async fn advance_from(
        &self,
        onboarding: Record,
        first: Step,
    ) -> Result<Ran, StoreError> {
        let Some(lease) = self.lease_inserted(&onboarding.id) else {
            return self.current(&onboarding.id).await.map(Ran::read);
        };
        // Just created, its first step recorded as started with it.
        self.run(lease, onboarding, Steps::just_started(first))
            .await
    }

    /// The steps, with the onboarding held; afterwards the lease goes to the follower of a
    /// `pending` number, or is released.
    /// `steps`: the stored steps (one runner per onboarding, so they stay true for the steps
    /// not run yet).
    pub(crate) async fn run(
        &self,
        lease: Lease,
        onboarding: Record,
        steps: Steps,
    ) -> Result<Ran, StoreError> {
        let id = onboarding.id.as_str();
        let (flow, ended) = match self.run_steps(&onboarding, &steps).await {
            Ok(ran) => ran,
            Err(e @ StoreError::LeaseLost { .. }) => {
                // This instance stalled past its lease and another took over: its answer
                // is the onboarding as the other runner leaves it.
                tracing::warn!(id, error = %e, "stopped running the onboarding");
                drop(lease);
                return self.current(id).await.map(Ran::read);
            }
            // The lease is left to expire: a sweep resumes the onboarding.
            Err(e) => return Err(e),
        };
        // The last commit read the onboarding back (and may have given the lease up).
        let (mut ran, released) = match ended {
            Some(ended) => (
                Ran {
                    record: ended.record,
                    steps: Some(ended.steps),
                },
                ended.released,
            ),
            None => (Ran::read(self.current(id).await?), false),
        };
        // Webhooks that came while the steps ran apply now, on the committed outcome.
        if self.apply_deferred(id).await > 0 {
            ran = Ran::read(self.current(id).await?);
        }
        if matches!(flow, Flow::Continue) && ran.record.state == OnboardingState::Pending {
            self.follow(&ran.record, lease);
        } else if released {
            // Given up in the store already: only the renewal and the claim here end.
            drop(lease);
        } else {
            lease.release().await;
        }
        Ok(ran)
    }

    /// The API's answer for a run's end: the steps its last commit read, or read now.
    pub(crate) async fn answer(&self, ran: Ran) -> Result<Onboarding, StoreError> {
        match ran.steps {
            Some(steps) => Ok(ran.record.into_api(steps)),
            None => self.inner.store.api(ran.record).await,
        }
    }

    pub(crate) async fn current(&self, id: &str) -> Result<Record, StoreError> {
        self.inner
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                id: id.to_owned(),
                what: "vanished while running".to_owned(),
            })
    }

    /// A message reached the number (of `waba`, with id `phone_number_id` or the number
    /// `to`): the onboardings of that number that had not seen one yet record when
    /// (`inbound_verified_at`, `onboarding.inbound_verified`), the proof that it receives.
    pub(crate) async fn first_inbound(
        &self,
        waba: Option<&str>,
        phone_number_id: Option<&str>,
        to: Option<&str>,
    ) -> Result<Applied, StoreError> {
        let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
        let to = to.map(digits).filter(|d| !d.is_empty());
        let store = &self.inner.store;
        let mut marked = 0;
        for o in store.onboardings_for(waba, phone_number_id).await? {
            let by_id = phone_number_id.is_some()
                && o.phone_number_id.as_ref().map(|p| p.as_str()) == phone_number_id;
            let by_number = to.as_deref().is_some_and(|to| {
                o.phone_number.as_ref().is_some_and(|n| {
                    ["phoneNumber", "display_phone_number", "displayPhoneNumber"]
                        .iter()
                        .filter_map(|k| webhook_rules::str_field(n, k))
                        .any(|v| digits(v) == to)
                })
            });
            if o.inbound_verified_at.is_some() || !(by_id || by_number) {
                continue;
            }
            if store.mark_inbound(&o.id).await? {
                tracing::info!(id = %o.id, "first inbound message: the number receives");
                self.notify(&o.id).await;
                marked += 1;
            }
        }
        Ok(match marked {
            0 => Applied::Ignored,
            n => Applied::Changed(n),
        })
    }

    /// Applies the webhook events that arrived while a runner owned onboarding `id` (kept
    /// in the store, never dropped), in the order they came, now that its steps committed.
    /// Answers how many changed it; a failure leaves them deferred (for the next run's end).
    pub(crate) async fn apply_deferred(&self, id: &str) -> usize {
        let events = match self.inner.store.deferred_events(id).await {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(id, error = %e, "reading the deferred webhooks failed");
                return 0;
            }
        };
        let mut changed = 0;
        for (event_id, kind, body) in events {
            let applied = match kind.strip_prefix("meta.") {
                Some(_) => self.apply_deferred_meta(id, &event_id, &kind, &body).await,
                None => self.apply_deferred_ycloud(id, &event_id, &body).await,
            };
            match applied {
                Ok(EventOutcome::Applied { changed: c, .. }) if !c.is_empty() => {
                    tracing::info!(id, event = %event_id, kind, "webhook applied after the run");
                    changed += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(id, event = %event_id, error = %e, "applying a deferred webhook failed")
                }
            }
        }
        if changed > 0 {
            self.notify(id).await;
        }
        changed
    }

    pub(crate) async fn apply_deferred_ycloud(
        &self,
        id: &str,
        event_id: &str,
        body: &str,
    ) -> Result<EventOutcome, StoreError> {
        let event = Event::parse(body.as_bytes()).ok();
        let subject = event.as_ref().and_then(Subject::of);
        let (Some(event), Some(subject)) = (event.as_ref(), subject) else {
            return Ok(EventOutcome::Duplicate);
        };
        let incoming = IncomingEvent {
            id: event_id,
            kind: &event.envelope.kind,
            body,
            object: subject.object(),
            created: event.envelope.create_time.as_deref().and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            }),
            waba_id: subject.waba_id(),
            phone_number_id: subject.phone_number_id(),
        };
        self.inner
            .store
            .apply_deferred_event(&incoming, id, |o| {
                if !subject.is_about(o) {
                    Verdict::NotAbout
                } else if !may_change(o.state) {
                    Verdict::Busy
                } else {
                    Verdict::About(subject.change(o))
                }
            })
            .await
    }

    /// Applies a verified webhook event to the onboardings it is about, in one transaction
    /// with the record that it was seen, then tells their event streams. Events of types the
    /// proxy does not act on (or about no WABA or number) are not stored at all. Only
    /// onboardings no runner owns are changed ([`webhook_rules::may_change`]), and an event
    /// created before one already applied about the same object changes nothing; the rules
    /// themselves are in `webhook_rules.rs`.
    ///
    /// # Errors
    /// Store failures: nothing was recorded, so the event can come again.
    pub async fn apply_event(&self, event: &Event, body: &str) -> Result<Applied, StoreError> {
        let env = &event.envelope;
        // A customer's message: only that it arrived is kept (the body is never stored).
        if env.kind == crate::providers::ycloud::webhook::INBOUND_MESSAGE {
            let Some(message) = env.whatsapp_inbound_message.as_ref() else {
                return Ok(Applied::Ignored);
            };
            let waba = webhook_rules::str_field(message, "wabaId");
            let to = webhook_rules::str_field(message, "to");
            return self.first_inbound(waba, None, to).await;
        }
        let Some(subject) = Subject::of(event) else {
            return Ok(Applied::Ignored);
        };
        let created = env.create_time.as_deref().and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        let incoming = IncomingEvent {
            id: &env.id,
            kind: &env.kind,
            body,
            object: subject.object(),
            created,
            waba_id: subject.waba_id(),
            phone_number_id: subject.phone_number_id(),
        };
        let outcome = self
            .inner
            .store
            .apply_webhook_event(&incoming, |o| {
                if !subject.is_about(o) {
                    Verdict::NotAbout
                } else if !may_change(o.state) {
                    tracing::info!(id = %o.id, state = %o.state, event = %env.id, "onboarding is running; webhook applied after the run");
                    Verdict::Busy
                } else {
                    Verdict::About(subject.change(o))
                }
            })
            .await?;
        let (changed, stale) = match outcome {
            EventOutcome::Duplicate => return Ok(Applied::Duplicate),
            EventOutcome::Applied { changed, stale } => (changed, stale),
        };
        for id in &stale {
            tracing::info!(id, event = %env.id, create_time = env.create_time.as_deref(), "a newer event about this object was applied already; this one changes nothing");
        }
        for (id, from, to) in &changed {
            tracing::info!(id, event = %env.id, kind = %env.kind, from = %from, to = ?to.map(OnboardingState::as_str), "webhook applied");
        }
        // Telling the streams reads each onboarding again: not on the webhook's answer.
        let ids: Vec<String> = changed.into_iter().map(|(id, _, _)| id).collect();
        let n = ids.len();
        if n > 0 {
            let pipeline = self.clone();
            tokio::spawn(async move {
                for id in ids {
                    pipeline.notify(&id).await;
                }
            });
        }
        Ok(Applied::Changed(n))
    }
}
