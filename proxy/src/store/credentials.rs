//! What the Meta provider stores besides the onboarding: its sealed business token and PIN
//! (never in clear: [`crate::vault`] seals them before they get here), the chosen
//! local-storage region. (The deregister budget is counted with the register budget, in
//! `budget.rs`.)

use sqlx::Row;

use super::rows::format_time;
use super::tx::Stmt;
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

/// A column of `meta_credentials` holding a sealed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `business_token`.
    BusinessToken,
    /// `pin`.
    Pin,
}

impl SealedColumn {
    /// The column's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SealedColumn::BusinessToken => "business_token",
            SealedColumn::Pin => "pin",
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
        self.exec(Stmt::new(
            "INSERT INTO meta_credentials (onboarding_id, business_token, data_localization_region, \
             updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (onboarding_id) DO UPDATE SET \
             business_token = $2, data_localization_region = $3, updated_at = $4",
        )
        .bind(id)
        .bind(sealed_token)
        .bind(region.map(str::to_owned))
        .bind(format_time(self.clock.now()))
        )
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
        self.exec(
            Stmt::new(
                "INSERT INTO meta_credentials (onboarding_id, pin, pin_origin, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (onboarding_id) DO UPDATE SET pin = $2, \
             pin_origin = $3, updated_at = $4",
            )
            .bind(id)
            .bind(sealed)
            .bind(origin.as_str())
            .bind(format_time(self.clock.now())),
        )
        .await?;
        Ok(())
    }

    /// Every sealed value stored: onboarding id, the field's column (`business_token` or
    /// `pin`), the sealed text. For re-sealing at start-up after a key change.
    ///
    /// # Errors
    /// Database failures.
    pub async fn sealed_secrets(&self) -> Result<Vec<(String, SealedColumn, String)>, StoreError> {
        let rows = sqlx::query("SELECT onboarding_id, business_token, pin FROM meta_credentials")
            .fetch_all(&self.write)
            .await?;
        let mut out = Vec::new();
        for row in &rows {
            let id: String = row.try_get("onboarding_id")?;
            for column in [SealedColumn::BusinessToken, SealedColumn::Pin] {
                if let Some(sealed) = row.try_get::<Option<String>, _>(column.as_str())? {
                    out.push((id.clone(), column, sealed));
                }
            }
        }
        Ok(out)
    }

    /// Replaces a sealed value with `new`, if it is still `old` (nothing else changed it
    /// meanwhile). Answers whether it was replaced.
    ///
    /// # Errors
    /// Database failures.
    pub async fn replace_sealed(
        &self,
        id: &str,
        column: SealedColumn,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let col = column.as_str();
        let n = self
            .exec(
                Stmt::new(format!(
                    "UPDATE meta_credentials SET {col} = $1, updated_at = $2 \
             WHERE onboarding_id = $3 AND {col} = $4"
                ))
                .bind(new)
                .bind(format_time(self.clock.now()))
                .bind(id)
                .bind(old),
            )
            .await?;
        Ok(n == 1)
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
}
