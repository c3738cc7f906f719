//! Metric names and the helpers that record them through the `metrics` facade. Install any
//! recorder (Prometheus, OpenTelemetry bridge) in the application to export them.
//!
//! Labels are low-cardinality: `event_type` (the sender's event type, `""` when none),
//! `outcome`, and on the gauges `inbox` when the inbox has a
//! [`metrics_name`](crate::InboxBuilder::metrics_name). Never a delivery id. Event types come from the sender, and for GitHub and Shopify
//! from a header the signature does not cover, so a process labels at most
//! [`MAX_EVENT_TYPE_LABELS`] of them; later ones are counted under `"_other"` (a name no sender
//! uses for a type).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The most distinct `event_type` label values a process records.
pub const MAX_EVENT_TYPE_LABELS: usize = 256;

/// Counter: deliveries accepted, labels `event_type`, `outcome` = `new` | `duplicate`.
pub const ACCEPTED_TOTAL: &str = "webhook_inbox_accepted_total";
/// Counter: accepts refused because the store could not commit (answered 503).
pub const ACCEPT_ERRORS_TOTAL: &str = "webhook_inbox_accept_errors_total";
/// Counter: verified deliveries no backend can store (answered 422; see
/// [`InboxError::Unstorable`](crate::InboxError::Unstorable)).
pub const UNSTORABLE_TOTAL: &str = "webhook_inbox_unstorable_total";
/// Histogram: deliveries per group commit.
pub const COMMIT_BATCH_SIZE: &str = "webhook_inbox_commit_batch_size";
/// Histogram: seconds per group commit (transaction + fsync).
pub const COMMIT_SECONDS: &str = "webhook_inbox_commit_seconds";
/// Counter: finished handler runs, labels `event_type`, `outcome` = `processed` | `failed` |
/// `dead`: what the run's result asks for, counted when the run ends, also when a lost lease or
/// an unreachable store keeps the outcome from being stored (the delivery then runs again).
pub const PROCESSED_TOTAL: &str = "webhook_inbox_processed_total";
/// Histogram: handler run time in seconds, labels `event_type`, `outcome`.
pub const PROCESSING_SECONDS: &str = "webhook_inbox_processing_seconds";
/// Counter: deliveries no running worker of the inbox handles, given the worker's
/// [`Unhandled`](crate::Unhandled) policy without running anything; labels `event_type`,
/// `outcome` = `completed` | `dead`.
pub const UNHANDLED_TOTAL: &str = "webhook_inbox_unhandled_total";
/// Gauge: deliveries pending, processing or waiting for a retry; label `inbox` when the inbox
/// has a [`metrics_name`](crate::InboxBuilder::metrics_name).
pub const QUEUE_DEPTH: &str = "webhook_inbox_queue_depth";
/// Gauge: dead deliveries; label `inbox` as [`QUEUE_DEPTH`].
pub const DEAD: &str = "webhook_inbox_dead";
/// Counter: deliveries held back because their handler's circuit was open, label `event_type`.
pub const CIRCUIT_DEFERRED_TOTAL: &str = "webhook_inbox_circuit_deferred_total";

fn event_label(event_type: Option<&str>) -> String {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    bounded(
        seen.get_or_insert_with(HashSet::new),
        event_type.unwrap_or(""),
        MAX_EVENT_TYPE_LABELS,
    )
}

/// `event_type` (cut to 128 characters) if it is one of the first `max` seen, else `"_other"`.
fn bounded(seen: &mut HashSet<String>, event_type: &str, max: usize) -> String {
    let label: String = event_type.chars().take(128).collect();
    if seen.contains(&label) {
        return label;
    }
    if seen.len() >= max {
        return "_other".to_owned();
    }
    seen.insert(label.clone());
    label
}

pub(crate) fn accepted(event_type: Option<&str>, duplicate: bool) {
    let outcome = if duplicate { "duplicate" } else { "new" };
    metrics::counter!(ACCEPTED_TOTAL, "event_type" => event_label(event_type), "outcome" => outcome).increment(1);
}

pub(crate) fn accept_error() {
    metrics::counter!(ACCEPT_ERRORS_TOTAL).increment(1);
}

pub(crate) fn unstorable() {
    metrics::counter!(UNSTORABLE_TOTAL).increment(1);
}

pub(crate) fn commit(size: usize, took: Duration) {
    metrics::histogram!(COMMIT_BATCH_SIZE).record(size as f64);
    metrics::histogram!(COMMIT_SECONDS).record(took.as_secs_f64());
}

pub(crate) fn processed(event_type: Option<&str>, outcome: &'static str, took: Duration) {
    let label = event_label(event_type);
    metrics::counter!(PROCESSED_TOTAL, "event_type" => label.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!(PROCESSING_SECONDS, "event_type" => label, "outcome" => outcome)
        .record(took.as_secs_f64());
}

pub(crate) fn unhandled(event_type: Option<&str>, outcome: &'static str) {
    metrics::counter!(UNHANDLED_TOTAL, "event_type" => event_label(event_type), "outcome" => outcome)
        .increment(1);
}

pub(crate) fn deferred(event_type: Option<&str>) {
    metrics::counter!(CIRCUIT_DEFERRED_TOTAL, "event_type" => event_label(event_type)).increment(1);
}

pub(crate) fn gauges(counts: &crate::StatusCounts, inbox: Option<&str>) {
    // No label without a name: the same series as before names existed.
    let labels: Vec<metrics::Label> = inbox
        .map(|name| metrics::Label::new("inbox", name.to_owned()))
        .into_iter()
        .collect();
    metrics::gauge!(QUEUE_DEPTH, labels.clone()).set(counts.queue_depth() as f64);
    metrics::gauge!(DEAD, labels).set(counts.dead as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_labels_are_bounded() {
        let mut seen = HashSet::new();
        for i in 0..3 {
            assert_eq!(bounded(&mut seen, &format!("t{i}"), 3), format!("t{i}"));
        }
        assert_eq!(bounded(&mut seen, "t3", 3), "_other");
        assert_eq!(bounded(&mut seen, "t1", 3), "t1");
        assert_eq!(bounded(&mut seen, &"x".repeat(500), 4).len(), 128);
    }
}
