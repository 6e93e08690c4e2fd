//! The stored types and how rows decode: timestamps as fixed-width text, steps, the
//! onboarding, and the API's JSON of an onboarding built straight from its row.

use std::str::FromStr;

use serde_json::value::RawValue;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};
use wire::{
    BusinessId, CustomerRef, Mode, Onboarding, OnboardingError, OnboardingState, PhoneNumberId,
    WabaId,
};

use super::StoreError;

/// Fixed-width RFC 3339 in UTC, so stored timestamps compare correctly as text.
const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Formats a timestamp the way the store and the API write them.
pub fn format_time(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    // The format only has fields every OffsetDateTime has; failure would be a bug in `time`.
    utc.format(TIME_FORMAT)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

/// Parses a timestamp written by [`format_time`].
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s, TIME_FORMAT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// The pipeline's steps, as named in `onboarding_steps.step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Standard mode: `tp/bind`.
    Bind,
    /// Standard mode: check (and on retry re-read) `paymentMethodAttached`.
    CheckPayment,
    /// Standard mode: register the number.
    Register,
    /// Coexistence mode: `smb/bind`.
    SmbBind,
}

impl Step {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Bind => "bind",
            Step::CheckPayment => "check_payment",
            Step::Register => "register",
            Step::SmbBind => "smb_bind",
        }
    }

    /// Parses the stored spelling.
    pub(super) fn parse(s: &str) -> Option<Self> {
        [
            Step::Bind,
            Step::CheckPayment,
            Step::Register,
            Step::SmbBind,
        ]
        .into_iter()
        .find(|step| step.as_str() == s)
    }
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// Written before the call; still there after a crash mid-call.
    Started,
    /// The call succeeded; its result is stored.
    Done,
    /// The call failed; `retry` may run it again.
    Failed,
}

impl StepStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        match s {
            "started" => Some(StepStatus::Started),
            "done" => Some(StepStatus::Done),
            "failed" => Some(StepStatus::Failed),
            _ => None,
        }
    }
}

/// One stored step.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// Where it stands.
    pub status: StepStatus,
    /// How many times it was started.
    pub attempts: i64,
    /// The upstream object (done) or error (failed), when stored.
    pub result: Option<Value>,
}

/// The stored steps of one onboarding ([`Store::steps`]).
#[derive(Debug, Clone, Default)]
pub struct Steps(Vec<(Step, StepRecord)>, Option<Step>);

impl Steps {
    /// A new onboarding's: only `step`, started with it ([`Store::insert_or_get_started`]).
    pub fn just_started(step: Step) -> Self {
        let record = StepRecord {
            status: StepStatus::Started,
            attempts: 1,
            result: None,
        };
        Self(vec![(step, record)], Some(step))
    }

    /// Whether `step` was recorded as started with the onboarding itself, so the runner does
    /// not record its start again.
    pub fn is_just_started(&self, step: Step) -> bool {
        self.1 == Some(step)
    }

    /// One step, if it was ever started.
    pub fn get(&self, step: Step) -> Option<StepRecord> {
        self.0
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, r)| r.clone())
    }

    /// Adds a step read from the store.
    pub(super) fn push(&mut self, step: Step, record: StepRecord) {
        self.0.push((step, record));
    }
}

/// What finishing a step changes on the onboarding, in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// The new state.
    pub state: Option<OnboardingState>,
    /// A new YCloud WABA object.
    pub waba: Option<Value>,
    /// A new YCloud phone number object.
    pub phone_number: Option<Value>,
    /// `Some(None)` clears the error; `Some(Some(e))` sets it.
    pub error: Option<Option<OnboardingError>>,
}

impl Update {
    /// `later` applied after `self`: each field it sets wins.
    pub(super) fn merge(&mut self, later: Update) {
        if later.state.is_some() {
            self.state = later.state;
        }
        if later.waba.is_some() {
            self.waba = later.waba;
        }
        if later.phone_number.is_some() {
            self.phone_number = later.phone_number;
        }
        if later.error.is_some() {
            self.error = later.error;
        }
    }
}

/// `wire::Onboarding`'s JSON shape (same fields, order and omissions), with the stored JSON
/// objects passed through as they are.
#[derive(serde::Serialize)]
struct OnboardingJson<'a> {
    id: &'a str,
    mode: Mode,
    waba_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_ref: Option<&'a str>,
    state: OnboardingState,
    #[serde(skip_serializing_if = "Option::is_none")]
    waba: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RawValue>,
    created_at: &'a str,
    updated_at: &'a str,
}

