//! [`Inbox`] and [`InboxBuilder`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use webhook_core::{Delivery, EventPattern};

use crate::backend::{Backend, Durability, SchemaSetup};
use crate::clock::duration_ms;
use crate::error::bounded;
use crate::writer::{self, AcceptRequest};
use crate::{
    AcceptMeta, Accepted, Clock, DeliveryId, EventTypeStats, Health, InboxError, InboxService,
    ListFilter, NewDelivery, PruneReport, RetryPolicy, StatusCounts, StoredDelivery, SystemClock,
    WorkerBuilder,
};

/// Default retention of done deliveries.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Default longest group commit before its accepts are answered 503: 10 s.
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest [`InboxBuilder::commit_timeout`]: shorter ones are raised to it.
pub const MIN_COMMIT_TIMEOUT: Duration = Duration::from_millis(100);

/// The largest [`InboxBuilder::max_batch`]: larger values are clamped to it (one commit of more
/// deliveries would hold the write lock for long, for no gain in throughput).
pub const MAX_BATCH: usize = 4096;

/// The largest [`InboxBuilder::queue_capacity`]: larger values are clamped to it.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// Configures and opens an [`Inbox`].
///
/// ```no_run
/// # async fn demo() -> Result<(), webhook_inbox::InboxError> {
/// use std::time::Duration;
/// use webhook_inbox::{Durability, Inbox, RetryPolicy};
///
/// let inbox = Inbox::builder("sqlite://webhooks.db")
///     .retry_policy(RetryPolicy::exponential().then_every(Duration::from_secs(300), 24))
///     .durability(Durability::Full)
///     .retention(Duration::from_secs(3 * 24 * 3600))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct InboxBuilder {
    url: String,
    backend: Option<Arc<dyn Backend>>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    durability: Durability,
    max_batch: usize,
    queue_capacity: usize,
    retention: Duration,
    dedupe_retention: Option<Duration>,
    health_window: Duration,
    health_threshold: u64,
    retry_after: Duration,
    metrics_name: Option<String>,
    commit_timeout: Duration,
    schema: SchemaSetup,
}

