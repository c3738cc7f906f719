//! [`WebhookDedupe`]: duplicate and replay protection for the extractors.
//!
//! An extractor runs before the handler and cannot see the response, yet a delivery may only be
//! remembered as done once the handler has answered with a 2xx. So deduplication is a small
//! middleware that wraps the routes using the extractors:
//!
//! 1. for each request, the middleware puts a claim slot into the request extensions;
//! 2. the extractor, after verifying and filtering the delivery and before typing it, claims its
//!    [`dedupe_key`](webhook_core::Delivery::dedupe_key) in the [`DedupeStore`]:
//!    - [`Claim::Duplicate`](webhook_core::dedupe::Claim::Duplicate): answers `200` without
//!      running the handler,
//!    - [`Claim::InFlight`](webhook_core::dedupe::Claim::InFlight): answers `409` so the sender
//!      retries later,
//!    - [`Claim::New`](webhook_core::dedupe::Claim::New): records the key in the slot and lets
//!      the handler run;
//! 3. when the response is known, the middleware completes the claimed key: success for a 2xx,
//!    failure otherwise (so the sender's retry is processed again). If the request is dropped
//!    before a response exists (the handler panicked, the server shut down, an outer timeout
//!    fired), the claim is completed as a failure. A client that disconnects from HTTP/1 does
//!    not drop a running handler in actix-web: it finishes, and its answer counts.
//!
//! Without the middleware the extractors do not deduplicate. Routes wrapped by it that do not
//! use the extractors are passed through untouched.
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use webhook_actix::{VerifiedDelivery, WebhookConfig, WebhookDedupe};
//! use webhook_core::dedupe::MemoryDedupe;
//!
//! // Build the store once, outside the `HttpServer::new` factory, so that every worker shares it.
//! let dedupe = WebhookDedupe::new(MemoryDedupe::new());
//! let config = WebhookConfig::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//!
//! let app = move || {
//!     App::new().app_data(config.clone()).service(
//!         web::resource("/webhooks")
//!             .wrap(dedupe.clone())
//!             .route(web::post().to(|d: VerifiedDelivery| async move { HttpResponse::NoContent() })),
//!     )
//! };
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`DedupeStore`]: webhook_core::dedupe::DedupeStore

mod future;
mod scope;
mod service;
mod transform;

pub use future::DedupeFuture;
pub(crate) use scope::DedupeScope;
pub use service::WebhookDedupeMiddleware;
pub use transform::WebhookDedupe;
