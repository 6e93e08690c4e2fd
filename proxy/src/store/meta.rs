//! What the Meta provider stores besides the onboarding: its sealed business token and PIN
//! (never in clear: [`crate::vault`] seals them before they get here), the chosen
//! local-storage region, and the numbers' register and deregister budgets, counted
//! atomically.

use sqlx::Row;
use time::{Duration, OffsetDateTime};
use wire::{PhoneNumberId, WabaId};

use super::rows::{format_time, parse_time, Step, StepStatus};
use super::{Store, StoreError};

/// Where a stored PIN came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOrigin {
    /// Drawn by the proxy for a number without two-step verification.
    Generated,
    /// The customer's existing PIN, sent through `POST /api/onboardings/{id}/pin`.
    Customer,
}

impl PinOrigin {
    fn as_str(self) -> &'static str {
        match self {
            PinOrigin::Generated => "generated",
            PinOrigin::Customer => "customer",
        }
    }
}

/// One onboarding's row of `meta_credentials`, sealed values as stored.
#[derive(Debug, Clone, Default)]
pub struct MetaCredentials {
    /// The sealed business token.
    pub business_token: Option<String>,
    /// The sealed PIN.
    pub pin: Option<String>,
    /// Where the PIN came from.
    pub pin_origin: Option<PinOrigin>,
    /// The local-storage region chosen at creation.
    pub data_localization_region: Option<String>,
}

/// Which of a number's budgets a call spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `register` (the same table as YCloud's register calls: the budget is Meta's).
    Register,
    /// `deregister`.
    Deregister,
}

impl Budget {
    fn table(self) -> &'static str {
        match self {
            Budget::Register => "register_attempts",
            Budget::Deregister => "deregister_attempts",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Budget::Register => "register",
            Budget::Deregister => "deregister",
        }
    }
}

