//! [`ResponseFuture`]: buffers, verifies, then calls the inner service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode, Version};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_service::Service;
use tracing::Span;
use webhook_core::Rejection;
use webhook_core::body_buffer::BodyBuffer;
use webhook_core::dedupe::Claim;

use crate::body::ResponseBody;
use crate::layer::Config;
use crate::observe::{self, Outcome};
use crate::rejection::{OnRejection, skipped};

/// The error of a request body, as tower and axum box it.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// The response future of [`WebhookVerifyService`](crate::WebhookVerifyService).
    pub struct ResponseFuture<ReqBody, S, R>
    where
        S: Service<Request<Full<Bytes>>>,
        R: OnRejection,
    {
        #[pin]
        state: State<ReqBody, S, S::Future, R::Body>,
        config: Arc<Config>,
        on_rejection: R,
        span: Span,
        // Set while `poll` runs: still set at drop, a panic left `poll` midway.
        polling: bool,
    }

    impl<ReqBody, S, R> PinnedDrop for ResponseFuture<ReqBody, S, R>
    where
        S: Service<Request<Full<Bytes>>>,
        R: OnRejection,
    {
        // Dropped while reading the body or waiting for the inner service: the client went away
        // or a timeout outside the layer fired (cancelled), or the inner service panicked and a
        // catch-panic layer or the server caught it (failed). The request still gets an outcome.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if matches!(this.state.as_ref().project_ref(), StateProjRef::Collecting { .. } | StateProjRef::Calling { .. }) {
                let _entered = this.span.enter();
                let outcome = if *this.polling {
                    Outcome::Failed
                } else {
                    Outcome::Cancelled
                };
                observe::finish(this.span, outcome, this.config);
            }
        }
    }
}

pin_project! {
    #[project = StateProj]
    #[project_ref = StateProjRef]
    enum State<ReqBody, S, F, RB> {
        Collecting {
            #[pin]
            body: ReqBody,
            parts: Option<Parts>,
            buffer: BodyBuffer,
            inner: Option<S>,
        },
        Calling {
            #[pin]
            future: F,
            guard: Option<DedupeGuard>,
        },
        Answer {
            response: Option<Response<RB>>,
        },
        Done,
    }
}

/// Releases a dedupe claim: with the outcome when the inner service answers, as a failure when
/// the future is dropped first (client gone, timeout), so the sender's retry is processed.
struct DedupeGuard {
    config: Arc<Config>,
    key: String,
    claimed_at: i64,
    released: bool,
}

impl DedupeGuard {
    fn new(config: Arc<Config>, key: String, claimed_at: i64) -> Self {
        DedupeGuard {
            config,
            key,
            claimed_at,
            released: false,
        }
    }

    fn complete(mut self, success: bool) {
        self.release(success);
    }

    fn release(&mut self, success: bool) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        if let Some(store) = &self.config.dedupe {
            let now = self.config.verifier.clock().now_unix();
            store.complete(&self.key, self.claimed_at, success, now);
        }
    }
}

impl Drop for DedupeGuard {
    fn drop(&mut self) {
        self.release(false);
    }
}

/// What to do with a buffered, verified request.
enum Admit<RB> {
    Call(Request<Full<Bytes>>, Option<DedupeGuard>),
    Reject(Response<RB>),
    Skip(Response<Full<Bytes>>),
}

impl<ReqBody, S, R> ResponseFuture<ReqBody, S, R>
where
    S: Service<Request<Full<Bytes>>>,
    R: OnRejection,
{
    pub(crate) fn collecting(
        body: ReqBody,
        parts: Parts,
        declared: Option<u64>,
        inner: S,
        config: Arc<Config>,
        on_rejection: R,
        span: Span,
    ) -> Self {
        let buffer = BodyBuffer::new(config.limit, declared);
        ResponseFuture {
            state: State::Collecting {
                body,
                parts: Some(parts),
                buffer,
                inner: Some(inner),
            },
            config,
            on_rejection,
            span,
            polling: false,
        }
    }

    /// A rejection before the body is read; `body_unread` when the request has a body that
    /// an HTTP/1 connection would then close on.
    pub(crate) fn rejected(
        rejection: Rejection,
        body_unread: bool,
        config: Arc<Config>,
        on_rejection: R,
        span: Span,
    ) -> Self {
        // Called from `Service::call`, before there is a future whose drop would count a panic
        // of the rejection handler.
        let failed_if_unwinding = FailedIfUnwinding(&span, &config);
        let mut response = reject(&config, &on_rejection, &span, rejection);
        std::mem::forget(failed_if_unwinding);
        if body_unread {
            announce_close(&mut response);
        }
        ResponseFuture {
            state: State::Answer {
                response: Some(response),
            },
            config,
            on_rejection,
            span,
            polling: false,
        }
    }
}

