//! [`Rejection`]: why a receiver turns a request away, and the response every integration sends.

use crate::VerifyError;

/// Why a receiver rejects a webhook request, with the HTTP status and the small JSON body that
/// the tower layer, the axum extractors and the actix-web extractor all answer with.
///
/// The body is `{"error":"<message>","code":"<code>"}`: enough for the sender's operator to act
/// on, never a secret, an expected signature or the request body.
///
/// ```
/// use webhook_core::{Rejection, VerifyError};
///
/// let r = Rejection::from(VerifyError::MissingHeader { name: "webhook-id" });
/// assert_eq!(r.status(), 400);
/// assert_eq!(r.code(), "missing_header");
/// assert_eq!(r.json_body(), r#"{"error":"missing `webhook-id` header","code":"missing_header"}"#);
/// assert_eq!(Rejection::PayloadTooLarge { limit: 1024 }.status(), 413);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Signature or header verification failed (400 or 401, see [`VerifyError::status`]).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The body is larger than the configured limit (413).
    #[error("body exceeds the {limit} byte limit")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body stream failed before it was complete (400).
    #[error("failed to read the request body")]
    BodyRead,
    /// The body was cut off by a size limit outside the webhook's own, e.g. tower-http's
    /// `RequestBodyLimitLayer` around the layer, which ends an over-long streamed body with an
    /// error (413; same code as [`PayloadTooLarge`](Rejection::PayloadTooLarge)).
    #[error("body exceeds the request body limit")]
    BodyLimitExceeded,
    /// A delivery with the same id is being processed right now (409): the sender should retry
    /// later.
    #[error("a delivery with this id is already being processed; retry later")]
    InFlight,
    /// The verified body is not the JSON the receiver expects (422). The message names the field.
    #[error("{0}")]
    UnprocessableEvent(String),
    /// The receiver is misconfigured (500), e.g. an extractor used without its layer or config.
    #[error("webhook receiver misconfigured: {0}")]
    Misconfigured(&'static str),
}

impl Rejection {
    /// The HTTP status to answer.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Verify(e) => e.status(),
            Rejection::PayloadTooLarge { .. } => 413,
            Rejection::BodyRead => 400,
            Rejection::BodyLimitExceeded => 413,
            Rejection::InFlight => 409,
            Rejection::UnprocessableEvent(_) => 422,
            Rejection::Misconfigured(_) => 500,
        }
    }

    /// A short, stable, machine-readable code, also used as a metrics label: the
    /// [`VerifyError::code`] of a verification failure, else `payload_too_large`,
    /// `body_read_error`, `in_flight`, `unprocessable_event` or `misconfigured`.
    ///
    /// ```
    /// use webhook_core::{Rejection, VerifyError};
    ///
    /// // Both body limits, the webhook's own and one outside it, read alike.
    /// assert_eq!(Rejection::BodyLimitExceeded.code(), "payload_too_large");
    /// assert_eq!(Rejection::PayloadTooLarge { limit: 2_097_152 }.code(), "payload_too_large");
    ///
    /// let r = Rejection::from(VerifyError::NoSupportedSignature { name: "webhook-signature" });
    /// assert_eq!((r.status(), r.code()), (401, "no_supported_signature"));
    /// assert!(matches!(r, Rejection::Verify(VerifyError::NoSupportedSignature { .. })));
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Verify(e) => e.code(),
            Rejection::PayloadTooLarge { .. } => "payload_too_large",
            Rejection::BodyRead => "body_read_error",
            Rejection::BodyLimitExceeded => "payload_too_large",
            Rejection::InFlight => "in_flight",
            Rejection::UnprocessableEvent(_) => "unprocessable_event",
            Rejection::Misconfigured(_) => "misconfigured",
        }
    }

    /// The JSON response body: `{"error":"…","code":"…"}`. The message is the error's, except
    /// that a signature mismatch does not say how many secrets were tried: that would tell
    /// anyone who sends a forged request that a secret rotation is under way (logs and the
    /// [`Display`](std::fmt::Display) text keep the counts).
    ///
    /// ```
    /// use webhook_core::{Rejection, VerifyError};
    ///
    /// let r = Rejection::from(VerifyError::SignatureMismatch { candidates: 1, secrets: 2 });
    /// assert!(r.to_string().contains("2 secret(s)"));
    /// assert!(!r.json_body().contains("secret(s)"));
    /// ```
    pub fn json_body(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            error: &'a str,
            code: &'a str,
        }
        let error = match self {
            Rejection::Verify(VerifyError::SignatureMismatch { .. }) => std::borrow::Cow::Borrowed(
                "no signature matched: wrong or rotated secret, or a modified body",
            ),
            other => std::borrow::Cow::Owned(other.to_string()),
        };
        serde_json::to_string(&Body {
            error: &error,
            code: self.code(),
        })
        .unwrap_or_else(|_| String::from(r#"{"error":"rejected","code":"rejected"}"#))
    }
}
