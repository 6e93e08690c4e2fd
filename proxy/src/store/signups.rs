//! Popup outcomes that never create an onboarding (`POST /api/signup-events`): one row each
//! in `signup_events` (launches, cancels, errors: the partner's funnel), and for a cancel or
//! an error a `signup.cancelled` / `signup.failed` partner event in the same transaction.

use sqlx::Row;
use wire::{EventType, Mode, ReportSignupEvent, SignupEventKind, SignupOutcome};

use super::events::EventRow;
use super::rows::format_time;
use super::tx::{Statements, Stmt};
use super::{Store, StoreError};

/// One stored popup outcome, as the funnel reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignupRecord {
    /// `sig_` and a time-ordered suffix.
    pub id: String,
    /// `LAUNCH`, `CANCEL` or `ERROR`.
    pub kind: SignupEventKind,
    /// The button's mode.
    pub mode: Mode,
    /// The session the page carried.
    pub session_id: Option<String>,
    /// The session's customer.
    pub customer_ref: Option<String>,
    /// Where the customer stopped.
    pub current_step: Option<String>,
    /// Meta's flow error code.
    pub error_code: Option<String>,
    /// Meta's text for it (plain text).
    pub error_message: Option<String>,
    /// Meta's `session_id` of the popup run.
    pub meta_session_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// The popup side of the funnel ([`Store::signup_funnel`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignupFunnel {
    /// Popups launched.
    pub launched: u64,
    /// Popups closed before the end, by step.
    pub cancelled: Vec<(String, u64)>,
    /// Popups ending in an error, by code.
    pub errors: Vec<(String, u64)>,
}

/// The partner event a reported outcome becomes: none for a launch, `signup.failed` when
/// Meta gave an error code, `signup.cancelled` otherwise.
pub fn partner_event_of(report: &ReportSignupEvent) -> Option<EventType> {
    match report.event {
        SignupEventKind::Launch => None,
        _ if report.error_code.is_some() => Some(EventType::SignupFailed),
        SignupEventKind::Error => Some(EventType::SignupFailed),
        SignupEventKind::Cancel => Some(EventType::SignupCancelled),
    }
}

const INSERT: &str = "INSERT INTO signup_events (id, kind, mode, session_id, customer_ref, \
     current_step, error_code, error_message, meta_session_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

impl Store {
    /// Stores a popup outcome reported for `session_id`'s customer (none: no session), with
    /// its partner event when it has one, in one transaction. Answers the stored row.
    ///
    /// # Errors
    /// Database failures.
    pub async fn record_signup_event(
        &self,
        report: &ReportSignupEvent,
        session_id: Option<&str>,
        customer_ref: Option<&wire::CustomerRef>,
    ) -> Result<SignupRecord, StoreError> {
        let now = format_time(self.clock.now());
        let record = SignupRecord {
            id: format!("sig_{}", uuid::Uuid::now_v7().simple()),
            kind: report.event,
            mode: report.mode,
            session_id: session_id.map(str::to_owned),
            customer_ref: customer_ref.map(|c| c.as_str().to_owned()),
            current_step: report.current_step.as_ref().map(|s| s.as_str().to_owned()),
            error_code: report.error_code.as_ref().map(|s| s.as_str().to_owned()),
            error_message: report.error_message.as_ref().map(|s| s.as_str().to_owned()),
            meta_session_id: report
                .meta_session_id
                .as_ref()
                .map(|s| s.as_str().to_owned()),
            created_at: now.clone(),
        };
        let event = match partner_event_of(report) {
            None => None,
            Some(kind) => {
                let outcome = SignupOutcome {
                    session_id: record.session_id.clone(),
                    customer_ref: customer_ref.cloned(),
                    mode: report.mode,
                    current_step: report.current_step.clone(),
                    error_code: report.error_code.clone(),
                    meta_session_id: report.meta_session_id.clone(),
                };
                Some(EventRow::about_signup(
                    kind,
                    &now,
                    self.deliver_events,
                    &outcome,
                )?)
            }
        };
        let insert = Stmt::new(INSERT)
            .bind(&record.id)
            .bind(record.kind.as_str())
            .bind(record.mode.as_str())
            .bind(&record.session_id)
            .bind(record.customer_ref.clone())
            .bind(&record.current_step)
            .bind(&record.error_code)
            .bind(&record.error_message)
            .bind(&record.meta_session_id)
            .bind(&record.created_at);
        let mut statements = vec![insert];
        statements.extend(event.as_ref().map(EventRow::insert));
        self.transact(Statements(statements)).await?;
        if event.is_some() {
            self.wake_outbox();
        }
        Ok(record)
    }

