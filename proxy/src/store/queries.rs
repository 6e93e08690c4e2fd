//! The store's reads and the insert of a new onboarding.

use sqlx::Row;
use time::OffsetDateTime;
use wire::{
    CreateOnboarding, CustomerRef, EventType, Mode, Onboarding, OnboardingState, PhoneNumberId,
    WabaId,
};

use super::events::EventRow;
use super::rows::{
    api_step_from_row, format_time, parse_time, record_from_row, step_from_row, Record, Step,
    StepRecord, StepStatus, Steps,
};
use super::tx::{Stmt, Tx, Write};
use super::writer::Done;
use super::{Store, StoreError};

/// Who an onboarding is for, as the proxy established it (never as the browser claims it,
/// unless anonymous onboardings are allowed, and then marked unverified).
#[derive(Debug, Clone, Default)]
pub struct Customer {
    /// The partner's reference.
    pub customer_ref: Option<CustomerRef>,
    /// True when it comes from a session.
    pub verified: bool,
    /// The session, when there is one.
    pub session_id: Option<String>,
    /// The session's metadata (for the events of the onboardings it creates).
    pub metadata: Option<wire::Metadata>,
    /// The modes the session allows (none: any, without a session).
    pub modes: Option<Vec<Mode>>,
}

impl Customer {
    /// The body's `customer_ref`, unverified.
    pub fn anonymous(req: &CreateOnboarding) -> Self {
        Self {
            customer_ref: req.customer_ref.clone(),
            verified: false,
            session_id: None,
            metadata: None,
            modes: None,
        }
    }

    /// Whether this customer's session allows an onboarding in `mode`.
    pub fn allows(&self, mode: Mode) -> bool {
        self.modes.as_ref().is_none_or(|m| m.contains(&mode))
    }
}

/// What [`Store::insert_or_get_started`] did.
#[derive(Debug)]
pub enum Insert {
    /// Stored now.
    Created(Record),
    /// The same WABA and number were stored before (for whichever customer).
    Existing(Record),
    /// The session has created all the onboardings it may; nothing stored.
    SessionExhausted,
    /// The session was revoked or expired since it was checked; nothing stored.
    SessionEnded,
}

