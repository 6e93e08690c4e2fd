//! The onboarding store: onboardings, their steps, register attempts and webhook events.
//!
//! sqlx's `Any` driver with runtime queries in portable SQL (`$n` placeholders, ANSI types,
//! RFC 3339 text timestamps), so SQLite (the default) and PostgreSQL share one code path and
//! one set of migrations.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::value::RawValue;
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};
use wire::{
    BusinessId, CreateOnboarding, CustomerRef, Mode, Onboarding, OnboardingError, OnboardingState,
    PhoneNumberId, WabaId,
};

/// Fixed-width RFC 3339 in UTC, so stored timestamps compare correctly as text.
const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Formats a timestamp the way the store and the API write them.
pub fn format_time(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    // The format only has fields every OffsetDateTime has; failure would be a bug in `time`.
    utc.format(TIME_FORMAT)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

/// Parses a timestamp written by [`format_time`].
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s, TIME_FORMAT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// The current time, truncated to what the store keeps (microseconds).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// A store failure. Shown to nobody: logged, and answered as a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database file's directory could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A stored row does not parse (edited by hand, or a bug).
    #[error("corrupt row {id}: {what}")]
    Corrupt {
        /// Which onboarding.
        id: String,
        /// What did not parse.
        what: String,
    },
}

/// The pipeline's steps, as named in `onboarding_steps.step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Standard mode: `tp/bind`.
    Bind,
    /// Standard mode: check (and on retry re-read) `paymentMethodAttached`.
    CheckPayment,
    /// Standard mode: register the number.
    Register,
    /// Coexistence mode: `smb/bind`.
    SmbBind,
}

impl Step {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Bind => "bind",
            Step::CheckPayment => "check_payment",
            Step::Register => "register",
            Step::SmbBind => "smb_bind",
        }
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// Written before the call; still there after a crash mid-call.
    Started,
    /// The call succeeded; its result is stored.
    Done,
    /// The call failed; `retry` may run it again.
    Failed,
}

impl StepStatus {
    fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "started" => Some(StepStatus::Started),
            "done" => Some(StepStatus::Done),
            "failed" => Some(StepStatus::Failed),
            _ => None,
        }
    }
}

/// One stored step.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// Where it stands.
    pub status: StepStatus,
    /// How many times it was started.
    pub attempts: i64,
    /// The upstream object (done) or error (failed), when stored.
    pub result: Option<Value>,
}

/// `wire::Onboarding`'s JSON shape (same fields, order and omissions), with the stored JSON
/// objects passed through as they are.
#[derive(serde::Serialize)]
struct OnboardingJson<'a> {
    id: &'a str,
    mode: Mode,
    waba_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_ref: Option<&'a str>,
    state: OnboardingState,
    #[serde(skip_serializing_if = "Option::is_none")]
    waba: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RawValue>,
    created_at: &'a str,
    updated_at: &'a str,
}

/// The stored steps of one onboarding ([`Store::steps`]).
#[derive(Debug, Clone, Default)]
pub struct Steps(Vec<(Step, StepRecord)>, Option<Step>);

impl Steps {
    /// A new onboarding's: only `step`, started with it ([`Store::insert_or_get_started`]).
    pub fn just_started(step: Step) -> Self {
        let record = StepRecord {
            status: StepStatus::Started,
            attempts: 1,
            result: None,
        };
        Self(vec![(step, record)], Some(step))
    }

    /// Whether `step` was recorded as started with the onboarding itself, so the runner does
    /// not record its start again.
    pub fn is_just_started(&self, step: Step) -> bool {
        self.1 == Some(step)
    }

    /// One step, if it was ever started.
    pub fn get(&self, step: Step) -> Option<StepRecord> {
        self.0
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, r)| r.clone())
    }
}

/// What finishing a step changes on the onboarding, in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// The new state.
    pub state: Option<OnboardingState>,
    /// A new YCloud WABA object.
    pub waba: Option<Value>,
    /// A new YCloud phone number object.
    pub phone_number: Option<Value>,
    /// `Some(None)` clears the error; `Some(Some(e))` sets it.
    pub error: Option<Option<OnboardingError>>,
}

/// Writes queued for one onboarding, committed together by [`Store::commit`].
///
/// The pipeline queues what happens between two upstream calls (the end of one step, the
/// onboarding's change, the start of the next step, a counted register call) and commits it
/// in one transaction right before the next call, so every step is still durable as
/// `started` before its call and as `done`/`failed` before anything that follows it.
#[derive(Debug, Default)]
pub struct Writes {
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
    /// Nothing queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// See [`Store::start_step`].
    pub fn start_step(&mut self, step: Step, state: OnboardingState) {
        self.ops.push(Op::Start {
            step,
            state,
            at: format_time(now()),
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
            at: format_time(now()),
        });
    }

