//! The onboarding pipeline: a state machine over the store, free of HTTP.
//!
//! # Runs
//! An onboarding's run is its provider's ([`Provider::run`]): the steps its calls take, each
//! recorded, in the order its mode has them (each provider's rules are the documentation of
//! its `run.rs` under `providers/`). It ends `connected`, `action_required`
//! or `failed`, or `pending` with a follower ([`Provider::follow`]) polling the number until
//! it settles; webhooks then move it on, by rules shared by both providers (`crate::rules`).
//!
//! # Durability
//! Each step is written to `onboarding_steps` as `started` before it calls its provider and as
//! `done`/`failed` (with the answer) after, in the same transaction as the onboarding's new
//! state. Writes with no upstream call between them are queued (`store::Writes`) and committed
//! together right before the next call or when the run stops, so a standard sign-up commits
//! three times; a crash before such a commit runs the last call again on resume, as a crash
//! mid-call does. A restart resumes every onboarding that is neither final nor waiting for a person:
//! `done` steps are skipped, using their stored answer. A step left `started` by a crash
//! mid-call is run again, since whether the provider saw it cannot be known; for register that
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
//! - this file: [`Pipeline`], `create`, `get`, running an onboarding under its lease;
//! - `provider.rs`: the [`Provider`] trait each provider folder of `providers/` implements
//!   (its run, follower, health read, deferred events), which the pipeline holds and never
//!   names;
//! - `lease.rs`: the runner's hold on an onboarding (a claim here, a lease in the store);
//! - `steps.rs`: what every provider's run shares (a bind step, a stop, the display-name wait,
//!   a follower's end);
//! - `follower.rs`: polling a `pending` number until it settles;
//! - `health.rs`: reading every connected number's health on a schedule, paced;
//! - `retry.rs`, `resume.rs`, `deferred.rs`: a failed step again, resuming and sweeping,
//!   webhooks kept while a runner owned the onboarding;
//! - `restart.rs`: starting an ended onboarding over at the partner's request;
//! - `reauthorize.rs`: renewing the customer's business token (a provider with a vault);
//! - `rekey.rs`: sealing stored secrets again after `TOKEN_ENCRYPTION_KEY` changed;
//! - `outcomes.rs`: what the operations answer and why each refuses;
//! - `changes.rs`: telling event streams about a stored change.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use time::Duration;
use tokio::sync::Semaphore;
use wire::{CreateOnboarding, Mode, Onboarding, OnboardingState};

use crate::clock::Clock;
use crate::config::UpstreamTuning;
use crate::store::{Customer, Insert, Record, Step, Steps, Store, StoreError};

mod changes;
mod deferred;
pub(crate) mod follower;
pub mod health;
pub mod lease;
mod outcomes;
pub mod provider;
mod reauthorize;
mod rekey;
mod restart;
mod resume;
mod retry;
mod steps;

pub use changes::Subscription;
pub use outcomes::{Applied, CreateError, Created, DeregisterError, PinError, RetryError};
pub use provider::Provider;
pub use reauthorize::{same_number, ReauthorizeError, REAUTHORIZE_MESSAGE};
pub use rekey::{ResealError, Resealed};
pub use restart::RestartError;

use lease::Lease;

/// Unfinished onboardings resumed at the same time: a restart after an outage may find
/// thousands, and running them all at once would hit the provider and the database together.
pub const RESUME_CONCURRENCY: usize = 16;

pub(crate) struct Inner {
    pub(crate) store: Store,
    /// Who registers the numbers: YCloud, or Meta's Cloud API directly.
    pub(crate) provider: Arc<dyn Provider>,
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
pub enum Flow {
    /// Go on with the next step.
    Continue,
    /// The run stops here (the onboarding waits, or ended).
    Stop,
}

impl Pipeline {
    /// A pipeline over a store and a [`Provider`], reading the time from `clock`, with a
    /// random instance id of its own, refusing a retry of one onboarding within
    /// `retry_cooldown` of the last.
    pub fn new(
        store: Store,
        provider: Arc<dyn Provider>,
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
                provider,
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
        let first = self.inner.provider.first_step(req.mode);
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
}
