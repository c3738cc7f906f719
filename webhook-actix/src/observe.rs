//! Metrics and the rate-limited warning about failing verification, as the tower layer has them:
//! `webhook_requests_total{outcome}`, `webhook_rejections_total{reason,scheme}` and
//! `webhook_verify_duration_seconds`, each also labelled `source` when the config is named
//! (`WebhookConfig::source`).

use std::time::Duration;

use metrics::SharedString;
use tracing::Span;
use tracing::field::Empty;
use webhook_core::{Delivery, FailureLog, Rejection, Scheme};

/// The request's `webhook` span, as the tower layer opens it (debug level): `webhook.source`, `webhook.id`,
/// `webhook.event_type`, `webhook.scheme`, `webhook.secret_index` and `webhook.outcome`, never
/// the body or a secret.
/// [`WebhookDedupe`](crate::WebhookDedupe) opens it around the handler and the extractors
/// record into it; without the middleware the extractors open it around their own work.
#[derive(Clone, Debug)]
pub(crate) struct WebhookSpan(pub(crate) Span);

pub(crate) fn span() -> Span {
    tracing::debug_span!(
        "webhook",
        webhook.source = Empty,
        webhook.id = Empty,
        webhook.event_type = Empty,
        webhook.scheme = Empty,
        webhook.secret_index = Empty,
        webhook.outcome = Empty,
    )
}

/// The current span if it is the request's `webhook` span: with that span disabled (its level
/// filtered out), the current one is whatever encloses it, which is not written into.
fn webhook_span() -> Option<Span> {
    let span = Span::current();
    let ours = span
        .metadata()
        .is_some_and(|m| m.name() == "webhook" && m.target() == module_path!());
    ours.then_some(span)
}

/// Records the config's source name in the request's span.
pub(crate) fn record_source(source: Option<&SharedString>) {
    if let (Some(source), Some(span)) = (source, webhook_span()) {
        span.record("webhook.source", &**source);
    }
}

/// Records the verified delivery's id, event type and scheme in the request's span.
pub(crate) fn record_delivery(delivery: &Delivery) {
    let Some(span) = webhook_span() else {
        return;
    };
    span.record("webhook.scheme", delivery.scheme().as_str());
    span.record("webhook.secret_index", delivery.verified().secret_index());
    if let Some(id) = delivery.id().or_else(|| delivery.event_id()) {
        span.record("webhook.id", id);
    }
    if let Some(event_type) = delivery.event_type() {
        span.record("webhook.event_type", event_type);
    }
}

/// How a request ended, as the tower layer's `outcome` label names it.
pub(crate) mod outcome {
    /// The handler answered 2xx (known under `WebhookDedupe`).
    pub(crate) const ACCEPTED: &str = "accepted";
    /// The handler answered another status or failed (known under `WebhookDedupe`).
    pub(crate) const FAILED: &str = "failed";
    /// Dropped before an answer (known under `WebhookDedupe`).
    pub(crate) const CANCELLED: &str = "cancelled";
    /// Already handled: answered 200 without the handler.
    pub(crate) const DUPLICATE: &str = "duplicate";
    /// Not subscribed: answered 200 without the handler.
    pub(crate) const UNSUBSCRIBED: &str = "unsubscribed";
    /// Being handled now: answered 409.
    pub(crate) const IN_FLIGHT: &str = "in_flight";
    /// Refused (400, 401, 413, 422, 500).
    pub(crate) const REJECTED: &str = "rejected";
}

/// Counts `webhook_requests_total{outcome[,source]}` and records the outcome in the request's
/// span.
pub(crate) fn finish(outcome: &'static str, source: Option<&SharedString>) {
    if let Some(span) = webhook_span() {
        span.record("webhook.outcome", outcome);
    }
    match source {
        // Literal labels: the key is built statically, no allocation per request.
        None => match outcome {
            "accepted" => metrics::counter!("webhook_requests_total", "outcome" => "accepted"),
            "failed" => metrics::counter!("webhook_requests_total", "outcome" => "failed"),
            "cancelled" => metrics::counter!("webhook_requests_total", "outcome" => "cancelled"),
            "duplicate" => metrics::counter!("webhook_requests_total", "outcome" => "duplicate"),
            "unsubscribed" => {
                metrics::counter!("webhook_requests_total", "outcome" => "unsubscribed")
            }
            "in_flight" => metrics::counter!("webhook_requests_total", "outcome" => "in_flight"),
            "rejected" => metrics::counter!("webhook_requests_total", "outcome" => "rejected"),
            other => metrics::counter!("webhook_requests_total", "outcome" => other),
        },
        Some(source) => {
            metrics::counter!("webhook_requests_total", "outcome" => outcome, "source" => source.clone())
        }
    }
    .increment(1);
}

/// Records `webhook_verify_duration_seconds[{source}]`.
pub(crate) fn verify_time(took: Duration, source: Option<&SharedString>) {
    match source {
        None => metrics::histogram!("webhook_verify_duration_seconds"),
        Some(source) => {
            metrics::histogram!("webhook_verify_duration_seconds", "source" => source.clone())
        }
    }
    .record(took.as_secs_f64());
}

/// Counts the request's outcome (`rejected`, or `in_flight`) and
/// `webhook_rejections_total{reason,scheme[,source]}` (`scheme="none"` without a config).
pub(crate) fn count_rejection(
    rejection: &Rejection,
    scheme: Option<Scheme>,
    source: Option<&SharedString>,
) {
    finish(
        match rejection {
            Rejection::InFlight => outcome::IN_FLIGHT,
            _ => outcome::REJECTED,
        },
        source,
    );
    let mut labels = vec![
        metrics::Label::new("reason", rejection.code()),
        metrics::Label::new("scheme", scheme.map_or("none", Scheme::as_str)),
    ];
    if let Some(source) = source {
        labels.push(metrics::Label::new("source", source.clone()));
    }
    metrics::counter!("webhook_rejections_total", labels).increment(1);
}

/// Counts a request as `failed` when dropped while a panic unwinds (a custom error handler
/// panicked before the rejection was counted), as the tower layer counts it.
pub(crate) struct FailedIfUnwinding<'a>(pub(crate) Option<&'a SharedString>);

impl Drop for FailedIfUnwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            finish(outcome::FAILED, self.0);
        }
    }
}

/// Counts the request's outcome and `webhook_rejections_total{reason,scheme}` (the
/// [`Rejection::code`], the verifier's scheme), logs the rejection at debug level, and warns
/// through `failures` when verification keeps failing, naming the scheme and the source.
pub(crate) fn rejected(
    rejection: &Rejection,
    failures: &FailureLog,
    scheme: Scheme,
    source: Option<&SharedString>,
) {
    count_rejection(rejection, Some(scheme), source);
    tracing::debug!(
        status = rejection.status(),
        reason = rejection.code(),
        "webhook rejected: {rejection}"
    );
    if let Rejection::Verify(err) = rejection
        && let Some(report) = failures.record(err)
    {
        tracing::warn!(
            source = source.map(|s| &**s),
            scheme = scheme.as_str(),
            failures = report.total(),
            checks = %report.checks(),
            latest = %err,
            "{report}"
        );
    }
}
