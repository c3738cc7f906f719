//! [`WebhookVerifyService`]: the service the layer wraps around the inner one.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, Version, header};
use http_body::Body;
use http_body_util::Full;
use tower_service::Service;
use webhook_core::Rejection;

use crate::body::ResponseBody;
use crate::future::{BoxError, ResponseFuture};
use crate::layer::Config;
use crate::rejection::OnRejection;

/// The service produced by [`WebhookVerify`](crate::WebhookVerify). See the [crate docs](crate).
///
/// It accepts any request body (`B: http_body::Body`) and calls the inner service with
/// `Request<Full<Bytes>>`: the buffered, verified body, with a
/// [`Delivery`](webhook_core::Delivery) in the request extensions.
///
/// ```
/// # use std::{convert::Infallible, sync::Arc};
/// # use tower::{Layer, ServiceExt, service_fn};
/// # use webhook_tower::webhook_core::{FixedClock, Signer};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # use http::{Request, Response};
/// use webhook_tower::{Full, WebhookVerify};
/// use webhook_tower::webhook_core::Delivery;
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let inner = service_fn(|req: Request<Full<bytes::Bytes>>| async move {
///     let delivery = req.extensions().get::<Delivery>().unwrap(); // put there by the layer
///     let status = if delivery.event_type() == Some("organization.created") { 204 } else { 422 };
///     Ok::<_, Infallible>(Response::builder().status(status).body(Full::default()).unwrap())
/// });
/// let svc = WebhookVerify::new(secret).clock(Arc::new(FixedClock(1_700_000_000))).layer(inner);
///
/// let body = r#"{"type":"organization.created"}"#;
/// let mut req = Request::post("/webhooks").body(Full::<bytes::Bytes>::from(body))?;
/// *req.headers_mut() = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body.as_bytes()).into();
/// assert_eq!(svc.oneshot(req).await?.status(), 204);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebhookVerifyService<S, R> {
    inner: S,
    config: Arc<Config>,
    on_rejection: R,
}

impl<S, R> WebhookVerifyService<S, R> {
    pub(crate) fn new(inner: S, config: Arc<Config>, on_rejection: R) -> Self {
        WebhookVerifyService {
            inner,
            config,
            on_rejection,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug, R> std::fmt::Debug for WebhookVerifyService<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifyService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for WebhookVerifyService<S, R>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
    R: OnRejection,
{
    type Response = Response<ResponseBody<ResBody, R::Body>>;
    type Error = S::Error;
    type Future = ResponseFuture<ReqBody, S, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let span = crate::observe::span(&self.config);
        let limit = self.config.limit;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        // Answered before the body is read: an HTTP/1 connection closes after such an answer.
        let body_unread = req.version() <= Version::HTTP_11 && !req.body().is_end_stream();
        if declared.is_some_and(|len| len > limit as u64) {
            let _entered = span.enter();
            return ResponseFuture::rejected(
                Rejection::PayloadTooLarge { limit },
                body_unread,
                self.config.clone(),
                self.on_rejection.clone(),
                span.clone(),
            );
        }
        // Headers that can never verify (missing, malformed, a stale timestamp) are refused
        // before the body is read: such a request neither buffers nor waits for its body.
        let now = self.config.verifier.clock().now_unix();
        if let Err(err) = self.config.verifier.check_headers_at(req.headers(), now) {
            let _entered = span.enter();
            return ResponseFuture::rejected(
                Rejection::Verify(err),
                body_unread,
                self.config.clone(),
                self.on_rejection.clone(),
                span.clone(),
            );
        }
        let declared = declared.or_else(|| req.body().size_hint().exact());
        // The inner service was made ready by `poll_ready`; move that one into the future and
        // keep a fresh clone for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = req.into_parts();
        ResponseFuture::collecting(
            body,
            parts,
            declared,
            inner,
            self.config.clone(),
            self.on_rejection.clone(),
            span,
        )
    }
}
