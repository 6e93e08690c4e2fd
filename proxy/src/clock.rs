//! The proxy's one clock: every wall-clock time the proxy reads (timestamps it stores, the
//! register budget's window, `Retry-After`, webhook signature ages) comes from a [`Clock`]
//! handed down from `startup`, so tests can stop or move it.
//!
//! Durations measured on the monotonic clock (timeouts, backoff, the follower's polling)
//! use tokio's and std's `Instant` instead: they never leave the process.

use std::sync::Arc;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Where "now" comes from. Cheap to clone; clones read the same source.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock stopped at `t`.
    pub fn fixed(t: OffsetDateTime) -> Self {
        Self(Arc::new(move || t))
    }

    /// The system clock moved on by however many seconds `ahead` holds when read (tests
    /// let time pass: a session expiring, a retry falling due).
    pub fn ahead_by(ahead: Arc<std::sync::atomic::AtomicI64>) -> Self {
        Self(Arc::new(move || {
            let secs = ahead.load(std::sync::atomic::Ordering::Relaxed);
            OffsetDateTime::now_utc() + time::Duration::seconds(secs)
        }))
    }

    /// The current time by this clock, truncated to what the store keeps (microseconds),
    /// so a time read here survives a round trip through the store unchanged.
    pub fn now(&self) -> OffsetDateTime {
        let t = (self.0)();
        t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
            .unwrap_or(t)
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still_at_microseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let clock = Clock::fixed(t);
        assert_eq!(clock.now(), clock.now());
        assert_eq!(clock.now().nanosecond(), 123_456_000);
    }

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a = Clock::system().now();
        let b = a + time::Duration::milliseconds(1);
        assert_eq!(parse_time(&format_time(a)), Some(a));
        assert!(format_time(a) < format_time(b));
        assert!(format_time(a).ends_with('Z'));
        assert!(OffsetDateTime::parse(
            &format_time(a),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok());
    }
}
