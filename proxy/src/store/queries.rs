//! The store's reads and the insert of a new onboarding.

use sqlx::Row;
use time::OffsetDateTime;
use wire::{CreateOnboarding, Onboarding, OnboardingState, PhoneNumberId, WabaId};

use super::rows::{
    api_step_from_row, format_time, parse_time, record_from_row, step_from_row, Record, Step,
    StepRecord, StepStatus, Steps,
};
use super::{Store, StoreError};

impl Store {
    /// Stores a new onboarding in `received`, or finds the existing one for the same WABA
    /// and number. Returns it and whether it was created now. (Tests write stored states
    /// with it; the pipeline uses [`Store::insert_or_get_started`].)
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_or_get(
        &self,
        req: &CreateOnboarding,
    ) -> Result<(Record, bool), StoreError> {
        self.insert_or_get_started(req, None, None).await
    }

    /// [`Store::insert_or_get`], recording the SHA-256 (hex) of the code that verified the
    /// onboarding when it is created now; when `first` is given, also records that step as
    /// started and the onboarding in that state, in the same transaction (what
    /// [`Store::start_step`] would write next).
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_or_get_started(
        &self,
        req: &CreateOnboarding,
        code_sha256: Option<&str>,
        first: Option<(Step, OnboardingState)>,
    ) -> Result<(Record, bool), StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = format_time(self.clock.now());
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
            let onboarding = record_from_row(&row)?;
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
        Ok((record_from_row(&row)?, false))
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
            "SELECT * FROM onboardings WHERE waba_id = $1 AND COALESCE(phone_number_id, '') = $2",
        )
        .bind(waba_id.as_str())
        .bind(phone_number_id.map_or("", |p| p.as_str()))
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: Option<String> = row.try_get("code_sha256")?;
        Ok(Some((record_from_row(&row)?, hash)))
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
            "SELECT * FROM onboardings WHERE waba_id = $1 OR phone_number_id = $2 \
             ORDER BY created_at",
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

    /// How many onboardings are stored. Only the black-box tests call it (to check that a
    /// refused request stored nothing); the proxy itself never counts.
    ///
    /// # Errors
    /// Database failures.
    pub async fn count_onboardings(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM onboardings")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("n")?)
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