/// The settings, and of the URL only its scheme: it may hold a password.
impl std::fmt::Debug for InboxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxBuilder")
            .field("url", &shown_url(&self.url))
            .field("backend", &self.backend)
            .field("durability", &self.durability)
            .field("max_batch", &self.max_batch)
            .field("queue_capacity", &self.queue_capacity)
            .field("retention", &self.retention)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl InboxBuilder {
    fn new(url: &str) -> Self {
        InboxBuilder {
            url: url.to_owned(),
            backend: None,
            clock: Arc::new(SystemClock),
            retry: RetryPolicy::default(),
            durability: Durability::Full,
            max_batch: 256,
            queue_capacity: 8192,
            retention: DEFAULT_RETENTION,
            dedupe_retention: None,
            health_window: Duration::from_secs(300),
            health_threshold: 10,
            retry_after: Duration::from_secs(5),
            metrics_name: None,
            commit_timeout: DEFAULT_COMMIT_TIMEOUT,
            schema: SchemaSetup::Migrate,
        }
    }

    /// Uses this backend instead of opening the URL.
    pub fn backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The retry schedule (default [`RetryPolicy::default`]: 41 attempts over about 6 hours).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use webhook_inbox::{Inbox, RetryPolicy};
    ///
    /// // Three quick retries, then dead: for a handler whose failures are brief.
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .retry_policy(RetryPolicy::fixed([1, 5, 30].map(Duration::from_secs)))
    ///     .build()
    ///     .await?;
    /// assert_eq!(inbox.retry_policy().max_attempts(), 4);
    /// # inbox.close().await;
    /// # Ok::<(), webhook_inbox::InboxError>(())
    /// # }).unwrap();
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock (default: the system clock). Tests pass a [`ManualClock`](crate::ManualClock):
    /// receipt times, retry times, leases and retention all read it, so a test moves time
    /// forward instead of sleeping.
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
    /// use std::sync::Arc;
    /// use webhook_inbox::{AcceptMeta, Inbox, ManualClock};
    ///
    /// let clock = ManualClock::new(1_700_000_000_000);
    /// let inbox = Inbox::builder("sqlite::memory:").clock(Arc::new(clock.clone())).build().await?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// assert_eq!(inbox.get(id).await?.unwrap().received_at_ms, 1_700_000_000_000);
    /// # inbox.close().await;
    /// # Ok::<(), webhook_inbox::InboxError>(())
    /// # }).unwrap();
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether opening the URL may create and migrate the inbox's schema (default
    /// [`SchemaSetup::Migrate`]); [`SchemaSetup::Existing`] opens an inbox that must already
    /// be there, changing no schema (for tools that inspect a receiver's store).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webhook_inbox::{Inbox, InboxError, SchemaSetup};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let typo = dir.path().join("webhoks.db");
    /// let opened = Inbox::builder(&format!("sqlite://{}", typo.display()))
    ///     .schema(SchemaSetup::Existing)
    ///     .build()
    ///     .await;
    /// assert!(matches!(opened, Err(InboxError::NoInbox)));
    /// assert!(!typo.exists()); // nothing was created
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn schema(mut self, setup: SchemaSetup) -> Self {
        self.schema = setup;
        self
    }

    /// What a commit must survive before a 2xx (default [`Durability::Full`]). A setting read
    /// from configuration parses with [`str::parse`]: `full`, or `process`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), webhook_inbox::InboxError> {
    /// use webhook_inbox::{Durability, Inbox};
    ///
    /// // `process`: fewer fsyncs; what was acknowledged survives a crash of the process, but
    /// // not necessarily a power loss.
    /// let setting = std::env::var("INBOX_DURABILITY").unwrap_or_else(|_| "full".to_owned());
    /// let durability: Durability = setting.parse()?;
    /// let inbox = Inbox::builder("sqlite://webhooks.db").durability(durability).build().await?;
    /// # Ok(()) }
    /// ```
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The most deliveries stored in one group commit (default 256; at least 1, at most
    /// [`MAX_BATCH`]).
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.clamp(1, MAX_BATCH);
        self
    }

    /// How many accepts may wait for the writer before callers wait to enqueue (default 8192;
    /// at least 1, at most [`MAX_QUEUE_CAPACITY`]).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.clamp(1, MAX_QUEUE_CAPACITY);
        self
    }

    /// How long done deliveries are kept after they finished, and attempt-log rows after their
    /// run (default 7 days), before [`Inbox::prune`] removes them. Dead deliveries are kept
    /// until re-driven. See [`Inbox::prune`] for an example.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// How long dedupe keys are kept (default and minimum: the retention), so a sender's late
    /// retry is still recognised as a duplicate after the delivery itself was pruned. A
    /// shorter one is raised to the retention.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), webhook_inbox::InboxError> {
    /// use std::time::Duration;
    /// use webhook_inbox::Inbox;
    ///
    /// const DAY: Duration = Duration::from_secs(24 * 3600);
    /// // Bodies kept 3 days; a sender that retries for up to a month is still deduplicated.
    /// let inbox = Inbox::builder("sqlite://webhooks.db")
    ///     .retention(3 * DAY)
    ///     .dedupe_retention(35 * DAY)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn dedupe_retention(mut self, retention: Duration) -> Self {
        self.dedupe_retention = Some(retention);
        self
    }

    /// [`Inbox::health`] reports handlers failing when more than `threshold` handler runs
    /// failed in the last `window` (default 10 in 5 minutes). See [`Inbox::health`] for an
    /// example.
    pub fn health_threshold(mut self, threshold: u64, window: Duration) -> Self {
        self.health_threshold = threshold;
        self.health_window = window;
        self
    }

    /// Labels this inbox's gauges (`webhook_inbox_queue_depth`, `webhook_inbox_dead`) with
    /// `inbox = name`. Needed when one process runs several inboxes (one per sender, say): the
    /// gauges are the store's own counts, and unlabelled, each inbox's refresh overwrites the
    /// other's. Counters are not labelled: they add up across inboxes.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), webhook_inbox::InboxError> {
    /// let stripe = webhook_inbox::Inbox::builder("sqlite://stripe.db")
    ///     .metrics_name("stripe")
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn metrics_name(mut self, name: impl Into<String>) -> Self {
        self.metrics_name = Some(name.into());
        self
    }

    /// The `Retry-After` the service sends with a 503 (default 5 s; whole seconds, at least
    /// one). It is also how long [`Inbox::health`] reports the inbox unhealthy after a failed
    /// group commit.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use webhook_inbox::{AcceptAnswer, Inbox, InboxError};
    ///
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .retry_after(Duration::from_millis(1500))
    ///     .build()
    ///     .await?;
    /// // What the service answers when it cannot store a delivery: whole seconds, rounded up.
    /// let answer = AcceptAnswer::new(&Err(InboxError::Closed), inbox.retry_after());
    /// assert_eq!((answer.status, answer.retry_after_secs), (503, Some(2)));
    /// # inbox.close().await;
    /// # Ok::<(), InboxError>(())
    /// # }).unwrap();
    /// ```
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// How long a group commit may take before its accepts are answered with
    /// [`InboxError::Timeout`] (503), for a database server that stops answering without
    /// closing the connection (default [`DEFAULT_COMMIT_TIMEOUT`], 10 s). When a commit fails or
    /// times out, the accepts queued behind it are answered at once. The workers bound each of
    /// their store calls (claim, record, lease renewal, release) by it too: a connection whose
    /// server went silent (a host that died without a reset, a failover behind a virtual IP)
    /// never answers, and the worker would otherwise wait on it for good. At least
    /// [`MIN_COMMIT_TIMEOUT`] (100 ms): a zero, from an unset setting say, would refuse
    /// every delivery.
    pub fn commit_timeout(mut self, timeout: Duration) -> Self {
        self.commit_timeout = timeout.max(MIN_COMMIT_TIMEOUT);
        self
    }

    /// Opens the store (creating it and its schema if needed, unless
    /// [`schema`](InboxBuilder::schema) is [`SchemaSetup::Existing`]) and starts the
    /// group-commit writer. Must run inside a tokio runtime.
    pub async fn build(self) -> Result<Inbox, InboxError> {
        let backend = match self.backend {
            Some(backend) => backend,
            None => open_backend(&self.url, self.durability, self.schema).await?,
        };
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let new_work = Arc::new(Notify::new());
        backend.wake_on_new_work(new_work.clone());
        let commits = Arc::new(writer::CommitHealth::default());
        let writer = tokio::spawn(writer::run(
            backend.clone(),
            rx,
            self.max_batch,
            new_work.clone(),
            self.commit_timeout,
            commits.clone(),
        ));
        let dedupe_retention = self
            .dedupe_retention
            .unwrap_or(self.retention)
            .max(self.retention);
        Ok(Inbox {
            inner: Arc::new(Inner {
                backend,
                clock: self.clock,
                retry: self.retry,
                tx: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                new_work,
                retention: self.retention,
                dedupe_retention,
                health_window: self.health_window,
                health_threshold: self.health_threshold,
                retry_after: self.retry_after,
                commit_timeout: self.commit_timeout,
                workers: Mutex::new(Workers::default()),
                workers_changed: Notify::new(),
                closing: watch::Sender::new(false),
                commits,
                open_circuits: OpenCircuits::default(),
                metrics_name: self.metrics_name,
            }),
        })
    }
}

