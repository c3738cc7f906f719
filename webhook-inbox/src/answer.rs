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
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_inbox::{AcceptAnswer, Accepted, DeliveryId, InboxError};
    ///
    /// let retry_after = Duration::from_secs(5); // inbox.retry_after()
    /// let again = AcceptAnswer::new(&Ok(Accepted::Duplicate(DeliveryId(42))), retry_after);
    /// assert_eq!((again.status, again.body.as_str()), (200, r#"{"id":42,"duplicate":true}"#));
    ///
    /// let unstorable = Err(InboxError::Unstorable("a NUL in its id".into()));
    /// let bad = AcceptAnswer::new(&unstorable, retry_after);
    /// assert_eq!((bad.status, bad.retry_after_secs), (422, None)); // sending it again cannot help
    /// assert!(bad.body.contains(r#""code":"unstorable""#));
    /// ```
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

/// Feature `actix`: an actix-web handler returns the answer as it is, with its status, JSON body
/// and `Retry-After`.
///
/// ```
/// use webhook_inbox::{AcceptAnswer, AcceptMeta, Inbox};
///
/// // In an actix-web handler, after the delivery was verified (webhook-actix's VerifiedDelivery):
/// async fn accept(inbox: &Inbox, delivery: webhook_core::Delivery) -> AcceptAnswer {
///     let result = inbox.accept(&delivery, AcceptMeta::new()).await;
///     AcceptAnswer::new(&result, inbox.retry_after())
/// }
/// ```
#[cfg(feature = "actix")]
impl actix_web::Responder for AcceptAnswer {
    type Body = String;

    fn respond_to(self, _req: &actix_web::HttpRequest) -> actix_web::HttpResponse<String> {
        use actix_web::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
        let status = actix_web::http::StatusCode::from_u16(self.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = actix_web::HttpResponse::with_body(status, self.body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `retry_after` as a 503's `Retry-After`: whole seconds, rounded up, at least one.
pub(crate) fn retry_after_secs(retry_after: Duration) -> u64 {
    retry_after
        .as_secs()
        .saturating_add(u64::from(retry_after.subsec_nanos() > 0))
        .max(1)
}

#[cfg(all(test, feature = "actix"))]
mod actix_tests {
    use actix_web::Responder as _;
    use actix_web::body::MessageBody as _;

    use super::*;
    use crate::DeliveryId;

    #[test]
    fn an_answer_is_an_actix_response() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let created = AcceptAnswer::new(&Ok(Accepted::New(DeliveryId(7))), Duration::from_secs(5))
            .respond_to(&req);
        assert_eq!(created.status().as_u16(), 201);
        assert_eq!(
            created.headers().get("content-type").unwrap(),
            "application/json"
        );
        assert!(created.headers().get("retry-after").is_none());
        assert_eq!(
            created.into_body().try_into_bytes().unwrap(),
            r#"{"id":7,"duplicate":false}"#
        );
        let down = AcceptAnswer::new(&Err(InboxError::Closed), Duration::from_millis(1500))
            .respond_to(&req);
        assert_eq!(down.status().as_u16(), 503);
        assert_eq!(down.headers().get("retry-after").unwrap(), "2");
    }
}
