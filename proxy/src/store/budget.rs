//! The register and deregister budgets: Meta allows a number 10 of each in a moving 72
//! hours; a counted call locks the number's budget row and counts its calls in the window,
//! in the transaction that records it.

use time::OffsetDateTime;
use wire::{PhoneNumberId, WabaId};

use super::rows::{format_time, parse_time};
use super::tx::{Stmt, Tx};
use super::StoreError;

/// Which of a number's budgets a counted call spends. Meta allows 10 register and 10
/// deregister requests per number in a moving 72 hours; each is counted apart, both under
/// the same lock of the number ([`Store::commit_counted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `register` (YCloud's or Meta's: the budget is Meta's either way).
    Register,
    /// `deregister` (the Meta provider).
    Deregister,
}

impl CallKind {
    /// The table its calls are recorded in.
    pub(super) fn table(self) -> &'static str {
        match self {
            CallKind::Register => "register_attempts",
            CallKind::Deregister => "deregister_attempts",
        }
    }
}

/// A register or deregister call about to be made, counted against its number's budget of
/// that kind: at most `limit` calls at or after `since`.
#[derive(Debug, Clone)]
pub struct CountedCall {
    /// Which budget it spends.
    pub kind: CallKind,
    /// The WABA the number is registered for.
    pub waba_id: WabaId,
    /// The number.
    pub phone_number_id: PhoneNumberId,
    /// When the call is made.
    pub at: OffsetDateTime,
    /// Where the budget's window begins.
    pub since: OffsetDateTime,
    /// How many calls the window allows.
    pub limit: i64,
}

/// What [`Store::commit_counted`] found in the number's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The call is counted, its step started: make it.
    Counted,
    /// The window's calls are spent: nothing of the step was written. `oldest` is the
    /// oldest counted call in the window (it leaves the window first).
    Spent {
        /// The oldest counted call in the window.
        oldest: Option<OffsetDateTime>,
    },
}

/// Locks the number's budget row (an upsert, which holds the row until the transaction
/// ends, in PostgreSQL as in SQLite) and counts the number's calls of the kind in the
/// window, seeing every call committed before the lock was granted. Every WABA's calls
/// count: Meta's limit is the number's. One lock serves both kinds: a register and a
/// deregister of one number wait for each other, which costs nothing (they are rare).
pub(super) async fn count_call(tx: &mut impl Tx, call: &CountedCall) -> Result<Budget, StoreError> {
    let number = call.phone_number_id.as_str();
    let lock = Stmt::new(LOCK_BUDGET)
        .bind(number)
        .bind(format_time(call.at));
    tx.exec(&lock).await?;
    let count = Stmt::new(count_calls(call.kind))
        .bind(number)
        .bind(format_time(call.since));
    let counted = tx
        .query_first(&count, |row| Ok((row.int("n")?, row.text("oldest")?)))
        .await?;
    let (n, oldest) = counted.unwrap_or((0, None));
    Ok(budget(call, n, oldest))
}

const LOCK_BUDGET: &str = "INSERT INTO register_budgets (phone_number_id, locked_at) \
     VALUES ($1, $2) ON CONFLICT (phone_number_id) DO UPDATE SET locked_at = $2";

fn count_calls(kind: CallKind) -> String {
    format!(
        "SELECT COUNT(*) AS n, MIN(attempted_at) AS oldest FROM {} \
         WHERE phone_number_id = $1 AND attempted_at >= $2",
        kind.table()
    )
}

/// What `n` calls in the window, the oldest at `oldest`, leave of the budget.
fn budget(call: &CountedCall, n: i64, oldest: Option<String>) -> Budget {
    match n < call.limit {
        true => Budget::Counted,
        false => Budget::Spent {
            oldest: oldest.as_deref().and_then(parse_time),
        },
    }
}