/// Opens the backend a connection string names.
async fn open_backend(
    url: &str,
    durability: Durability,
    setup: SchemaSetup,
) -> Result<Arc<dyn Backend>, InboxError> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(
            crate::backend::sqlite::SqliteBackend::open(url, durability, setup).await?,
        ));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Ok(Arc::new(
            crate::backend::postgres::PostgresBackend::open(url, durability, setup).await?,
        ));
    }
    let _ = (durability, setup);
    Err(InboxError::UnsupportedUrl(shown_url(url)))
}

/// What an error may show of a connection string: its scheme, never a password after it; a
/// string with no scheme (a bare path) whole.
fn shown_url(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _)) => format!("{scheme}:…"),
        None => url.to_owned(),
    }
}

#[derive(Debug)]
struct Inner {
    backend: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    tx: Mutex<Option<mpsc::Sender<AcceptRequest>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    new_work: Arc<Notify>,
    retention: Duration,
    dedupe_retention: Duration,
    health_window: Duration,
    health_threshold: u64,
    retry_after: Duration,
    commit_timeout: Duration,
    /// The running workers' handler patterns.
    workers: Mutex<Workers>,
    /// Told when a worker stops.
    workers_changed: Notify,
    /// Set by `close`: the workers of this inbox stop.
    closing: watch::Sender<bool>,
    /// Whether the last group commit failed.
    commits: Arc<writer::CommitHealth>,
    /// Which handler circuits of this process's workers are open.
    open_circuits: OpenCircuits,
    /// The `inbox` label of the gauges.
    metrics_name: Option<String>,
}

/// Whether each handler circuit of this process's workers is open, for [`Inbox::health`];
/// entries go with their breakers.
#[derive(Debug, Default)]
struct OpenCircuits(Mutex<Vec<Weak<AtomicBool>>>);

impl OpenCircuits {
    fn register(&self) -> Arc<AtomicBool> {
        let open = Arc::new(AtomicBool::new(false));
        if let Ok(mut all) = self.0.lock() {
            all.retain(|w| w.strong_count() > 0);
            all.push(Arc::downgrade(&open));
        }
        open
    }

    /// How many are open.
    fn count(&self) -> u64 {
        let Ok(mut all) = self.0.lock() else {
            return 0;
        };
        all.retain(|w| w.strong_count() > 0);
        all.iter()
            .filter_map(Weak::upgrade)
            .filter(|open| open.load(Ordering::Relaxed))
            .count() as u64
    }
}

/// The workers running on an inbox (and its clones).
#[derive(Debug, Default)]
struct Workers {
    /// Each one's lease owner id and handler patterns.
    running: Vec<(String, Vec<EventPattern>)>,
    /// When one last started or stopped.
    changed_at_ms: i64,
}

/// A durable webhook inbox: accept fast, never lose an event, process with retries and dead
/// letters. Cheap to clone; clones share the store and the writer.
///
/// See the [crate docs](crate) for the whole flow. Accepting a verified delivery twice stores
/// it once:
///
/// ```
/// use webhook_core::{Clock as _, Signer, SystemClock, Verifier};
/// use webhook_inbox::{AcceptMeta, Accepted, Inbox};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let url = format!("sqlite://{}", dir.path().join("webhooks.db").display());
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let body = br#"{"type":"organization.created","data":{"id":"org_1"}}"#;
/// let headers = Signer::standard(secret)?.sign("msg_1", SystemClock.now_unix(), body);
/// let delivery = Verifier::standard(secret)?.verify_delivery(&headers, body.to_vec().into())?;
///
/// let inbox = Inbox::connect(&url).await?;
/// let first = inbox.accept(&delivery, AcceptMeta::new()).await?;
/// assert!(matches!(first, Accepted::New(_)));
/// let again = inbox.accept(&delivery, AcceptMeta::new()).await?; // the sender's retry
/// assert_eq!(again, Accepted::Duplicate(first.id()));
/// assert_eq!(inbox.get(first.id()).await?.unwrap().body, &body[..]);
/// inbox.close().await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Inbox {
    inner: Arc<Inner>,
}

