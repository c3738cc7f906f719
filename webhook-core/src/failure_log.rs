//! [`FailureLog`]: counts verification failures by check and says when to warn about them.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::VerifyError;

/// Counts verification failures by check ([`VerifyError::code`]) and hands back a
/// [`FailureReport`] at most once per interval, so that a wrong or rotated secret never fails
/// silently, yet cannot flood the logs. The integrations log the report as a warning.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{FailureLog, Verifier};
///
/// let log = FailureLog::new(Duration::from_secs(60));
/// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let headers = [
///     ("webhook-id", "msg_1"),
///     ("webhook-timestamp", "1614265330"),
///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
/// ];
/// for _ in 0..3 {
///     let err = verifier.verify_at(&headers, b"{}", 1614265330).unwrap_err();
///     if let Some(report) = log.record(&err) {
///         // The first failure reports at once; the next two wait for the interval.
///         assert_eq!(report.total(), 1);
///         assert!(report.to_string().contains("signature_mismatch ×1"));
///     }
/// }
/// # Ok::<(), webhook_core::SecretError>(())
/// ```
#[derive(Debug)]
pub struct FailureLog {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_report: Option<Instant>,
    counts: Vec<(&'static str, u64)>,
}

impl FailureLog {
    /// Reports at most once per `interval` (zero: every failure).
    pub fn new(interval: Duration) -> Self {
        FailureLog {
            interval,
            state: Mutex::new(State::default()),
        }
    }

    /// The minimum time between two reports.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Counts `err`; returns the counts since the last report when a report is due.
    pub fn record(&self, err: &VerifyError) -> Option<FailureReport> {
        self.record_at(err, Instant::now())
    }

    fn record_at(&self, err: &VerifyError, now: Instant) -> Option<FailureReport> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let code = err.code();
        match state.counts.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => state.counts.push((code, 1)),
        }
        if state
            .last_report
            .is_some_and(|at| now.saturating_duration_since(at) < self.interval)
        {
            return None;
        }
        let since = state
            .last_report
            .map(|at| now.saturating_duration_since(at));
        state.last_report = Some(now);
        let mut counts = std::mem::take(&mut state.counts);
        drop(state);
        counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        Some(FailureReport { counts, since })
    }
}

/// Verification failures since the last report, most frequent check first. Its `Display` is
/// the warning: how many, which checks, and what usually causes the most frequent one. It holds
/// error codes only: no secret, signature or body.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{FailureLog, VerifyError};
///
/// let log = FailureLog::new(Duration::ZERO); // report every failure
/// let mismatch = VerifyError::SignatureMismatch { candidates: 1, secrets: 1 };
/// let report = log.record(&mismatch).unwrap();
/// assert_eq!(report.counts(), [("signature_mismatch", 1)]);
/// assert_eq!(report.checks(), "signature_mismatch ×1");
/// assert!(report.to_string().starts_with("webhook verification failing: 1 request(s) rejected"));
/// assert!(!report.hint().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureReport {
    counts: Vec<(&'static str, u64)>,
    since: Option<Duration>,
}

impl FailureReport {
    /// Failures counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// Failures by check ([`VerifyError::code`]), most frequent first.
    pub fn counts(&self) -> &[(&'static str, u64)] {
        &self.counts
    }

    /// `signature_mismatch ×5, timestamp_too_old ×1`.
    pub fn checks(&self) -> String {
        self.counts
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The usual cause of the most frequent check, and what to do about it.
    pub fn hint(&self) -> &'static str {
        hint(self.counts.first().map_or("", |(c, _)| c))
    }
}

impl fmt::Display for FailureReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        write!(
            f,
            "webhook verification failing: {total} request(s) rejected "
        )?;
        match self.since {
            Some(since) => write!(f, "in the last {} s", since.as_secs())?,
            None => f.write_str("since start")?,
        }
        write!(f, " ({}); {}", self.checks(), self.hint())
    }
}

fn hint(code: &str) -> &'static str {
    match code {
        "signature_mismatch" => {
            "a wrong or rotated secret is the usual cause: compare the endpoint's secret with the sender's dashboard, and accept both the old and the new secret during a rotation (add_secret)"
        }
        "timestamp_too_old" | "timestamp_too_new" => {
            "check this server's clock (NTP), or a queue or proxy delaying requests"
        }
        "no_supported_signature" => {
            "the sender signs with another scheme or signature version than this verifier expects"
        }
        "malformed_header" => {
            "a header this scheme reads does not have its format (see `latest`): a different sender, the wrong scheme, or a proxy rewriting headers"
        }
        _ => {
            "requests lack the sender's headers: a different sender, the wrong scheme, or a proxy stripping headers"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mismatch() -> VerifyError {
        VerifyError::SignatureMismatch {
            candidates: 1,
            secrets: 1,
        }
    }

    fn stale() -> VerifyError {
        VerifyError::TimestampTooOld {
            timestamp: 0,
            age: 1000,
            tolerance: 300,
        }
    }

    #[test]
    fn reports_at_once_then_once_per_interval_with_the_counts_between() {
        let log = FailureLog::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let first = log.record_at(&mismatch(), t0).unwrap();
        assert_eq!(first.counts(), [("signature_mismatch", 1)]);
        assert!(first.to_string().contains("since start"), "{first}");
        assert!(first.hint().contains("wrong or rotated secret"));
        for s in 1..4 {
            assert!(
                log.record_at(&mismatch(), t0 + Duration::from_secs(s))
                    .is_none()
            );
        }
        assert!(
            log.record_at(&stale(), t0 + Duration::from_secs(30))
                .is_none()
        );
        let next = log
            .record_at(&stale(), t0 + Duration::from_secs(61))
            .unwrap();
        assert_eq!(
            next.counts(),
            [("signature_mismatch", 3), ("timestamp_too_old", 2)]
        );
        assert_eq!(next.total(), 5);
        assert_eq!(
            next.to_string(),
            format!(
                "webhook verification failing: 5 request(s) rejected in the last 61 s \
                 (signature_mismatch ×3, timestamp_too_old ×2); {}",
                hint("signature_mismatch")
            )
        );
    }

    #[test]
    fn a_zero_interval_reports_every_failure() {
        let log = FailureLog::new(Duration::ZERO);
        let t0 = Instant::now();
        assert_eq!(log.record_at(&mismatch(), t0).unwrap().total(), 1);
        assert_eq!(log.record_at(&stale(), t0).unwrap().total(), 1);
    }

    #[test]
    fn each_check_has_its_hint() {
        assert!(hint("timestamp_too_new").contains("clock"));
        assert!(hint("no_supported_signature").contains("scheme"));
        assert!(hint("malformed_header").contains("format"));
        assert!(hint("missing_header").contains("lack"));
        assert!(hint("missing_header").contains("headers"));
    }
}
