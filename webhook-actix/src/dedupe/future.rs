use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::Error;
use actix_web::dev::ServiceResponse;
use pin_project_lite::pin_project;
use tracing::Span;

use super::DedupeScope;

pin_project! {
    /// The response future of [`WebhookDedupeMiddleware`](crate::dedupe::WebhookDedupeMiddleware):
    /// completes the delivery's claim once the response status is known.
    pub struct DedupeFuture<F> {
        #[pin]
        inner: F,
        guard: CompletionGuard,
    }
}

impl<F> DedupeFuture<F> {
    pub(crate) fn new(inner: F, scope: DedupeScope, span: Span) -> Self {
        DedupeFuture {
            inner,
            guard: CompletionGuard(scope, span),
        }
    }
}

impl<F, B> Future for DedupeFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The handler runs in the request's `webhook` span.
        let _entered = this.guard.1.enter();
        let result = ready!(this.inner.poll(cx));
        let success = match &result {
            Ok(res) => res.status().is_success(),
            Err(err) => err.as_response_error().status_code().is_success(),
        };
        // A request that claimed a delivery reached its handler: count how it ended, under the
        // source of the configuration that claimed it.
        if let Some(source) = this.guard.0.complete(success) {
            let outcome = if success {
                crate::observe::outcome::ACCEPTED
            } else {
                crate::observe::outcome::FAILED
            };
            crate::observe::finish(outcome, source.as_ref());
        }
        Poll::Ready(result)
    }
}

/// Completes a claim still open when the future is dropped (the request was cancelled or the
/// handler panicked) as a failure, so that the sender's retry is processed.
struct CompletionGuard(DedupeScope, Span);

impl Drop for CompletionGuard {
    fn drop(&mut self) {
        let _entered = self.1.enter();
        if let Some(source) = self.0.complete(false) {
            // Dropped by a panic of the handler (failed, as the tower layer counts it), or
            // before an answer (cancelled).
            let outcome = if std::thread::panicking() {
                crate::observe::outcome::FAILED
            } else {
                crate::observe::outcome::CANCELLED
            };
            crate::observe::finish(outcome, source.as_ref());
        }
    }
}
