//! Durable at-least-once webhook processing on SQLite (and PostgreSQL).
//!
//! Acknowledge fast, never lose an event, process with retries and dead letters. The rule that
//! shapes the crate: **a 2xx is sent only after the delivery is durably stored.**
//!
//! ```no_run
//! use webhook_inbox::{Inbox, StoredDelivery};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let inbox = Inbox::connect("sqlite://webhooks.db").await?;    // one file, WAL, migrated
//! let worker = inbox
//!     .worker()
//!     .on_raw("organization.*", |d: StoredDelivery| async move {
//!         println!("{} {}", d.event_type_str(), d.id);          // idempotent work here
//!         Ok(())
//!     })
//!     .spawn()?;
//! let service = inbox.service(); // tower Service: 201 new, 200 duplicate, 503 + Retry-After
//! // Serve `service` behind webhook_tower::WebhookVerify; on shutdown:
//! worker.shutdown().await;
//! inbox.close().await;
//! # let _ = service; Ok(()) }
//! ```
//!
//! - **Accept**: [`Inbox::accept`] stores a verified [`webhook_core::Delivery`] and tells new
//!   from duplicate by [`Delivery::dedupe_key`](webhook_core::Delivery::dedupe_key).
//!   Concurrent accepts are group-committed: one transaction and one fsync for all that queued
//!   during the previous commit (up to `max_batch` per transaction). [`InboxService`] does this over HTTP.
//! - **Process**: a [`Worker`] claims due deliveries under a lease (renewed while a run lasts;
//!   a crashed worker's expired leases are claimed again), routes them by [`EventPattern`](webhook_core::EventPattern) to typed, raw or
//!   batch handlers, with bounded concurrency, panic isolation and graceful shutdown.
//! - **Retry**: a [`RetryPolicy`] built from backon builders, stored as the next attempt time
//!   so it survives restarts; then dead letters, which [`Inbox::redrive`] and
//!   [`Inbox::redrive_all_dead`] re-queue. [`Inbox::replay`] re-queues any delivery by id (not while a worker holds it).
//! - **Protect**: a circuit breaker per handler ([`BreakerConfig`]); deliveries wait while it
//!   is open.
//! - **Observe**: [`metrics`] counters, histograms and gauges; [`Inbox::stats`],
//!   [`Inbox::health`]; slow-handler warnings.
//! - **Retain**: [`Inbox::prune`] removes done deliveries after the retention (7 days by
//!   default) and keeps dedupe keys at least as long.
//!
//! # Durability
//! SQLite runs in WAL mode. With [`Durability::Full`] (the default, `synchronous=FULL`) every
//! group commit is fsynced before any 2xx: nothing acknowledged is lost on power failure. With
//! [`Durability::Process`] (`synchronous=NORMAL`) acknowledged deliveries survive a crash of
//! the process but the last commits may be lost if the machine loses power.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod answer;
pub mod backend;
mod clock;
mod error;
mod future;
mod inbox;
pub mod metrics;
mod model;
mod retry;
mod service;
mod worker;
mod writer;

pub use answer::AcceptAnswer;
pub use backend::{Backend, Durability, SchemaSetup};
pub use error::InboxError;
pub use future::ResponseFuture;
pub use inbox::{
    DEFAULT_COMMIT_TIMEOUT, DEFAULT_RETENTION, Inbox, InboxBuilder, MAX_BATCH, MAX_QUEUE_CAPACITY,
    MIN_COMMIT_TIMEOUT,
};
pub use model::{
    AcceptMeta, Accepted, ClaimFilter, DeliveryId, DeliveryStatus, EventTypeStats, Health,
    ListFilter, MAX_STORED_ID_LEN, NewDelivery, Outcome, OutcomeResult, PruneReport, StatusCounts,
    StoredDelivery,
};
pub use retry::RetryPolicy;
pub use service::InboxService;
pub use webhook_core::{Clock, ManualClock, SystemClock};

pub use worker::{
    BatchOptions, BreakerConfig, DEFAULT_UNHANDLED_AFTER, Handler, HandlerError, HandlerResult,
    Unhandled, Worker, WorkerBuilder,
};
/// Crates whose types this crate's API takes or returns (`Delivery` and `Verifier`; backon's
/// backoff builders in [`RetryPolicy`]; sqlx's errors in [`InboxError`] and the PostgreSQL
/// pool): use them from here to keep the versions in step.
pub use {backon, sqlx, webhook_core};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