impl Store {
    /// The Meta row of onboarding `id`, read on the writer (a PIN stored a moment ago must be
    /// the one sent).
    ///
    /// # Errors
    /// Database failures.
    pub async fn meta_credentials(&self, id: &str) -> Result<Option<MetaCredentials>, StoreError> {
        let row = sqlx::query(
            "SELECT business_token, pin, pin_origin, data_localization_region \
             FROM meta_credentials WHERE onboarding_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let origin: Option<String> = row.try_get("pin_origin")?;
        Ok(Some(MetaCredentials {
            business_token: row.try_get("business_token")?,
            pin: row.try_get("pin")?,
            pin_origin: origin.map(|o| match o.as_str() {
                "customer" => PinOrigin::Customer,
                _ => PinOrigin::Generated,
            }),
            data_localization_region: row.try_get("data_localization_region")?,
        }))
    }

    /// Stores the sealed business token and the region of a new onboarding.
    ///
    /// # Errors
    /// Database failures.
    pub async fn save_meta_onboarding(
        &self,
        id: &str,
        sealed_token: &str,
        region: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta_credentials (onboarding_id, business_token, data_localization_region, \
             updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (onboarding_id) DO UPDATE SET \
             business_token = $2, data_localization_region = $3, updated_at = $4",
        )
        .bind(id)
        .bind(sealed_token)
        .bind(region.map(str::to_owned))
        .bind(format_time(self.clock.now()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Stores a sealed PIN (replacing any other), before it is sent to Meta: a PIN Meta
    /// accepted becomes the number's, and must never be lost.
    ///
    /// # Errors
    /// Database failures.
    pub async fn save_pin(
        &self,
        id: &str,
        sealed: &str,
        origin: PinOrigin,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta_credentials (onboarding_id, pin, pin_origin, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (onboarding_id) DO UPDATE SET pin = $2, \
             pin_origin = $3, updated_at = $4",
        )
        .bind(id)
        .bind(sealed)
        .bind(origin.as_str())
        .bind(format_time(self.clock.now()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Counts one call of `budget` for the number at `now`, unless `max` calls were counted
    /// in the `window` before it: then nothing is counted and the answer is when the oldest
    /// of them leaves the window. Check and count are one transaction, serialised per number
    /// and budget, so concurrent calls can never count more than `max`.
    ///
    /// # Errors
    /// Database failures.
    #[allow(clippy::too_many_arguments)]
    pub async fn spend_budget(
        &self,
        budget: Budget,
        waba_id: &WabaId,
        phone_number_id: &PhoneNumberId,
        onboarding_id: &str,
        now: OffsetDateTime,
        window: Duration,
        max: i64,
    ) -> Result<Result<(), OffsetDateTime>, StoreError> {
        let at = format_time(now);
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO number_budgets (phone_number_id, kind, touched_at) VALUES ($1, $2, $3) \
             ON CONFLICT (phone_number_id, kind) DO UPDATE SET touched_at = $3",
        )
        .bind(phone_number_id.as_str())
        .bind(budget.as_str())
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n, MIN(attempted_at) AS oldest FROM {} \
             WHERE phone_number_id = $1 AND attempted_at >= $2",
            budget.table()
        ))
        .bind(phone_number_id.as_str())
        .bind(format_time(now - window))
        .fetch_one(&mut *tx)
        .await?;
        let n: i64 = row.try_get("n")?;
        if n >= max {
            let oldest: Option<String> = row.try_get("oldest")?;
            tx.rollback().await?;
            let oldest = oldest.as_deref().and_then(parse_time).unwrap_or(now);
            return Ok(Err(oldest + window));
        }
        sqlx::query(&format!(
            "INSERT INTO {} (id, waba_id, phone_number_id, onboarding_id, attempted_at) \
             VALUES ($1, $2, $3, $4, $5)",
            budget.table()
        ))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(waba_id.as_str())
        .bind(phone_number_id.as_str())
        .bind(onboarding_id)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// The local-storage region a session asked for, as stored.
    ///
    /// # Errors
    /// Database failures.
    pub async fn session_region(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let region: Option<Option<String>> =
            sqlx::query_scalar("SELECT data_localization_region FROM sessions WHERE id = $1")
                .bind(session_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(region.flatten())
    }

    /// Deregister calls for a number since `since`: how many, and the oldest one's time.
    ///
    /// # Errors
    /// Database failures.
    pub async fn deregister_attempts_since(
        &self,
        phone_number_id: &PhoneNumberId,
        since: OffsetDateTime,
    ) -> Result<(i64, Option<OffsetDateTime>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(attempted_at) AS oldest FROM deregister_attempts \
             WHERE phone_number_id = $1 AND attempted_at >= $2",
        )
        .bind(phone_number_id.as_str())
        .bind(format_time(since))
        .fetch_one(&self.write)
        .await?;
        let oldest: Option<String> = row.try_get("oldest")?;
        Ok((row.try_get("n")?, oldest.as_deref().and_then(parse_time)))
    }

    /// Records that a step outside the pipeline's run (deregister) is about to call out,
    /// leaving the onboarding's state and error as they are.
    ///
    /// # Errors
    /// Database failures.
    pub async fn start_side_step(&self, id: &str, step: Step) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO onboarding_steps (onboarding_id, step, status, attempts, started_at) \
             VALUES ($1, $2, $3, 1, $4) ON CONFLICT (onboarding_id, step) DO UPDATE SET \
             status = $3, attempts = onboarding_steps.attempts + 1, started_at = $4, \
             finished_at = NULL, result = NULL",
        )
        .bind(id)
        .bind(step.as_str())
        .bind(StepStatus::Started.as_str())
        .bind(format_time(self.clock.now()))
        .execute(&self.write)
        .await?;
        self.forget(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    async fn store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("store-meta-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/x.db", dir.display());
        (Store::connect(&url, Clock::system()).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn concurrent_calls_never_spend_more_than_the_budget() {
        let (store, dir) = store().await;
        let waba = WabaId::parse("1").unwrap();
        let phone = PhoneNumberId::parse("2").unwrap();
        let now = OffsetDateTime::now_utc();
        for budget in [Budget::Register, Budget::Deregister] {
            let tries = (0..25).map(|_| {
                let (store, waba, phone) = (store.clone(), waba.clone(), phone.clone());
                tokio::spawn(async move {
                    store
                        .spend_budget(budget, &waba, &phone, "o", now, Duration::hours(72), 10)
                        .await
                        .unwrap()
                })
            });
            let mut spent = 0;
            for t in tries {
                if t.await.unwrap().is_ok() {
                    spent += 1;
                }
            }
            assert_eq!(spent, 10, "{budget:?}");
        }
        // Refused until the oldest leaves the window; then one place frees up.
        let until = store
            .spend_budget(
                Budget::Deregister,
                &waba,
                &phone,
                "o",
                now,
                Duration::hours(72),
                10,
            )
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(format_time(until), format_time(now + Duration::hours(72)));
        let later = now + Duration::hours(72) + Duration::seconds(1);
        assert!(store
            .spend_budget(
                Budget::Deregister,
                &waba,
                &phone,
                "o",
                later,
                Duration::hours(72),
                10
            )
            .await
            .unwrap()
            .is_ok());
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
