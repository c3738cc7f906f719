//! [`AcceptAnswer`]: what to answer the sender once an accept has finished, for any framework.

use std::time::Duration;

use crate::{Accepted, InboxError};

/// The HTTP answer to an [`Inbox::accept`](crate::Inbox::accept), framework-agnostic: what
/// [`InboxService`](crate::InboxService) sends, for receivers on other frameworks (actix-web,
/// a hand-written hyper server) to send the same.
///
/// | outcome | status | body |
/// |---|---|---|
/// | new delivery, committed | 201 | `{"id":42,"duplicate":false}` |
/// | duplicate (already stored) | 200 | `{"id":42,"duplicate":true}` |
/// | verified, but no backend can store it ([`InboxError::Unstorable`]) | 422 | `{"error":…,"code":"unstorable"}` |
/// | the store could not commit | 503 + `Retry-After` | `{"error":…,"code":"store_unavailable"}` |
///
/// ```
/// use std::time::Duration;
/// use webhook_inbox::{AcceptAnswer, Accepted, DeliveryId, InboxError};
///
/// let created = AcceptAnswer::new(&Ok(Accepted::New(DeliveryId(42))), Duration::from_secs(5));
/// assert_eq!((created.status, created.body.as_str()), (201, r#"{"id":42,"duplicate":false}"#));
///
/// let down = AcceptAnswer::new(&Err(InboxError::Closed), Duration::from_millis(1500));
/// assert_eq!((down.status, down.retry_after_secs), (503, Some(2)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptAnswer {
    /// The status code.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// The `Retry-After` header, in whole seconds (at least 1), on a 503.
    pub retry_after_secs: Option<u64>,
}

impl AcceptAnswer {
    /// The answer to `result`; a 503 asks the sender to come back after `retry_after` (rounded
    /// up to whole seconds). Logs why a delivery was not stored.
    pub fn new(result: &Result<Accepted, InboxError>, retry_after: Duration) -> Self {
        let (status, body, retry_after_secs) = match result {
            Ok(Accepted::New(id)) => (201, format!(r#"{{"id":{id},"duplicate":false}}"#), None),
            Ok(Accepted::Duplicate(id)) => {
                (200, format!(r#"{{"id":{id},"duplicate":true}}"#), None)
            }
            Err(e @ InboxError::Unstorable(_)) => {
                // Per request, and a sender can repeat it: debug level; counted in
                // `webhook_inbox_unstorable_total`.
                tracing::debug!(error = %e, "webhook verified but not storable; answered 422");
                let body = serde_json::json!({ "error": e.to_string(), "code": "unstorable" });
                (422, body.to_string(), None)
            }
            Err(e) => {
                // The writer logs the failed commit once per batch, as an error.
                tracing::debug!(error = %e, "webhook not stored; answered 503");
                let body = r#"{"error":"the webhook store is unavailable; retry later","code":"store_unavailable"}"#;
                (503, body.to_owned(), Some(retry_after_secs(retry_after)))
            }
        };
        AcceptAnswer {
            status,
            body,
            retry_after_secs,
        }
    }
}

/// `retry_after` as a 503's `Retry-After`: whole seconds, rounded up, at least one.
pub(crate) fn retry_after_secs(retry_after: Duration) -> u64 {
    retry_after
        .as_secs()
        .saturating_add(u64::from(retry_after.subsec_nanos() > 0))
        .max(1)
}
