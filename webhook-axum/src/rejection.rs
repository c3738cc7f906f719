//! [`VerifiedEventRejection`]: why an extractor could not produce its value.

use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use webhook_core::{EventError, Rejection};

const MISSING_LAYER: &str = "this route has no WebhookVerify layer: add `.route_layer(WebhookVerify::new(secret))` to the route that uses VerifiedEvent / VerifiedDelivery (or `.layer(...)` to a router of webhook routes only)";

/// Rejection of [`VerifiedEvent`](crate::VerifiedEvent) and
/// [`VerifiedDelivery`](crate::VerifiedDelivery).
///
/// The response has the JSON body every webhook integration answers with
/// (`{"error":"…","code":"…"}`, see [`Rejection::json_body`]) and carries the
/// [`Rejection`] in its extensions, as the layer's rejections do.
///
/// ```
/// use webhook_axum::VerifiedEventRejection;
///
/// let r = VerifiedEventRejection::MissingLayer;
/// assert_eq!(r.status(), 500);
/// assert!(r.body_text().contains("WebhookVerify"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifiedEventRejection {
    /// The request did not pass through [`WebhookVerify`](crate::WebhookVerify): a server
    /// misconfiguration (500).
    #[error("{MISSING_LAYER}")]
    MissingLayer,
    /// The verified body does not fit the requested type (422); the message names the field.
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
}

impl VerifiedEventRejection {
    /// The HTTP status: 500 for [`MissingLayer`](Self::MissingLayer), 422 for
    /// [`InvalidEvent`](Self::InvalidEvent).
    pub fn status(&self) -> StatusCode {
        match self {
            VerifiedEventRejection::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
            VerifiedEventRejection::InvalidEvent(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The response body: `{"error":"…","code":"…"}`.
    pub fn body_text(&self) -> String {
        self.rejection().json_body()
    }

    /// The shared [`Rejection`] this maps to (`misconfigured` or `unprocessable_event`), for a
    /// handler that takes `Result<VerifiedEvent<T>, VerifiedEventRejection>` to answer it itself.
    ///
    /// ```
    /// # use tower::ServiceExt;
    /// # use webhook_axum::testing::SignedRequest;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::{Router, http::StatusCode, routing::post};
    /// use webhook_axum::{Event, VerifiedEvent, VerifiedEventRejection, WebhookVerify};
    /// use webhook_axum::scalekit::Organization;
    ///
    /// type Parsed = Result<VerifiedEvent<Event<Organization>>, VerifiedEventRejection>;
    /// async fn handler(event: Parsed) -> StatusCode {
    ///     match event {
    ///         Ok(_) => StatusCode::NO_CONTENT,
    ///         // Not an organization event: accept it, so that the sender stops retrying.
    ///         Err(err) if err.rejection().code() == "unprocessable_event" => StatusCode::ACCEPTED,
    ///         Err(err) => err.status(),
    ///     }
    /// }
    ///
    /// # const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let app: Router = Router::new().route("/", post(handler).route_layer(WebhookVerify::new(SECRET)));
    /// let res = app.oneshot(SignedRequest::scalekit(SECRET, "user.login").build()).await?;
    /// assert_eq!(res.status(), StatusCode::ACCEPTED); // another status than 422: it stands
    /// # Ok(()) }
    /// ```
    pub fn rejection(&self) -> Rejection {
        match self {
            VerifiedEventRejection::MissingLayer => Rejection::Misconfigured(MISSING_LAYER),
            VerifiedEventRejection::InvalidEvent(err) => Rejection::from(err.clone()),
        }
    }
}

/// [`VerifiedEventRejection::MissingLayer`], logged as an error the first time in the process:
/// the sender alone sees the 500, and the operator should learn of the mistake from the logs.
/// Once only, since anyone can make a request to such a route.
pub(crate) fn missing_layer() -> VerifiedEventRejection {
    static LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::error!("{MISSING_LAYER} (logged once)");
    }
    VerifiedEventRejection::MissingLayer
}

impl IntoResponse for VerifiedEventRejection {
    fn into_response(self) -> Response {
        let rejection = self.rejection();
        let mut res = (self.status(), rejection.json_body()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.extensions_mut().insert(rejection);
        res
    }
}