impl Store {
    /// Stores a new onboarding for `customer` (or finds the existing one for the same WABA
    /// and number), recording the SHA-256 (hex) of the code
    /// that verified the onboarding when it is created now; when `first` is given, also
    /// records that step as started and the onboarding in that state, in the same
    /// transaction (what [`Writes::start_step`](super::Writes::start_step) would write next). A session's count of
    /// onboardings is raised in the same transaction, and the `onboarding.created` event
    /// written. When `lease` is given (an owner and until when), the new onboarding is
    /// leased to it from the start, so no other instance can take it between the insert and
    /// its first step. `req.mode` is the mode the onboarding runs (what Meta reported);
    /// `launched` the one the customer's button asked for.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_or_get_started(
        &self,
        req: &CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
        first: Option<(Step, OnboardingState)>,
        lease: Option<(&str, OffsetDateTime)>,
    ) -> Result<Insert, StoreError> {
        let new = NewOnboarding::of(
            req,
            launched,
            customer,
            code_sha256,
            first,
            lease,
            &format_time(self.clock.now()),
            self.deliver_events,
            None,
        )?;
        self.insert_new(req, new).await
    }

    /// [`Store::insert_or_get_started`] of an onboarding that starts over from `previous`
    /// (same WABA and number, ended `failed` or `deregistered`): in one transaction the old
    /// one is marked superseded (so it no longer holds the WABA + number key) and the new one
    /// inserted naming it. When `previous` is no longer final, is held by a runner, or was
    /// superseded meanwhile, nothing is written and the current onboarding of the key is
    /// answered (`Insert::Existing`). `count_session`: false when the partner asked for it
    /// (a restart is not one of the customer's sign-ups).
    ///
    /// # Errors
    /// Database failures.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_started_over(
        &self,
        req: &CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
        first: Option<(Step, OnboardingState)>,
        lease: Option<(&str, OffsetDateTime)>,
        previous: &str,
        count_session: bool,
    ) -> Result<Insert, StoreError> {
        let mut new = NewOnboarding::of(
            req,
            launched,
            customer,
            code_sha256,
            first,
            lease,
            &format_time(self.clock.now()),
            self.deliver_events,
            Some(previous),
        )?;
        new.count_session = count_session;
        self.insert_new(req, new).await
    }

    async fn insert_new(
        &self,
        req: &CreateOnboarding,
        new: NewOnboarding,
    ) -> Result<Insert, StoreError> {
        let written = self.transact(new).await?;
        match written {
            Written::Created(record) => {
                self.wake_outbox();
                Ok(Insert::Created(*record))
            }
            Written::Exhausted => Ok(Insert::SessionExhausted),
            Written::Ended => Ok(Insert::SessionEnded),
            Written::Exists => {
                // Committed before (the unique index said so): any connection sees it.
                let row = sqlx::query(
                    "SELECT * FROM onboardings WHERE waba_id = $1 \
                     AND COALESCE(phone_number_id, '') = $2 AND superseded_by IS NULL",
                )
                .bind(req.waba_id.as_str())
                .bind(req.phone_number_id.as_ref().map_or("", |p| p.as_str()))
                .fetch_one(&self.read)
                .await?;
                Ok(Insert::Existing(record_from_row(&row)?))
            }
        }
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
    ) -> Result<Option<(Record, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM onboardings WHERE waba_id = $1 AND COALESCE(phone_number_id, '') = $2 \
             AND superseded_by IS NULL",
        )
        .bind(waba_id.as_str())
        .bind(phone_number_id.map_or("", |p| p.as_str()))
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: Option<String> = row.try_get("code_sha256")?;
        Ok(Some((record_from_row(&row)?, hash)))
    }

    /// The SHA-256 (hex) of the code that created onboarding `id`, when one was posted.
    ///
    /// # Errors
    /// Database failures.
    pub async fn code_hash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT code_sha256 FROM onboardings WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.write)
                .await?;
        Ok(hash.flatten())
    }

    /// Onboardings a webhook may be about: those of the WABA, or with the number's id.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn onboardings_for(
        &self,
        waba_id: Option<&str>,
        phone_number_id: Option<&str>,
    ) -> Result<Vec<Record>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM onboardings WHERE (waba_id = $1 OR phone_number_id = $2) \
             AND superseded_by IS NULL ORDER BY created_at",
        )
        .bind(waba_id.unwrap_or(""))
        .bind(phone_number_id.unwrap_or(""))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// One onboarding by id.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn get(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let row = sqlx::query("SELECT * FROM onboardings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// The API's answer for a stored onboarding: it with its recorded steps.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn api(&self, record: Record) -> Result<Onboarding, StoreError> {
        let rows = sqlx::query(
            "SELECT step, status, attempts, result, started_at, finished_at              FROM onboarding_steps WHERE onboarding_id = $1 ORDER BY started_at, step",
        )
        .bind(&record.id)
        .fetch_all(&self.read)
        .await?;
        let mut steps = Vec::with_capacity(rows.len());
        for row in &rows {
            steps.extend(api_step_from_row(&record.id, row)?);
        }
        Ok(record.into_api(steps))
    }

    /// [`Store::get_json`] without the cache.
    pub(super) async fn read_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        let Some(record) = self.get(id).await? else {
            return Ok(None);
        };
        let onboarding = self.api(record).await?;
        serde_json::to_string(&onboarding)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                id: id.to_owned(),
                what: e.to_string(),
            })
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
            if let Ok(step) = name.parse::<Step>() {
                steps.push(step, step_from_row(id, row)?);
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

    /// How many onboardings are in each state (states with none are absent): the metrics'
    /// gauge, read at each scrape (one query on the `state` index).
    ///
    /// # Errors
    /// Database failures.
    pub async fn count_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM onboardings GROUP BY state")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }
}

