//! How rejections and skips are answered.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use webhook_core::Rejection;

use crate::observe::Outcome;

/// Builds the response for a rejected request. Set it with
/// [`WebhookVerify::on_rejection`](crate::WebhookVerify::on_rejection); it is implemented for
/// closures `Fn(&Rejection) -> Response<B> + Clone`, for any body `B` whose error converts into
/// a boxed error (with axum, `|r: &Rejection| (…).into_response()`).
///
/// Whatever it returns, the layer adds the typed [`Rejection`] to the response extensions.
///
/// It also answers the rejections of extractors behind the layer: when the inner service
/// answers a non-2xx response carrying a [`Rejection`] in its extensions, with the rejection's
/// own status (axum's `VerifiedEvent` does for a body that does not fit its type, 422), the
/// layer counts it as a rejection and answers with this handler's response, plus the headers the
/// inner stack set that it does not set itself (none describing the replaced body: `content-*`,
/// `etag`, `last-modified`). A handler that took the rejection and answered with another status
/// keeps its answer (the rejection is still counted).
///
/// ```
/// # use std::convert::Infallible;
/// # use tower::{Layer, ServiceExt, service_fn};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use http::{Request, Response, StatusCode};
/// use http_body_util::BodyExt;
/// use webhook_tower::{Full, WebhookVerify};
/// use webhook_tower::webhook_core::Rejection;
///
/// // Plain-text answers, and no hint of *why* a signature failed.
/// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").on_rejection(|r: &Rejection| {
///     let mut res = Response::new(Full::from(r.code()));
///     *res.status_mut() = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
///     res
/// });
/// # let handler = service_fn(|_req: Request<Full<bytes::Bytes>>| async {
/// #     Ok::<_, Infallible>(Response::new(Full::from("ok")))
/// # });
/// let unsigned = Request::post("/webhooks").body(Full::<bytes::Bytes>::from("{}"))?;
/// let res = layer.layer(handler).oneshot(unsigned).await?;
/// assert_eq!(res.status(), 400);
/// assert!(res.extensions().get::<Rejection>().is_some()); // added by the layer
/// assert_eq!(res.into_body().collect().await?.to_bytes(), "missing_header");
/// # Ok(()) }
/// ```
pub trait OnRejection: Clone {
    /// The body of its responses.
    type Body: http_body::Body<Data = Bytes>;

    /// The response for `rejection`.
    fn on_rejection(&self, rejection: &Rejection) -> Response<Self::Body>;
}

impl<F, B> OnRejection for F
where
    F: Fn(&Rejection) -> Response<B> + Clone,
    B: http_body::Body<Data = Bytes>,
{
    type Body = B;

    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}

/// The default answer: the rejection's status and its JSON body
/// ([`Rejection::json_body`]: `{"error":"…","code":"…"}`) with `content-type: application/json`.
///
/// A custom handler can start from it, e.g. to add a header:
///
/// ```
/// use webhook_tower::{DefaultRejection, WebhookVerify};
/// use webhook_tower::webhook_core::Rejection;
///
/// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").on_rejection(|r: &Rejection| {
///     let mut res = DefaultRejection::response(r);
///     res.headers_mut().insert("x-webhook-rejection", r.code().parse().unwrap());
///     res
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultRejection;

impl DefaultRejection {
    /// The default response for `rejection`, for custom handlers that only want to adjust it.
    ///
    /// ```
    /// use webhook_tower::DefaultRejection;
    /// use webhook_tower::webhook_core::{Rejection, VerifyError};
    ///
    /// let mismatch = VerifyError::SignatureMismatch { candidates: 1, secrets: 2 };
    /// let res = DefaultRejection::response(&Rejection::from(mismatch));
    /// assert_eq!(res.status(), 401);
    /// assert_eq!(res.headers()["content-type"], "application/json");
    /// ```
    pub fn response(rejection: &Rejection) -> Response<Full<Bytes>> {
        let status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
        json_response(status, Bytes::from(rejection.json_body()))
    }
}

impl OnRejection for DefaultRejection {
    type Body = Full<Bytes>;

    fn on_rejection(&self, rejection: &Rejection) -> Response<Full<Bytes>> {
        DefaultRejection::response(rejection)
    }
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// The answer to a request acknowledged without calling the inner service.
pub(crate) fn skipped(outcome: Outcome) -> Response<Full<Bytes>> {
    let body = match outcome {
        Outcome::Duplicate => r#"{"status":"duplicate"}"#,
        _ => r#"{"status":"unsubscribed"}"#,
    };
    json_response(StatusCode::OK, Bytes::from_static(body.as_bytes()))
}
