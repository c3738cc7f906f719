//! axum extractors for webhooks verified by [`WebhookVerify`].
//!
//! Put the layer on the route, take [`VerifiedEvent<T>`] in the handler:
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use webhook_axum::{VerifiedEvent, WebhookVerify, Event};
//! use webhook_axum::scalekit::ScalekitEvent;
//!
//! async fn scalekit(VerifiedEvent(event): VerifiedEvent<Event<ScalekitEvent>>) -> &'static str {
//!     match event.data {
//!         ScalekitEvent::DirectoryUserCreated(user) => println!("new user {}", user.id),
//!         _ => {}
//!     }
//!     "ok"
//! }
//!
//! let app: Router = Router::new()
//!     .route(
//!         "/webhooks/scalekit",
//!         post(scalekit).route_layer(WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
//!     )
//!     .route("/health", get(|| async { "up" }));
//! ```
//!
//! Use `route_layer` on the webhook's route, as above: `Router::layer` wraps every route of the
//! router and its fallbacks, so `GET /health`, a `GET` on the webhook route and an unknown path
//! would all be refused as unsigned webhooks (400) instead of their own answer, 405 or 404. Keep
//! `Router::layer` for a router that holds webhook routes only.
//!
//! The layer (from `webhook-tower`, re-exported here) buffers and verifies the raw body and
//! answers bad requests, duplicates and unsubscribed events itself; the extractors only read
//! what it left in the request extensions, so handlers can still take `Bytes`, `Json` or
//! `String` as their last argument.
//!
//! - [`VerifiedEvent<T>`]: the body deserialized into any `T: DeserializeOwned`: for Scalekit,
//!   [`Event<DirectoryUser>`](scalekit::DirectoryUser) or [`Event<ScalekitEvent>`](scalekit::ScalekitEvent);
//!   for any other sender, your own type or `serde_json::Value`. [`Event`] is **Scalekit's
//!   envelope** (it requires `spec_version`, `occurred_at`, `environment_id`, `object`), not a
//!   generic one: a Svix-, Clerk- or Stripe-shaped body would be a 422 `` missing field
//!   `spec_version` ``. A body that does not fit `T` is a 422 naming the field.
//! - [`VerifiedDelivery`]: the raw verified bytes and metadata (id, timestamp, scheme, event
//!   type).
//! - `Option<VerifiedEvent<T>>` / `Option<VerifiedDelivery>`: `None` on routes without the layer.
//!
//! Without the layer, the extractors answer 500 with a message naming it. Rejections have the
//! same JSON body as the layer's: `{"error":"…","code":"…"}`.
//!
//! With the `testing` feature, [`testing`] builds signed requests and sample events.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod delivery;
mod event;
mod rejection;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use delivery::VerifiedDelivery;
pub use event::VerifiedEvent;
pub use rejection::VerifiedEventRejection;

/// Re-exported for Scalekit receivers: this is **Scalekit's** envelope, not a generic one. Take
/// other senders' bodies as `VerifiedEvent<YourType>` or `VerifiedEvent<serde_json::Value>`.
///
pub use webhook_core::Event;
pub use webhook_core::{
    self, Delivery, EventError, EventFilter, EventPattern, Rejection, Scheme, SecretError, Signer,
    Verified, Verifier, VerifyError, dedupe, scalekit,
};
pub use webhook_tower::{self, DefaultRejection, OnRejection, WebhookVerify};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
