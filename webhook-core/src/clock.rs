//! Where "now" comes from when checking timestamps.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current Unix time.
///
/// The default is [`SystemClock`]. Inject another for tests, for replay tools, or on targets
/// without a system clock (`wasm32-unknown-unknown`, where `SystemTime::now` panics). The same
/// clock drives the verifier's timestamp check (seconds) and the inbox's schedules (milliseconds),
/// so one [`ManualClock`] moves both in a test.
///
/// ```
/// use webhook_core::{Clock, FixedClock, Verifier};
/// use std::sync::Arc;
///
/// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
///     .unwrap()
///     .with_clock(Arc::new(FixedClock(1614265330)));
/// assert_eq!(verifier.clock().now_unix(), 1614265330);
/// assert_eq!(FixedClock(5).now_unix_ms(), 5_000); // the default `now_unix_ms`
/// ```
pub trait Clock: Debug + Send + Sync {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;

    /// Milliseconds since the Unix epoch. The default is [`now_unix`](Clock::now_unix) × 1000.
    fn now_unix_ms(&self) -> i64 {
        self.now_unix().saturating_mul(1000)
    }
}

/// The system's wall clock.
///
/// Seconds come from the coarse real-time clock on Linux and Android (`CLOCK_REALTIME_COARSE`:
/// the time of the last scheduler tick, a few milliseconds behind at most, read in about a tenth
/// of the time of the precise clock); a timestamp check needs whole seconds. Milliseconds, and
/// seconds on other targets, come from [`SystemTime::now`].
///
/// ```
/// use webhook_core::{Clock, SystemClock};
///
/// let (secs, ms) = (SystemClock.now_unix(), SystemClock.now_unix_ms());
/// assert!(secs > 1_700_000_000); // after November 2023
/// assert!((ms / 1000 - secs).abs() <= 1); // the coarse seconds may lag by a tick
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn now_unix(&self) -> i64 {
        rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }

    fn now_unix_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock stopped at a given Unix time in **seconds**, for tests.
///
/// ```
/// use std::sync::Arc;
/// use webhook_core::{FixedClock, Signer, Verifier, VerifyError};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, b"{}");
/// // Ten minutes after the delivery was signed:
/// let verifier = Verifier::standard(secret)?.with_clock(Arc::new(FixedClock(1_700_000_600)));
/// let err = verifier.verify(&headers, b"{}").unwrap_err();
/// assert!(matches!(err, VerifyError::TimestampTooOld { age: 600, .. }));
/// # Ok::<(), webhook_core::SecretError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// A clock that only moves when told to, with millisecond resolution; clones share the same
/// time. For tests of code with deadlines (timestamp tolerance, retries, leases, dedupe TTLs).
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// clock.advance(Duration::from_millis(2_500));
/// assert_eq!(clock.now_unix_ms(), 3_500);
/// assert_eq!(clock.now_unix(), 3);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `now_ms` (**milliseconds** since the Unix epoch; for seconds, as a
    /// webhook timestamp is, use [`from_unix_secs`](ManualClock::from_unix_secs)).
    pub fn new(now_ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now_ms)))
    }

    /// A clock stopped at `secs` seconds since the Unix epoch.
    ///
    /// ```
    /// use webhook_core::{Clock, ManualClock};
    ///
    /// assert_eq!(ManualClock::from_unix_secs(1_700_000_000).now_unix_ms(), 1_700_000_000_000);
    /// ```
    pub fn from_unix_secs(secs: i64) -> Self {
        ManualClock::new(secs.saturating_mul(1000))
    }

    /// A clock stopped at the current system time.
    pub fn starting_now() -> Self {
        ManualClock::new(SystemClock.now_unix_ms())
    }

    /// Moves the time forward by `by`, stopping at the largest representable time.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(by))
            });
    }

    /// Sets the time, in milliseconds since the Unix epoch; clones follow, and the time may
    /// go back (a wall clock stepped back by NTP).
    ///
    /// ```
    /// use webhook_core::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::from_unix_secs(1_700_000_000);
    /// let shared = clock.clone(); // e.g. given to a verifier
    /// clock.set(1_699_999_999_500);
    /// assert_eq!(shared.now_unix(), 1_699_999_999);
    /// ```
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.now_unix_ms().div_euclid(1000)
    }

    fn now_unix_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020_in_both_units() {
        let (s, ms) = (SystemClock.now_unix(), SystemClock.now_unix_ms());
        assert!(s > 1_577_836_800);
        assert!((ms / 1000 - s).abs() <= 1);
    }

    #[test]
    fn manual_clocks_share_their_time_and_round_down() {
        let a = ManualClock::new(-1);
        let b = a.clone();
        assert_eq!(b.now_unix(), -1);
        a.advance(Duration::from_millis(1_001));
        assert_eq!((b.now_unix_ms(), b.now_unix()), (1_000, 1));
        assert_eq!(FixedClock(7).now_unix_ms(), 7_000);
    }

    #[test]
    fn advancing_stops_at_the_largest_time() {
        let c = ManualClock::new(i64::MAX - 10);
        c.advance(Duration::from_millis(20));
        assert_eq!(c.now_unix_ms(), i64::MAX);
        let c = ManualClock::new(1_000);
        c.advance(Duration::MAX);
        assert_eq!(c.now_unix_ms(), i64::MAX);
    }
}
