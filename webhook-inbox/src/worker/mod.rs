//! Workers: claim due deliveries under a lease and run their handlers, with retries, dead
//! letters, a circuit breaker per handler, batches, bounded concurrency and graceful shutdown.

mod breaker;
mod handler;
mod run;

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webhook_core::EventPattern;

pub use breaker::BreakerConfig;
pub use handler::{Handler, HandlerError, HandlerResult};

use crate::{Inbox, InboxError, StoredDelivery};
use breaker::Breaker;
use handler::{ErasedBatchHandler, ErasedHandler};

/// The most handler runs a worker lets in flight at once.
const MAX_CONCURRENCY: usize = 65_536;

/// How batch handlers are fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchOptions {
    /// The most deliveries in one batch (default 100).
    pub max_batch: usize,
    /// How long the first delivery of a batch waits for more (default 5 s).
    pub max_wait: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_batch: 100,
            max_wait: Duration::from_secs(5),
        }
    }
}

impl BatchOptions {
    /// Batches of up to `max_batch`, waiting at most `max_wait` for them to fill.
    pub fn new(max_batch: usize, max_wait: Duration) -> Self {
        BatchOptions {
            max_batch: max_batch.max(1),
            max_wait,
        }
    }
}

/// What happens to deliveries that no running worker of the inbox handles, once they have
/// waited [`unhandled_after`](WorkerBuilder::unhandled_after) for one that does.
///
/// A worker claims only the deliveries its handlers match, and these once they have waited:
/// several workers with different handlers can share one inbox, and none takes deliveries that
/// only another handles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unhandled {
    /// Mark them done without running anything (the default: subscribe only to what you
    /// handle, and unmatched types are not errors). Nothing is logged as a handler run; they
    /// are counted in `webhook_inbox_unhandled_total`.
    #[default]
    Complete,
    /// Dead-letter them, with the error ``no handler is registered for event type `<type>` ``, to
    /// re-drive once a handler exists (see [`Inbox::redrive_all_dead`]).
    DeadLetter,
}

/// The default of [`WorkerBuilder::unhandled_after`].
pub const DEFAULT_UNHANDLED_AFTER: Duration = Duration::from_secs(60);

/// A running worker's handler patterns, noted in its inbox while the worker runs.
struct Registration {
    inbox: Inbox,
    owner: String,
}

impl Registration {
    fn new(inbox: &Inbox, owner: &str, patterns: &[EventPattern]) -> Result<Self, InboxError> {
        inbox.worker_started(owner, patterns.to_vec())?;
        Ok(Registration {
            inbox: inbox.clone(),
            owner: owner.to_owned(),
        })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.inbox.worker_stopped(&self.owner);
    }
}

pub(crate) enum Kind {
    Single(ErasedHandler),
    Batch(ErasedBatchHandler, BatchOptions),
}

pub(crate) struct Route {
    pub(crate) pattern: EventPattern,
    pub(crate) kind: Kind,
    pub(crate) breaker: Breaker,
}

#[derive(Clone, Debug)]
pub(crate) struct WorkerConfig {
    pub(crate) concurrency: usize,
    pub(crate) poll_interval: Duration,
    pub(crate) lease: Duration,
    pub(crate) slow_threshold: Duration,
    pub(crate) run_timeout: Option<Duration>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) unhandled: Unhandled,
    pub(crate) unhandled_after: Duration,
    pub(crate) prune_interval: Option<Duration>,
    pub(crate) gauge_interval: Duration,
}