/// What the insert's transaction did.
enum Written {
    /// Stored, with everything in its transaction.
    Created(Box<Record>),
    /// The WABA and number were stored before: nothing written.
    Exists,
    /// The session's onboardings are spent: nothing written.
    Exhausted,
    /// The session was revoked or expired: nothing written.
    Ended,
}

/// A new onboarding's rows, built before its transaction: the onboarding as written (so it
/// is never read back), its first step, the session to count, the `onboarding.created` event.
struct NewOnboarding {
    record: Record,
    mode: &'static str,
    launched_mode: &'static str,
    /// The body's `event` (which Embedded Signup event the browser saw).
    event_name: Option<String>,
    code_sha256: Option<String>,
    lease_owner: Option<String>,
    lease_until: Option<String>,
    first: Option<Step>,
    event: EventRow,
    /// Whether the session's count of onboardings is raised (not for a partner's restart).
    count_session: bool,
}

const INSERT_ONBOARDING: &str = "INSERT INTO onboardings (id, mode, waba_id, phone_number_id, \
     business_id, customer_ref, event, state, created_at, updated_at, code_sha256, session_id, \
     customer_ref_verified, lease_owner, lease_until, launched_mode, previous_onboarding_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16) \
     ON CONFLICT DO NOTHING";
// Starting over: the old onboarding gives the WABA + number key up, only while it is final
// and nobody runs it (a retry that took it first wins; the new post then sees it).
const SUPERSEDE: &str = "UPDATE onboardings SET superseded_by = $1 WHERE id = $2 \
     AND superseded_by IS NULL AND state IN ('failed', 'deregistered') \
     AND (lease_until IS NULL OR lease_until < $3)";
// Counted in the insert's transaction, not before: a post of the same ids again costs
// nothing, and two concurrent posts cannot both take the last place. The session is checked
// live again here: a revocation committed while the request ran stops the insert.
const COUNT_SESSION: &str = "UPDATE sessions SET onboardings_created = onboardings_created + 1 \
     WHERE id = $1 AND onboardings_created < $2 AND revoked_at IS NULL AND expires_at > $3";
// Why the count refused: a live session is exhausted, else it ended.
const SESSION_LIVE: &str =
    "SELECT COUNT(*) AS n FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2";
const INSERT_FIRST_STEP: &str = "INSERT INTO onboarding_steps (onboarding_id, step, status, \
     attempts, started_at) VALUES ($1, $2, $3, 1, $4)";

impl NewOnboarding {
    #[allow(clippy::too_many_arguments)]
    fn of(
        req: &CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
        first: Option<(Step, OnboardingState)>,
        lease: Option<(&str, OffsetDateTime)>,
        now: &str,
        deliver: bool,
        previous: Option<&str>,
    ) -> Result<Self, StoreError> {
        let id = super::rows::new_row_id();
        let state = first.map_or(OnboardingState::Binding, |(_, s)| s);
        let record = Record {
            onboarding: Onboarding {
                id: id.clone(),
                mode: req.mode,
                launched_mode: Some(launched),
                waba_id: req.waba_id.clone(),
                phone_number_id: req.phone_number_id.clone(),
                business_id: req.business_id.clone(),
                customer_ref: customer.customer_ref.clone(),
                state,
                steps: Vec::new(),
                waba: None,
                phone_number: None,
                error: None,
                previous_onboarding_id: previous.map(str::to_owned),
                inbound_verified_at: None,
                sync: None,
                created_at: now.to_owned(),
                updated_at: now.to_owned(),
            },
            waba: None,
            phone_number: None,
            session_id: customer.session_id.clone(),
            customer_ref_verified: customer.verified,
        };
        let steps = first
            .map(|(step, _)| wire::OnboardingStep {
                name: step,
                state: StepStatus::Started,
                started_at: now.to_owned(),
                finished_at: None,
                error: None,
            })
            .into_iter()
            .collect();
        let view = wire::PartnerOnboarding {
            onboarding: record.clone().into_api(steps),
            session_id: customer.session_id.clone(),
            metadata: customer.metadata.clone(),
            customer_ref_verified: customer.verified,
            health: None,
            change: None,
        };
        let event = EventRow::new(&id, EventType::Created, now, deliver, &view)?;
        Ok(Self {
            mode: req.mode.as_str(),
            launched_mode: launched.as_str(),
            event_name: req.event.as_ref().map(|e| e.as_str().to_owned()),
            code_sha256: code_sha256.map(str::to_owned),
            lease_owner: lease.map(|(owner, _)| owner.to_owned()),
            lease_until: lease.map(|(_, until)| format_time(until)),
            first: first.map(|(step, _)| step),
            event,
            record,
            count_session: true,
        })
    }