pub(super) fn step_from_row(id: &str, row: &AnyRow) -> Result<StepRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let status = StepStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
        id: id.to_owned(),
        what: format!("step status {status:?}"),
    })?;
    let result: Option<String> = row.try_get("result")?;
    Ok(StepRecord {
        status,
        attempts: row.try_get("attempts")?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
    })
}

pub(super) fn onboarding_from_row(row: &AnyRow) -> Result<Onboarding, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt {
        id: id.clone(),
        what: what.to_owned(),
    };
    let text = |col: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(col)?) };
    let json = |col: &str| -> Result<Option<Value>, StoreError> {
        text(col)?
            .map(|s| Value::from_str(&s).map_err(|_| corrupt(col)))
            .transpose()
    };
    let mode = parse_mode(&row.try_get::<String, _>("mode")?).ok_or_else(|| corrupt("mode"))?;
    let state: String = row.try_get("state")?;
    let error = text("error")?
        .map(|s| serde_json::from_str::<OnboardingError>(&s).map_err(|_| corrupt("error")))
        .transpose()?;
    Ok(Onboarding {
        mode,
        waba_id: WabaId::parse(row.try_get::<String, _>("waba_id")?)
            .map_err(|_| corrupt("waba_id"))?,
        phone_number_id: text("phone_number_id")?
            .map(PhoneNumberId::parse)
            .transpose()
            .map_err(|_| corrupt("phone_number_id"))?,
        business_id: text("business_id")?
            .map(BusinessId::parse)
            .transpose()
            .map_err(|_| corrupt("business_id"))?,
        customer_ref: text("customer_ref")?
            .map(CustomerRef::parse)
            .transpose()
            .map_err(|_| corrupt("customer_ref"))?,
        state: OnboardingState::parse(&state).ok_or_else(|| corrupt("state"))?,
        waba: json("waba")?,
        phone_number: json("phone_number")?,
        error,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        id,
    })
}

/// The API's JSON of an onboarding (the same text as serializing [`onboarding_from_row`]'s
/// answer), with the stored JSON objects passed through unparsed.
pub(super) fn onboarding_json_from_row(id: &str, row: &AnyRow) -> Result<String, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt {
        id: id.to_owned(),
        what: what.to_owned(),
    };
    let text = |col: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(col)?) };
    let (waba, phone_number, error) = (text("waba")?, text("phone_number")?, text("error")?);
    fn raw<'a>(
        v: &'a Option<String>,
        col: &str,
        corrupt: impl Fn(&str) -> StoreError,
    ) -> Result<Option<&'a RawValue>, StoreError> {
        v.as_deref()
            .map(|s| serde_json::from_str::<&RawValue>(s).map_err(|_| corrupt(col)))
            .transpose()
    }
    let mode: String = row.try_get("mode")?;
    let state: String = row.try_get("state")?;
    let (phone_number_id, business_id, customer_ref) = (
        text("phone_number_id")?,
        text("business_id")?,
        text("customer_ref")?,
    );
    let json = OnboardingJson {
        id: &row.try_get::<String, _>("id")?,
        mode: parse_mode(&mode).ok_or_else(|| corrupt("mode"))?,
        waba_id: &row.try_get::<String, _>("waba_id")?,
        phone_number_id: phone_number_id.as_deref(),
        business_id: business_id.as_deref(),
        customer_ref: customer_ref.as_deref(),
        state: OnboardingState::parse(&state).ok_or_else(|| corrupt("state"))?,
        waba: raw(&waba, "waba", corrupt)?,
        phone_number: raw(&phone_number, "phone_number", corrupt)?,
        error: raw(&error, "error", corrupt)?,
        created_at: &row.try_get::<String, _>("created_at")?,
        updated_at: &row.try_get::<String, _>("updated_at")?,
    };
    serde_json::to_string(&json).map_err(|e| corrupt(&e.to_string()))
}

fn parse_mode(s: &str) -> Option<Mode> {
    Mode::ALL.into_iter().find(|m| m.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a = crate::clock::Clock::system().now();
        let b = a + Duration::milliseconds(1);
        assert_eq!(parse_time(&format_time(a)), Some(a));
        assert!(format_time(a) < format_time(b));
        assert!(format_time(a).ends_with('Z'));
        assert!(time::OffsetDateTime::parse(
            &format_time(a),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok());
    }
}
