//! Tracing span, metrics and the rate-limited warning about failing verification.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::Span;
use tracing::field::Empty;
use webhook_core::{Delivery, Rejection, VerifyError};

// Metrics: `webhook_requests_total{outcome}` (accepted, failed, duplicate, unsubscribed,
// in_flight, rejected), `webhook_rejections_total{reason}` (the `Rejection::code`),
// `webhook_verify_duration_seconds` (histogram).

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The inner service answered 2xx.
    Accepted,
    /// The inner service answered another status or failed.
    Failed,
    /// Already handled: answered 200 without the inner service.
    Duplicate,
    /// Not subscribed: answered 200 without the inner service.
    Unsubscribed,
    /// Being handled now: answered 409.
    InFlight,
    /// Rejected by the layer (400, 401, 413).
    Rejected,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Failed => "failed",
            Outcome::Duplicate => "duplicate",
            Outcome::Unsubscribed => "unsubscribed",
            Outcome::InFlight => "in_flight",
            Outcome::Rejected => "rejected",
        }
    }
}

pub(crate) fn span() -> Span {
    tracing::debug_span!(
        "webhook",
        webhook.id = Empty,
        webhook.event_type = Empty,
        webhook.scheme = Empty,
        webhook.outcome = Empty,
    )
}

pub(crate) fn record_delivery(span: &Span, delivery: &Delivery) {
    if span.is_disabled() {
        return;
    }
    span.record("webhook.scheme", delivery.scheme().as_str());
    if let Some(id) = delivery.id().or_else(|| delivery.event_id()) {
        span.record("webhook.id", id);
    }
    if let Some(event_type) = delivery.event_type() {
        span.record("webhook.event_type", event_type);
    }
}

/// Literal names and labels let the `metrics` macros build their keys statically: no allocation
/// per request.
macro_rules! count {
    ($value:expr, $name:literal, $label:literal, [$($known:literal),*]) => {
        match $value {
            $($known => metrics::counter!($name, $label => $known).increment(1),)*
            other => metrics::counter!($name, $label => other).increment(1),
        }
    };
}

pub(crate) fn finish(span: &Span, outcome: Outcome) {
    span.record("webhook.outcome", outcome.as_str());
    count!(
        outcome.as_str(),
        "webhook_requests_total",
        "outcome",
        [
            "accepted",
            "failed",
            "duplicate",
            "unsubscribed",
            "in_flight",
            "rejected"
        ]
    );
}

pub(crate) fn verify_time(elapsed: Duration) {
    metrics::histogram!("webhook_verify_duration_seconds").record(elapsed.as_secs_f64());
}

pub(crate) fn rejected(span: &Span, rejection: &Rejection, failures: &FailureLog) {
    count!(
        rejection.code(),
        "webhook_rejections_total",
        "reason",
        [
            "missing_header",
            "malformed_header",
            "timestamp_too_old",
            "timestamp_too_new",
            "no_supported_signature",
            "signature_mismatch",
            "payload_too_large",
            "body_read_error",
            "in_flight"
        ]
    );
    let outcome = match rejection {
        Rejection::InFlight => Outcome::InFlight,
        _ => Outcome::Rejected,
    };
    finish(span, outcome);
    tracing::debug!(
        status = rejection.status(),
        reason = rejection.code(),
        "webhook rejected: {rejection}"
    );
    if let Rejection::Verify(err) = rejection {
        failures.record(err);
    }
}

/// Counts verification failures by check and warns at most once per interval, so that a wrong
/// or rotated secret never fails silently yet cannot flood the logs.
#[derive(Debug)]
pub(crate) struct FailureLog {
    interval: Duration,
    state: Mutex<FailureState>,
}

#[derive(Debug, Default)]
struct FailureState {
    last_warning: Option<Instant>,
    counts: Vec<(&'static str, u64)>,
}

impl FailureLog {
    pub(crate) fn new(interval: Duration) -> Self {
        FailureLog {
            interval,
            state: Mutex::new(FailureState::default()),
        }
    }

    pub(crate) fn record(&self, err: &VerifyError) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let code = err.code();
        match state.counts.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => state.counts.push((code, 1)),
        }
        let now = Instant::now();
        if state
            .last_warning
            .is_some_and(|at| now.duration_since(at) < self.interval)
        {
            return;
        }
        let since = state
            .last_warning
            .map(|at| now.duration_since(at).as_secs());
        state.last_warning = Some(now);
        let mut counts = std::mem::take(&mut state.counts);
        drop(state);
        counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        let checks = counts
            .iter()
            .map(|(c, n)| format!("{c} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let window = match since {
            Some(secs) => format!("in the last {secs} s"),
            None => String::from("since start"),
        };
        tracing::warn!(
            failures = total,
            checks = %checks,
            latest = %err,
            "webhook verification failing: {total} request(s) rejected {window} ({checks}); {}",
            hint(counts.first().map_or(code, |(c, _)| c)),
        );
    }
}

fn hint(code: &str) -> &'static str {
    match code {
        "signature_mismatch" => {
            "a wrong or rotated secret is the usual cause: compare the endpoint's secret with the sender's dashboard, and add the new one with Verifier::add_secret during a rotation"
        }
        "timestamp_too_old" | "timestamp_too_new" => {
            "check this server's clock (NTP), or a queue or proxy delaying requests"
        }
        "no_supported_signature" => {
            "the sender signs with another scheme or signature version than this verifier expects"
        }
        _ => {
            "requests lack the sender's headers: a different sender, the wrong scheme, or a proxy stripping headers"
        }
    }
}