    /// The popup side of the funnel since `since`: launches, cancels by the step the
    /// customer left at, and errors by Meta's code (`unknown` when the popup named none),
    /// each list largest first.
    ///
    /// # Errors
    /// Database failures.
    pub async fn signup_funnel(
        &self,
        since: time::OffsetDateTime,
    ) -> Result<SignupFunnel, StoreError> {
        let since = format_time(since);
        let launched: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM signup_events WHERE created_at >= $1 AND kind = $2",
        )
        .bind(&since)
        .bind(SignupEventKind::Launch.as_str())
        .fetch_one(&self.read)
        .await?
        .try_get("n")?;
        let grouped = |sql: &'static str| {
            let since = since.clone();
            async move {
                let rows = sqlx::query(sql).bind(since).fetch_all(&self.read).await?;
                rows.iter()
                    .map(|r| {
                        let key: Option<String> = r.try_get("k")?;
                        let n: i64 = r.try_get("n")?;
                        Ok((
                            key.unwrap_or_else(|| "unknown".to_owned()),
                            u64::try_from(n).unwrap_or(0),
                        ))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            }
        };
        let cancelled = grouped(
            "SELECT current_step AS k, COUNT(*) AS n FROM signup_events WHERE created_at >= $1 \
             AND kind = 'CANCEL' AND error_code IS NULL GROUP BY current_step ORDER BY n DESC, k",
        )
        .await?;
        let errors = grouped(
            "SELECT error_code AS k, COUNT(*) AS n FROM signup_events WHERE created_at >= $1 \
             AND (kind = 'ERROR' OR error_code IS NOT NULL) GROUP BY error_code \
             ORDER BY n DESC, k",
        )
        .await?;
        Ok(SignupFunnel {
            launched: u64::try_from(launched).unwrap_or(0),
            cancelled,
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: serde_json::Value) -> ReportSignupEvent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn launches_feed_only_the_funnel_and_errors_fail() {
        let launch = report(serde_json::json!({"mode": "standard", "event": "LAUNCH"}));
        assert_eq!(partner_event_of(&launch), None);
        let cancel = report(serde_json::json!({"mode": "standard", "event": "CANCEL",
            "current_step": "PHONE_NUMBER_VERIFICATION"}));
        assert_eq!(partner_event_of(&cancel), Some(EventType::SignupCancelled));
        let reported = report(serde_json::json!({"mode": "coexistence", "event": "CANCEL",
            "error_code": "3441045", "error_message": "Number not eligible",
            "meta_session_id": "f1e2d3c4b5a6"}));
        assert_eq!(partner_event_of(&reported), Some(EventType::SignupFailed));
        let error = report(serde_json::json!({"mode": "standard", "event": "ERROR"}));
        assert_eq!(partner_event_of(&error), Some(EventType::SignupFailed));
    }

    #[test]
    fn bad_ids_and_codes_are_refused_at_the_edge() {
        for body in [
            serde_json::json!({"mode": "standard", "event": "LAUNCHED"}),
            serde_json::json!({"mode": "premium", "event": "LAUNCH"}),
            serde_json::json!({"mode": "standard", "event": "CANCEL", "current_step": "<b>x</b>"}),
            serde_json::json!({"mode": "standard", "event": "ERROR", "error_code": "12a"}),
            serde_json::json!({"mode": "standard", "event": "ERROR", "error_code": "12345678901234567"}),
            serde_json::json!({"mode": "standard", "event": "ERROR", "meta_session_id": "a b"}),
            serde_json::json!({"mode": "standard", "event": "ERROR", "error_message": ""}),
            serde_json::json!({"mode": "standard", "event": "ERROR", "error_message": "a\u{0}b"}),
            serde_json::json!({"mode": "standard", "event": "ERROR", "extra": 1}),
        ] {
            assert!(
                serde_json::from_value::<ReportSignupEvent>(body.clone()).is_err(),
                "{body}"
            );
        }
    }
}
