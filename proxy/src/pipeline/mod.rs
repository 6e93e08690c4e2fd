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
//!
//! # Files
//! - this file: [`Pipeline`], `create`, `get`, `retry`, resuming, the runner's claim, and
//!   applying a webhook to the onboardings it is about;
//! - `steps.rs`: the standard and coexistence runs, settling the number, failing a step;
//! - `follower.rs`: polling a `pending` number until it settles;
//! - `webhook_rules.rs`: what a webhook changes, as pure functions of the event and the
//!   onboarding;
//! - `changes.rs`: telling event streams about a stored change.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use time::Duration;
use wire::{CreateOnboarding, ErrorCode, Mode, Onboarding, OnboardingState};

use crate::clock::Clock;
use crate::config::UpstreamTuning;
use crate::provider::Provider;
use crate::store::{self, Customer, Insert, Record, Step, StepStatus, Steps, Store, StoreError};
use crate::webhook::Event;

mod changes;
mod direct;
mod follower;
mod meta_rules;
mod steps;
mod webhook_rules;

pub use changes::Subscription;
pub use direct::{DeregisterError, PinError};

use webhook_rules::{may_change, Subject};

/// Register calls Meta allows per number in a moving 72 hours.
pub const REGISTER_BUDGET: i64 = 10;
/// How long the register budget window is (Meta: 10 per number in a moving 72 hours).
pub const REGISTER_WINDOW: Duration = Duration::hours(72);

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
    /// The WABA and number belong to another customer's onboarding.
    #[error("already onboarded for another customer")]
    AlreadyOnboarded,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Inner {
    store: Store,
    /// YCloud, or Meta's Cloud API directly.
    provider: Provider,
    tuning: UpstreamTuning,
    /// Where the register budget's and retry's "now" comes from.
    clock: Clock,
    /// Onboardings whose steps are running now (one runner per onboarding).
    running: Mutex<HashSet<String>>,
    /// Onboardings with a follower polling their number.
    following: Mutex<HashSet<String>>,
    /// The event streams' channels, one per followed onboarding.
    changes: changes::Changes,
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
    /// A pipeline over a store and a provider (YCloud's [`crate::ycloud::Upstream`] or
    /// Meta's [`crate::meta::Direct`]), reading the time from `clock`.
    pub fn new(
        store: Store,
        provider: impl Into<Provider>,
        tuning: UpstreamTuning,
        clock: Clock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                provider: provider.into(),
                tuning,
                clock,
                running: Mutex::new(HashSet::new()),
                following: Mutex::new(HashSet::new()),
                changes: changes::Changes::default(),
            }),
        }
    }

    /// The store, for handlers: reads, and storing webhook events as they arrive.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Stores the onboarding for `customer` and runs its steps; or, for a WABA and number
    /// seen before, answers the existing onboarding and calls nothing, when it is the same
    /// customer's. `code_sha256`: the hash of the code that verified ownership, when
    /// verification is on.
    ///
    /// # Errors
    /// See [`CreateError`]; upstream failures are part of the onboarding.
    pub async fn create(
        &self,
        req: CreateOnboarding,
        customer: &Customer,
        code_sha256: Option<&str>,
    ) -> Result<Created, CreateError> {
        // The first step's `started` record goes into the insert's transaction.
        let first = match req.mode {
            Mode::Standard => Step::Bind,
            Mode::Coexistence => Step::SmbBind,
        };
        let onboarding = match self
            .inner
            .store
            .insert_or_get_started(
                &req,
                customer,
                code_sha256,
                Some((first, OnboardingState::Binding)),
            )
            .await?
        {
            Insert::Created(onboarding) => onboarding,
            Insert::Existing(existing) => return self.again(existing, customer).await,
            Insert::SessionExhausted => return Err(CreateError::SessionExhausted),
        };
        tracing::debug!(id = %onboarding.id, mode = %req.mode, waba_id = %req.waba_id, "onboarding received");
        self.notify(&onboarding.id).await;
        let onboarding = self.advance_from(onboarding, first).await?;
        Ok(Created::New(self.inner.store.api(onboarding).await?))
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
    async fn api(&self, id: &str) -> Result<Option<Onboarding>, StoreError> {
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
        tracing::info!(id, "retrying onboarding");
        let onboarding = self.advance(id).await?;
        Ok(self.inner.store.api(onboarding).await?)
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
        // YCloud binds and checks the payment method first; Meta subscribes the app.
        let before = (done(steps.get(Step::Bind)) && done(steps.get(Step::CheckPayment)))
            || done(steps.get(Step::SubscribeApp));
        Ok(before && !done(steps.get(Step::Register)))
    }

    /// When the number's budget is spent, the time its oldest counted call leaves the window.
    async fn budget_spent_until(
        &self,
        phone: &wire::PhoneNumberId,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        let now = self.inner.clock.now();
        let (count, oldest) = self
            .inner
            .store
            .register_attempts_since(phone, now - REGISTER_WINDOW)
            .await?;
        Ok((count >= REGISTER_BUDGET).then(|| oldest.unwrap_or(now) + REGISTER_WINDOW))
    }

    /// Runs the onboarding's remaining steps and answers where it stands afterwards. When
    /// another runner holds it, answers its current state without running anything.
    async fn advance(&self, id: &str) -> Result<Record, StoreError> {
        let Some(_claim) = Claim::take(&self.inner.running, id) else {
            return self.current(id).await;
        };
        let onboarding = self.current(id).await?;
        let steps = self.inner.store.steps(id).await?;
        self.run(onboarding, steps).await
    }

    /// [`Pipeline::advance`] of an onboarding just read (or just created).
    async fn advance_from(&self, onboarding: Record, first: Step) -> Result<Record, StoreError> {
        let Some(_claim) = Claim::take(&self.inner.running, &onboarding.id) else {
            return self.current(&onboarding.id).await;
        };
        // Just created, its first step recorded as started with it.
        self.run(onboarding, Steps::just_started(first)).await
    }

    /// The steps, with the runner's claim held.
    /// `steps`: the stored steps (one runner per onboarding, so they stay true for the steps
    /// not run yet).
    async fn run(&self, onboarding: Record, steps: Steps) -> Result<Record, StoreError> {
        let id = onboarding.id.as_str();
        let flow = self.run_steps(&onboarding, &steps).await?;
        let onboarding = self.current(id).await?;
        if matches!(flow, Flow::Continue) && onboarding.state == OnboardingState::Pending {
            self.follow(&onboarding);
        }
        Ok(onboarding)
    }

    async fn current(&self, id: &str) -> Result<Record, StoreError> {
        self.inner
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                id: id.to_owned(),
                what: "vanished while running".to_owned(),
            })
    }

    /// Applies a verified webhook event to the onboardings it is about and tells their event
    /// streams. Answers how many changed. Only onboardings no runner owns are touched
    /// ([`webhook_rules::may_change`]); the rules themselves are in `webhook_rules.rs`.
    ///
    /// # Errors
    /// Store failures.
    pub async fn apply_event(&self, event: &Event) -> Result<usize, StoreError> {
        let env = &event.envelope;
        let Some(subject) = Subject::of(event) else {
            return Ok(0);
        };
        let mut changed = 0;
        let candidates = self
            .inner
            .store
            .onboardings_for(subject.waba_id(), subject.phone_number_id())
            .await?;
        for o in candidates {
            if !subject.is_about(&o) {
                continue;
            }
            if !may_change(o.state) {
                tracing::info!(id = %o.id, state = %o.state, event = %env.id, "onboarding is running; webhook stored, not applied");
                continue;
            }
            let Some(update) = subject.change(&o) else {
                continue;
            };
            let state = update.state;
            if self.inner.store.update_if(&o.id, o.state, update).await? {
                tracing::info!(id = %o.id, event = %env.id, kind = %env.kind, from = %o.state, to = ?state.map(OnboardingState::as_str), "webhook applied");
                self.notify(&o.id).await;
                changed += 1;
            }
        }
        Ok(changed)
    }
}