impl Inbox {
    /// Opens the inbox a connection string names with default settings: `sqlite://path.db`
    /// (created if missing), `sqlite::memory:` (gone when the inbox closes: for tests), or
    /// `postgres://user@host/db` with the `postgres` feature.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webhook_inbox::{Inbox, InboxError};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?; // or "sqlite://webhooks.db"
    /// assert_eq!(inbox.counts().await?.queue_depth(), 0);
    ///
    /// // A scheme this build has no backend for (a typo, or a missing feature) is refused.
    /// let err = Inbox::connect("mysql://db.internal/hooks").await.unwrap_err();
    /// assert!(matches!(err, InboxError::UnsupportedUrl(_)));
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(url: &str) -> Result<Inbox, InboxError> {
        Inbox::builder(url).build().await
    }

    /// Starts configuring an inbox on `url` (see [`InboxBuilder`] for every setting).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use webhook_inbox::{Inbox, RetryPolicy};
    ///
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .retry_policy(RetryPolicy::exponential()) // 5 attempts within about 30 s
    ///     .retention(Duration::from_secs(3 * 24 * 3600))
    ///     .retry_after(Duration::from_secs(30))
    ///     .build()
    ///     .await?;
    /// assert_eq!(inbox.retry_policy().max_attempts(), 5);
    /// assert_eq!(inbox.retry_after(), Duration::from_secs(30));
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn builder(url: &str) -> InboxBuilder {
        InboxBuilder::new(url)
    }

    /// Stores a verified delivery. Returns once the delivery (or the earlier one with the same
    /// [`dedupe_key`](Delivery::dedupe_key)) is durably committed; concurrent calls share
    /// transactions (group commit). A delivery no backend can store
    /// ([`InboxError::Unstorable`]) fails alone, before the commit.
    ///
    /// A receiver on a framework other than tower answers the sender with
    /// [`AcceptAnswer::new`](crate::AcceptAnswer::new)`(&result, inbox.retry_after())`.
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
    /// use webhook_inbox::{AcceptMeta, DeliveryStatus, Inbox};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let meta = AcceptMeta::new()
    ///     .client_addr("203.0.113.7:50214".parse()?)
    ///     .user_agent("Svix-Webhooks/1.62");
    /// let accepted = inbox.accept(&delivery("msg_1", "invoice.paid"), meta).await?;
    /// assert!(!accepted.is_duplicate());
    ///
    /// let stored = inbox.get(accepted.id()).await?.expect("committed before accept returned");
    /// assert_eq!(stored.status, DeliveryStatus::Pending); // a worker picks it up
    /// assert_eq!(stored.client_addr.as_deref(), Some("203.0.113.7:50214"));
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn accept(
        &self,
        delivery: &Delivery,
        meta: AcceptMeta,
    ) -> Result<Accepted, InboxError> {
        let new = NewDelivery::from_delivery(delivery, meta, self.now_ms());
        self.accept_new(new).await
    }

    /// [`accept`](Inbox::accept) for a delivery already converted (the service uses it).
    pub(crate) async fn accept_new(&self, delivery: NewDelivery) -> Result<Accepted, InboxError> {
        if let Err(e) = delivery.check_storable() {
            crate::metrics::unstorable();
            return Err(e);
        }
        let result = self.commit(delivery).await;
        if result.is_err() {
            crate::metrics::accept_error();
        }
        result
    }

    /// Whether accepts reach the writer (not closed, writer task running).
    fn accepting(&self) -> bool {
        self.inner
            .tx
            .lock()
            .is_ok_and(|tx| tx.as_ref().is_some_and(|tx| !tx.is_closed()))
    }

    /// Hands a delivery to the group-commit writer and waits for its answer.
    async fn commit(&self, delivery: NewDelivery) -> Result<Accepted, InboxError> {
        let sender = self
            .inner
            .tx
            .lock()
            .map_err(|_| InboxError::Closed)?
            .clone()
            .ok_or(InboxError::Closed)?;
        let (reply, answer) = oneshot::channel();
        match sender.send(AcceptRequest { delivery, reply }).await {
            Ok(()) => answer.await.unwrap_or(Err(InboxError::Closed)),
            Err(_) => Err(InboxError::Closed),
        }
    }