fn reject<R: OnRejection>(
    config: &Config,
    on_rejection: &R,
    span: &Span,
    rejection: Rejection,
) -> Response<R::Body> {
    // The handler first: if it panics, the request is counted once, as failed, when the future
    // is dropped.
    let mut response = on_rejection.on_rejection(&rejection);
    observe::rejected(span, &rejection, config);
    response.extensions_mut().insert(rejection);
    response
}

/// The rejection response for a `rejection` the inner service answered with: built by the
/// rejection handler, keeping the headers the inner stack set that it does not set itself (a
/// request id, CORS headers from a layer inside this one), but none that describe the inner
/// body it replaces (`content-*`, `etag`, `last-modified`, `transfer-encoding`).
fn reject_after<R: OnRejection, B>(
    config: &Config,
    on_rejection: &R,
    span: &Span,
    rejection: Rejection,
    inner: Response<B>,
) -> Response<R::Body> {
    let mut response = reject(config, on_rejection, span, rejection);
    let headers = inner.into_parts().0.headers;
    for name in headers.keys() {
        let describes_body = name.as_str().starts_with("content-")
            || *name == http::header::ETAG
            || *name == http::header::LAST_MODIFIED
            || *name == http::header::TRANSFER_ENCODING;
        if describes_body || response.headers().contains_key(name) {
            continue;
        }
        for value in headers.get_all(name) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

fn skip(span: &Span, outcome: Outcome, config: &Config) -> Response<Full<Bytes>> {
    observe::finish(span, outcome, config);
    tracing::debug!(
        "webhook acknowledged without calling the handler: {}",
        outcome.as_str()
    );
    skipped(outcome)
}

/// Says that the connection closes after this answer (RFC 9110 §9.6): an HTTP/1 server that
/// answers before reading the whole body closes the connection rather than read the rest (hyper
/// does), and the client should know before it sends the next request on it.
fn announce_close<B>(response: &mut Response<B>) {
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
}

/// Counts a request as failed when dropped, unless forgotten: dropped while a panic unwinds.
struct FailedIfUnwinding<'a>(&'a Span, &'a Config);

impl Drop for FailedIfUnwinding<'_> {
    fn drop(&mut self) {
        observe::finish(self.0, Outcome::Failed, self.1);
    }
}

/// Verifies, filters and claims the delivery.
fn admit<R: OnRejection>(
    config: &Arc<Config>,
    on_rejection: &R,
    span: &Span,
    mut parts: Parts,
    body: Bytes,
) -> Admit<R::Body> {
    // One reading of the clock for the timestamp check and the claim.
    let now = config.verifier.clock().now_unix();
    let started = Instant::now();
    let verified = config
        .verifier
        .verify_delivery_at(&parts.headers, body.clone(), now);
    observe::verify_time(started.elapsed(), config);
    let delivery = match verified {
        Ok(delivery) => delivery,
        Err(err) => {
            return Admit::Reject(reject(config, on_rejection, span, Rejection::Verify(err)));
        }
    };
    observe::record_delivery(span, &delivery);
    // Only a configured filter reads the event type (the body's `type`): without one, the body
    // is not scanned here.
    if let Some(filter) = &config.filter
        && !delivery.subscribed(filter)
    {
        return Admit::Skip(skip(span, Outcome::Unsubscribed, config));
    }
    let guard = match &config.dedupe {
        None => None,
        Some(store) => {
            let key = delivery.dedupe_key();
            match store.claim(&key, now) {
                Claim::New => Some(DedupeGuard::new(config.clone(), key, now)),
                Claim::Duplicate => return Admit::Skip(skip(span, Outcome::Duplicate, config)),
                Claim::InFlight => {
                    return Admit::Reject(reject(config, on_rejection, span, Rejection::InFlight));
                }
            }
        }
    };
    parts.extensions.insert(delivery);
    Admit::Call(Request::from_parts(parts, Full::new(body)), guard)
}

impl<ReqBody, S, R, ResBody> Future for ResponseFuture<ReqBody, S, R>
where
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    R: OnRejection,
{
    type Output = Result<Response<ResponseBody<ResBody, R::Body>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let _entered = this.span.enter();
        // Every return below leaves `Done` or returns `Pending` after clearing it.
        *this.polling = true;
        loop {
            match this.state.as_mut().project() {
                StateProj::Collecting {
                    mut body,
                    parts,
                    buffer,
                    inner,
                } => {
                    let failed = loop {
                        let frame = match body.as_mut().poll_frame(cx) {
                            Poll::Ready(frame) => frame,
                            Poll::Pending => {
                                *this.polling = false;
                                return Poll::Pending;
                            }
                        };
                        match frame {
                            Some(Ok(frame)) => {
                                if let Ok(data) = frame.into_data()
                                    && buffer.push(data).is_err()
                                {
                                    break Some(Rejection::PayloadTooLarge {
                                        limit: this.config.limit,
                                    });
                                }
                            }
                            Some(Err(err)) => break Some(body_error(err.into())),
                            None => break None,
                        }
                    };
                    if let Some(rejection) = failed {
                        let mut response =
                            reject(this.config, this.on_rejection, this.span, rejection);
                        // Answered before the end of the body: HTTP/1 closes the connection.
                        if parts
                            .as_ref()
                            .is_some_and(|p| p.version <= Version::HTTP_11)
                            && !body.is_end_stream()
                        {
                            announce_close(&mut response);
                        }
                        this.state.set(State::Done);
                        return Poll::Ready(Ok(response.map(ResponseBody::rejected)));
                    }
                    let (Some(parts), Some(mut inner)) = (parts.take(), inner.take()) else {
                        polled_after_completion()
                    };
                    match admit(
                        this.config,
                        this.on_rejection,
                        this.span,
                        parts,
                        buffer.finish(),
                    ) {
                        Admit::Call(request, guard) => {
                            let future = inner.call(request);
                            this.state.set(State::Calling { future, guard });
                        }
                        Admit::Reject(response) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(response.map(ResponseBody::rejected)));
                        }
                        Admit::Skip(response) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(response.map(ResponseBody::own)));
                        }
                    }
                }
                StateProj::Calling { future, guard } => {
                    let result = match future.poll(cx) {
                        Poll::Ready(result) => result,
                        Poll::Pending => {
                            *this.polling = false;
                            return Poll::Pending;
                        }
                    };
                    let status = result
                        .as_ref()
                        .map_or(StatusCode::INTERNAL_SERVER_ERROR, Response::status);
                    let success = status.is_success();
                    if let Some(guard) = guard.take() {
                        guard.complete(success);
                    }
                    // An extractor refused the verified event (axum's `VerifiedEvent` answers
                    // 422 with the `Rejection` in the response extensions): a rejection like the
                    // layer's own, counted and answered as one, unless the handler took the
                    // rejection and answered with a status of its own, which then stands.
                    let result = match result {
                        Ok(inner) if !success => {
                            match inner.extensions().get::<Rejection>().cloned() {
                                Some(rejection)
                                    if rejection.status() == inner.status().as_u16() =>
                                {
                                    let response = reject_after(
                                        this.config,
                                        this.on_rejection,
                                        this.span,
                                        rejection,
                                        inner,
                                    );
                                    this.state.set(State::Done);
                                    return Poll::Ready(Ok(response.map(ResponseBody::rejected)));
                                }
                                Some(rejection) => {
                                    observe::rejected(this.span, &rejection, this.config);
                                    this.state.set(State::Done);
                                    return Poll::Ready(Ok(inner.map(ResponseBody::inner)));
                                }
                                None => Ok(inner),
                            }
                        }
                        other => other,
                    };
                    let outcome = if success {
                        Outcome::Accepted
                    } else {
                        Outcome::Failed
                    };
                    observe::finish(this.span, outcome, this.config);
                    this.state.set(State::Done);
                    return Poll::Ready(result.map(|response| response.map(ResponseBody::inner)));
                }
                StateProj::Answer { response } => {
                    let Some(response) = response.take() else {
                        polled_after_completion()
                    };
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(response.map(ResponseBody::rejected)));
                }
                StateProj::Done => polled_after_completion(),
            }
        }
    }
}

impl<ReqBody, S, R> std::fmt::Debug for ResponseFuture<ReqBody, S, R>
where
    S: Service<Request<Full<Bytes>>>,
    R: OnRejection,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Collecting { .. } => "collecting",
            State::Calling { .. } => "calling",
            State::Answer { .. } => "answer",
            State::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

#[allow(clippy::panic)]
fn polled_after_completion() -> ! {
    panic!("webhook_tower::ResponseFuture polled after completion")
}

/// A body that failed: 413 when a size limit outside the layer cut it (tower-http's
/// `RequestBodyLimitLayer` and http-body-util's `Limited` end it with a `LengthLimitError`,
/// which axum's body wraps), else 400.
fn body_error(err: BoxError) -> Rejection {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*err);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return Rejection::BodyLimitExceeded;
        }
        source = err.source();
    }
    Rejection::BodyRead
}
