//! The stored types and how rows decode: timestamps as fixed-width text, steps, and the
//! onboarding as stored ([`Record`]).

use std::ops::Deref;
use std::str::FromStr;

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use wire::{
    BusinessId, CoexistenceSync, CustomerRef, EventType, Onboarding, OnboardingError,
    OnboardingState, OnboardingStep, PhoneNumberId, WabaId,
};

pub use wire::{StepName as Step, StepState as StepStatus};

use crate::objects::{PhoneNumber, Waba};

use super::StoreError;
// Time formatting lives in the clock; the store's files name it through here.
pub(crate) use crate::clock::{format_time, parse_time};

/// A new row's id: a UUID of version 7, whose leading bits are the time in milliseconds and
/// the other 74 random (`Timestamp::now(NoContext)`: no counter, so ids made in the same
/// millisecond are no easier to guess from each other). New rows land at the right-hand end
/// of their primary-key indexes instead of on a random page, so the requests committed in
/// one group share the pages they dirty: fewer pages written to the WAL per sign-up.
pub fn new_row_id() -> String {
    uuid::Uuid::new_v7(uuid::Timestamp::now(uuid::NoContext)).to_string()
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
    /// The coexistence sync as it now stands.
    pub sync: Option<CoexistenceSync>,
    /// A partner event the change emits besides its state's (a webhook's change only).
    pub emits: Option<EventType>,
}

impl Update {
    /// Whether this change puts the onboarding in `action_required` asking the customer to
    /// reauthorize (code `reauthorize`): `onboarding.reauthorize_required` goes with it.
    pub(super) fn asks_reauthorization(&self) -> bool {
        self.state == Some(OnboardingState::ActionRequired)
            && matches!(&self.error, Some(Some(e)) if e.code == wire::ErrorCode::Reauthorize)
    }

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
        if later.sync.is_some() {
            self.sync = later.sync;
        }
        if later.emits.is_some() {
            self.emits = later.emits;
        }
    }
}

/// An onboarding as stored: what the API shows of it ([`Record::onboarding`], steps not
/// included) and YCloud's objects as YCloud sent them, which stay in the proxy. Reads as the
/// [`Onboarding`] through `Deref`, except `waba` and `phone_number`, which are the raw objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The API's view, with summaries of the YCloud objects and no steps.
    pub onboarding: Onboarding,
    /// YCloud's WABA object, once bound.
    pub waba: Option<Value>,
    /// YCloud's phone number object, once registered or smb-bound.
    pub phone_number: Option<Value>,
    /// The session that created it (none: anonymous).
    pub session_id: Option<String>,
    /// True when `customer_ref` came from a session, false when the browser sent it.
    pub customer_ref_verified: bool,
}

impl Record {
    /// Whether a request for this WABA and number comes from the customer this onboarding
    /// belongs to: the same `customer_ref`, vouched for the same way (a session's never
    /// matches a browser's claim of the same text).
    pub fn belongs_to(&self, customer_ref: Option<&CustomerRef>, verified: bool) -> bool {
        self.customer_ref_verified == verified
            && self.onboarding.customer_ref.as_ref() == customer_ref
    }
}

impl Deref for Record {
    type Target = Onboarding;

    fn deref(&self) -> &Onboarding {
        &self.onboarding
    }
}

impl Record {
    /// The API's answer: this onboarding with its recorded steps.
    pub fn into_api(self, steps: Vec<OnboardingStep>) -> Onboarding {
        Onboarding {
            steps,
            ..self.onboarding
        }
    }
}

/// A row of either driver: sqlx's (`AnyRow`, PostgreSQL and SQLite's readers) or rusqlite's
/// (SQLite's writer thread), so one decoder serves both.
pub(super) trait Columns {
    /// A text column, `None` for NULL.
    fn text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// An integer column.
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    /// A text column that is never NULL.
    fn string(&self, col: &str) -> Result<String, StoreError> {
        self.text(col)?.ok_or_else(|| StoreError::Corrupt {
            id: String::new(),
            what: format!("{col} is NULL"),
        })
    }
}

impl Columns for AnyRow {
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(col)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        Ok(self.get(col)?)
    }
}

pub(super) fn step_from_row(
    id: &str,
    row: &(impl Columns + ?Sized),
) -> Result<StepRecord, StoreError> {
    let status = row.string("status")?;
    let status = StepStatus::from_str(&status).map_err(|_| StoreError::Corrupt {
        id: id.to_owned(),
        what: format!("step status {status:?}"),
    })?;
    let result = row.text("result")?;
    Ok(StepRecord {
        status,
        attempts: row.int("attempts")?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
    })
}

/// One step as the API shows it; `None` for a step name this build does not know.
pub(super) fn api_step_from_row(
    id: &str,
    row: &(impl Columns + ?Sized),
) -> Result<Option<OnboardingStep>, StoreError> {
    let Ok(name) = Step::from_str(&row.string("step")?) else {
        return Ok(None);
    };
    let record = step_from_row(id, row)?;
    Ok(Some(OnboardingStep {
        name,
        state: record.status,
        started_at: row.string("started_at")?,
        finished_at: row.text("finished_at")?,
        // A failed step stores its error; a failed payment check stores the WABA instead.
        error: match record.status {
            StepStatus::Failed => record
                .result
                .and_then(|r| serde_json::from_value::<OnboardingError>(r).ok()),
            _ => None,
        },
    }))
}

pub(super) fn record_from_row(row: &(impl Columns + ?Sized)) -> Result<Record, StoreError> {
    let id = row.string("id")?;
    let corrupt = |what: &str| StoreError::Corrupt {
        id: id.clone(),
        what: what.to_owned(),
    };
    let text = |col: &str| row.text(col);
    let json = |col: &str| -> Result<Option<Value>, StoreError> {
        text(col)?
            .map(|s| Value::from_str(&s).map_err(|_| corrupt(col)))
            .transpose()
    };
    let mode = row.string("mode")?.parse().map_err(|_| corrupt("mode"))?;
    let state = row.string("state")?;
    let error = text("error")?
        .map(|s| serde_json::from_str::<OnboardingError>(&s).map_err(|_| corrupt("error")))
        .transpose()?;
    let (waba, phone_number) = (json("waba")?, json("phone_number")?);
    // Rows stored before launched modes were recorded: the button was the mode.
    let launched_mode = match text("launched_mode")? {
        Some(m) => m.parse().map_err(|_| corrupt("launched_mode"))?,
        None => mode,
    };
    let onboarding = Onboarding {
        mode,
        launched_mode: Some(launched_mode),
        waba_id: WabaId::parse(row.string("waba_id")?).map_err(|_| corrupt("waba_id"))?,
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
        state: state.parse().map_err(|_| corrupt("state"))?,
        steps: Vec::new(),
        waba: waba.as_ref().map(Waba::summary_of),
        phone_number: phone_number.as_ref().map(PhoneNumber::summary_of),
        error,
        previous_onboarding_id: text("previous_onboarding_id")?,
        inbound_verified_at: text("inbound_verified_at")?,
        // Unreadable (written by a newer build): shown as unknown rather than refused.
        sync: text("sync")?.and_then(|s| serde_json::from_str(&s).ok()),
        created_at: row.string("created_at")?,
        updated_at: row.string("updated_at")?,
        id,
    };
    Ok(Record {
        onboarding,
        waba,
        phone_number,
        session_id: text("session_id")?,
        customer_ref_verified: row.int("customer_ref_verified")? != 0,
    })
}