    /// Puts a stored delivery (done, dead, retrying or pending, or processing under an expired
    /// lease, as after a crash) back in the queue with its original bytes and a fresh attempt
    /// count. A lease also expires when its worker is alive but cut off from the store: if that
    /// worker claims the replayed delivery back before its old run ends, the old run's outcome
    /// stands for the replay.
    ///
    /// Fails with [`InboxError::NotFound`] for an id not stored (or pruned), and with
    /// [`InboxError::InvalidState`] for a delivery a worker holds under a live lease.
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
    /// use webhook_inbox::{
    ///     AcceptMeta, DeliveryId, DeliveryStatus, Inbox, InboxError, StoredDelivery,
    /// };
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let worker = inbox.worker().on_raw("*", |_d: StoredDelivery| async { Ok(()) }).spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// assert_eq!(settled(&inbox, id).await.status, DeliveryStatus::Done);
    /// worker.shutdown().await;
    ///
    /// // A handler had a bug: once it is fixed, run the delivery again.
    /// inbox.replay(id).await?;
    /// let queued = inbox.get(id).await?.unwrap();
    /// assert_eq!((queued.status, queued.attempts), (DeliveryStatus::Pending, 0));
    ///
    /// let missing = inbox.replay(DeliveryId(9_999)).await.unwrap_err();
    /// assert!(matches!(missing, InboxError::NotFound(_)));
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn replay(&self, id: DeliveryId) -> Result<(), InboxError> {
        self.inner.backend.replay(id, self.now_ms()).await?;
        self.inner.new_work.notify_waiters();
        Ok(())
    }

    /// Re-drives one dead delivery: puts it back in the queue with a fresh attempt count, once
    /// whatever killed it is fixed. Fails with [`InboxError::InvalidState`] for a delivery that
    /// is not dead (use [`replay`](Inbox::replay) to run a handled one again), and with
    /// [`InboxError::NotFound`] for an id not stored.
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
    /// use webhook_inbox::{
    ///     AcceptMeta, DeliveryStatus, HandlerError, Inbox, InboxError, ListFilter, StoredDelivery,
    /// };
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let worker = inbox
    ///     .worker()
    ///     .on_raw("*", |_d: StoredDelivery| async {
    ///         Err(HandlerError::permanent("unknown customer"))
    ///     })
    ///     .spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// settled(&inbox, id).await;
    /// worker.shutdown().await;
    ///
    /// let dead = inbox.list(&ListFilter::dead()).await?;
    /// assert_eq!(dead[0].last_error.as_deref(), Some("unknown customer"));
    /// inbox.redrive(dead[0].id).await?; // the customer now exists
    /// assert_eq!(inbox.get(id).await?.unwrap().status, DeliveryStatus::Pending);
    ///
    /// let again = inbox.redrive(id).await.unwrap_err(); // no longer dead
    /// assert!(matches!(again, InboxError::InvalidState { status: DeliveryStatus::Pending, .. }));
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn redrive(&self, id: DeliveryId) -> Result<(), InboxError> {
        self.inner.backend.redrive(id, self.now_ms()).await?;
        self.inner.new_work.notify_waiters();
        Ok(())
    }

