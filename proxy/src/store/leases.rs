//! Row leases: which instance runs an onboarding's steps. Several instances may share one
//! PostgreSQL database; a lease is taken with one conditional `UPDATE` (whose row count says
//! whether it was), renewed while the steps run, released at the end, and free for anyone
//! once expired, so the rows of an instance that crashed are picked up by the others.
//!
//! Times are the store's fixed-width text, read from the instances' clocks: their clocks
//! must agree to well within a lease period.

use sqlx::Row;
use time::OffsetDateTime;
use wire::OnboardingState;

use super::rows::format_time;
use super::tx::Stmt;
use super::{Store, StoreError};

/// Which unfinished onboardings [`Store::unfinished`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unleased {
    /// Those nobody holds: never leased, released, or expired (a start-up).
    Free,
    /// Only those whose lease expired: left by an instance that stopped renewing it (the
    /// periodic sweep; a released lease is an instance saying it is done for now).
    Expired,
}

impl Store {
    /// Takes onboarding `id` for `owner` until `until`, unless another owner's lease is still
    /// live at `now`; `owner`'s own lease is renewed. True when taken.
    ///
    /// # Errors
    /// Database failures.
    pub async fn take_lease(
        &self,
        id: &str,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let taken = self
            .exec(
                Stmt::new(
                    "UPDATE onboardings SET lease_owner = $1, lease_until = $2 WHERE id = $3 \
             AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)",
                )
                .bind(owner)
                .bind(format_time(until))
                .bind(id)
                .bind(format_time(now)),
            )
            .await?;
        Ok(taken == 1)
    }

    /// Extends `owner`'s lease on `id` to `until`; false when it is no longer `owner`'s
    /// (it expired and another instance took it).
    ///
    /// # Errors
    /// Database failures.
    pub async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let renewed = self
            .exec(
                Stmt::new(
                    "UPDATE onboardings SET lease_until = $1 WHERE id = $2 AND lease_owner = $3",
                )
                .bind(format_time(until))
                .bind(id)
                .bind(owner),
            )
            .await?;
        Ok(renewed == 1)
    }

    /// Gives `owner`'s lease on `id` up; nothing when it is not `owner`'s.
    ///
    /// # Errors
    /// Database failures.
    pub async fn release_lease(&self, id: &str, owner: &str) -> Result<(), StoreError> {
        const RELEASE: &str = "UPDATE onboardings SET lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2";
        self.exec(Stmt::new(RELEASE).bind(id).bind(owner)).await?;
        Ok(())
    }

    /// Ids of onboardings that must be picked up again (any state that is neither final nor
    /// waiting for a person) and that nobody holds at `now`, as `which` says; oldest first.
    ///
    /// # Errors
    /// Database failures.
    pub async fn unfinished(
        &self,
        now: OffsetDateTime,
        which: Unleased,
    ) -> Result<Vec<String>, StoreError> {
        let lease = match which {
            Unleased::Free => "(lease_until IS NULL OR lease_until < $4)",
            Unleased::Expired => "lease_until < $4",
        };
        let rows = sqlx::query(&format!(
            "SELECT id FROM onboardings WHERE state IN ($1, $2, $3) AND {lease} \
             ORDER BY created_at"
        ))
        .bind(OnboardingState::Binding.as_str())
        .bind(OnboardingState::Registering.as_str())
        .bind(OnboardingState::Pending.as_str())
        .bind(format_time(now))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(Into::into))
            .collect()
    }
}
