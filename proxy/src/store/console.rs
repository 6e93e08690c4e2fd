//! What the partner console keeps: its sign-ins (by the cookie's hash), when each session's
//! link was first opened, manual redeliveries, and the funnel's counts.

use sqlx::Row;
use time::OffsetDateTime;
use wire::{DeliveryState, OnboardingState};

use super::rows::format_time;
use super::tx::{Statements, Stmt};
use super::{Store, StoreError};

/// A console sign-in, as stored.
#[derive(Debug, Clone)]
pub struct ConsoleSignIn {
    /// When the cookie stops working.
    pub expires_at: OffsetDateTime,
    /// Signed out.
    pub revoked: bool,
}

/// The funnel's counts over a window (see [`wire::Funnel`]).
#[derive(Debug, Clone, Default)]
pub struct FunnelCounts {
    /// Sessions created.
    pub sessions_created: u64,
    /// Sessions first opened.
    pub links_opened: u64,
    /// Onboardings created.
    pub finished: u64,
    /// Of those, now connected.
    pub connected: u64,
}

fn count(row: &sqlx::any::AnyRow) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

impl Store {
    /// Stores a console sign-in known only by `token_sha256`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_console_sign_in(
        &self,
        token_sha256: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        self.exec(Stmt::new(
            "INSERT INTO console_sessions (token_sha256, expires_at, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_sha256)
        .bind(format_time(expires_at))
        .bind(now)
        )
        .await?;
        Ok(())
    }

    /// The console sign-in whose cookie hashes to `token_sha256`, live or not.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn console_sign_in(
        &self,
        token_sha256: &str,
    ) -> Result<Option<ConsoleSignIn>, StoreError> {
        let row = sqlx::query(
            "SELECT expires_at, revoked_at FROM console_sessions WHERE token_sha256 = $1",
        )
        .bind(token_sha256)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: String = row.try_get("expires_at")?;
        let revoked_at: Option<String> = row.try_get("revoked_at")?;
        Ok(Some(ConsoleSignIn {
            expires_at: super::parse_time(&expires_at).ok_or_else(|| StoreError::Corrupt {
                id: "console session".to_owned(),
                what: "expires_at".to_owned(),
            })?,
            revoked: revoked_at.is_some(),
        }))
    }

    /// Signs a console out (its cookie stops working at once); expired sign-ins are
    /// forgotten on the way.
    ///
    /// # Errors
    /// Database failures.
    pub async fn revoke_console_sign_in(&self, token_sha256: &str) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        self.transact(Statements(vec![
            Stmt::new(
                "UPDATE console_sessions SET revoked_at = COALESCE(revoked_at, $1) \
                 WHERE token_sha256 = $2",
            )
            .bind(&now)
            .bind(token_sha256),
            Stmt::new("DELETE FROM console_sessions WHERE expires_at < $1").bind(&now),
        ]))
        .await?;
        Ok(())
    }

    /// Notes that session `id`'s link was opened (the first time only).
    ///
    /// # Errors
    /// Database failures.
    pub async fn mark_session_opened(&self, id: &str) -> Result<(), StoreError> {
        let now = format_time(self.clock.now());
        self.exec(
            Stmt::new("UPDATE sessions SET opened_at = $1 WHERE id = $2 AND opened_at IS NULL")
                .bind(now)
                .bind(id),
        )
        .await?;
        self.forget_session(id, false);
        Ok(())
    }

    /// Makes event `id` due for delivery now (one more attempt for a failed one, the
    /// schedule brought forward for a pending one, a delivered one posted again); false
    /// when no event has this id.
    ///
    /// # Errors
    /// Database failures.
    pub async fn redeliver_event(&self, id: &str) -> Result<bool, StoreError> {
        let now = format_time(self.clock.now());
        let n = {
            self.exec(
                Stmt::new(
                    "UPDATE partner_events SET delivery_state = $1, next_attempt_at = $2, \
                 lease_owner = NULL, lease_until = NULL WHERE id = $3",
                )
                .bind(DeliveryState::Pending.as_str())
                .bind(&now)
                .bind(id),
            )
            .await?
        };
        if n == 1 {
            self.wake_outbox();
        }
        Ok(n == 1)
    }

    /// The funnel's counts since `since`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn funnel_counts(&self, since: OffsetDateTime) -> Result<FunnelCounts, StoreError> {
        let since = format_time(since);
        let one = |sql: &'static str| {
            let since = since.clone();
            async move {
                let row = sqlx::query(sql).bind(since).fetch_one(&self.read).await?;
                count(&row)
            }
        };
        let connected = {
            let row = sqlx::query(
                "SELECT COUNT(*) FROM onboardings WHERE created_at >= $1 AND state = $2",
            )
            .bind(&since)
            .bind(OnboardingState::Connected.as_str())
            .fetch_one(&self.read)
            .await?;
            count(&row)?
        };
        Ok(FunnelCounts {
            sessions_created: one("SELECT COUNT(*) FROM sessions WHERE created_at >= $1").await?,
            links_opened: one("SELECT COUNT(*) FROM sessions WHERE opened_at >= $1").await?,
            finished: one("SELECT COUNT(*) FROM onboardings WHERE created_at >= $1").await?,
            connected,
        })
    }

    /// The last event a delivery was attempted for: its id, delivery state, and last error.
    ///
    /// # Errors
    /// Database failures.
    pub async fn last_delivery(
        &self,
    ) -> Result<Option<(String, DeliveryState, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, delivery_state, last_error FROM partner_events WHERE attempts > 0 \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id")?;
        let state = row
            .try_get::<String, _>("delivery_state")?
            .parse::<DeliveryState>()
            .map_err(|_| StoreError::Corrupt {
                id: id.clone(),
                what: "delivery state".to_owned(),
            })?;
        Ok(Some((id, state, row.try_get("last_error")?)))
    }
}