    /// Re-drives every dead delivery; returns how many. On SQLite it re-queues them in chunks,
    /// each its own transaction, so that accepts are stored in between: an error partway leaves
    /// those re-queued so far pending (calling it again re-drives the rest).
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
    /// // A release without the `invoice.*` handler dead-letters invoices…
    /// let old = inbox
    ///     .worker()
    ///     .on_raw("customer.*", |_d: StoredDelivery| async { Ok(()) })
    ///     .unhandled(Unhandled::DeadLetter)
    ///     .unhandled_after(Duration::ZERO)
    ///     .spawn()?;
    /// let mut ids = Vec::new();
    /// for msg in ["msg_1", "msg_2"] {
    ///     ids.push(inbox.accept(&delivery(msg, "invoice.paid"), AcceptMeta::new()).await?.id());
    /// }
    /// # for id in &ids { settled(&inbox, *id).await; }
    /// old.shutdown().await;
    /// assert_eq!(inbox.counts().await?.dead, 2);
    ///
    /// // …until the next one has it: send them all through again.
    /// let new = inbox
    ///     .worker()
    ///     .on_raw("invoice.*", |_d: StoredDelivery| async { Ok(()) })
    ///     .spawn()?;
    /// assert_eq!(inbox.redrive_all_dead().await?, 2);
    /// for id in ids {
    ///     assert_eq!(settled(&inbox, id).await.status, DeliveryStatus::Done);
    /// }
    /// # new.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn redrive_all_dead(&self) -> Result<u64, InboxError> {
        let n = self.inner.backend.redrive_all_dead(self.now_ms()).await?;
        self.inner.new_work.notify_waiters();
        Ok(n)
    }

    /// One stored delivery, or `None` when no delivery has this id (never stored, or pruned).
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
    /// use webhook_inbox::{AcceptMeta, DeliveryId, Inbox};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    ///
    /// let stored = inbox.get(id).await?.expect("just stored");
    /// assert_eq!(stored.event_type_str(), "invoice.paid");
    /// assert_eq!(stored.message_id.as_deref(), Some("msg_1"));
    /// assert_eq!(stored.attempts, 0);
    /// assert!(inbox.get(DeliveryId(9_999)).await?.is_none());
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn get(&self, id: DeliveryId) -> Result<Option<StoredDelivery>, InboxError> {
        self.inner.backend.get(id).await
    }

    /// Stored deliveries, newest first (e.g. [`ListFilter::dead`]), at most the filter's
    /// [`limit`](ListFilter::limit): page with [`before`](ListFilter::before).
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
    /// use webhook_inbox::{AcceptMeta, Inbox, ListFilter};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let sent = [("msg_1", "invoice.paid"), ("msg_2", "customer.created"), ("msg_3", "invoice.paid")];
    /// for (msg, event_type) in sent {
    ///     inbox.accept(&delivery(msg, event_type), AcceptMeta::new()).await?;
    /// }
    /// let paid = inbox.list(&ListFilter::new().event_type("invoice.paid")).await?;
    /// let msgs: Vec<_> = paid.iter().filter_map(|d| d.message_id.as_deref()).collect();
    /// assert_eq!(msgs, ["msg_3", "msg_1"]); // newest first
    ///
    /// // Two at a time: the next page starts below the last id seen.
    /// let page = inbox.list(&ListFilter::new().limit(2)).await?;
    /// let next = inbox.list(&ListFilter::new().limit(2).before(page[1].id)).await?;
    /// assert_eq!((page.len(), next.len()), (2, 1));
    ///
    /// // The id a sender's support ticket quotes.
    /// let found = inbox.list(&ListFilter::new().key("msg_2")).await?;
    /// assert_eq!(found[0].event_type_str(), "customer.created");
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<StoredDelivery>, InboxError> {
        self.inner.backend.list(filter).await
    }

    /// Per event type totals over the last `window`: what an `/admin/webhook-stats` endpoint
    /// returns. Read from one snapshot of the store: the statuses and the attempts agree.
    /// Paired with [`counts`](Inbox::counts), call that first: these totals then include every
    /// attempt of a delivery the counts show finished.
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
    /// use webhook_inbox::{AcceptMeta, HandlerError, Inbox, RetryPolicy, StoredDelivery};
    ///
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .retry_policy(RetryPolicy::fixed([Duration::from_secs(600)]))
    ///     .build()
    ///     .await?;
    /// let worker = inbox
    ///     .worker()
    ///     .on_raw("invoice.paid", |_d: StoredDelivery| async { Ok(()) })
    ///     .on_raw("invoice.voided", |_d: StoredDelivery| async {
    ///         Err(HandlerError::new("ledger API down"))
    ///     })
    ///     .spawn()?;
    /// for (msg, event_type) in [("msg_1", "invoice.paid"), ("msg_2", "invoice.voided")] {
    ///     let id = inbox.accept(&delivery(msg, event_type), AcceptMeta::new()).await?.id();
    ///     settled(&inbox, id).await;
    /// }
    /// # worker.shutdown().await;
    /// let stats = inbox.stats(Duration::from_secs(3600)).await?;
    /// let of = |t: &str| stats.iter().find(|s| s.event_type == t).unwrap();
    /// assert_eq!((of("invoice.paid").total, of("invoice.paid").succeeded), (1, 1));
    /// // Failed once, waiting for its retry.
    /// assert_eq!((of("invoice.voided").failed, of("invoice.voided").in_queue), (1, 1));
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn stats(&self, window: Duration) -> Result<Vec<EventTypeStats>, InboxError> {
        self.inner
            .backend
            .stats(self.now_ms().saturating_sub(duration_ms(window)))
            .await
    }

    /// Deliveries per status. Also updates the queue depth and dead gauges.
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
    /// use webhook_inbox::{AcceptMeta, Inbox};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// for msg in ["msg_1", "msg_2", "msg_2"] {
    ///     inbox.accept(&delivery(msg, "invoice.paid"), AcceptMeta::new()).await?;
    /// }
    /// let counts = inbox.counts().await?;
    /// assert_eq!((counts.pending, counts.dead), (2, 0)); // the duplicate is stored once
    /// assert_eq!(counts.queue_depth(), 2); // waiting for a worker
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn counts(&self) -> Result<StatusCounts, InboxError> {
        let counts = self.inner.backend.counts().await?;
        crate::metrics::gauges(&counts, self.inner.metrics_name.as_deref());
        Ok(counts)
    }

    /// Healthy unless the store does not answer (each query within the
    /// [`commit_timeout`](InboxBuilder::commit_timeout)), a group commit failed in the last
    /// [`retry_after`](InboxBuilder::retry_after) (a full disk, the database restarting; after
    /// that health turns green again, so that a probe sends accepts back, each of which tries a
    /// commit: watch `webhook_inbox_accept_errors_total` or the 503s for an outage that lasts),
    /// or the inbox no longer accepts (closed, or its writer task ended); handlers failing when
    /// failed handler runs in the health window exceed the threshold or a handler's circuit is
    /// open (see [`Health`]): what an `/admin/health` endpoint returns.
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
    /// use webhook_inbox::{AcceptMeta, HandlerError, Inbox, RetryPolicy, StoredDelivery};
    ///
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .health_threshold(0, Duration::from_secs(300)) // any failed run in 5 minutes
    ///     .retry_policy(RetryPolicy::fixed([Duration::from_secs(600)]))
    ///     .build()
    ///     .await?;
    /// let worker = inbox
    ///     .worker()
    ///     .on_raw("*", |_d: StoredDelivery| async { Err(HandlerError::new("CRM down")) })
    ///     .spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// settled(&inbox, id).await;
    ///
    /// let health = inbox.health().await;
    /// assert!(health.healthy); // still accepting: keep it in service…
    /// assert!(health.handlers_failing); // …but alert someone
    /// assert_eq!(health.recent_failures, 1);
    /// # worker.shutdown().await;
    /// inbox.close().await;
    /// assert!(!inbox.health().await.healthy);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn health(&self) -> Health {
        let since = self
            .now_ms()
            .saturating_sub(duration_ms(self.inner.health_window));
        let threshold = self.inner.health_threshold;
        let window_secs = self.inner.health_window.as_secs();
        // A store that does not answer is a red health within the time a store call may take,
        // not a probe left waiting. Each query gets that time, as each store call of a worker
        // does: a slow store that answers each one within it is answering.
        let timeout = self.commit_timeout();
        let failures = if self.accepting() {
            bounded(timeout, self.inner.backend.failures_since(since)).await
        } else {
            Err(InboxError::Closed)
        };
        // Not asked once the first query failed: a store that went silent would keep the probe
        // waiting a second commit timeout for an answer that changes nothing.
        let counts = match &failures {
            Ok(_) => bounded(timeout, self.counts()).await,
            Err(e) => Err(e.clone()),
        };
        let open_circuits = self.inner.open_circuits.count();
        match (failures, counts) {
            (Ok(recent_failures), Ok(counts)) => {
                // An open circuit with nothing waiting (its deliveries went dead, or another
                // instance ran them) has nothing to try and no one to keep waiting.
                let open_circuits = if counts.queue_depth() > 0 {
                    open_circuits
                } else {
                    0
                };
                // As long as the 503s ask senders to wait: whole seconds, at least one.
                let answered = crate::answer::retry_after_secs(self.inner.retry_after);
                let failing = self.inner.commits.failing(Duration::from_secs(answered));
                let handlers_failing = recent_failures > threshold || open_circuits > 0;
                Health {
                    healthy: failing.is_none(),
                    handlers_failing,
                    recent_failures,
                    failure_threshold: threshold,
                    window_secs,
                    open_circuits,
                    counts: Some(counts),
                    reason: match failing {
                        Some(e) => Some(format!(
                            "a group commit failed, accepts are answered 503: {e}"
                        )),
                        None if open_circuits > 0 => Some(format!(
                            "{open_circuits} handler circuit(s) open: their handlers failed \
                             repeatedly and their deliveries wait for a trial run \
                             ({recent_failures} failed runs in the last {window_secs} s); \
                             deliveries are still accepted"
                        )),
                        None => handlers_failing.then(|| {
                            format!("{recent_failures} failed handler runs in the last {window_secs} s (threshold {threshold}); deliveries are still accepted")
                        }),
                    },
                }
            }
            (Err(e), _) | (_, Err(e)) => Health {
                healthy: false,
                handlers_failing: open_circuits > 0,
                recent_failures: 0,
                failure_threshold: threshold,
                window_secs,
                open_circuits,
                counts: None,
                reason: Some(e.to_string()),
            },
        }
    }

    /// Removes done deliveries that finished longer than the
    /// [`retention`](InboxBuilder::retention) ago, attempt-log rows (what [`stats`](Inbox::stats)
    /// reads) older than the retention, and dedupe keys older than the
    /// [`dedupe_retention`](InboxBuilder::dedupe_retention) whose delivery is gone. Dead and
    /// queued deliveries are kept. Workers also run it when they start and then periodically
    /// ([`prune_interval`](crate::WorkerBuilder::prune_interval)).
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
    /// use std::{sync::Arc, time::Duration};
    /// use webhook_inbox::{AcceptMeta, Inbox, ManualClock, StoredDelivery};
    ///
    /// let clock = ManualClock::starting_now();
    /// let inbox = Inbox::builder("sqlite::memory:")
    ///     .clock(Arc::new(clock.clone()))
    ///     .retention(Duration::from_secs(24 * 3600))
    ///     .build()
    ///     .await?;
    /// let worker = inbox.worker().on_raw("*", |_d: StoredDelivery| async { Ok(()) }).spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// settled(&inbox, id).await;
    /// worker.shutdown().await;
    /// assert_eq!(inbox.prune().await?.deliveries, 0); // done, but less than a day ago
    ///
    /// clock.advance(Duration::from_secs(25 * 3600));
    /// let pruned = inbox.prune().await?;
    /// assert_eq!((pruned.deliveries, pruned.dedupe_keys, pruned.attempts), (1, 1, 1));
    /// assert!(inbox.get(id).await?.is_none());
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn prune(&self) -> Result<PruneReport, InboxError> {
        let now = self.now_ms();
        let done_before = now.saturating_sub(duration_ms(self.inner.retention));
        let keys_before = now.saturating_sub(duration_ms(self.inner.dedupe_retention));
        self.inner.backend.prune(done_before, keys_before).await
    }

    /// Starts configuring a worker that processes this inbox's deliveries (see
    /// [`WorkerBuilder`]).
    pub fn worker(&self) -> WorkerBuilder {
        WorkerBuilder::new(self.clone())
    }

    /// The tower service that accepts verified deliveries over HTTP (put it behind
    /// `webhook_tower::WebhookVerify`); see [`InboxService`] for an example.
    pub fn service(&self) -> InboxService {
        InboxService::new(self.clone())
    }

    /// Stops accepting (further accepts fail with [`InboxError::Closed`], the service answers
    /// 503), commits what is queued, stops the inbox's workers as
    /// [`Worker::shutdown`](crate::Worker::shutdown) does and waits for them (their runs finish,
    /// or are released for another attempt after the worker's shutdown timeout), and closes the
    /// store. It closes the inbox for all its clones; workers cannot be spawned on it afterwards.
    ///
    /// Do not call it from a handler: it waits for that handler's worker to stop, and the worker
    /// aborts the handler (and with it this call) at its shutdown timeout, leaving the store
    /// open.
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
    /// use webhook_inbox::{AcceptMeta, Inbox, InboxError};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let receiver = inbox.clone(); // say, the HTTP service's
    /// inbox.close().await;
    /// let refused = receiver.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await;
    /// assert!(matches!(refused, Err(InboxError::Closed))); // the service answers 503
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn close(&self) {
        let tx = self.inner.tx.lock().ok().and_then(|mut tx| tx.take());
        drop(tx);
        let writer = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        // A worker still running would record its results in a closed store: its deliveries,
        // though handled, would run again.
        // Under the workers' lock: a worker starting now is either counted below or refused.
        {
            let _workers = self.workers();
            self.inner.closing.send_replace(true);
        }
        loop {
            let stopped = self.inner.workers_changed.notified();
            tokio::pin!(stopped);
            stopped.as_mut().enable();
            if self.workers().running.is_empty() {
                break;
            }
            stopped.await;
        }
        self.inner.backend.close().await;
    }

    /// A new breaker's open flag, which health reads.
    pub(crate) fn register_circuit(&self) -> Arc<AtomicBool> {
        self.inner.open_circuits.register()
    }

    /// Whether [`close`](Inbox::close) was called (on any clone).
    pub(crate) fn is_closing(&self) -> bool {
        *self.inner.closing.borrow()
    }

    /// Resolves once [`close`](Inbox::close) is called.
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// How long a store call may take (see [`InboxBuilder::commit_timeout`]).
    pub(crate) fn commit_timeout(&self) -> Duration {
        self.inner.commit_timeout
    }

    /// The `Retry-After` sent with 503 answers.
    pub fn retry_after(&self) -> Duration {
        self.inner.retry_after
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_unix_ms()
    }

    pub(crate) fn new_work(&self) -> &Arc<Notify> {
        &self.inner.new_work
    }

    /// Notes a running worker's handler patterns, until [`worker_stopped`](Inbox::worker_stopped),
    /// or refuses it once [`close`](Inbox::close) has begun: checked under the same lock `close`
    /// sets its flag under, so a worker is either waited for by `close` or never started.
    pub(crate) fn worker_started(
        &self,
        owner: &str,
        patterns: Vec<EventPattern>,
    ) -> Result<(), InboxError> {
        let now = self.now_ms();
        let mut workers = self.workers();
        if self.is_closing() {
            return Err(InboxError::Closed);
        }
        workers.running.push((owner.to_owned(), patterns));
        workers.changed_at_ms = now;
        Ok(())
    }

    pub(crate) fn worker_stopped(&self, owner: &str) {
        let now = self.now_ms();
        let mut workers = self.workers();
        workers.running.retain(|(o, _)| o != owner);
        workers.changed_at_ms = now;
        drop(workers);
        self.inner.workers_changed.notify_waiters();
    }

    /// Every pattern a running worker of this inbox handles, and when a worker last started or
    /// stopped (ms since the epoch).
    pub(crate) fn known_patterns(&self) -> (Vec<EventPattern>, i64) {
        let workers = self.workers();
        let mut known: Vec<EventPattern> = Vec::new();
        for (_, patterns) in &workers.running {
            for p in patterns {
                if !known.contains(p) {
                    known.push(p.clone());
                }
            }
        }
        (known, workers.changed_at_ms)
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, Workers> {
        self.inner
            .workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn unsupported_urls_show_their_scheme_or_a_bare_path() {
        assert_eq!(shown_url("mysql://root:pw@db/x"), "mysql:…");
        assert_eq!(shown_url("webhooks.db"), "webhooks.db");
    }

    #[test]
    fn a_builders_debug_hides_the_urls_password() {
        let shown = format!(
            "{:?}",
            super::Inbox::builder("postgres://app:S3cretPw@db/hooks")
        );
        assert!(shown.contains("postgres:…"), "{shown}");
        assert!(!shown.contains("S3cretPw"), "{shown}");
    }
}
