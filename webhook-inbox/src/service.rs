//! [`InboxService`]: the tower service that stores verified deliveries and answers the sender.

use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower_service::Service;
use webhook_core::{Delivery, Rejection};

use crate::future::ResponseFuture;
use crate::{AcceptAnswer, AcceptMeta, Inbox, NewDelivery};

/// Accepts verified deliveries over HTTP.
///
/// It reads the [`webhook_core::Delivery`] that the verification layer
/// (`webhook_tower::WebhookVerify`) put in the request extensions and stores it with
/// [`Inbox::accept`], then answers as [`AcceptAnswer`] says (201 new, 200 duplicate, 422
/// unstorable, 503 + `Retry-After` when the store could not commit), or 500
/// `{"error":…,"code":"misconfigured"}` when there is no `Delivery` in the extensions.
///
/// The 2xx is only sent after the commit, so a sender that got one never needs to retry.
/// The client address comes from a `SocketAddr` or axum `ConnectInfo<SocketAddr>` extension
/// (with the `axum` feature), the user agent from `User-Agent`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use tower::{Layer as _, ServiceExt as _};
/// use webhook_core::{Clock as _, Signer, SystemClock};
/// use webhook_inbox::Inbox;
/// use webhook_tower::WebhookVerify;
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let inbox = Inbox::connect("sqlite::memory:").await?;
/// // The inbox dedupes durably; the layer verifies. (On axum: `post_service(app)`.)
/// let app = WebhookVerify::new(secret).without_dedupe().layer(inbox.service());
///
/// let body = r#"{"type":"invoice.paid","data":{}}"#;
/// let headers = Signer::standard(secret)?.sign("msg_1", SystemClock.now_unix(), body.as_bytes());
/// let post = || {
///     let body = Full::new(Bytes::from(body));
///     let mut request = http::Request::post("/webhooks").body(body).unwrap();
///     *request.headers_mut() = headers.clone().into();
///     request
/// };
/// assert_eq!(app.clone().oneshot(post()).await?.status(), 201); // stored
/// assert_eq!(app.clone().oneshot(post()).await?.status(), 200); // the sender's retry
/// assert_eq!(inbox.counts().await?.pending, 1);
/// # inbox.close().await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct InboxService {
    inbox: Inbox,
}

impl InboxService {
    /// A service storing into `inbox` (same as [`Inbox::service`]).
    pub fn new(inbox: Inbox) -> Self {
        InboxService { inbox }
    }
}

impl<B> Service<Request<B>> for InboxService {
    type Response = Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let Some(delivery) = req.extensions_mut().remove::<Delivery>() else {
            let rejection = Rejection::Misconfigured(
                "no verified webhook_core::Delivery in the request extensions: put InboxService behind the webhook_tower::WebhookVerify layer",
            );
            return ResponseFuture::ready(json(
                StatusCode::INTERNAL_SERVER_ERROR,
                rejection.json_body(),
            ));
        };
        let meta = AcceptMeta {
            client_addr: client_addr(&req).map(|a| a.to_string()),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect()),
        };
        let inbox = self.inbox.clone();
        let new = NewDelivery::from_delivery(&delivery, meta, inbox.now_ms());
        drop(delivery);
        ResponseFuture::new(Box::pin(async move {
            let result = inbox.accept_new(new).await;
            let answer = AcceptAnswer::new(&result, inbox.retry_after());
            let status =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = json(status, answer.body);
            if let Some(secs) = answer.retry_after_secs {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }))
    }
}

fn client_addr<B>(req: &Request<B>) -> Option<SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(*addr);
    }
    req.extensions().get::<SocketAddr>().copied()
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