    /// See [`Store::update`].
    pub fn update(&mut self, update: Update) {
        self.ops.push(Op::Update {
            update,
            at: format_time(now()),
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

impl Update {
    /// `later` applied after `self`: each field it sets wins.
    fn merge(&mut self, later: Update) {
        if later.state.is_some() {
            self.state = later.state;
        }
        if later.waba.is_some() {
            self.waba = later.waba;
        }
        if later.phone_number.is_some() {
            self.phone_number = later.phone_number;
        }
        if later.error.is_some() {
            self.error = later.error;
        }
    }
}

/// How many onboardings' JSON [`Store::get_json`] keeps (about 1 KB each); all are dropped
/// when full.
const JSON_CACHE_ENTRIES: usize = 4096;

/// See [`Store::get_json`]. `generation` counts writes, so a read that raced one is not kept.
#[derive(Debug, Default)]
struct JsonCache {
    generation: u64,
    entries: HashMap<String, String>,
}

/// The database behind the proxy.
///
/// With SQLite, writes go through one connection (`write`) and reads through a pool of
/// others (`read`): SQLite has one writer at a time, and several connections competing for
/// it sleep in its busy handler (milliseconds each) instead of queueing; with WAL, readers
/// never wait for the writer. With PostgreSQL both are the same pool.
#[derive(Debug, Clone)]
pub struct Store {
    /// Answers of [`Store::get_json`] (SQLite only, where this process is the one writer).
    cache: Option<Arc<Mutex<JsonCache>>>,
    read: AnyPool,
    write: AnyPool,
}

impl Store {
    /// Opens (and for SQLite, creates) the database and applies the migrations.
    ///
    /// # Errors
    /// When the directory cannot be created, the database cannot be opened, or a migration
    /// fails.
    pub async fn connect(database_url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = database_url.starts_with("sqlite:");
        let url = if is_sqlite {
            prepare_sqlite(database_url)?
        } else {
            database_url.to_owned()
        };
        // An in-memory SQLite database is one per connection: keep it to one pool.
        let in_memory = is_sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let options = || {
            AnyPoolOptions::new().after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        // WAL lets readers go on while the writer writes; the busy timeout
                        // makes a connection wait for a lock instead of failing at once
                        // (rare with one writer: checkpoints, another process).
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        // With WAL, NORMAL syncs at checkpoints instead of at every commit:
                        // still safe from corruption and from a crash of the process; only a
                        // power loss may drop the last commits.
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
        };
        if !is_sqlite {
            let pool = options().max_connections(10).connect(&url).await?;
            sqlx::migrate!("./migrations").run(&pool).await?;
            // Other instances may share a PostgreSQL database: no cache.
            return Ok(Self {
                cache: None,
                read: pool.clone(),
                write: pool,
            });
        }
        // One writer: writes queue in tokio for the one connection instead of competing for
        // SQLite's lock.
        let write = options()
            .max_connections(1)
            .min_connections(1)
            .connect(&url)
            .await?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let read = if in_memory {
            write.clone()
        } else {
            options().max_connections(4).connect(&url).await?
        };
        Ok(Self {
            cache: Some(Arc::default()),
            read,
            write,
        })
    }

    /// Stores a new onboarding, or finds the existing one for the same WABA and number.
    /// Returns it and whether it was created now.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_or_get(
        &self,
        req: &CreateOnboarding,
    ) -> Result<(Onboarding, bool), StoreError> {
        self.insert_or_get_verified(req, None).await
    }

    /// [`Store::insert_or_get`], recording the SHA-256 (hex) of the code that verified the
    /// onboarding when it is created now.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_or_get_verified(
        &self,
        req: &CreateOnboarding,
        code_sha256: Option<&str>,
    ) -> Result<(Onboarding, bool), StoreError> {
        self.insert_or_get_started(req, code_sha256, None).await
    }

    /// [`Store::insert_or_get_verified`]; when created now and `first` is given, also records
    /// that step as started and the onboarding in that state, in the same transaction (what
    /// [`Store::start_step`] would write next).
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_or_get_started(
        &self,
        req: &CreateOnboarding,
        code_sha256: Option<&str>,
        first: Option<(Step, OnboardingState)>,
    ) -> Result<(Onboarding, bool), StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = format_time(now());
        let state = first.map_or(OnboardingState::Received, |(_, s)| s);
        let mut tx = self.write.begin().await?;
        // ON CONFLICT DO NOTHING (no target) covers the expression index in both databases;
        // the unique index, not a prior SELECT, decides races between two identical posts.
        let inserted = sqlx::query(
            "INSERT INTO onboardings (id, mode, waba_id, phone_number_id, business_id, \
             customer_ref, event, state, created_at, updated_at, code_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) ON CONFLICT DO NOTHING \
             RETURNING *",
        )
        .bind(&id)
        .bind(req.mode.as_str())
        .bind(req.waba_id.as_str())
        .bind(req.phone_number_id.as_ref().map(|p| p.as_str().to_owned()))
        .bind(req.business_id.as_ref().map(|p| p.as_str().to_owned()))
        .bind(req.customer_ref.as_ref().map(|p| p.as_str().to_owned()))
        .bind(req.event.as_ref().map(|p| p.as_str().to_owned()))
        .bind(state.as_str())
        .bind(&now)
        .bind(code_sha256.map(str::to_owned))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = inserted {
            let onboarding = onboarding_from_row(&row)?;
            if let Some((step, _)) = first {
                sqlx::query(
                    "INSERT INTO onboarding_steps (onboarding_id, step, status, attempts, \
                     started_at) VALUES ($1, $2, $3, 1, $4)",
                )
                .bind(&id)
                .bind(step.as_str())
                .bind(StepStatus::Started.as_str())
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            return Ok((onboarding, true));
        }
        tx.rollback().await?;
        let row = sqlx::query(
            "SELECT * FROM onboardings WHERE waba_id = $1 AND COALESCE(phone_number_id, '') = $2",
        )
        .bind(req.waba_id.as_str())
        .bind(req.phone_number_id.as_ref().map_or("", |p| p.as_str()))
        .fetch_one(&self.read)
        .await?;
        Ok((onboarding_from_row(&row)?, false))
    }

    /// The onboarding for a WABA and number (the idempotency key), with the SHA-256 of the
    /// code that verified it, if any.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn find_by_key(
        &self,
        waba_id: &WabaId,
        phone_number_id: Option<&PhoneNumberId>,
    ) -> Result<Option<(Onboarding, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM onboardings WHERE waba_id = $1 AND COALESCE(phone_number_id, '') = $2",
        )
        .bind(waba_id.as_str())
        .bind(phone_number_id.map_or("", |p| p.as_str()))
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: Option<String> = row.try_get("code_sha256")?;
        Ok(Some((onboarding_from_row(&row)?, hash)))
    }

