//! The response future of [`InboxService`](crate::InboxService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;

use crate::backend::BoxFuture;

/// Resolves to the response once the delivery is committed (or refused).
pub struct ResponseFuture {
    state: State,
}

enum State {
    Ready(Option<Response<Full<Bytes>>>),
    Pending(BoxFuture<'static, Response<Full<Bytes>>>),
}

impl ResponseFuture {
    pub(crate) fn ready(resp: Response<Full<Bytes>>) -> Self {
        ResponseFuture {
            state: State::Ready(Some(resp)),
        }
    }

    pub(crate) fn new(fut: BoxFuture<'static, Response<Full<Bytes>>>) -> Self {
        ResponseFuture {
            state: State::Pending(fut),
        }
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Full<Bytes>>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            State::Ready(resp) => match resp.take() {
                Some(resp) => Poll::Ready(Ok(resp)),
                None => Poll::Pending,
            },
            State::Pending(fut) => fut.as_mut().poll(cx).map(Ok),
        }
    }
}
