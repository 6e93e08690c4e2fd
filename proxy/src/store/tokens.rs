//! The browser's client tokens (only their hashes) and the customer's PIN attempts.

use sqlx::Row;
use time::OffsetDateTime;

use super::cache::Kept;
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

/// A client token's row and its session's, as stored.
#[derive(Debug, Clone)]
pub(super) struct GrantFacts {
    onboarding_id: String,
    /// `None` for an anonymous onboarding; the session's expiry while it is neither revoked
    /// nor gone, `Some(None)` once it is.
    session: Option<Option<OffsetDateTime>>,
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
    /// With SQLite the token's row and its session's are kept in memory (every GET of the
    /// browser checks one): a token is never changed, and a session only by its revocation,
    /// which drops them ([`Store::revoke_session`]); expiry is compared with `now` each time.
    ///
    /// # Errors
    /// Database failures.
    pub async fn client_grant(
        &self,
        token_sha256: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ClientGrant>, StoreError> {
        let kept = self.cache.as_deref().map(|c| &c.grants);
        let facts = Kept::through(kept, token_sha256, self.read_grant(token_sha256)).await?;
        Ok(facts.map(|f| ClientGrant {
            onboarding_id: f.onboarding_id,
            session_live: f
                .session
                .map(|live_until| live_until.is_some_and(|at| at > now)),
        }))
    }

    async fn read_grant(&self, token_sha256: &str) -> Result<Option<GrantFacts>, StoreError> {
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
        let session = match session_id {
            None => None,
            Some(_) => {
                let found: Option<String> = row.try_get("live_id")?;
                let revoked: Option<String> = row.try_get("revoked_at")?;
                let expires: Option<String> = row.try_get("expires_at")?;
                let until = expires.as_deref().and_then(parse_time);
                Some(until.filter(|_| found.is_some() && revoked.is_none()))
            }
        };
        Ok(Some(GrantFacts {
            onboarding_id: row.try_get("onboarding_id")?,
            session,
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
