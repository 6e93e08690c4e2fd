//! The browser's client tokens (only their hashes) and the customer's PIN attempts.

use sqlx::Row;
use time::OffsetDateTime;

use super::rows::{format_time, parse_time};
use super::tx::Stmt;
use super::{Store, StoreError};

/// What a client token opens.
#[derive(Debug, Clone)]
pub struct ClientGrant {
    /// The onboarding it was answered with.
    pub onboarding_id: String,
    /// The session that created it: `None` for an anonymous onboarding; `Some(false)` once
    /// that session is revoked, expired or gone.
    pub session_live: Option<bool>,
}

impl Store {
    /// Keeps a client token of onboarding `onboarding_id`, known only by `token_sha256`,
    /// tied to the session that asked for it (if any).
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_client_token(
        &self,
        token_sha256: &str,
        onboarding_id: &str,
        session_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        self.exec(
            Stmt::new(
                "INSERT INTO client_tokens (token_sha256, onboarding_id, session_id, created_at) \
             VALUES ($1, $2, $3, $4)",
            )
            .bind(token_sha256)
            .bind(onboarding_id)
            .bind(session_id)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// The onboarding a client token opens, and whether its session is still live at `now`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn client_grant(
        &self,
        token_sha256: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ClientGrant>, StoreError> {
        let row = sqlx::query(
            "SELECT t.onboarding_id, t.session_id, s.id AS live_id, s.revoked_at, s.expires_at \
             FROM client_tokens t LEFT JOIN sessions s ON s.id = t.session_id \
             WHERE t.token_sha256 = $1",
        )
        .bind(token_sha256)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let session_id: Option<String> = row.try_get("session_id")?;
        let session_live = match session_id {
            None => None,
            Some(_) => {
                let found: Option<String> = row.try_get("live_id")?;
                let revoked: Option<String> = row.try_get("revoked_at")?;
                let expires: Option<String> = row.try_get("expires_at")?;
                let unexpired = expires
                    .as_deref()
                    .and_then(parse_time)
                    .is_some_and(|at| at > now);
                Some(found.is_some() && revoked.is_none() && unexpired)
            }
        };
        Ok(Some(ClientGrant {
            onboarding_id: row.try_get("onboarding_id")?,
            session_live,
        }))
    }

    /// PINs sent for onboarding `id` since `since`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn pin_attempts_since(
        &self,
        id: &str,
        since: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM pin_attempts WHERE onboarding_id = $1 AND attempted_at >= $2",
        )
        .bind(id)
        .bind(format_time(since))
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Counts a PIN sent for onboarding `id` (before it goes to Meta).
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_pin_attempt(&self, id: &str) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        self.exec(
            Stmt::new(
                "INSERT INTO pin_attempts (id, onboarding_id, attempted_at) VALUES ($1, $2, $3)",
            )
            .bind(super::rows::new_row_id())
            .bind(id)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Writes one row: whether the store takes writes now (`GET /healthz`).
    ///
    /// # Errors
    /// Database failures: the store cannot be written.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        self.exec(
            Stmt::new(
                "INSERT INTO health_checks (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
            )
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Forgets onboarding `id`'s PIN attempts (the partner retried it).
    ///
    /// # Errors
    /// Database failures.
    pub async fn clear_pin_attempts(&self, id: &str) -> Result<(), StoreError> {
        self.exec(Stmt::new("DELETE FROM pin_attempts WHERE onboarding_id = $1").bind(id))
            .await?;
        Ok(())
    }
}
