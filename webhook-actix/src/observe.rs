//! Rejection metrics and the rate-limited warning about failing verification, as the tower
//! layer has them.

use webhook_core::{FailureLog, Rejection};

/// Counts `webhook_rejections_total{reason}` (the [`Rejection::code`]), logs the rejection at
/// debug level, and warns through `failures` when verification keeps failing.
pub(crate) fn rejected(rejection: &Rejection, failures: &FailureLog) {
    metrics::counter!("webhook_rejections_total", "reason" => rejection.code()).increment(1);
    tracing::debug!(
        status = rejection.status(),
        reason = rejection.code(),
        "webhook rejected: {rejection}"
    );
    if let Rejection::Verify(err) = rejection
        && let Some(report) = failures.record(err)
    {
        tracing::warn!(
            failures = report.total(),
            checks = %report.checks(),
            latest = %err,
            "{report}"
        );
    }
}