    /// Onboardings a webhook may be about: those of the WABA, or with the number's id.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn onboardings_for(
        &self,
        waba_id: Option<&str>,
        phone_number_id: Option<&str>,
    ) -> Result<Vec<Onboarding>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM onboardings WHERE waba_id = $1 OR phone_number_id = $2 \
             ORDER BY created_at",
        )
        .bind(waba_id.unwrap_or(""))
        .bind(phone_number_id.unwrap_or(""))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(onboarding_from_row).collect()
    }

    /// One onboarding by id.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn get(&self, id: &str) -> Result<Option<Onboarding>, StoreError> {
        let row = sqlx::query("SELECT * FROM onboardings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(onboarding_from_row).transpose()
    }

    /// One onboarding by id, as the API's JSON: the same text as serializing
    /// [`Store::get`]'s answer, built without parsing the stored JSON objects into trees
    /// (`GET /api/onboardings/{id}`, the hot read). With SQLite the answer is kept in memory
    /// until the next write to the onboarding through this store (every write goes through
    /// it: the database file belongs to this process).
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn get_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        let Some(cache) = &self.cache else {
            return self.read_json(id).await;
        };
        let generation = {
            let cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(json) = cache.entries.get(id) {
                return Ok(Some(json.clone()));
            }
            cache.generation
        };
        let json = self.read_json(id).await?;
        if let Some(json) = &json {
            let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
            // A write committed since the read began may have been missed by it: keep
            // nothing then (the next read caches the new row).
            if cache.generation == generation {
                if cache.entries.len() >= JSON_CACHE_ENTRIES {
                    cache.entries.clear();
                }
                cache.entries.insert(id.to_owned(), json.clone());
            }
        }
        Ok(json)
    }

    /// Drops a changed onboarding's cached JSON; called after every write to its row
    /// (committed or not).
    fn forget(&self, id: &str) {
        if let Some(cache) = &self.cache {
            let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.generation += 1;
            cache.entries.remove(id);
        }
    }

    async fn read_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT id, mode, waba_id, phone_number_id, business_id, customer_ref, state, \
             waba, phone_number, error, created_at, updated_at FROM onboardings WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let corrupt = |what: &str| StoreError::Corrupt {
            id: id.to_owned(),
            what: what.to_owned(),
        };
        let text = |col: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(col)?) };
        let (waba, phone_number, error) = (text("waba")?, text("phone_number")?, text("error")?);
        fn raw<'a>(
            v: &'a Option<String>,
            col: &str,
            corrupt: impl Fn(&str) -> StoreError,
        ) -> Result<Option<&'a RawValue>, StoreError> {
            v.as_deref()
                .map(|s| serde_json::from_str::<&RawValue>(s).map_err(|_| corrupt(col)))
                .transpose()
        }
        let mode: String = row.try_get("mode")?;
        let state: String = row.try_get("state")?;
        let (phone_number_id, business_id, customer_ref) = (
            text("phone_number_id")?,
            text("business_id")?,
            text("customer_ref")?,
        );
        let json = OnboardingJson {
            id: &row.try_get::<String, _>("id")?,
            mode: match mode.as_str() {
                "standard" => Mode::Standard,
                "coexistence" => Mode::Coexistence,
                _ => return Err(corrupt("mode")),
            },
            waba_id: &row.try_get::<String, _>("waba_id")?,
            phone_number_id: phone_number_id.as_deref(),
            business_id: business_id.as_deref(),
            customer_ref: customer_ref.as_deref(),
            state: OnboardingState::parse(&state).ok_or_else(|| corrupt("state"))?,
            waba: raw(&waba, "waba", corrupt)?,
            phone_number: raw(&phone_number, "phone_number", corrupt)?,
            error: raw(&error, "error", corrupt)?,
            created_at: &row.try_get::<String, _>("created_at")?,
            updated_at: &row.try_get::<String, _>("updated_at")?,
        };
        serde_json::to_string(&json)
            .map(Some)
            .map_err(|e| corrupt(&e.to_string()))
    }

    /// Ids of onboardings a restart must pick up again: any state that is neither final nor
    /// waiting for a person.
    ///
    /// # Errors
    /// Database failures.
    pub async fn unfinished(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM onboardings WHERE state IN ($1, $2, $3, $4, $5) ORDER BY created_at",
        )
        .bind(OnboardingState::Received.as_str())
        .bind(OnboardingState::Verifying.as_str())
        .bind(OnboardingState::Binding.as_str())
        .bind(OnboardingState::Registering.as_str())
        .bind(OnboardingState::Pending.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(Into::into))
            .collect()
    }

    /// Every step of one onboarding that was ever started, in one query.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn steps(&self, id: &str) -> Result<Steps, StoreError> {
        let rows = sqlx::query(
            "SELECT step, status, attempts, result FROM onboarding_steps WHERE onboarding_id = $1",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        let mut steps = Steps::default();
        for row in &rows {
            let name: String = row.try_get("step")?;
            let step = [
                Step::Bind,
                Step::CheckPayment,
                Step::Register,
                Step::SmbBind,
            ]
            .into_iter()
            .find(|s| s.as_str() == name);
            if let Some(step) = step {
                steps.0.push((step, step_from_row(id, row)?));
            }
        }
        Ok(steps)
    }

    /// One step of one onboarding, if it was ever started.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn step(&self, id: &str, step: Step) -> Result<Option<StepRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT status, attempts, result FROM onboarding_steps \
             WHERE onboarding_id = $1 AND step = $2",
        )
        .bind(id)
        .bind(step.as_str())
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| step_from_row(id, &row)).transpose()
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
    /// (clearing any previous error), in one transaction.
    ///
    /// # Errors
    /// Database failures.
    pub async fn start_step(
        &self,
        id: &str,
        step: Step,
        state: OnboardingState,
    ) -> Result<(), StoreError> {
        let mut w = Writes::new();
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
        let mut w = Writes::new();
        w.finish_step(step, status, result, update);
        self.commit(id, &mut w).await
    }

    /// Changes the onboarding outside a step (e.g. the follower seeing `CONNECTED`).
    ///
    /// # Errors
    /// Database failures.
    pub async fn update(&self, id: &str, update: Update) -> Result<(), StoreError> {
        let mut w = Writes::new();
        w.update(update);
        self.commit(id, &mut w).await
    }

    /// Like [`Store::update`], but only while the onboarding is still in `expected`; false
    /// when it was not (someone else moved it on).
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
        let now = format_time(now());
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
        let mut w = Writes::new();
        w.register_attempt(waba_id, phone_number_id, at);
        self.commit(onboarding_id, &mut w).await
    }

    /// Register calls for a number since `since`: how many, and the oldest one's time.
    ///
    /// # Errors
    /// Database failures.
    pub async fn register_attempts_since(
        &self,
        phone_number_id: &PhoneNumberId,
        since: OffsetDateTime,
    ) -> Result<(i64, Option<OffsetDateTime>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(attempted_at) AS oldest FROM register_attempts \
             WHERE phone_number_id = $1 AND attempted_at >= $2",
        )
        .bind(phone_number_id.as_str())
        .bind(format_time(since))
        .fetch_one(&self.read)
        .await?;
        let n: i64 = row.try_get("n")?;
        let oldest: Option<String> = row.try_get("oldest")?;
        Ok((n, oldest.as_deref().and_then(parse_time)))
    }

    /// Stores a webhook event once; false when its id was already stored.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_webhook_event(
        &self,
        id: &str,
        kind: &str,
        body: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "INSERT INTO webhook_events (id, type, received_at, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(format_time(now()))
        .bind(body)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// How many onboardings are stored (health checks and tests).
    ///
    /// # Errors
    /// Database failures.
    pub async fn count_onboardings(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM onboardings")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Closes the pool (tests restarting on the same file).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// How long the register budget window is (Meta: 10 per number in a moving 72 hours).
pub const REGISTER_WINDOW: Duration = Duration::hours(72);

/// One `UPDATE` of the onboarding row with the columns the update sets, and `updated_at`.
async fn apply_update(
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

/// Makes sure a SQLite database can be created: its directory exists, and `mode=rwc` is set
/// unless the URL chose a mode.
fn prepare_sqlite(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    if query.split('&').any(|kv| kv.starts_with("mode=")) {
        Ok(url.to_owned())
    } else if query.is_empty() {
        Ok(format!("{url}?mode=rwc"))
    } else {
        Ok(format!("{url}&mode=rwc"))
    }
}

fn step_from_row(id: &str, row: &AnyRow) -> Result<StepRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let status = StepStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
        id: id.to_owned(),
        what: format!("step status {status:?}"),
    })?;
    let result: Option<String> = row.try_get("result")?;
    Ok(StepRecord {
        status,
        attempts: row.try_get("attempts")?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
    })
}

