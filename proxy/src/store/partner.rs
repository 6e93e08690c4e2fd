//! Sessions, the partner's view of onboardings, and the outbox of partner events.
//!
//! Events are written by [`emit`] inside the transaction of the change that caused them
//! (`queries.rs`'s insert, `writes.rs`'s commits), so a change is never stored without its
//! event nor an event without its change.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use wire::{
    CountryCode, CreateSession, CustomerName, CustomerRef, Delivery, DeliveryState, EventType,
    Locale, Metadata, Mode, NumberHealth, OnboardingState, PartnerEvent, PartnerOnboarding,
    Prefill, Session,
};

use super::rows::{api_step_from_row, format_time, record_from_row, Columns, Record};
use super::writer::{self, Done};
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
    /// Set once the page checked the token (the link was opened).
    pub opened: bool,
}

impl SessionRecord {
    /// Whether the token still works at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        !self.revoked && self.expires_at > now
    }
}

/// A filter and position in the partner's list of onboardings.
#[derive(Debug, Clone, Default)]
pub struct OnboardingQuery {
    /// Only this customer's.
    pub customer_ref: Option<CustomerRef>,
    /// Only in this state.
    pub state: Option<OnboardingState>,
    /// At most this many (one more is read to know whether a next page exists).
    pub limit: u32,
    /// Strictly older than this `(created_at, id)`.
    pub before: Option<(String, String)>,
    /// Only those whose WABA id or phone number id is this (digits).
    pub search: Option<String>,
}

/// Which events a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events of this type.
    pub event_type: Option<wire::EventType>,
    /// Only this onboarding's.
    pub onboarding_id: Option<String>,
    /// Only those whose delivery stands so.
    pub delivery_state: Option<DeliveryState>,
}

/// An event a deliverer took: what to POST, and how many attempts came before.
#[derive(Debug, Clone)]
pub struct DueEvent {
    /// `evt_…`: the `webhook-id`.
    pub id: String,
    /// The body to POST, as stored.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How one delivery attempt went.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// 2xx.
    Delivered,
    /// Anything else; retried at `next` (none: no attempts left, the event is `failed`).
    Failed {
        /// Why, for the logs and the row (no secrets: a status or a transport error).
        error: String,
        /// When to try again.
        next: Option<OffsetDateTime>,
    },
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
        onboardings_created: Some(created),
        revoked_at: text("revoked_at")?,
        expires_at: text("expires_at")?.ok_or_else(|| corrupt("expires_at"))?,
        created_at: text("created_at")?.ok_or_else(|| corrupt("created_at"))?,
        customer_ref: record.customer_ref,
        id: record.id,
    })
}

