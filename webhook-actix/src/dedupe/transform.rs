use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use webhook_core::dedupe::{DedupeStore, MemoryDedupe};

use crate::WebhookConfig;

use super::WebhookDedupeMiddleware;

/// Middleware that lets the extractors deduplicate deliveries; see the
/// [module docs](crate::dedupe).
///
/// Clones share the store: create it once, outside the `HttpServer::new` factory, and `.wrap()`
/// a clone in each worker's `App`. A store created inside the factory would be per worker, and a
/// retry landing on another worker would run the handler again.
///
/// A claim still in flight after the store's in-flight timeout (60 s for [`MemoryDedupe`],
/// [`DEFAULT_IN_FLIGHT_TIMEOUT`](webhook_core::dedupe::DEFAULT_IN_FLIGHT_TIMEOUT)) is taken over
/// by the next retry, which then runs the handler beside the first attempt: for handlers that
/// may run longer, build the store with
/// [`MemoryDedupe::in_flight_timeout`](webhook_core::dedupe::MemoryDedupe::in_flight_timeout).
///
/// Its TTLs run on the clock of the [`WebhookConfig`](crate::WebhookConfig) that verified the
/// delivery ([`WebhookConfig::clock`](crate::WebhookConfig::clock)), the same clock as the
/// timestamp check.
///
/// It also opens the request's debug-level `webhook` span around the handler (fields
/// `webhook.source`, `webhook.id`, `webhook.event_type`, `webhook.scheme`,
/// `webhook.secret_index`, `webhook.outcome`), so that the handler's logs carry the delivery.
///
/// ```
/// # use actix_web::{App, HttpResponse, test, web};
/// # use webhook_actix::{VerifiedDelivery, WebhookConfig, testing::SignedRequest};
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use webhook_actix::WebhookDedupe;
///
/// const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let config = WebhookConfig::secret(SECRET)?;
/// let dedupe = WebhookDedupe::memory_for(&config); // once, shared by every worker
/// let app = App::new().app_data(config).service(
///     web::resource("/webhooks")
///         .wrap(dedupe.clone())
///         .route(web::post().to(|_: VerifiedDelivery| async { HttpResponse::NoContent() })),
/// );
/// # let app = test::init_service(app).await;
/// let delivery = SignedRequest::new(SECRET, "{}").uri("/webhooks").id("msg_1");
/// let first = test::call_service(&app, delivery.to_request()).await;
/// assert_eq!(first.status(), 204);
/// let retry = test::call_service(&app, delivery.to_request()).await;
/// assert_eq!(retry.status(), 200); // acknowledged, the handler not run again
/// assert_eq!(test::read_body(retry).await, r#"{"status":"duplicate"}"#);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct WebhookDedupe {
    store: Arc<dyn DedupeStore>,
}

impl WebhookDedupe {
    /// Deduplicates with `store` (a [`MemoryDedupe`], or another store answering from memory:
    /// see [`DedupeStore`](webhook_core::dedupe::DedupeStore)).
    pub fn new(store: impl DedupeStore + 'static) -> Self {
        WebhookDedupe {
            store: Arc::new(store),
        }
    }

    /// Deduplicates with a store that is already shared.
    pub fn from_arc(store: Arc<dyn DedupeStore>) -> Self {
        WebhookDedupe { store }
    }

    /// Deduplicates in memory with the default bounds of [`MemoryDedupe::new`] (601 s, the
    /// replay window of the default 300 s tolerance). With a longer tolerance use
    /// [`memory_for`](Self::memory_for).
    pub fn memory() -> Self {
        WebhookDedupe::new(MemoryDedupe::new())
    }

    /// Deduplicates in memory for the [`replay_window`](webhook_core::dedupe::replay_window) of `config`'s verifier (twice its
    /// tolerance plus a second, at least 601 s), so that no replay inside the timestamp tolerance runs the
    /// handler again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_actix::{WebhookConfig, WebhookDedupe};
    ///
    /// let config = WebhookConfig::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .tolerance(Duration::from_secs(3600));
    /// let dedupe = WebhookDedupe::memory_for(&config);
    /// assert_eq!(dedupe.store().remembers_for(), Some(Duration::from_secs(7201)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn memory_for(config: &WebhookConfig) -> Self {
        WebhookDedupe::new(MemoryDedupe::for_verifier(config.verifier()))
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
        )))
    }
}
