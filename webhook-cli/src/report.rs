//! The closing summary of `webhook send`: status codes, latency percentiles, throughput.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

/// What the receiver is expected to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A 2xx: the delivery is genuine.
    Success,
    /// A 400, 401 or 403: the delivery was tampered with on purpose, and verification refused
    /// it. Any other 4xx (404, 409, 413, 422) means it never reached, or got past, verification.
    Rejection,
}

impl Expect {
    fn accepts(self, status: u16) -> bool {
        match self {
            Expect::Success => (200..300).contains(&status),
            Expect::Rejection => matches!(status, 400 | 401 | 403),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Expect::Success => "2xx",
            Expect::Rejection => "400/401/403 (tampered)",
        }
    }
}

/// The outcome of one delivery.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The receiver answered.
    Answered {
        /// The HTTP status.
        status: u16,
        /// From sending the request to reading the whole response.
        latency: Duration,
    },
    /// The request did not get an answer.
    Failed {
        /// `connect`, `timeout` or `request`.
        kind: &'static str,
        /// The error and its causes.
        message: String,
    },
}

/// The summary of a `send` run.
#[derive(Debug)]
pub(crate) struct Report {
    expect: Expect,
    statuses: BTreeMap<u16, u64>,
    failures: BTreeMap<&'static str, u64>,
    first_failure: Option<String>,
    latencies_us: Vec<u64>,
    elapsed: Duration,
    /// The number of deliveries planned, when Ctrl-C stopped the run before all were sent.
    interrupted: Option<u64>,
}

impl Report {
    /// An empty report for `capacity` deliveries.
    pub(crate) fn new(expect: Expect, capacity: usize) -> Self {
        Report {
            expect,
            statuses: BTreeMap::new(),
            failures: BTreeMap::new(),
            first_failure: None,
            latencies_us: Vec::with_capacity(capacity),
            elapsed: Duration::ZERO,
            interrupted: None,
        }
    }