/// The partner's view of one onboarding, read on `conn` (a transaction's, when an event is
/// being written, so it shows the change being committed).
pub(super) async fn partner_view(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<PartnerOnboarding>, StoreError> {
    let row = sqlx::query(VIEW_OF)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let record = record_from_row(&row)?;
    partner_view_of(conn, record, &row).await.map(Some)
}

async fn partner_view_of(
    conn: &mut AnyConnection,
    record: Record,
    row: &AnyRow,
) -> Result<PartnerOnboarding, StoreError> {
    let metadata: Option<String> = row.try_get("session_metadata")?;
    let health: Option<String> = row.try_get("health")?;
    let rows = sqlx::query(STEPS_OF)
        .bind(&record.id)
        .fetch_all(&mut *conn)
        .await?;
    let mut steps = Vec::with_capacity(rows.len());
    for row in &rows {
        steps.extend(api_step_from_row(&record.id, row)?);
    }
    assemble(record, metadata, health, steps)
}

/// The onboarding with its session's metadata (the partner's view).
const VIEW_OF: &str = "SELECT o.*, s.metadata AS session_metadata FROM onboardings o \
     LEFT JOIN sessions s ON s.id = o.session_id WHERE o.id = $1";
/// Its steps, as the API lists them.
pub(super) const STEPS_OF: &str = "SELECT step, status, attempts, result, started_at, finished_at \
     FROM onboarding_steps WHERE onboarding_id = $1 ORDER BY started_at, step";

/// [`partner_view`] on SQLite's writer thread, inside the job's transaction.
pub(super) fn partner_view_sqlite(
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<Option<PartnerOnboarding>, StoreError> {
    let found = writer::query(conn, VIEW_OF, &[&id], |row| {
        Ok((
            record_from_row(row)?,
            row.text("session_metadata")?,
            row.text("health")?,
        ))
    })?;
    let Some((record, metadata, health)) = found.into_iter().next() else {
        return Ok(None);
    };
    let steps = writer::query(conn, STEPS_OF, &[&id], |row| api_step_from_row(id, row))?;
    assemble(
        record,
        metadata,
        health,
        steps.into_iter().flatten().collect(),
    )
    .map(Some)
}

/// The partner's view from the stored onboarding, its session's metadata and its number's
/// health (JSON text each) and its steps.
fn assemble(
    record: Record,
    metadata: Option<String>,
    health: Option<String>,
    steps: Vec<wire::OnboardingStep>,
) -> Result<PartnerOnboarding, StoreError> {
    let health = health
        .map(|h| {
            serde_json::from_str::<NumberHealth>(&h).map_err(|_| StoreError::Corrupt {
                id: record.id.clone(),
                what: "health".to_owned(),
            })
        })
        .transpose()?;
    let metadata = metadata
        .map(|m| {
            serde_json::from_str::<Metadata>(&m).map_err(|_| StoreError::Corrupt {
                id: record.id.clone(),
                what: "session metadata".to_owned(),
            })
        })
        .transpose()?;
    let session_id = record.session_id.clone();
    let customer_ref_verified = record.customer_ref_verified;
    Ok(PartnerOnboarding {
        onboarding: record.into_api(steps),
        session_id,
        metadata,
        customer_ref_verified,
        health,
        change: None,
    })
}

/// Writes the event `kind` about onboarding `id` on `conn` (inside the change's transaction),
/// with the onboarding as it now stands. `deliver`: whether a webhook URL is configured.
pub(super) async fn emit(
    conn: &mut AnyConnection,
    id: &str,
    kind: EventType,
    now: &str,
    deliver: bool,
) -> Result<(), StoreError> {
    let Some(data) = partner_view(conn, id).await? else {
        return Ok(());
    };
    EventRow::new(id, kind, now, deliver, &data)?
        .insert(conn)
        .await
}

/// [`emit`] on SQLite's writer thread.
pub(super) fn emit_sqlite(
    conn: &rusqlite::Connection,
    id: &str,
    kind: EventType,
    now: &str,
    deliver: bool,
) -> Result<(), StoreError> {
    let Some(data) = partner_view_sqlite(conn, id)? else {
        return Ok(());
    };
    EventRow::new(id, kind, now, deliver, &data)?.insert_sqlite(conn)
}

/// One partner event as it is inserted: built before the transaction when the caller knows
/// the onboarding without reading it (the insert of a new one).
#[derive(Debug)]
pub(super) struct EventRow {
    id: String,
    kind: EventType,
    onboarding_id: String,
    created_at: String,
    data: String,
    state: DeliveryState,
    next_attempt_at: Option<String>,
}

const INSERT_EVENT: &str = "INSERT INTO partner_events (id, type, onboarding_id, created_at, \
     data, delivery_state, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)";

impl EventRow {
    /// The event `kind` about onboarding `id` with `data`, the onboarding as the change
    /// leaves it. `deliver`: whether a webhook URL is configured.
    pub(super) fn new(
        id: &str,
        kind: EventType,
        now: &str,
        deliver: bool,
        data: &PartnerOnboarding,
    ) -> Result<Self, StoreError> {
        let data = serde_json::to_string(data).map_err(|e| StoreError::Corrupt {
            id: id.to_owned(),
            what: e.to_string(),
        })?;
        Ok(Self::with_data(id, kind, now, deliver, data))
    }

    /// The event `kind` about no onboarding (`signup.*`), with `data` as its `data`.
    pub(super) fn about_signup(
        kind: EventType,
        now: &str,
        deliver: bool,
        data: &wire::SignupOutcome,
    ) -> Result<Self, StoreError> {
        let data = serde_json::to_string(data).map_err(|e| StoreError::Corrupt {
            id: String::new(),
            what: e.to_string(),
        })?;
        // No onboarding: the column (NOT NULL) holds the empty string.
        Ok(Self::with_data("", kind, now, deliver, data))
    }

    fn with_data(id: &str, kind: EventType, now: &str, deliver: bool, data: String) -> Self {
        Self {
            id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
            kind,
            onboarding_id: id.to_owned(),
            created_at: now.to_owned(),
            data,
            state: match deliver {
                true => DeliveryState::Pending,
                false => DeliveryState::Disabled,
            },
            next_attempt_at: deliver.then(|| now.to_owned()),
        }
    }

    /// Inserts it through sqlx.
    pub(super) async fn insert(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        sqlx::query(INSERT_EVENT)
            .bind(&self.id)
            .bind(self.kind.as_str())
            .bind(&self.onboarding_id)
            .bind(&self.created_at)
            .bind(&self.data)
            .bind(self.state.as_str())
            .bind(&self.next_attempt_at)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Inserts it on SQLite's writer thread.
    pub(super) fn insert_sqlite(&self, conn: &rusqlite::Connection) -> Result<(), StoreError> {
        writer::exec(
            conn,
            INSERT_EVENT,
            &[
                &self.id,
                &self.kind.as_str(),
                &self.onboarding_id,
                &self.created_at,
                &self.data,
                &self.state.as_str(),
                &self.next_attempt_at,
            ],
        )?;
        Ok(())
    }
}

fn event_from_row(row: &AnyRow) -> Result<PartnerEvent, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt {
        id: id.clone(),
        what: what.to_owned(),
    };
    let kind = row
        .try_get::<String, _>("type")?
        .parse::<EventType>()
        .map_err(|_| corrupt("event type"))?;
    let state = row
        .try_get::<String, _>("delivery_state")?
        .parse::<DeliveryState>()
        .map_err(|_| corrupt("delivery state"))?;
    let data: String = row.try_get("data")?;
    let data = match kind {
        EventType::SignupCancelled | EventType::SignupFailed => {
            wire::EventData::Signup(serde_json::from_str(&data).map_err(|_| corrupt("event data"))?)
        }
        _ => wire::EventData::Onboarding(Box::new(
            serde_json::from_str(&data).map_err(|_| corrupt("event data"))?,
        )),
    };
    let attempts: i64 = row.try_get("attempts")?;
    Ok(PartnerEvent {
        kind,
        created_at: row.try_get("created_at")?,
        data,
        delivery: Some(Delivery {
            state,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            last_error: match state {
                DeliveryState::Delivered => None,
                _ => row.try_get("last_error")?,
            },
            next_attempt_at: match state {
                DeliveryState::Pending => row.try_get("next_attempt_at")?,
                _ => None,
            },
        }),
        id,
    })
}

/// The webhook body of an event: `{"id","type","created_at","data"}`, built from the stored
/// text without parsing `data` again.
fn webhook_body(row: &impl Columns) -> Result<String, StoreError> {
    let id = row.string("id")?;
    let kind = row.string("type")?;
    let created_at = row.string("created_at")?;
    let data = row.string("data")?;
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    Ok(format!(
        "{{\"id\":{},\"type\":{},\"created_at\":{},\"data\":{data}}}",
        quote(&id),
        quote(&kind),
        quote(&created_at)
    ))
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
        let _gate = self.exclusive().await;
        sqlx::query(
            "INSERT INTO sessions (id, token_sha256, customer_ref, modes, metadata, locale, \
             data_localization_region, onboardings_created, expires_at, created_at, return_url, \
             prefill, customer_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12)",
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
        .execute(&self.write)
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
        // committed), so a revocation answered 204 is already seen here.
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
        let _gate = self.exclusive().await;
        let n =
            sqlx::query("UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&self.write)
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    /// The partner's view of one onboarding.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_onboarding(
        &self,
        id: &str,
    ) -> Result<Option<PartnerOnboarding>, StoreError> {
        let mut conn = self.read.acquire().await?;
        partner_view(&mut conn, id).await
    }

    /// A page of onboardings, newest first, and whether more follow.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_onboardings(
        &self,
        query: &OnboardingQuery,
    ) -> Result<(Vec<PartnerOnboarding>, bool), StoreError> {
        let mut sql = String::from(
            "SELECT o.*, s.metadata AS session_metadata FROM onboardings o \
             LEFT JOIN sessions s ON s.id = o.session_id WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if query.customer_ref.is_some() {
            sql.push_str(&format!(" AND o.customer_ref = ${}", next()));
        }
        if query.state.is_some() {
            sql.push_str(&format!(" AND o.state = ${}", next()));
        }
        if query.search.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(
                " AND (o.waba_id = ${a} OR o.phone_number_id = ${b})"
            ));
        }
        if query.before.is_some() {
            let (a, b, c) = (next(), next(), next());
            sql.push_str(&format!(
                " AND (o.created_at < ${a} OR (o.created_at = ${b} AND o.id < ${c}))"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY o.created_at DESC, o.id DESC LIMIT ${}",
            next()
        ));
        let mut q = sqlx::query(&sql);
        if let Some(c) = &query.customer_ref {
            q = q.bind(c.as_str().to_owned());
        }
        if let Some(s) = query.state {
            q = q.bind(s.as_str());
        }
        if let Some(search) = &query.search {
            q = q.bind(search.clone()).bind(search.clone());
        }
        if let Some((created_at, id)) = &query.before {
            q = q
                .bind(created_at.clone())
                .bind(created_at.clone())
                .bind(id.clone());
        }
        let mut conn = self.read.acquire().await?;
        let rows = q
            .bind(i64::from(query.limit) + 1)
            .fetch_all(&mut *conn)
            .await?;
        let more = rows.len() > query.limit as usize;
        let mut out = Vec::with_capacity(rows.len().min(query.limit as usize));
        for row in rows.iter().take(query.limit as usize) {
            let record = record_from_row(row)?;
            out.push(partner_view_of(&mut conn, record, row).await?);
        }
        Ok((out, more))
    }

    /// Events after `after` (an event id), oldest first, at most `limit`, only those
    /// `filter` keeps.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_events(
        &self,
        after: Option<&str>,
        limit: u32,
        filter: &EventFilter,
    ) -> Result<Vec<PartnerEvent>, StoreError> {
        let mut sql = String::from("SELECT * FROM partner_events WHERE id > $1");
        let mut n = 1;
        if filter.event_type.is_some() {
            n += 1;
            sql.push_str(&format!(" AND type = ${n}"));
        }
        if filter.onboarding_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND onboarding_id = ${n}"));
        }
        if filter.delivery_state.is_some() {
            n += 1;
            sql.push_str(&format!(" AND delivery_state = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", n + 1));
        let mut q = sqlx::query(&sql).bind(after.unwrap_or(""));
        if let Some(kind) = &filter.event_type {
            q = q.bind(kind.as_str());
        }
        if let Some(id) = &filter.onboarding_id {
            q = q.bind(id.clone());
        }
        if let Some(state) = filter.delivery_state {
            q = q.bind(state.as_str());
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.read).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Takes up to `max` events due for delivery at `now`, leasing each until `lease_until`
    /// so no other deliverer (here or in another instance) posts it meanwhile. One
    /// `UPDATE … RETURNING` takes them all and answers them: the writer is the store's
    /// bottleneck, so a round costs it one statement, not one per event (nor a second one
    /// reading them back, which found them by a column without an index: a scan of the
    /// whole outbox per round).
    ///
    /// # Errors
    /// Database failures.
    pub async fn take_due_events(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        max: u32,
    ) -> Result<Vec<DueEvent>, StoreError> {
        let now = format_time(now);
        let lease_until = format_time(lease_until);
        let round = uuid::Uuid::new_v4().simple().to_string();
        let pending = DeliveryState::Pending.as_str();
        let max = i64::from(max);
        let mut due = match &self.writer {
            Some(writer) => {
                writer
                    .run(move |conn| {
                        let params: [&dyn rusqlite::ToSql; 5] =
                            [&round, &lease_until, &pending, &now, &max];
                        writer::query(conn, TAKE_DUE_SQLITE, &params, |row| due_event(row))
                            .map(Done::Keep)
                    })
                    .await?
            }
            None => sqlx::query(TAKE_DUE)
                .bind(&round)
                .bind(&lease_until)
                .bind(pending)
                .bind(&now)
                .bind(max)
                .fetch_all(&self.write)
                .await?
                .iter()
                .map(due_event)
                .collect::<Result<Vec<_>, StoreError>>()?,
        };
        // RETURNING answers in no particular order; ids sort by creation.
        due.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(due)
    }

    /// Records how a round's attempts went and releases their leases, in one transaction:
    /// the delivered ones in one statement, each failure in its own (it has its own next
    /// time).
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_attempts(&self, outcomes: &[(String, Attempt)]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let statements = attempt_statements(outcomes);
        if let Some(writer) = &self.writer {
            return writer
                .run(move |conn| {
                    for (sql, params) in &statements {
                        let params: Vec<&dyn rusqlite::ToSql> =
                            params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
                        writer::exec(conn, sql, &params)?;
                    }
                    Ok(Done::Keep(()))
                })
                .await;
        }
        let mut tx = self.write.begin().await?;
        for (sql, params) in statements {
            let mut q = sqlx::query(&sql);
            for p in params {
                q = q.bind(p);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

// The conditions stand in the outer WHERE too: PostgreSQL re-checks them on a row another
// instance leased between the subquery and the update.
const TAKE_DUE: &str = "UPDATE partner_events SET lease_owner = $1, lease_until = $2 \
     WHERE delivery_state = $3 AND next_attempt_at <= $4 \
     AND (lease_until IS NULL OR lease_until < $4) AND id IN (\
       SELECT id FROM partner_events WHERE delivery_state = $3 \
       AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until < $4) \
       ORDER BY next_attempt_at, id LIMIT $5) \
     RETURNING id, type, created_at, data, attempts";

/// [`TAKE_DUE`] for SQLite's writer thread, the one writer of its database: nobody can lease
/// a row between the subquery and the update, so the outer WHERE only names the rows. (With
/// the conditions repeated there, SQLite's planner walked the whole backlog of pending events
/// by the due index for every round, instead of looking the few ids up.)
const TAKE_DUE_SQLITE: &str = "UPDATE partner_events SET lease_owner = $1, lease_until = $2 \
     WHERE id IN (\
       SELECT id FROM partner_events WHERE delivery_state = $3 \
       AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until < $4) \
       ORDER BY next_attempt_at, id LIMIT $5) \
     RETURNING id, type, created_at, data, attempts";

/// One event [`TAKE_DUE`] answered.
fn due_event(row: &impl Columns) -> Result<DueEvent, StoreError> {
    Ok(DueEvent {
        id: row.string("id")?,
        body: webhook_body(row)?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
    })
}

/// The statements recording a round's outcomes (parameters: text or NULL): the delivered
/// ones in one, each failure in its own (it has its own next time).
fn attempt_statements(outcomes: &[(String, Attempt)]) -> Vec<(String, Vec<Option<String>>)> {
    let mut statements = Vec::new();
    let delivered: Vec<Option<String>> = outcomes
        .iter()
        .filter(|(_, a)| matches!(a, Attempt::Delivered))
        .map(|(id, _)| Some(id.clone()))
        .collect();
    if !delivered.is_empty() {
        let list = (0..delivered.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE partner_events SET delivery_state = $1, attempts = attempts + 1, \
             next_attempt_at = NULL, last_error = NULL, lease_owner = NULL, \
             lease_until = NULL WHERE id IN ({list})"
        );
        let mut params = vec![Some(DeliveryState::Delivered.as_str().to_owned())];
        params.extend(delivered);
        statements.push((sql, params));
    }
    for (id, attempt) in outcomes {
        let (state, next, error) = match attempt {
            Attempt::Delivered => continue,
            Attempt::Failed {
                error,
                next: Some(t),
            } => (DeliveryState::Pending, Some(format_time(*t)), error),
            Attempt::Failed { error, next: None } => (DeliveryState::Failed, None, error),
        };
        statements.push((
            "UPDATE partner_events SET delivery_state = $1, attempts = attempts + 1, \
             next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4"
                .to_owned(),
            vec![
                Some(state.as_str().to_owned()),
                next,
                Some(error.clone()),
                Some(id.clone()),
            ],
        ));
    }
    statements
}
