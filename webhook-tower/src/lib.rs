//! A [tower](https://docs.rs/tower) layer that verifies webhook signatures on the exact raw body.
//!
//! [`WebhookVerify`] buffers the request body (bounded), verifies it with a
//! [`webhook_core::Verifier`] (Standard Webhooks by default: Scalekit, Svix-powered senders; any
//! scheme and several secrets through [`WebhookVerify::with_verifier`]), answers bad requests
//! itself, skips unsubscribed events and duplicates, and hands the inner service the request with
//! the buffered body and a [`Delivery`] in its extensions.
//!
//! ```
//! use axum::{Router, routing::post, body::Bytes};
//! use webhook_tower::WebhookVerify;
//!
//! async fn handler(body: Bytes) -> &'static str {
//!     // only reached for verified, first-time deliveries
//!     "ok"
//! }
//!
//! let app: Router = Router::new()
//!     // `route_layer`: only this route is a webhook (see "Placement" below).
//!     .route("/webhooks", post(handler).route_layer(WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")));
//! ```
//!
//! With `webhook-axum`, handlers take `VerifiedEvent<T>` and get the typed event.
//!
//! # What it answers
//!
//! | situation | status | inner service called |
//! |---|---|---|
//! | verified, new delivery | the inner service's | yes |
//! | missing or malformed header | 400 | no |
//! | bad signature, timestamp out of tolerance | 401 | no |
//! | `Content-Length` or streamed body over the limit (default 2 MiB) | 413 | no |
//! | body stream fails | 400 | no |
//! | event type not in the [`EventFilter`](webhook_core::EventFilter) | 200 | no |
//! | same delivery already answered 2xx | 200 | no |
//! | same delivery being processed now | 409 | no |
//!
//! Rejections carry `{"error":"…","code":"…"}` ([`Rejection::json_body`]) and the typed
//! [`Rejection`] in the response extensions; [`WebhookVerify::on_rejection`] replaces the
//! response, also for an extractor's rejection behind the layer (an inner non-2xx answer carrying
//! a [`Rejection`] with the rejection's own status, such as axum's `VerifiedEvent` 422), which
//! is counted as a rejection too. The
//! headers are checked before the body is read: a request whose headers can never
//! verify (missing, malformed, a timestamp out of tolerance) is answered without reading its
//! body.
//!
//! # Placement
//!
//! `Router::layer` wraps every route of the router and its fallbacks: in a router with other
//! routes, those routes (a `GET /health`), a `GET` on the webhook route and an unknown path
//! would all be refused as unsigned webhooks (400). Put the layer on the webhook's method router
//! with `route_layer` (`MethodRouter::layer` wraps its method fallback too: a `GET` would be a
//! 400), and the rest keeps its own answers, 404 and 405; keep `Router::layer` for a router that
//! holds webhook routes only:
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use webhook_tower::WebhookVerify;
//! # async fn handler() {}
//!
//! let app: Router = Router::new()
//!     .route("/webhooks", post(handler).route_layer(WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")))
//!     .route("/health", get(|| async { "up" }));
//! ```
//!
//! The inner service's readiness is held while the body uploads (as tower-http's
//! `AsyncRequireAuthorization` holds it while it authorizes), so a concurrency limit inside the
//! layer counts uploads in progress; put such a limit outside, or a timeout around the layer.
//!
//! # Body types
//!
//! The inner service receives `Request<Full<Bytes>>` whatever the incoming body type was
//! (hyper's `Incoming`, axum's `Body`, …); axum's router and every handler extractor (`Bytes`,
//! `Json`, `String`) accept it. Those three still apply axum's `DefaultBodyLimit` (2 MB): with a
//! larger [`body_limit`](WebhookVerify::body_limit), add `DefaultBodyLimit::max` with the same
//! value, or read the body through the `VerifiedEvent` and `VerifiedDelivery` extractors, which
//! take the verified bytes from the extensions. Responses are wrapped in [`ResponseBody`] so
//! that the layer can answer with its own body, or the rejection handler's, whatever the inner
//! service's body type is; its error is boxed.
//!
//! # Observability
//!
//! Each request runs in a `webhook` span (DEBUG level) with `webhook.id`, `webhook.event_type`,
//! `webhook.scheme`, `webhook.secret_index` and `webhook.outcome`; bodies and secrets are never
//! recorded. Metrics (through the [`metrics`] facade): `webhook_requests_total{outcome}`,
//! `webhook_rejections_total{reason,scheme}`, `webhook_verify_duration_seconds`; a layer named
//! with [`source`](WebhookVerify::source) adds a `source` label to each (and `webhook.source`
//! to the span), to tell apart two senders of one scheme. When verification keeps failing, a
//! WARN event is emitted at most once per interval (default 60 s) naming the scheme, the
//! source, the failing checks and their counts.
//!
//! [`Delivery`]: webhook_core::Delivery
//! [`Rejection`]: webhook_core::Rejection
//! [`Rejection::json_body`]: webhook_core::Rejection::json_body
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod body;
mod future;
mod layer;
mod observe;
mod rejection;
mod service;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::{DEFAULT_BODY_LIMIT, WebhookVerify};
pub use rejection::{DefaultRejection, OnRejection};
pub use service::WebhookVerifyService;

pub use http_body_util::Full;
pub use webhook_core;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
