//! [`WebhookError`]: what the extractors answer instead of calling the handler.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};
use webhook_core::Rejection;

/// Why an extractor did not hand a delivery to the handler, rendered as the response to send.
///
/// Two kinds, as the tower layer answers them:
/// - [`Rejected`](WebhookError::Rejected): a [`webhook_core::Rejection`], answered with its
///   status (400, 401, 409, 413, 422, 500) and its JSON body `{"error":"…","code":"…"}`;
/// - acknowledgements, answered `200` so that the sender stops retrying, without running the
///   handler: [`Unsubscribed`](WebhookError::Unsubscribed) (the event type is outside the
///   configured [`EventFilter`](webhook_core::EventFilter)) and
///   [`Duplicate`](WebhookError::Duplicate) (the delivery was already handled with a 2xx, see
///   [`WebhookDedupe`](crate::WebhookDedupe)). Their body is
///   `{"status":"unsubscribed"}` or `{"status":"duplicate"}`, as the tower layer's.
///
/// Returning an error whose response is a `200` is how an actix-web extractor short-circuits a
/// request; the handler never runs.
///
/// ```
/// use actix_web::ResponseError;
/// use webhook_actix::WebhookError;
/// use webhook_core::Rejection;
///
/// let err = WebhookError::from(Rejection::PayloadTooLarge { limit: 1024 });
/// assert_eq!(err.status_code(), 413);
/// assert_eq!(err.code(), "payload_too_large");
///
/// let ack = WebhookError::Duplicate { key: "standard:msg_1".into() };
/// assert_eq!(ack.status_code(), 200);
/// assert!(ack.is_acknowledgement());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The request was rejected.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The delivery is authentic but its event type is not subscribed: acknowledged with 200.
    #[error("event type `{}` is not subscribed; acknowledged without processing", event_type.as_deref().unwrap_or("(none)"))]
    Unsubscribed {
        /// The delivery's event type, if it has one.
        event_type: Option<String>,
    },
    /// The delivery was already handled successfully: acknowledged with 200.
    #[error("delivery already processed; acknowledged without processing")]
    Duplicate {
        /// The delivery's [`dedupe_key`](webhook_core::Delivery::dedupe_key).
        key: String,
    },
}

impl WebhookError {
    /// The rejection, unless this is an acknowledgement.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            WebhookError::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the response is a `200` acknowledgement rather than a rejection.
    pub fn is_acknowledgement(&self) -> bool {
        !matches!(self, WebhookError::Rejected(_))
    }

    /// A short, stable code: the [`Rejection::code`], or `unsubscribed` / `duplicate`.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::Rejected(r) => r.code(),
            WebhookError::Unsubscribed { .. } => "unsubscribed",
            WebhookError::Duplicate { .. } => "duplicate",
        }
    }

    /// The JSON response body: the [`Rejection::json_body`], or `{"status":"unsubscribed"}` /
    /// `{"status":"duplicate"}` for an acknowledgement.
    ///
    /// ```
    /// use webhook_actix::WebhookError;
    ///
    /// let ack = WebhookError::Unsubscribed { event_type: Some("user.logout".into()) };
    /// assert_eq!(ack.json_body(), r#"{"status":"unsubscribed"}"#);
    /// assert!(ack.rejection().is_none());
    /// ```
    pub fn json_body(&self) -> String {
        match self {
            WebhookError::Rejected(r) => r.json_body(),
            WebhookError::Unsubscribed { .. } | WebhookError::Duplicate { .. } => {
                format!(r#"{{"status":"{}"}}"#, self.code())
            }
        }
    }
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebhookError::Rejected(r) => {
                StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            WebhookError::Unsubscribed { .. } | WebhookError::Duplicate { .. } => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header(ContentType::json())
            .body(self.json_body())
    }
}

#[cfg(test)]
mod tests {
    use webhook_core::VerifyError;

    use super::*;

    #[test]
    fn rejections_keep_the_core_status_and_body() {
        let r = Rejection::from(VerifyError::MissingHeader { name: "webhook-id" });
        let err = WebhookError::from(r.clone());
        assert_eq!(err.status_code().as_u16(), r.status());
        assert_eq!(err.json_body(), r.json_body());
        assert_eq!(err.rejection(), Some(&r));
        assert!(!err.is_acknowledgement());
        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/json"
        );
    }

    #[test]
    fn acknowledgements_are_200() {
        let err = WebhookError::Unsubscribed {
            event_type: Some("user.login".into()),
        };
        assert_eq!(err.status_code(), StatusCode::OK);
        assert_eq!(err.json_body(), r#"{"status":"unsubscribed"}"#);
        assert!(err.to_string().contains("user.login"));
        assert_eq!(err.rejection(), None);
    }
}