    /// The optional ids as the columns hold them.
    fn ids(&self) -> [Option<String>; 3] {
        let o = &self.record.onboarding;
        [
            o.phone_number_id.as_ref().map(|p| p.as_str().to_owned()),
            o.business_id.as_ref().map(|p| p.as_str().to_owned()),
            o.customer_ref.as_ref().map(|p| p.as_str().to_owned()),
        ]
    }
}

/// The unique index, not a prior SELECT, decides races between two identical posts.
impl Write for NewOnboarding {
    type Out = Written;

    async fn run(self, tx: &mut impl Tx) -> Result<Done<Written>, StoreError> {
        let o = &self.record.onboarding;
        let [phone, business, customer_ref] = self.ids();
        if let Some(previous) = &o.previous_onboarding_id {
            let supersede = Stmt::new(SUPERSEDE)
                .bind(&o.id)
                .bind(previous)
                .bind(&o.created_at);
            if tx.exec(&supersede).await? == 0 {
                return Ok(Done::Undo(Written::Exists));
            }
        }
        let insert = Stmt::new(INSERT_ONBOARDING)
            .bind(&o.id)
            .bind(self.mode)
            .bind(o.waba_id.as_str())
            .bind(phone)
            .bind(business)
            .bind(customer_ref)
            .bind(&self.event_name)
            .bind(o.state.as_str())
            .bind(&o.created_at)
            .bind(&self.code_sha256)
            .bind(&self.record.session_id)
            .bind(i32::from(self.record.customer_ref_verified))
            .bind(&self.lease_owner)
            .bind(&self.lease_until)
            .bind(self.launched_mode)
            .bind(&o.previous_onboarding_id);
        if tx.exec(&insert).await? == 0 {
            return Ok(Done::Undo(Written::Exists));
        }
        if let Some(session) = self
            .record
            .session_id
            .as_ref()
            .filter(|_| self.count_session)
        {
            let count = Stmt::new(COUNT_SESSION)
                .bind(session)
                .bind(wire::MAX_ONBOARDINGS_PER_SESSION)
                .bind(&o.created_at);
            if tx.exec(&count).await? == 0 {
                let live = Stmt::new(SESSION_LIVE).bind(session).bind(&o.created_at);
                let live = tx.query_first(&live, |row| row.int("n")).await?;
                return Ok(Done::Undo(match live {
                    Some(n) if n > 0 => Written::Exhausted,
                    _ => Written::Ended,
                }));
            }
        }
        if let Some(step) = self.first {
            let first = Stmt::new(INSERT_FIRST_STEP)
                .bind(&o.id)
                .bind(step.as_str())
                .bind(StepStatus::Started.as_str())
                .bind(&o.created_at);
            tx.exec(&first).await?;
        }
        tx.exec(&self.event.insert()).await?;
        Ok(Done::Keep(Written::Created(Box::new(self.record))))
    }
}
