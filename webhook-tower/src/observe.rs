//! Tracing span, metrics and the rate-limited warning about failing verification.

use std::time::Duration;

use tracing::Span;
use tracing::field::Empty;
use webhook_core::{Delivery, Rejection};

use crate::layer::Config;

// Metrics: `webhook_requests_total{outcome}` (accepted, failed, duplicate, unsubscribed,
// in_flight, rejected, cancelled), `webhook_rejections_total{reason,scheme}` (the
// `Rejection::code`, the verifier's `Scheme::as_str`), `webhook_verify_duration_seconds`
// (histogram); each also labelled `source` when the layer is named (`WebhookVerify::source`).

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
    /// Dropped before an answer: the client went away, or a timeout outside the layer fired.
    Cancelled,
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
            Outcome::Cancelled => "cancelled",
        }
    }
}

pub(crate) fn span(config: &Config) -> Span {
    let span = tracing::debug_span!(
        "webhook",
        webhook.source = Empty,
        webhook.id = Empty,
        webhook.event_type = Empty,
        webhook.scheme = Empty,
        webhook.secret_index = Empty,
        webhook.outcome = Empty,
    );
    if let Some(source) = &config.source
        && !span.is_disabled()
    {
        span.record("webhook.source", &**source);
    }
    span
}

pub(crate) fn record_delivery(span: &Span, delivery: &Delivery) {
    if span.is_disabled() {
        return;
    }
    span.record("webhook.scheme", delivery.scheme().as_str());
    // Which of the verifier's secrets matched: during a rotation, when no request shows the
    // old one any more, it can go.
    span.record("webhook.secret_index", delivery.verified().secret_index());
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

pub(crate) fn finish(span: &Span, outcome: Outcome, config: &Config) {
    span.record("webhook.outcome", outcome.as_str());
    if let Some(source) = &config.source {
        metrics::counter!("webhook_requests_total", "outcome" => outcome.as_str(), "source" => source.clone())
            .increment(1);
        return;
    }
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
            "rejected",
            "cancelled"
        ]
    );
}

pub(crate) fn verify_time(elapsed: Duration, config: &Config) {
    match &config.source {
        None => metrics::histogram!("webhook_verify_duration_seconds"),
        Some(source) => {
            metrics::histogram!("webhook_verify_duration_seconds", "source" => source.clone())
        }
    }
    .record(elapsed.as_secs_f64());
}

/// Counts a rejection (`webhook_rejections_total{reason,scheme[,source]}`: a rare path, so its
/// labels are built at run time) and the request's outcome; warns through the config's failure
/// log when verification keeps failing, naming the scheme and the source so that an app with
/// several senders knows whose secret to check.
pub(crate) fn rejected(span: &Span, rejection: &Rejection, config: &Config) {
    let scheme = config.verifier.scheme();
    let mut labels = vec![
        metrics::Label::new("reason", rejection.code()),
        metrics::Label::new("scheme", scheme.as_str()),
    ];
    if let Some(source) = &config.source {
        labels.push(metrics::Label::new("source", source.clone()));
    }
    metrics::counter!("webhook_rejections_total", labels).increment(1);
    let outcome = match rejection {
        Rejection::InFlight => Outcome::InFlight,
        _ => Outcome::Rejected,
    };
    finish(span, outcome, config);
    tracing::debug!(
        status = rejection.status(),
        reason = rejection.code(),
        "webhook rejected: {rejection}"
    );
    if let Rejection::Verify(err) = rejection
        && let Some(report) = config.failures.record(err)
    {
        tracing::warn!(
            source = config.source.as_deref(),
            scheme = scheme.as_str(),
            failures = report.total(),
            checks = %report.checks(),
            latest = %err,
            "{report}"
        );
    }
}