/// Configures a worker; get one from [`Inbox::worker`].
///
/// ```no_run
/// # async fn demo(inbox: webhook_inbox::Inbox) -> Result<(), webhook_inbox::InboxError> {
/// use webhook_core::event::Event;
/// use webhook_core::scalekit::DirectoryUser;
/// use webhook_inbox::{HandlerResult, StoredDelivery};
///
/// let worker = inbox
///     .worker()
///     // The whole body: the envelope, with the user in `data`.
///     .on("organization.directory.user_created", |event: Event<DirectoryUser>| async move {
///         println!("user {} in event {}", event.data.id, event.id);
///         Ok(())
///     })
///     .on_raw("organization.*", |d: StoredDelivery| async move {
///         println!("{} bytes of {}", d.body.len(), d.event_type_str());
///         HandlerResult::Ok(())
///     })
///     .concurrency(8)
///     .spawn()?;
/// // … on shutdown:
/// worker.shutdown().await;
/// # Ok(()) }
/// ```
#[must_use]
pub struct WorkerBuilder {
    inbox: Inbox,
    routes: Vec<Route>,
    errors: Vec<String>,
    breaker: BreakerConfig,
    config: WorkerConfig,
}

impl std::fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field(
                "routes",
                &self
                    .routes
                    .iter()
                    .map(|r| r.pattern.to_string())
                    .collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl WorkerBuilder {
    pub(crate) fn new(inbox: Inbox) -> Self {
        WorkerBuilder {
            inbox,
            routes: Vec::new(),
            errors: Vec::new(),
            breaker: BreakerConfig::default(),
            config: WorkerConfig {
                concurrency: 8,
                poll_interval: Duration::from_millis(250),
                lease: Duration::from_secs(300),
                slow_threshold: Duration::from_secs(5),
                run_timeout: None,
                shutdown_timeout: Duration::from_secs(30),
                unhandled: Unhandled::Complete,
                unhandled_after: DEFAULT_UNHANDLED_AFTER,
                prune_interval: Some(Duration::from_secs(3600)),
                gauge_interval: Duration::from_secs(10),
            },
        }
    }

    fn route(mut self, pattern: &str, kind: Kind) -> Self {
        match EventPattern::parse(pattern) {
            // A second handler for the same pattern would never run.
            Ok(pattern) if self.routes.iter().any(|r| r.pattern == pattern) => self
                .errors
                .push(format!("two handlers for the event pattern `{pattern}`")),
            Ok(pattern) => self.routes.push(Route {
                pattern,
                kind,
                // Replaced by `spawn`, with the worker's settings and the inbox's count.
                breaker: Breaker::new(self.breaker, Arc::default()),
            }),
            Err(e) => self.errors.push(e.to_string()),
        }
        self
    }

    /// Handles event types matching `pattern` (`user.created`, `organization.*`, `*`) with a
    /// typed handler: the whole body is parsed as JSON into `T` (a body that does not parse is a
    /// permanent failure: dead at once). For an envelope like Scalekit's, `T` is the envelope,
    /// such as `webhook_core::event::Event<DirectoryUser>`, whose `data` is the payload: a
    /// payload type given the whole body would read the envelope's own fields (its `id` is the
    /// event's, not the user's), and serde ignores the fields it does not know.
    ///
    /// A one-segment name (`issues`) also takes that event's actions (GitHub's
    /// `issues.opened`). When several patterns match, the most specific wins: exact, then the
    /// longest prefix (`issues.*` before `issues`), then `*`.
    ///
    /// ```
    /// # fn delivery(id: &str, event_type: &str, data: &str) -> webhook_core::Delivery {
    /// #     use webhook_core::{Signer, Verifier};
    /// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// #     let body = format!(r#"{{"type":"{event_type}","data":{data}}}"#);
    /// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
    /// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
    /// #     verifier.verify_delivery(&headers, body.into()).unwrap()
    /// # }
    /// # async fn settled(
    /// #     inbox: &webhook_inbox::Inbox,
    /// #     id: webhook_inbox::DeliveryId,
    /// # ) -> webhook_inbox::StoredDelivery {
    /// #     use webhook_inbox::DeliveryStatus::{Pending, Processing};
    /// #     for _ in 0..2000 {
    /// #         let d = inbox.get(id).await.unwrap().unwrap();
    /// #         if !matches!(d.status, Pending | Processing) { return d; }
    /// #         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// #     }
    /// #     panic!("delivery {id} was not handled");
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webhook_inbox::{AcceptMeta, DeliveryStatus, Inbox};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct InvoicePaid { data: Invoice } // the whole body: the envelope
    /// #[derive(serde::Deserialize)]
    /// struct Invoice { id: String, amount: u64 }
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let (paid, mut paid_rx) = tokio::sync::mpsc::unbounded_channel();
    /// let worker = inbox
    ///     .worker()
    ///     .on("invoice.paid", move |e: InvoicePaid| {
    ///         let paid = paid.clone();
    ///         async move { Ok(paid.send((e.data.id, e.data.amount))?) }
    ///     })
    ///     .spawn()?;
    /// let paid = delivery("msg_1", "invoice.paid", r#"{"id":"in_1","amount":4200}"#);
    /// inbox.accept(&paid, AcceptMeta::new()).await?;
    /// assert_eq!(paid_rx.recv().await, Some(("in_1".to_owned(), 4200)));
    ///
    /// // A body of another shape is dead at once, its error naming the field.
    /// let bad = delivery("msg_2", "invoice.paid", r#"{"id":"in_2","amount":"a lot"}"#);
    /// let id = inbox.accept(&bad, AcceptMeta::new()).await?.id();
    /// let dead = settled(&inbox, id).await;
    /// assert_eq!(dead.status, DeliveryStatus::Dead);
    /// assert!(dead.last_error.unwrap().contains("data.amount"));
    /// # worker.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn on<T, H>(self, pattern: &str, handler: H) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        H: Handler<T>,
    {
        self.route(pattern, Kind::Single(handler::typed::<T, H>(handler)))
    }

    /// Handles event types matching `pattern` with the stored delivery itself (raw bytes,
    /// headers, attempt count). Among several handlers the most specific pattern wins (see
    /// [`on`](WorkerBuilder::on)).
    ///
    /// ```
    /// # fn delivery(id: &str, event_type: &str) -> webhook_core::Delivery {
    /// #     use webhook_core::{Signer, Verifier};
    /// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// #     let body = format!(r#"{{"type":"{event_type}","data":{{}}}}"#);
    /// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
    /// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
    /// #     verifier.verify_delivery(&headers, body.into()).unwrap()
    /// # }
    /// # async fn settled(
    /// #     inbox: &webhook_inbox::Inbox,
    /// #     id: webhook_inbox::DeliveryId,
    /// # ) -> webhook_inbox::StoredDelivery {
    /// #     use webhook_inbox::DeliveryStatus::{Pending, Processing};
    /// #     for _ in 0..2000 {
    /// #         let d = inbox.get(id).await.unwrap().unwrap();
    /// #         if !matches!(d.status, Pending | Processing) { return d; }
    /// #         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// #     }
    /// #     panic!("delivery {id} was not handled");
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webhook_inbox::{AcceptMeta, HandlerResult, Inbox, StoredDelivery};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let (ran, mut ran_rx) = tokio::sync::mpsc::unbounded_channel();
    /// let (invoices, others) = (ran.clone(), ran);
    /// let worker = inbox
    ///     .worker()
    ///     .on_raw("invoice.*", move |d: StoredDelivery| {
    ///         let _ = invoices.send(format!("billing: {}", d.event_type_str()));
    ///         async { HandlerResult::Ok(()) }
    ///     })
    ///     .on_raw("*", move |d: StoredDelivery| {
    ///         let _ = others.send(format!("catch-all: {}", d.event_type_str()));
    ///         async { HandlerResult::Ok(()) }
    ///     })
    ///     .spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// settled(&inbox, id).await;
    /// let id = inbox.accept(&delivery("msg_2", "user.created"), AcceptMeta::new()).await?.id();
    /// settled(&inbox, id).await;
    /// assert_eq!(ran_rx.recv().await.unwrap(), "billing: invoice.paid");
    /// assert_eq!(ran_rx.recv().await.unwrap(), "catch-all: user.created");
    /// # worker.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn on_raw<H: Handler<StoredDelivery>>(self, pattern: &str, handler: H) -> Self {
        self.route(pattern, Kind::Single(handler::raw(handler)))
    }

    /// Handles event types matching `pattern` in batches of one event type. The batch
    /// completes or fails as a unit. Deliveries keep their leases while they wait in the
    /// buffer and while the batch runs (the worker renews them).
    ///
    /// ```
    /// # fn delivery(id: &str, event_type: &str) -> webhook_core::Delivery {
    /// #     use webhook_core::{Signer, Verifier};
    /// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// #     let body = format!(r#"{{"type":"{event_type}","data":{{}}}}"#);
    /// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
    /// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
    /// #     verifier.verify_delivery(&headers, body.into()).unwrap()
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use webhook_inbox::{AcceptMeta, BatchOptions, HandlerResult, Inbox, StoredDelivery};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// for msg in ["msg_1", "msg_2", "msg_3"] {
    ///     inbox.accept(&delivery(msg, "page.viewed"), AcceptMeta::new()).await?;
    /// }
    /// let (sizes, mut sizes_rx) = tokio::sync::mpsc::unbounded_channel();
    /// // Up to 3 page views in one INSERT, or whatever came within 5 s.
    /// let options = BatchOptions::new(3, Duration::from_secs(5));
    /// let worker = inbox
    ///     .worker()
    ///     .on_batch("page.viewed", options, move |batch: Vec<StoredDelivery>| {
    ///         let _ = sizes.send(batch.len());
    ///         async { HandlerResult::Ok(()) }
    ///     })
    ///     .spawn()?;
    /// assert_eq!(sizes_rx.recv().await, Some(3));
    /// # worker.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn on_batch<H: Handler<Vec<StoredDelivery>>>(
        self,
        pattern: &str,
        options: BatchOptions,
        handler: H,
    ) -> Self {
        self.route(pattern, Kind::Batch(handler::batch(handler), options))
    }

    /// How many handler runs (a batch counts as one) may be in flight (default 8; at least 1, at
    /// most 65 536).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.clamp(1, MAX_CONCURRENCY);
        self
    }

    /// How often to look for due deliveries when not woken by a new one (default 250 ms; at
    /// least 1 ms). An accept, replay or re-drive through this inbox wakes its workers at once
    /// (on PostgreSQL, one by another instance too); retries coming due and expired leases are
    /// found by polling.
    ///
    /// ```
    /// # fn delivery(id: &str, event_type: &str) -> webhook_core::Delivery {
    /// #     use webhook_core::{Signer, Verifier};
    /// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// #     let body = format!(r#"{{"type":"{event_type}","data":{{}}}}"#);
    /// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
    /// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
    /// #     verifier.verify_delivery(&headers, body.into()).unwrap()
    /// # }
    /// # async fn settled(
    /// #     inbox: &webhook_inbox::Inbox,
    /// #     id: webhook_inbox::DeliveryId,
    /// # ) -> webhook_inbox::StoredDelivery {
    /// #     use webhook_inbox::DeliveryStatus::{Pending, Processing};
    /// #     for _ in 0..2000 {
    /// #         let d = inbox.get(id).await.unwrap().unwrap();
    /// #         if !matches!(d.status, Pending | Processing) { return d; }
    /// #         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// #     }
    /// #     panic!("delivery {id} was not handled");
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
    /// use std::time::Duration;
    /// use webhook_inbox::{AcceptMeta, DeliveryStatus, HandlerError, Inbox, ManualClock, RetryPolicy};
    /// use webhook_inbox::StoredDelivery;
    ///
    /// let clock = ManualClock::starting_now();
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .clock(Arc::new(clock.clone()))
    ///     .retry_policy(RetryPolicy::fixed([Duration::from_secs(30)]))
    ///     .build()
    ///     .await?;
    /// let runs = Arc::new(AtomicU32::new(0));
    /// let counted = runs.clone();
    /// let worker = inbox
    ///     .worker()
    ///     .poll_interval(Duration::from_millis(10))
    ///     .on_raw("*", move |_d: StoredDelivery| {
    ///         let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
    ///         async move { if first { Err(HandlerError::new("timeout")) } else { Ok(()) } }
    ///     })
    ///     .spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// assert_eq!(settled(&inbox, id).await.status, DeliveryStatus::Retrying);
    ///
    /// clock.advance(Duration::from_secs(30)); // the retry is due: the next poll finds it
    /// # for _ in 0..2000 {
    /// #     if inbox.get(id).await?.unwrap().status == DeliveryStatus::Done { break }
    /// #     tokio::time::sleep(Duration::from_millis(5)).await;
    /// # }
    /// let done = inbox.get(id).await?.unwrap();
    /// assert_eq!((done.status, done.attempts), (DeliveryStatus::Done, 2));
    /// # worker.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.config.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long a claim lasts (default 5 minutes, at least 1 s). The worker renews the leases of
    /// the deliveries it holds every third of this, whatever the poll interval, so a long run
    /// keeps its delivery; a crashed worker's deliveries are claimed by others at most one lease
    /// after its last renewal.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease = lease.max(Duration::from_secs(1));
        self
    }

    /// Logs a warning when a run takes longer than this (default 5 s).
    pub fn slow_threshold(mut self, threshold: Duration) -> Self {
        self.config.slow_threshold = threshold;
        self
    }

    /// Cancels a run that takes longer than this and counts it as a failed attempt, retried on
    /// the policy's schedule (default: no limit). Without one, a handler that hangs keeps its
    /// delivery (the worker renews the lease while the run lasts) and a run permit for good.
    /// The handler's future is dropped at its next `.await`; work it started elsewhere (a
    /// spawned task, a request already sent) may still complete, so handlers stay idempotent.
    pub fn run_timeout(mut self, timeout: Duration) -> Self {
        self.config.run_timeout = Some(timeout);
        self
    }

    /// The circuit breaker settings of every handler, wherever the call stands among the
    /// handlers (default: 5 consecutive failures, 60 s recovery). Each handler gets its own
    /// breaker with these settings: one failing handler holds only its own deliveries.
    ///
    /// ```
    /// # fn delivery(id: &str, event_type: &str) -> webhook_core::Delivery {
    /// #     use webhook_core::{Signer, Verifier};
    /// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// #     let body = format!(r#"{{"type":"{event_type}","data":{{}}}}"#);
    /// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
    /// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
    /// #     verifier.verify_delivery(&headers, body.into()).unwrap()
    /// # }
    /// # async fn settled(
    /// #     inbox: &webhook_inbox::Inbox,
    /// #     id: webhook_inbox::DeliveryId,
    /// # ) -> webhook_inbox::StoredDelivery {
    /// #     use webhook_inbox::DeliveryStatus::{Pending, Processing};
    /// #     for _ in 0..2000 {
    /// #         let d = inbox.get(id).await.unwrap().unwrap();
    /// #         if !matches!(d.status, Pending | Processing) { return d; }
    /// #         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// #     }
    /// #     panic!("delivery {id} was not handled");
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use webhook_inbox::{AcceptMeta, BreakerConfig, HandlerError, Inbox, RetryPolicy};
    /// use webhook_inbox::StoredDelivery;
    ///
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .retry_policy(RetryPolicy::fixed([Duration::from_secs(600)]))
    ///     .build()
    ///     .await?;
    /// let worker = inbox
    ///     .worker()
    ///     .circuit_breaker(BreakerConfig::new(2, Duration::from_secs(30)))
    ///     .on_raw("crm.*", |_d: StoredDelivery| async {
    ///         Err(HandlerError::new("CRM: 502 Bad Gateway"))
    ///     })
    ///     .spawn()?;
    /// for msg in ["msg_1", "msg_2"] {
    ///     let id = inbox.accept(&delivery(msg, "crm.contact"), AcceptMeta::new()).await?.id();
    ///     settled(&inbox, id).await;
    /// }
    /// // Two failures in a row: `crm.*` deliveries now wait 30 s, using no attempts.
    /// let health = inbox.health().await;
    /// assert_eq!(health.open_circuits, 1);
    /// assert!(health.handlers_failing && health.healthy);
    /// # worker.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn circuit_breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// What to do with deliveries no running worker of this inbox handles (default
    /// [`Unhandled::Complete`]).
    pub fn unhandled(mut self, unhandled: Unhandled) -> Self {
        self.config.unhandled = unhandled;
        self
    }

    /// How long a delivery that no running worker of this inbox handles waits before the
    /// [`Unhandled`] policy applies to it (default [`DEFAULT_UNHANDLED_AFTER`], 1 minute):
    /// counted from when it became due (its receipt, a retry's time, the end of a lease or of a
    /// circuit breaker's hold), and the policy applies to none while a worker of the inbox
    /// started or stopped less than this long ago.
    ///
    /// Meanwhile an instance sharing the store that has the handler runs it: during a rolling
    /// upgrade, old instances leave a new type's deliveries to the new ones. Every worker notes
    /// its patterns in the store (refreshed every minute; a stopped worker's note expires), and
    /// no instance applies the policy to what a worker noted in the last five minutes handles,
    /// so a backlog at the instance that has the handler stays its own, also while it restarts.
    /// A worker spawned a moment after another gets its deliveries, however old. Until the
    /// policy applies, such deliveries are pending and counted in the queue depth, and each
    /// claim reads past them: a high rate of types nothing handles is better refused at the
    /// receiver (an `EventFilter` on the verify layer).
    /// `Duration::ZERO` applies the policy at once, which suits a process whose workers all
    /// start together and no other instance shares the store.
    ///
    /// ```
    /// # fn delivery(id: &str, event_type: &str) -> webhook_core::Delivery {
    /// #     use webhook_core::{Signer, Verifier};
    /// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// #     let body = format!(r#"{{"type":"{event_type}","data":{{}}}}"#);
    /// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
    /// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
    /// #     verifier.verify_delivery(&headers, body.into()).unwrap()
    /// # }
    /// # async fn settled(
    /// #     inbox: &webhook_inbox::Inbox,
    /// #     id: webhook_inbox::DeliveryId,
    /// # ) -> webhook_inbox::StoredDelivery {
    /// #     use webhook_inbox::DeliveryStatus::{Pending, Processing};
    /// #     for _ in 0..2000 {
    /// #         let d = inbox.get(id).await.unwrap().unwrap();
    /// #         if !matches!(d.status, Pending | Processing) { return d; }
    /// #         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// #     }
    /// #     panic!("delivery {id} was not handled");
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use webhook_inbox::{AcceptMeta, DeliveryStatus, Inbox, StoredDelivery, Unhandled};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let worker = inbox
    ///     .worker()
    ///     .on_raw("invoice.*", |_d: StoredDelivery| async { Ok(()) })
    ///     .unhandled(Unhandled::DeadLetter)
    ///     .unhandled_after(Duration::ZERO) // the only worker on this store
    ///     .spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "user.created"), AcceptMeta::new()).await?.id();
    /// let dead = settled(&inbox, id).await;
    /// assert_eq!(dead.status, DeliveryStatus::Dead);
    /// let error = dead.last_error.unwrap();
    /// assert_eq!(error, "no handler is registered for event type `user.created`");
    /// # worker.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn unhandled_after(mut self, wait: Duration) -> Self {
        self.config.unhandled_after = wait;
        self
    }

    /// How long [`Worker::shutdown`] waits for in-flight runs before releasing them (default
    /// 30 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// How often the worker runs [`Inbox::prune`]: when it starts, then at this interval
    /// (default hourly; `None` turns it off, for a store another process prunes).
    pub fn prune_interval(mut self, interval: Option<Duration>) -> Self {
        self.config.prune_interval = interval;
        self
    }

    /// Starts the worker on the current tokio runtime. Fails if a pattern did not parse or has
    /// two handlers, if no handler is registered (unless unhandled deliveries go dead), outside
    /// a tokio runtime, and on a closed inbox (all [`InboxError::Config`], except
    /// [`InboxError::Closed`]).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webhook_inbox::{HandlerResult, Inbox, InboxError, StoredDelivery};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let ok = |_d: StoredDelivery| async { HandlerResult::Ok(()) };
    ///
    /// let twice = inbox.worker().on_raw("invoice.*", ok).on_raw("invoice.*", ok).spawn();
    /// assert!(matches!(twice, Err(InboxError::Config(e)) if e.contains("two handlers")));
    /// assert!(matches!(inbox.worker().spawn(), Err(InboxError::Config(_)))); // no handler
    ///
    /// let worker = inbox.worker().on_raw("invoice.*", ok).spawn()?;
    /// worker.shutdown().await;
    /// inbox.close().await;
    /// assert!(matches!(inbox.worker().on_raw("*", ok).spawn(), Err(InboxError::Closed)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn spawn(mut self) -> Result<Worker, InboxError> {
        if !self.errors.is_empty() {
            return Err(InboxError::Config(self.errors.join("; ")));
        }
        if self.routes.is_empty() && matches!(self.config.unhandled, Unhandled::Complete) {
            return Err(InboxError::Config(
                "the worker has no handler: register one with `on`, `on_raw` or `on_batch` \
                 (without handlers it would mark every delivery done without running anything; \
                 a worker meant to dead-letter them sets `unhandled(Unhandled::DeadLetter)`)"
                    .to_owned(),
            ));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(InboxError::Config(
                "a worker runs on a tokio runtime: spawn it from inside one".to_owned(),
            ));
        }
        // Most specific first; registration order among equals.
        self.routes
            .sort_by_key(|r| std::cmp::Reverse(r.pattern.specificity()));
        for route in &mut self.routes {
            route.breaker = Breaker::new(self.breaker, self.inbox.register_circuit());
        }
        let owner = format!("worker-{}-{:016x}", std::process::id(), fastrand::u64(..));
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(run::Shared::new(
            self.inbox,
            self.routes,
            owner.clone(),
            self.config,
        ));
        // Noted before the worker starts, so that a worker spawned right after leaves this
        // one's deliveries alone from its first claim.
        let registration = Registration::new(shared.inbox(), &owner, shared.patterns())?;
        let mut closing = shared.inbox().closing();
        let stop = stop_tx.clone();
        let handle = tokio::spawn(async move {
            let _registration = registration;
            let run = run::run(shared, stop_rx);
            tokio::pin!(run);
            tokio::select! {
                () = &mut run => return,
                // `Inbox::close` stops the worker as `shutdown` does.
                _ = closing.wait_for(|closing| *closing) => {
                    let _ = stop.send(true);
                }
            }
            run.await;
        });
        Ok(Worker {
            owner,
            stop: stop_tx,
            handle,
        })
    }
}

