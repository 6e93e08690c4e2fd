//! Meta's budgets of register and deregister calls, in one place: each number may be
//! registered 10 times and deregistered 10 times in any 72 hours; past that Meta refuses
//! (133016) and blocks the number's calls of that kind for 72 hours, so calling again early
//! only extends the block.
//!
//! The proxy counts every call before it makes it (the store's `commit_counted`, under the
//! number's lock, so instances sharing a database cannot together exceed it) and refuses a
//! call the budget no longer has. Each refusal has one sentence, here.

use time::{Duration, OffsetDateTime};
use wire::{ErrorCode, OnboardingError};

use crate::clock::format_time;

/// Meta's error code for a call past the budget ("too many requests"), whichever provider
/// passes it on.
pub const META_REFUSED: i64 = 133016;

/// Calls of one kind a number may make in [`WINDOW`].
pub const CALLS: i64 = 10;
/// The moving window the calls are counted in.
pub const WINDOW: Duration = Duration::hours(72);

/// The kind of counted call, for the sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `register`.
    Register,
    /// `deregister`.
    Deregister,
}

impl Call {
    fn verb(self) -> &'static str {
        match self {
            Call::Register => "register",
            Call::Deregister => "deregister",
        }
    }

    /// The error code a spent budget of this kind is told with.
    pub fn code(self) -> ErrorCode {
        match self {
            Call::Register => ErrorCode::RegisterLimit,
            Call::Deregister => ErrorCode::DeregisterLimit,
        }
    }
}

/// The start of the window that counts against a call made at `now`.
pub fn since(now: OffsetDateTime) -> OffsetDateTime {
    now - WINDOW
}

/// When a spent budget has a call again: the oldest counted call leaves the window (`now`
/// when none is known).
pub fn free_at(oldest: Option<OffsetDateTime>, now: OffsetDateTime) -> OffsetDateTime {
    oldest.unwrap_or(now) + WINDOW
}

/// The sentence of a call the proxy did not make: the number's budget is spent until
/// `until`.
pub fn spent(call: Call, until: OffsetDateTime) -> String {
    format!(
        "This number has used Meta's {CALLS} {} requests for 72 hours; retry after {}.",
        call.verb(),
        format_time(until)
    )
}

/// The sentence of Meta refusing a call for too many attempts (133016, also when YCloud
/// passes it on), blocked until `until`.
pub fn refused(call: Call, until: OffsetDateTime) -> String {
    let verb = call.verb();
    format!(
        "Meta refused: this number made too many {verb} requests (133016), and Meta blocks its \
         {verb} requests for 72 hours; retry after {}.",
        format_time(until)
    )
}

/// A register the proxy did not make, as the onboarding's error: retryable at `until`.
pub fn register_spent(until: OffsetDateTime) -> OnboardingError {
    OnboardingError {
        code: ErrorCode::RegisterLimit,
        message: spent(Call::Register, until),
        retryable: true,
        upstream_request_id: None,
        retry_after: Some(format_time(until)),
        candidates: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_names_the_call_and_when_to_retry() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let until = free_at(Some(now - Duration::hours(10)), now);
        assert_eq!(until, now + Duration::hours(62));
        assert_eq!(free_at(None, now), now + WINDOW);
        assert_eq!(since(now), now - Duration::hours(72));
        let s = spent(Call::Deregister, until);
        assert!(s.contains("10 deregister requests"), "{s}");
        assert!(s.contains(&format_time(until)), "{s}");
        let r = refused(Call::Register, until);
        assert!(r.contains("too many register requests (133016)"), "{r}");
        let e = register_spent(until);
        assert_eq!(e.code, ErrorCode::RegisterLimit);
        assert_eq!(e.retry_after.as_deref(), Some(format_time(until).as_str()));
        assert!(e.retryable);
    }
}