    /// Records one delivery.
    pub(crate) fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Answered { status, latency } => {
                *self.statuses.entry(status).or_default() += 1;
                self.latencies_us
                    .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
            }
            Outcome::Failed { kind, message } => {
                *self.failures.entry(kind).or_default() += 1;
                self.first_failure.get_or_insert(message);
            }
        }
    }

    /// Sets the wall time of the whole run.
    pub(crate) fn finish(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
        self.latencies_us.sort_unstable();
    }

    /// Notes that the run was stopped before all `planned` deliveries were answered.
    pub(crate) fn interrupt(&mut self, planned: u64) {
        self.interrupted = Some(planned);
    }

    /// Deliveries attempted.
    pub(crate) fn sent(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.failed()
    }

    /// Deliveries that got no answer.
    pub(crate) fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The first transport error, if any.
    pub(crate) fn first_failure(&self) -> Option<&str> {
        self.first_failure.as_deref()
    }

    /// Answered deliveries whose status was not the expected one.
    pub(crate) fn unexpected(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(status, _)| !self.expect.accepts(**status))
            .map(|(_, n)| n)
            .sum()
    }

    /// The `p`-th percentile latency (nearest rank), `0 < p <= 100`.
    pub(crate) fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.latencies_us.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        self.latencies_us
            .get(index)
            .map(|&us| Duration::from_micros(us))
    }

    fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.sent() as f64 / secs
        } else {
            0.0
        }
    }

    /// The summary for people.
    pub(crate) fn human(&self, url: &str, concurrency: u64) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "sent {} deliver{} to {url} in {:.2} s ({:.1} deliveries/s, concurrency {concurrency})",
            self.sent(),
            if self.sent() == 1 { "y" } else { "ies" },
            self.elapsed.as_secs_f64(),
            self.per_second(),
        );
        for (status, n) in &self.statuses {
            let reason = http::StatusCode::from_u16(*status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let mark = if self.expect.accepts(*status) {
                ""
            } else {
                "  (unexpected)"
            };
            let _ = writeln!(s, "  {status} {reason:<22} {n:>8}{mark}");
        }
        for (kind, n) in &self.failures {
            let _ = writeln!(s, "  {:<26} {n:>8}", format!("{kind} error"));
        }
        if let (Some(p50), Some(p99), Some(max)) = (
            self.percentile(50.0),
            self.percentile(99.0),
            self.percentile(100.0),
        ) {
            let _ = writeln!(
                s,
                "latency: p50 {}  p99 {}  max {}",
                ms(p50),
                ms(p99),
                ms(max)
            );
        }
        if let Some(first) = &self.first_failure {
            let _ = writeln!(s, "first error: {first}");
        }
        let bad = self.unexpected() + self.failed();
        if let Some(planned) = self.interrupted {
            let _ = write!(
                s,
                "interrupted: {} of {planned} answered or failed before Ctrl-C; ",
                self.sent()
            );
        }
        if bad == 0 {
            let _ = writeln!(
                s,
                "all {} answered {} as expected",
                self.sent(),
                self.expect.describe()
            );
        } else {
            let _ = writeln!(
                s,
                "{bad} of {} not answered {} as expected",
                self.sent(),
                self.expect.describe()
            );
        }
        s
    }

    /// The summary for scripts.
    pub(crate) fn json(&self, url: &str, concurrency: u64) -> serde_json::Value {
        let statuses: serde_json::Map<String, serde_json::Value> = self
            .statuses
            .iter()
            .map(|(status, n)| (status.to_string(), (*n).into()))
            .collect();
        let failures: serde_json::Map<String, serde_json::Value> = self
            .failures
            .iter()
            .map(|(kind, n)| ((*kind).to_owned(), (*n).into()))
            .collect();
        let ms_of = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        json!({
            "url": url,
            "sent": self.sent(),
            "concurrency": concurrency,
            "expected": self.expect.describe(),
            "statuses": statuses,
            "errors": failures,
            "first_error": self.first_failure,
            "unexpected": self.unexpected(),
            "interrupted": self.interrupted.is_some(),
            "elapsed_ms": self.elapsed.as_secs_f64() * 1000.0,
            "per_second": self.per_second(),
            "latency_ms": {
                "p50": ms_of(self.percentile(50.0)),
                "p99": ms_of(self.percentile(99.0)),
                "max": ms_of(self.percentile(100.0)),
            },
        })
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, ms: u64) -> Outcome {
        Outcome::Answered {
            status,
            latency: Duration::from_millis(ms),
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut r = Report::new(Expect::Success, 100);
        for ms in (1..=100).rev() {
            r.record(answered(200, ms));
        }
        r.finish(Duration::from_secs(2));
        assert_eq!(r.percentile(50.0), Some(Duration::from_millis(50)));
        assert_eq!(r.percentile(99.0), Some(Duration::from_millis(99)));
        assert_eq!(r.percentile(100.0), Some(Duration::from_millis(100)));
        assert_eq!(r.sent(), 100);
        assert_eq!(r.unexpected(), 0);
        assert!(r.human("http://x", 1).contains("50.0 deliveries/s"));
    }

    #[test]
    fn unexpected_statuses_and_failures_are_counted() {
        let mut r = Report::new(Expect::Rejection, 4);
        r.record(answered(401, 1));
        r.record(answered(200, 1));
        r.record(Outcome::Failed {
            kind: "connect",
            message: "refused".into(),
        });
        r.finish(Duration::from_millis(10));
        assert_eq!(r.sent(), 3);
        assert_eq!(r.unexpected(), 1);
        assert_eq!(r.failed(), 1);
        let text = r.human("http://x", 1);
        assert!(text.contains("(unexpected)"), "{text}");
        assert!(text.contains("first error: refused"), "{text}");
        let json = r.json("http://x", 1);
        assert_eq!(json["statuses"]["401"], 1);
        assert_eq!(json["errors"]["connect"], 1);
    }

    #[test]
    fn an_interrupted_run_says_so_in_the_summary() {
        let mut r = Report::new(Expect::Success, 10);
        r.record(answered(200, 1));
        r.interrupt(10);
        r.finish(Duration::from_millis(10));
        let text = r.human("http://x", 1);
        let last = text.lines().last().unwrap();
        assert_eq!(
            last,
            "interrupted: 1 of 10 answered or failed before Ctrl-C; all 1 answered 2xx as expected"
        );
        assert_eq!(r.json("http://x", 1)["interrupted"], true);
        let mut whole = Report::new(Expect::Success, 1);
        whole.record(answered(200, 1));
        whole.finish(Duration::from_millis(1));
        assert!(!whole.human("http://x", 1).contains("interrupted"));
        assert_eq!(whole.json("http://x", 1)["interrupted"], false);
    }

    #[test]
    fn empty_report_has_no_percentiles() {
        let r = Report::new(Expect::Success, 0);
        assert_eq!(r.percentile(50.0), None);
    }
}
