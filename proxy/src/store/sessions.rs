//! Sessions: the partner's hand-offs of one customer, as the proxy checks them (by their
//! token's hash) and as the partner API lists them.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use wire::{
    CountryCode, CreateSession, CustomerName, CustomerRef, Locale, Metadata, Mode, Prefill, Session,
};

use super::cache::Kept;
use super::rows::format_time;
use super::tx::Stmt;
use super::{Store, StoreError};

/// A stored session, as the proxy checks it (never its token).
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The partner's handle.
    pub id: String,
    /// Who the customer is.
    pub customer_ref: CustomerRef,
    /// The flows allowed.
    pub modes: Vec<Mode>,
    /// The page's language.
    pub locale: Option<Locale>,
    /// Local-storage region for registration.
    pub data_localization_region: Option<CountryCode>,
    /// The partner's own data, handed back with each onboarding and event.
    pub metadata: Option<Metadata>,
    /// When the token stops working.
    pub expires_at: OffsetDateTime,
    /// Set once revoked.
    pub revoked: bool,
    /// Where the finished page links back to.
    pub return_url: Option<String>,
    /// What Embedded Signup's screens open filled in with.
    pub prefill: Option<Prefill>,
    /// The customer's name shown on the page.
    pub customer_name: Option<CustomerName>,
    /// The onboarding whose business token this session renews.
    pub reauthorize_onboarding_id: Option<String>,
    /// Set once the page checked the token (the link was opened).
    pub opened: bool,
}

impl SessionRecord {
    /// Whether the token still works at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        !self.revoked && self.expires_at > now
    }
}

fn modes_text(modes: &[Mode]) -> String {
    modes
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt {
        id: id.clone(),
        what: what.to_owned(),
    };
    let modes: String = row.try_get("modes")?;
    let modes = modes
        .split(',')
        .map(|m| m.parse::<Mode>().map_err(|_| corrupt("modes")))
        .collect::<Result<Vec<_>, _>>()?;
    let text = |col: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(col)?) };
    Ok(SessionRecord {
        customer_ref: CustomerRef::parse(row.try_get::<String, _>("customer_ref")?)
            .map_err(|_| corrupt("customer_ref"))?,
        modes,
        locale: text("locale")?
            .map(|l| l.parse::<Locale>().map_err(|_| corrupt("locale")))
            .transpose()?,
        data_localization_region: text("data_localization_region")?
            .map(|r| CountryCode::parse(r).map_err(|_| corrupt("data_localization_region")))
            .transpose()?,
        expires_at: text("expires_at")?
            .as_deref()
            .and_then(super::parse_time)
            .ok_or_else(|| corrupt("expires_at"))?,
        revoked: text("revoked_at")?.is_some(),
        opened: text("opened_at")?.is_some(),
        metadata: text("metadata")?
            .map(|m| serde_json::from_str::<Metadata>(&m).map_err(|_| corrupt("metadata")))
            .transpose()?,
        return_url: text("return_url")?,
        prefill: text("prefill")?
            .map(|p| serde_json::from_str::<Prefill>(&p).map_err(|_| corrupt("prefill")))
            .transpose()?,
        customer_name: text("customer_name")?
            .map(|n| CustomerName::parse(n).map_err(|_| corrupt("customer_name")))
            .transpose()?,
        reauthorize_onboarding_id: text("reauthorize_onboarding_id")?,
        id,
    })
}

/// A session row as the partner API shows it: no token, with its count and revocation.
fn session_view(row: &AnyRow) -> Result<Session, StoreError> {
    let record = session_from_row(row)?;
    let text = |col: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(col)?) };
    let corrupt = |what: &str| StoreError::Corrupt {
        id: record.id.clone(),
        what: what.to_owned(),
    };
    let created: i64 = row.try_get("onboardings_created")?;
    Ok(Session {
        token: None,
        url: None,
        modes: record.modes.clone(),
        metadata: record.metadata.clone(),
        locale: record.locale,
        data_localization_region: text("data_localization_region")?
            .map(|r| {
                serde_json::from_value(serde_json::Value::String(r))
                    .map_err(|_| corrupt("data_localization_region"))
            })
            .transpose()?,
        return_url: record.return_url.clone(),
        prefill: record.prefill.clone(),
        customer_name: record.customer_name.clone(),
        reauthorize_onboarding_id: record.reauthorize_onboarding_id.clone(),
        onboardings_created: Some(created),
        revoked_at: text("revoked_at")?,
        expires_at: text("expires_at")?.ok_or_else(|| corrupt("expires_at"))?,
        created_at: text("created_at")?.ok_or_else(|| corrupt("created_at"))?,
        customer_ref: record.customer_ref,
        id: record.id,
    })
}

