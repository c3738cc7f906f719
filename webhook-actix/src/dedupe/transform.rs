use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use webhook_core::dedupe::{DedupeStore, MemoryDedupe};
use webhook_core::{Clock, SystemClock};

use super::WebhookDedupeMiddleware;

/// Middleware that lets the extractors deduplicate deliveries; see the
/// [module docs](crate::dedupe).
///
/// Clones share the store: create it once, outside the `HttpServer::new` factory, and `.wrap()`
/// a clone in each worker's `App`. A store created inside the factory would be per worker, and a
/// retry landing on another worker would run the handler again.
#[derive(Clone, Debug)]
pub struct WebhookDedupe {
    store: Arc<dyn DedupeStore>,
    clock: Arc<dyn Clock>,
}

impl WebhookDedupe {
    /// Deduplicates with `store` (a [`MemoryDedupe`] for one process, or a shared store).
    pub fn new(store: impl DedupeStore + 'static) -> Self {
        WebhookDedupe {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
        }
    }

    /// Deduplicates with a store that is already shared.
    pub fn from_arc(store: Arc<dyn DedupeStore>) -> Self {
        WebhookDedupe {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// Deduplicates in memory with the default bounds of [`MemoryDedupe::new`].
    pub fn memory() -> Self {
        WebhookDedupe::new(MemoryDedupe::new())
    }

    /// Reads "now" (for the store's TTLs) from `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn DedupeStore> {
        &self.store
    }
}

impl<S, B> Transform<S, ServiceRequest> for WebhookDedupe
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = WebhookDedupeMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(WebhookDedupeMiddleware::new(
            service,
            self.store.clone(),
            self.clock.clone(),
        )))
    }
}