fn onboarding_from_row(row: &AnyRow) -> Result<Onboarding, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt {
        id: id.clone(),
        what: what.to_owned(),
    };
    let text = |col: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(col)?) };
    let json = |col: &str| -> Result<Option<Value>, StoreError> {
        text(col)?
            .map(|s| Value::from_str(&s).map_err(|_| corrupt(col)))
            .transpose()
    };
    let mode = match row.try_get::<String, _>("mode")?.as_str() {
        "standard" => Mode::Standard,
        "coexistence" => Mode::Coexistence,
        _ => return Err(corrupt("mode")),
    };
    let state: String = row.try_get("state")?;
    let error = text("error")?
        .map(|s| serde_json::from_str::<OnboardingError>(&s).map_err(|_| corrupt("error")))
        .transpose()?;
    Ok(Onboarding {
        mode,
        waba_id: WabaId::parse(row.try_get::<String, _>("waba_id")?)
            .map_err(|_| corrupt("waba_id"))?,
        phone_number_id: text("phone_number_id")?
            .map(PhoneNumberId::parse)
            .transpose()
            .map_err(|_| corrupt("phone_number_id"))?,
        business_id: text("business_id")?
            .map(BusinessId::parse)
            .transpose()
            .map_err(|_| corrupt("business_id"))?,
        customer_ref: text("customer_ref")?
            .map(CustomerRef::parse)
            .transpose()
            .map_err(|_| corrupt("customer_ref"))?,
        state: OnboardingState::parse(&state).ok_or_else(|| corrupt("state"))?,
        waba: json("waba")?,
        phone_number: json("phone_number")?,
        error,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a = now();
        let b = a + Duration::milliseconds(1);
        assert_eq!(parse_time(&format_time(a)), Some(a));
        assert!(format_time(a) < format_time(b));
        assert!(format_time(a).ends_with('Z'));
        assert!(time::OffsetDateTime::parse(
            &format_time(a),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok());
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = std::env::temp_dir().join(format!("store-test-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/x.db", dir.display());
        assert_eq!(prepare_sqlite(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.is_dir());
        assert_eq!(
            prepare_sqlite("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