impl Store {
    /// Stores a new session for `req`, its token known only by `token_sha256`; answers it
    /// (without token or URL, which the caller adds).
    ///
    /// # Errors
    /// Database failures.
    pub async fn insert_session(
        &self,
        req: &CreateSession,
        token_sha256: &str,
    ) -> Result<Session, StoreError> {
        let id = super::rows::new_row_id();
        let now = self.clock.now();
        let expires_at =
            format_time(now + time::Duration::seconds(req.expires_in.seconds().into()));
        let created_at = format_time(now);
        let modes = req.modes.clone().unwrap_or_else(|| Mode::ALL.to_vec());
        let mut modes_dedup: Vec<Mode> = Vec::new();
        for m in modes {
            if !modes_dedup.contains(&m) {
                modes_dedup.push(m);
            }
        }
        let metadata = req
            .metadata
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default());
        let prefill = req
            .prefill
            .as_ref()
            .map(|p| serde_json::to_string(p).unwrap_or_default());
        self.exec(
            Stmt::new(
                "INSERT INTO sessions (id, token_sha256, customer_ref, modes, metadata, locale, \
             data_localization_region, onboardings_created, expires_at, created_at, return_url, \
             prefill, customer_name, reauthorize_onboarding_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&id)
            .bind(token_sha256)
            .bind(req.customer_ref.as_str())
            .bind(modes_text(&modes_dedup))
            .bind(metadata)
            .bind(req.locale.map(|l| l.as_str()))
            .bind(
                req.data_localization_region
                    .as_ref()
                    .map(|r| r.as_str().to_owned()),
            )
            .bind(&expires_at)
            .bind(&created_at)
            .bind(req.return_url.as_deref())
            .bind(prefill)
            .bind(req.customer_name.as_ref().map(CustomerName::as_str))
            .bind(req.reauthorize_onboarding_id.as_deref()),
        )
        .await?;
        Ok(Session {
            id,
            token: None,
            url: None,
            customer_ref: req.customer_ref.clone(),
            modes: modes_dedup,
            metadata: req.metadata.clone(),
            locale: req.locale,
            data_localization_region: req.data_localization_region.clone(),
            return_url: req.return_url.clone(),
            prefill: req.prefill.clone(),
            customer_name: req.customer_name.clone(),
            reauthorize_onboarding_id: req.reauthorize_onboarding_id.clone(),
            onboardings_created: None,
            revoked_at: None,
            expires_at,
            created_at,
        })
    }

    /// One session as the partner reads it (never its token).
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(session_view).transpose()
    }

    /// A page of sessions, newest first: `customer_ref`'s only when given, strictly older
    /// than `before` (`created_at`, id); one more than `limit` is read to know whether
    /// another page follows.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_sessions(
        &self,
        customer_ref: Option<&CustomerRef>,
        before: Option<&(String, String)>,
        limit: u32,
    ) -> Result<(Vec<Session>, bool), StoreError> {
        let (at, id) = before
            .map(|(a, i)| (Some(a.as_str()), Some(i.as_str())))
            .unwrap_or((None, None));
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE ($1 IS NULL OR customer_ref = $1) \
             AND ($2 IS NULL OR created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(customer_ref.map(CustomerRef::as_str))
        .bind(at)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.read)
        .await?;
        let mut data = rows
            .iter()
            .map(session_view)
            .collect::<Result<Vec<_>, _>>()?;
        let more = data.len() > limit as usize;
        data.truncate(limit as usize);
        Ok((data, more))
    }

    /// The session whose token hashes to `token_sha256`, live or not.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn session_by_token(
        &self,
        token_sha256: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        // A reader sees every commit made before its query began (WAL; PostgreSQL's read
        // committed), so a revocation answered 204 is already seen here. With SQLite the
        // row is kept in memory: only a revocation or the page's first open changes it, and
        // each drops what is kept.
        let kept = self.cache.as_deref().map(|c| &c.sessions);
        Kept::through(kept, token_sha256, self.read_session(token_sha256)).await
    }

    async fn read_session(&self, token_sha256: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_sha256 = $1")
            .bind(token_sha256)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// The session with this id, live or not.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn session_by_id(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Revokes a session; false when no session has this id.
    ///
    /// # Errors
    /// Database failures.
    pub async fn revoke_session(&self, id: &str) -> Result<bool, StoreError> {
        let now = format_time(self.clock.now());
        let n = self
            .exec(
                Stmt::new(
                    "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
                )
                .bind(now)
                .bind(id),
            )
            .await?;
        // It, and its client tokens' grants, as kept by `session_by_token` and
        // `client_grant`, are no longer live.
        self.forget_session(id, true);
        Ok(n == 1)
    }
}
