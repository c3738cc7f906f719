//! Where the inbox reads "now" from: [`webhook_core::Clock`], in milliseconds.
//!
//! Due times, leases, retry schedules, the circuit breaker, stats windows and retention all read
//! [`Clock::now_unix_ms`](webhook_core::Clock::now_unix_ms), so a test can move time forward with
//! a [`ManualClock`](webhook_core::ManualClock) instead of sleeping; the same clock can drive the
//! verifier in front of the inbox.

use std::time::Duration;

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
