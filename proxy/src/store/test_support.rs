//! What only the tests ask of the store: writing stored states directly, counting rows, and
//! reading back what the proxy never reads itself. Built for the crate's own tests and, with
//! the `test-support` feature, for the black-box tests in `proxy/tests` (enabled by the
//! crate's dev-dependency on itself).

use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;
use wire::{CreateOnboarding, OnboardingState, PhoneNumberId, WabaId};

use super::{Customer, Insert, Record, SignupRecord, Step, StepStatus, Store, StoreError, Update};

impl Store {
    /// Stores a new onboarding in `binding` with no step started yet, or finds the existing
    /// one for the same WABA and number. Returns it and whether it was created now. (Tests write stored states
    /// with it; the pipeline uses [`Store::insert_or_get_started`].) The customer is the
    /// body's `customer_ref`, unverified.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_or_get(
        &self,
        req: &CreateOnboarding,
    ) -> Result<(Record, bool), StoreError> {
        match self
            .insert_or_get_started(req, req.mode, &Customer::anonymous(req), None, None, None)
            .await?
        {
            Insert::Created(r) => Ok((r, true)),
            Insert::Existing(r) => Ok((r, false)),
            Insert::SessionExhausted | Insert::SessionEnded => Err(StoreError::Corrupt {
                id: String::new(),
                what: "an anonymous insert counted against a session".to_owned(),
            }),
        }
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

    /// Popup outcomes after `after` (a `sig_` id), oldest first, at most `limit`: what a
    /// funnel counts (launches, cancels by step, errors by code).
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn signup_events(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SignupRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signup_events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let corrupt = |what: &str| StoreError::Corrupt {
                    id: id.clone(),
                    what: what.to_owned(),
                };
                let kind = row
                    .try_get::<String, _>("kind")?
                    .parse()
                    .map_err(|_| corrupt("kind"))?;
                let mode = row
                    .try_get::<String, _>("mode")?
                    .parse()
                    .map_err(|_| corrupt("mode"))?;
                Ok(SignupRecord {
                    kind,
                    mode,
                    session_id: row.try_get("session_id")?,
                    customer_ref: row.try_get("customer_ref")?,
                    current_step: row.try_get("current_step")?,
                    error_code: row.try_get("error_code")?,
                    error_message: row.try_get("error_message")?,
                    meta_session_id: row.try_get("meta_session_id")?,
                    created_at: row.try_get("created_at")?,
                    id,
                })
            })
            .collect()
    }

    /// Whether an event with this id is stored. Only the black-box tests ask.
    ///
    /// # Errors
    /// Database failures.
    pub async fn has_webhook_event(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM webhook_events WHERE id = $1")
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The lease on `id`: its owner and until when, if any (tests and diagnostics).
    ///
    /// # Errors
    /// Database failures.
    pub async fn lease(&self, id: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT lease_owner, lease_until FROM onboardings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let owner: Option<String> = row.try_get("lease_owner")?;
        let until: Option<String> = row.try_get("lease_until")?;
        Ok(owner.zip(until))
    }

    /// Records that a step is about to call out, and moves the onboarding to `state`
    /// (clearing any previous error), in one transaction. This and the next two commit one
    /// write on its own: tests write stored states with them, while the pipeline queues the
    /// same writes in [`Writes`](super::Writes).
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

    /// Counts one deregister call for a number (made or about to be made).
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_deregister_attempt(
        &self,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        onboarding_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut w = self.writes();
        w.deregister_attempt(waba_id, phone_number_id, at);
        self.commit(onboarding_id, &mut w).await
    }
}
