//! [`ResponseBody`]: the inner service's body, or the layer's own answer.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

use crate::future::BoxError;

pin_project! {
    /// The response body of [`WebhookVerifyService`](crate::WebhookVerifyService): the inner
    /// service's body `B`, untouched; the body `R` of a rejection (from the
    /// [`OnRejection`](crate::OnRejection) handler); or the small body of a delivery the layer
    /// acknowledged itself (duplicate, unsubscribed).
    ///
    /// ```
    /// # use std::{convert::Infallible, sync::Arc};
    /// # use http::{Request, Response};
    /// # use tower::{Layer, ServiceExt, service_fn};
    /// # use webhook_tower::webhook_core::{FixedClock, Signer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// use bytes::Bytes;
    /// use http_body_util::BodyExt;
    /// use webhook_tower::{Full, ResponseBody, WebhookVerify};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let handler = service_fn(|_req: Request<Full<Bytes>>| async {
    ///     Ok::<_, Infallible>(Response::new(Full::from("handled")))
    /// });
    /// let layer = WebhookVerify::new(secret).clock(Arc::new(FixedClock(1_700_000_000)));
    /// let svc = layer.layer(handler);
    /// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, b"{}");
    /// # let request = || {
    /// #     let mut req = Request::post("/webhooks").body(Full::<Bytes>::from("{}")).unwrap();
    /// #     *req.headers_mut() = headers.clone().into();
    /// #     req
    /// # };
    ///
    /// // The inner service's body, then the layer's own answer to a retry: one body type.
    /// let first: Response<ResponseBody<Full<Bytes>>> = svc.clone().oneshot(request()).await?;
    /// assert_eq!(first.into_body().collect().await?.to_bytes(), "handled");
    /// let retry = svc.oneshot(request()).await?;
    /// assert_eq!(retry.into_body().collect().await?.to_bytes(), r#"{"status":"duplicate"}"#);
    /// # Ok(()) }
    /// ```
    pub struct ResponseBody<B, R = Full<Bytes>> {
        #[pin]
        kind: Kind<B, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B, R> {
        Inner { #[pin] body: B },
        Rejected { #[pin] body: R },
        Own { #[pin] body: Full<Bytes> },
    }
}

impl<B, R> ResponseBody<B, R> {
    pub(crate) fn inner(body: B) -> Self {
        ResponseBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn rejected(body: R) -> Self {
        ResponseBody {
            kind: Kind::Rejected { body },
        }
    }

    pub(crate) fn own(body: Full<Bytes>) -> Self {
        ResponseBody {
            kind: Kind::Own { body },
        }
    }
}

impl<B, R> std::fmt::Debug for ResponseBody<B, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Rejected { .. } => "rejection",
            Kind::Own { .. } => "webhook-tower",
        };
        f.debug_struct("ResponseBody").field("from", &kind).finish()
    }
}

impl<B: Default, R> Default for ResponseBody<B, R> {
    fn default() -> Self {
        ResponseBody::inner(B::default())
    }
}

impl<B, R> Body for ResponseBody<B, R>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    R: Body<Data = Bytes>,
    R::Error: Into<BoxError>,
{
    type Data = Bytes;
    /// Boxed, as axum, hyper and tonic take it: the inner body's and a rejection body's errors
    /// may differ.
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|frame| frame.map_err(Into::into))),
            KindProj::Rejected { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|frame| frame.map_err(Into::into))),
            KindProj::Own { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejected { body } => body.is_end_stream(),
            Kind::Own { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejected { body } => body.size_hint(),
            Kind::Own { body } => body.size_hint(),
        }
    }
}
