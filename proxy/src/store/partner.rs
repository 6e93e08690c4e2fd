//! The partner's view of onboardings: one onboarding with its session's metadata, its
//! number's health and its steps, and the partner's filtered pages of them.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wire::{CustomerRef, Metadata, NumberHealth, OnboardingState, PartnerOnboarding};

use super::rows::{api_step_from_row, record_from_row, Record};
use super::tx::{Sqlx, Stmt, Tx};
use super::{Store, StoreError};

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
    /// Only those whose WABA id, phone number id or display phone number is this (digits;
    /// the display number is compared without its `+`, spaces, dashes, dots and brackets).
    pub search: Option<String>,
}

/// The partner's view of one onboarding, read on `tx` (a transaction's, when an event is
/// being written, so it shows the change being committed).
pub(super) async fn partner_view(
    tx: &mut impl Tx,
    id: &str,
) -> Result<Option<PartnerOnboarding>, StoreError> {
    let found = tx
        .query_first(&Stmt::new(VIEW_OF).bind(id), |row| {
            Ok((
                record_from_row(row)?,
                row.text("session_metadata")?,
                row.text("health")?,
            ))
        })
        .await?;
    let Some((record, metadata, health)) = found else {
        return Ok(None);
    };
    let steps = tx
        .query(&Stmt::new(STEPS_OF).bind(id), |row| {
            api_step_from_row(id, row)
        })
        .await?;
    assemble(
        record,
        metadata,
        health,
        steps.into_iter().flatten().collect(),
    )
    .map(Some)
}

async fn partner_view_of(
    conn: &mut AnyConnection,
    record: Record,
    row: &AnyRow,
) -> Result<PartnerOnboarding, StoreError> {
    let metadata: Option<String> = row.try_get("session_metadata")?;
    let health: Option<String> = row.try_get("health")?;
    let steps = Sqlx(conn)
        .query(&Stmt::new(STEPS_OF).bind(&record.id), |row| {
            api_step_from_row(&record.id, row)
        })
        .await?;
    assemble(
        record,
        metadata,
        health,
        steps.into_iter().flatten().collect(),
    )
}

/// The stored phone number object (YCloud's `displayPhoneNumber` or Meta's
/// `display_phone_number`, raw JSON) lower-cased, without underscores and without what people
/// write between a number's digits, so `"+1 555-0100"` reads `"displayphonenumber":"15550100"`.
/// Portable SQL (no JSON functions differ between SQLite and PostgreSQL); only a search
/// evaluates it.
const DISPLAY_DIGITS: &str = "LOWER(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(\
     o.phone_number, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''), '.', ''), '_', ''))";

/// The onboarding with its session's metadata (the partner's view).
const VIEW_OF: &str = "SELECT o.*, s.metadata AS session_metadata FROM onboardings o \
     LEFT JOIN sessions s ON s.id = o.session_id WHERE o.id = $1";

/// Its steps, as the API lists them.
pub(super) const STEPS_OF: &str = "SELECT step, status, attempts, result, started_at, finished_at \
     FROM onboarding_steps WHERE onboarding_id = $1 ORDER BY started_at, step";

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

impl Store {
    /// The partner's view of one onboarding.
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn partner_onboarding(
        &self,
        id: &str,
    ) -> Result<Option<PartnerOnboarding>, StoreError> {
        let mut conn = self.read.acquire().await?;
        partner_view(&mut Sqlx(&mut conn), id).await
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
            let (a, b, c) = (next(), next(), next());
            sql.push_str(&format!(
                " AND (o.waba_id = ${a} OR o.phone_number_id = ${b} OR {DISPLAY_DIGITS} LIKE ${c})"
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
            q = q
                .bind(search.clone())
                .bind(search.clone())
                .bind(format!("%\"displayphonenumber\":\"{search}\"%"));
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
}