/// A running worker, from [`WorkerBuilder::spawn`]. Dropping the handle leaves it running;
/// call [`shutdown`](Worker::shutdown) to stop it (or [`Inbox::close`], which stops all the
/// inbox's workers).
#[derive(Debug)]
pub struct Worker {
    owner: String,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Worker {
    /// The lease owner id this worker claims under.
    pub fn owner_id(&self) -> &str {
        &self.owner
    }

    /// Stops claiming, lets in-flight runs finish (up to the
    /// [shutdown timeout](WorkerBuilder::shutdown_timeout)), releases whatever did not finish or
    /// was waiting in a batch (it runs again, on this or another worker), and returns.
    ///
    /// ```
    /// # fn delivery(id: &str, event_type: &str) -> webhook_core::Delivery {
    /// #     use webhook_core::{Signer, Verifier};
    /// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// #     let body = format!(r#"{{"type":"{event_type}","data":{{}}}}"#);
    /// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
    /// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
    /// #     verifier.verify_delivery(&headers, body.into()).unwrap()
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webhook_inbox::{AcceptMeta, DeliveryStatus, HandlerResult, Inbox, StoredDelivery};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
    /// let worker = inbox
    ///     .worker()
    ///     .on_raw("*", move |_d: StoredDelivery| {
    ///         let _ = started.send(());
    ///         async {
    ///             tokio::task::yield_now().await; // a call to the CRM, say
    ///             HandlerResult::Ok(())
    ///         }
    ///     })
    ///     .spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// started_rx.recv().await; // SIGTERM arrives while the handler runs
    /// worker.shutdown().await;
    /// assert_eq!(inbox.get(id).await?.unwrap().status, DeliveryStatus::Done);
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "webhook worker task ended abnormally");
        }
    }
}
