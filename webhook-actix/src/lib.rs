//! actix-web extractors for verified webhooks.
//!
//! actix-web is not tower, so this crate verifies through [`webhook_core`] itself: the
//! [`VerifiedEvent<T>`] and [`VerifiedDelivery`] extractors read the raw body with a limit,
//! verify its signature with the [`WebhookConfig`] registered in `app_data`, and answer failures
//! with the same statuses and JSON bodies as the tower layer.
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use webhook_actix::{VerifiedEvent, WebhookConfig};
//!
//! async fn handle(event: VerifiedEvent<serde_json::Value>) -> HttpResponse {
//!     println!("{:?}: {}", event.delivery().event_type(), *event);
//!     HttpResponse::NoContent().finish()
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let config = WebhookConfig::secret(&std::env::var("WEBHOOK_SECRET").unwrap()).unwrap();
//!     HttpServer::new(move || App::new().app_data(config.clone()).route("/webhooks", web::post().to(handle)))
//!         .bind(("127.0.0.1", 8080))?
//!         .run()
//!         .await
//! }
//! ```
//!
//! # What the extractors answer
//!
//! | situation | status | `code` |
//! | --- | --- | --- |
//! | no `WebhookConfig` in `app_data` | 500 | `misconfigured` |
//! | the body already taken by an earlier extractor (`web::Bytes`) | 500 | `misconfigured` |
//! | `Content-Length` or streamed body over the limit (default 2 MiB) | 413 | `payload_too_large` |
//! | missing or malformed signature headers | 400 | `missing_header`, `malformed_header` |
//! | bad signature, stale or future timestamp | 401 | `signature_mismatch`, `timestamp_too_old`, … |
//! | body does not deserialize into `T` (names the field) | 422 | `unprocessable_event` |
//! | event type not subscribed ([`WebhookConfig::events`]; Slack's `url_verification` always passes) | 200, handler skipped | `unsubscribed` |
//! | already handled with a 2xx ([`WebhookDedupe`]) | 200, handler skipped | `duplicate` |
//! | same delivery still being handled ([`WebhookDedupe`]) | 409 | `in_flight` |
//!
//! Rejections can be rendered differently with [`WebhookConfig::error_handler`].
//!
//! **Never take the extractors as `Option<…>`**: actix-web's blanket `Option<T: FromRequest>`
//! impl turns every row of this table into `None`, so the handler runs, and typically answers
//! `200`, for a forged signature or a request without signature headers. Take
//! `Result<VerifiedEvent<T>, actix_web::Error>` to see the rejection (see [`VerifiedEvent`]).
//!
//! # Raw bytes
//!
//! The body is read from the raw payload stream, never decompressed or re-encoded: the signature
//! covers the bytes as sent.
//!
//! # Features
//! - `testing`: [`testing::SignedRequest`], correctly signed `TestRequest`s for any scheme.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod config;
pub mod dedupe;
mod error;
mod extract;
mod headers;
mod observe;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use config::{DEFAULT_BODY_LIMIT, DEFAULT_WARN_INTERVAL, WebhookConfig};
pub use dedupe::WebhookDedupe;
pub use error::WebhookError;
pub use extract::{VerifiedDelivery, VerifiedEvent};
pub use headers::ActixHeaders;

/// The core crate, whose verifiers, filters and dedupe stores this crate's API takes: use it from
/// here to keep one version of it.
pub use webhook_core;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
