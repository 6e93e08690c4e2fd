//! The redirect flow's rows (`oauth_states`): issued states, consumed once; the candidates
//! waiting for the customer's choice; the result waiting for the page.
//!
//! Every "once" is one conditional `UPDATE` whose affected-row count decides, so two
//! instances (or two tabs) racing on one state or handle cannot both win.

use sqlx::Row;
use time::OffsetDateTime;
use wire::Mode;

use super::rows::{format_time, parse_time};
use super::{Store, StoreError};

/// What consuming a state found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// It was issued here and never used: this call used it.
    Fresh,
    /// It was used before (or never issued by this database).
    Spent,
}

/// The verified candidates a customer chooses among, as stored.
#[derive(Debug, Clone)]
pub struct Pending {
    /// JSON of the candidates.
    pub candidates: String,
    /// The sealed business token (Meta provider), if kept.
    pub business_token: Option<String>,
    /// The SHA-256 of the code the flow exchanged.
    pub code_sha256: Option<String>,
}

/// A finished flow's result, as its page picks it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickedUp {
    /// The onboarding the flow created.
    pub onboarding_id: String,
    /// The session the flow started with (none: anonymous).
    pub session_id: Option<String>,
}

impl Store {
    /// Records an issued state (by its SHA-256) so it can be consumed once.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_oauth_state(
        &self,
        state_sha256: &str,
        session_id: Option<&str>,
        mode: Mode,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        let _gate = self.exclusive().await;
        sqlx::query(
            "INSERT INTO oauth_states (state_sha256, session_id, mode, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_sha256)
        .bind(session_id)
        .bind(mode.as_str())
        .bind(now)
        .bind(format_time(expires_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Uses a state: the first call for an issued state gets [`Consumed::Fresh`], every
    /// other call (another tab, another instance, a replay) [`Consumed::Spent`].
    ///
    /// # Errors
    /// Database failures.
    pub async fn consume_oauth_state(&self, state_sha256: &str) -> Result<Consumed, StoreError> {
        let now = format_time(self.clock.now());
        let _gate = self.exclusive().await;
        let n = sqlx::query(
            "UPDATE oauth_states SET consumed_at = $1 \
             WHERE state_sha256 = $2 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(state_sha256)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(match n {
            1 => Consumed::Fresh,
            _ => Consumed::Spent,
        })
    }

    /// Keeps a consumed state's verified candidates until the customer chooses.
    ///
    /// # Errors
    /// Database failures.
    pub async fn await_oauth_choice(
        &self,
        state_sha256: &str,
        pending: &Pending,
    ) -> Result<(), StoreError> {
        let _gate = self.exclusive().await;
        sqlx::query(
            "UPDATE oauth_states SET candidates = $1, business_token = $2, code_sha256 = $3 \
             WHERE state_sha256 = $4",
        )
        .bind(&pending.candidates)
        .bind(pending.business_token.as_deref())
        .bind(pending.code_sha256.as_deref())
        .bind(state_sha256)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Takes the candidates of a state waiting for a choice, once: the sealed token is
    /// wiped in the same statement. `None`: nothing waits (chosen already, or never asked).
    ///
    /// # Errors
    /// Database failures.
    pub async fn take_oauth_choice(
        &self,
        state_sha256: &str,
    ) -> Result<Option<Pending>, StoreError> {
        let now = format_time(self.clock.now());
        let _gate = self.exclusive().await;
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "SELECT candidates, business_token, code_sha256 FROM oauth_states \
             WHERE state_sha256 = $1 AND candidates IS NOT NULL AND chosen_at IS NULL",
        )
        .bind(state_sha256)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let n = sqlx::query(
            "UPDATE oauth_states SET chosen_at = $1, business_token = NULL \
             WHERE state_sha256 = $2 AND chosen_at IS NULL",
        )
        .bind(now)
        .bind(state_sha256)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(Pending {
            candidates: row.try_get("candidates")?,
            business_token: row.try_get("business_token")?,
            code_sha256: row.try_get("code_sha256")?,
        }))
    }

    /// Leaves the flow's onboarding for the page, behind a single-use handle valid until
    /// `until`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn set_oauth_result(
        &self,
        state_sha256: &str,
        onboarding_id: &str,
        result_sha256: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _gate = self.exclusive().await;
        sqlx::query(
            "UPDATE oauth_states SET onboarding_id = $1, result_sha256 = $2, result_until = $3 \
             WHERE state_sha256 = $4",
        )
        .bind(onboarding_id)
        .bind(result_sha256)
        .bind(format_time(until))
        .bind(state_sha256)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The onboarding (and the flow's session) behind a result handle, once and before it
    /// expires.
    ///
    /// # Errors
    /// Database failures.
    pub async fn take_oauth_result(
        &self,
        result_sha256: &str,
    ) -> Result<Option<PickedUp>, StoreError> {
        let now = self.clock.now();
        let _gate = self.exclusive().await;
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "SELECT onboarding_id, session_id, result_until FROM oauth_states \
             WHERE result_sha256 = $1 AND picked_up_at IS NULL",
        )
        .bind(result_sha256)
        .fetch_optional(&mut *tx)
        .await?;
        let found = row
            .map(|r| -> Result<_, StoreError> {
                let id: Option<String> = r.try_get("onboarding_id")?;
                let session_id: Option<String> = r.try_get("session_id")?;
                let until: Option<String> = r.try_get("result_until")?;
                let until = until.as_deref().and_then(parse_time);
                Ok(id.zip(until).map(|(id, until)| (id, session_id, until)))
            })
            .transpose()?
            .flatten();
        let Some((onboarding_id, session_id, _)) = found.filter(|(_, _, until)| *until > now)
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let n = sqlx::query(
            "UPDATE oauth_states SET picked_up_at = $1 \
             WHERE result_sha256 = $2 AND picked_up_at IS NULL",
        )
        .bind(format_time(now))
        .bind(result_sha256)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(PickedUp {
            onboarding_id,
            session_id,
        }))
    }

    /// The `account_update` `PARTNER_ADDED` changes Meta sent since `since`: `(waba_id,
    /// owner_business_id)`, newest last. The redirect flow's candidates, never taken on
    /// their own word: the caller checks the customer's token reaches each.
    ///
    /// # Errors
    /// Database failures.
    pub async fn partner_added_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT body FROM webhook_events WHERE type = 'meta.account_update' \
             AND received_at >= $1 ORDER BY received_at LIMIT 200",
        )
        .bind(format_time(since))
        .fetch_all(&self.read)
        .await?;
        let mut found = Vec::new();
        for row in rows {
            let body: String = row.try_get("body")?;
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
                continue;
            };
            let changes = json["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["changes"].as_array().into_iter().flatten());
            for change in changes {
                let value = &change["value"];
                if value["event"].as_str() != Some("PARTNER_ADDED") {
                    continue;
                }
                let info = &value["waba_info"];
                if let Some(waba) = info["waba_id"].as_str() {
                    let owner = info["owner_business_id"].as_str().map(str::to_owned);
                    found.push((waba.to_owned(), owner));
                }
            }
        }
        Ok(found)
    }
}
