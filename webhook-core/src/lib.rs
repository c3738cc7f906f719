//! Framework-agnostic webhook signature verification.
//!
//! `webhook-core` verifies the signatures of Standard Webhooks (Scalekit, Svix and every
//! Svix-powered sender), Stripe, GitHub, Slack, Shopify and Paddle deliveries, plus the
//! timestamped-hex scheme from Scalekit's best-practices page. It is synchronous, has no async
//! runtime, and takes headers through the small [`Headers`] trait (implemented for `http` 1.x
//! `HeaderMap` behind the default `http` feature, for slices of pairs, and for maps), so it fits
//! any server.
//!
//! ```
//! use webhook_core::{Signer, Verifier};
//!
//! // Once, at start-up: parse the secret(s) and precompute the keyed HMAC state.
//! let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//!
//! // Per request: the headers and the exact raw body bytes.
//! let body = br#"{"test": 2432232314}"#;
//! let headers = [
//!     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
//!     ("webhook-timestamp", "1614265330"),
//!     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
//! ];
//! let verified = verifier.verify_at(&headers, body, 1614265330)?;
//! assert_eq!(verified.id(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Delivery`] adds the event type, the body's event id and a deduplication key;
//! [`scalekit`] and [`event`] type Scalekit bodies ([`Event<T>`](Event) is Scalekit's envelope:
//! type other senders' bodies with your own struct or `serde_json::Value`, through
//! [`Delivery::json`]); [`EventFilter`] selects the events a receiver wants.
//!
//! Use [`Verifier::verify`] in production (it reads the system clock, or the [`Clock`] you give
//! it). On failure, [`VerifyError::status`] is the HTTP status to answer (400 or 401).
//!
//! # Security
//! - Verify the **raw** bytes as received. Parsing and re-serializing JSON changes them.
//! - Signatures are decoded, length-checked and compared in constant time; empty and truncated
//!   signatures fail (the svix RUSTSEC-2024-0010 bypass).
//! - Empty or blank secrets are refused when the verifier is built, and so is whitespace around
//!   a Stripe, Slack, Shopify or Paddle secret.
//! - A timestamp tolerance (default 300 s) limits replays; deduplicate on
//!   [`Delivery::dedupe_key`] too (the `dedupe` module keeps the keys for the replay window).
//! - Neither `Debug` nor any error exposes a secret or an expected signature.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod body_buffer;
mod candidates;
mod clock;
pub mod dedupe;
mod delivery;
mod error;
pub mod event;
mod event_error;
mod failure_log;
pub mod filter;
pub mod headers;
mod kept_headers;
mod parse;
mod rejection;
pub mod scalekit;
mod scheme;
mod secret;
mod signer;
pub mod testing;
mod top_level;
mod verified;
mod verifier;

pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
pub use delivery::Delivery;
pub use error::{SecretError, VerifyError};
pub use event::Event;
pub use event_error::EventError;
pub use failure_log::{FailureLog, FailureReport};
pub use filter::{EventFilter, EventPattern, FilterError};
pub use headers::Headers;
pub use kept_headers::KeptHeaders;
pub use parse::{MAX_ED25519_SIGNATURES, MAX_SIGNATURES};
pub use rejection::Rejection;
pub use scheme::{Scheme, UnknownScheme};
pub use secret::{WHPK_PREFIX, WHSEC_PREFIX, WHSK_PREFIX};
#[cfg(feature = "ed25519")]
pub use signer::ed25519_public_key;
pub use signer::{SignedHeaders, Signer};
pub use verified::Verified;
pub use verifier::{DEFAULT_TOLERANCE, Verifier};

/// The crates of [`Delivery::body`] (`Bytes`) and of [`Event::occurred_at`] (`time`).
pub use {bytes, time};

/// The README's examples, compiled and run as doctests (they take an `http::HeaderMap`).
#[cfg(all(doctest, feature = "http"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
