use std::fmt;
use std::sync::Arc;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, forward_ready};
use actix_web::{Error, HttpMessage as _};
use webhook_core::dedupe::DedupeStore;

use super::{DedupeFuture, DedupeScope};

/// The service built by [`WebhookDedupe`](crate::WebhookDedupe).
pub struct WebhookDedupeMiddleware<S> {
    service: S,
    store: Arc<dyn DedupeStore>,
}

impl<S> WebhookDedupeMiddleware<S> {
    pub(crate) fn new(service: S, store: Arc<dyn DedupeStore>) -> Self {
        WebhookDedupeMiddleware { service, store }
    }
}

impl<S> fmt::Debug for WebhookDedupeMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookDedupeMiddleware")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for WebhookDedupeMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = DedupeFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let scope = DedupeScope::new(self.store.clone());
        let span = crate::observe::span();
        req.extensions_mut().insert(scope.clone());
        req.extensions_mut()
            .insert(crate::observe::WebhookSpan(span.clone()));
        // The outcome is counted under the source of the config that claims the delivery (the
        // extractor's): a config registered on a resource inside the wrapped scope is not
        // visible here.
        let future = span.in_scope(|| self.service.call(req));
        DedupeFuture::new(future, scope, span)
    }
}
