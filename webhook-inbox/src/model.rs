//! The records the inbox stores and returns.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use webhook_core::{Delivery, EventPattern, Verified, Verifier, VerifyError};

use crate::InboxError;

/// The id of a stored delivery (stable for the delivery's life, also after replays).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(pub i64);

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a delivery is in its life.
///
/// Its name is what the store keeps and what its JSON form carries:
///
/// ```
/// use webhook_inbox::DeliveryStatus;
///
/// let status: DeliveryStatus = "dead".parse()?; // e.g. a `?status=` query parameter
/// assert_eq!(status, DeliveryStatus::Dead);
/// assert_eq!(DeliveryStatus::Retrying.to_string(), "retrying");
/// assert_eq!(serde_json::to_string(&DeliveryStatus::Pending)?, r#""pending""#);
/// assert!("failed".parse::<DeliveryStatus>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryStatus {
    /// Stored, waiting for a worker.
    Pending,
    /// Claimed by a worker under a lease.
    Processing,
    /// Handled successfully, or completed without a handler under
    /// [`Unhandled::Complete`](crate::Unhandled::Complete).
    Done,
    /// A handler failed; another attempt is scheduled.
    Retrying,
    /// Every attempt failed, a handler said the failure is permanent (a typed handler's body
    /// that does not parse included), or no handler matched under
    /// [`Unhandled::DeadLetter`](crate::Unhandled::DeadLetter). Kept with its error until
    /// re-driven ([`Inbox::redrive`](crate::Inbox::redrive)).
    Dead,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 5] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Processing,
        DeliveryStatus::Done,
        DeliveryStatus::Retrying,
        DeliveryStatus::Dead,
    ];

    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Processing => "processing",
            DeliveryStatus::Done => "done",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Dead => "dead",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryStatus {
    type Err = crate::InboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| crate::InboxError::Corrupt(format!("unknown delivery status `{s}`")))
    }
}

/// Request facts kept with a delivery for forensics: who sent it, from where. See
/// [`Inbox::accept`](crate::Inbox::accept); [`InboxService`](crate::InboxService) fills them in
/// from the request.
///
/// ```
/// use webhook_inbox::AcceptMeta;
///
/// let meta = AcceptMeta::new().client_addr("203.0.113.7:50214".parse()?).user_agent("Stripe/1.0");
/// assert_eq!(meta.client_addr.as_deref(), Some("203.0.113.7:50214"));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptMeta {
    /// The client's address.
    pub client_addr: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl AcceptMeta {
    /// No facts.
    pub fn new() -> Self {
        AcceptMeta::default()
    }

    /// Sets the client address.
    pub fn client_addr(mut self, addr: SocketAddr) -> Self {
        self.client_addr = Some(addr.to_string());
        self
    }

    /// Sets the user agent.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }
}

/// What [`Inbox::accept`](crate::Inbox::accept) did with a delivery. Either way it is durably
/// stored when this is returned.
///
/// ```
/// use webhook_inbox::{Accepted, DeliveryId};
///
/// let again = Accepted::Duplicate(DeliveryId(7)); // the sender retried a delivery stored as 7
/// assert!(again.is_duplicate());
/// assert_eq!(again.id(), DeliveryId(7));
/// assert_eq!(serde_json::to_string(&again)?, r#"{"result":"duplicate","id":7}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "id", rename_all = "snake_case")]
pub enum Accepted {
    /// A delivery not seen before, now stored (answer 201).
    New(DeliveryId),
    /// A delivery with the same deduplication key was already stored (answer 200, the sender
    /// can stop retrying). The id is the first delivery's.
    Duplicate(DeliveryId),
}

impl Accepted {
    /// The stored delivery's id.
    pub fn id(self) -> DeliveryId {
        match self {
            Accepted::New(id) | Accepted::Duplicate(id) => id,
        }
    }

    /// Whether it was a duplicate.
    pub fn is_duplicate(self) -> bool {
        matches!(self, Accepted::Duplicate(_))
    }
}

/// A delivery on its way into the store (what backends receive in
/// [`Backend::accept_batch`](crate::backend::Backend::accept_batch)).
///
/// Its `Debug` shows the body's length and the kept headers' names, never their contents: a
/// printed delivery ends up in logs.
#[derive(Clone)]
#[non_exhaustive]
pub struct NewDelivery {
    /// [`Delivery::dedupe_key`].
    pub dedupe_key: String,
    /// The scheme's short name.
    pub scheme: &'static str,
    /// The sender's delivery id.
    pub message_id: Option<String>,
    /// The event id from the body.
    pub event_id: Option<String>,
    /// The event type.
    pub event_type: Option<String>,
    /// The raw body.
    pub body: Bytes,
    /// The headers needed to verify it again, as JSON `[[name, value], …]`.
    pub headers_json: String,
    /// Client address and user agent.
    pub meta: AcceptMeta,
    /// When it was received (ms since the epoch).
    pub received_at_ms: i64,
}

impl std::fmt::Debug for NewDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<String> =
            serde_json::from_str::<Vec<(String, String)>>(&self.headers_json)
                .map(|headers| headers.into_iter().map(|(name, _)| name).collect())
                .unwrap_or_default();
        f.debug_struct("NewDelivery")
            .field("dedupe_key", &self.dedupe_key)
            .field("scheme", &self.scheme)
            .field("message_id", &self.message_id)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("body_len", &self.body.len())
            .field("header_names", &header_names)
            .field("meta", &self.meta)
            .field("received_at_ms", &self.received_at_ms)
            .finish()
    }
}

/// The longest message id, event id, dedupe key or event type the inbox stores, in bytes.
/// Senders' ids are a few dozen bytes; the bound keeps a signed but absurd one within what
/// PostgreSQL can index (about 2.7 KB per btree entry).
pub const MAX_STORED_ID_LEN: usize = 1024;

impl NewDelivery {
    /// Checks what every backend can store: no NUL character in the text fields or the kept
    /// headers (PostgreSQL's text and `jsonb` refuse it), and at most
    /// [`MAX_STORED_ID_LEN`] bytes in the ids and the event type.
    pub(crate) fn check_storable(&self) -> Result<(), InboxError> {
        let fields = [
            ("dedupe key", Some(&self.dedupe_key)),
            ("message id", self.message_id.as_ref()),
            ("event id", self.event_id.as_ref()),
            ("event type", self.event_type.as_ref()),
        ];
        for (name, value) in fields {
            let Some(value) = value else { continue };
            if value.contains('\0') {
                return Err(InboxError::Unstorable(format!(
                    "its {name} contains a NUL character"
                )));
            }
            if value.len() > MAX_STORED_ID_LEN {
                return Err(InboxError::Unstorable(format!(
                    "its {name} is {} bytes long; at most {MAX_STORED_ID_LEN} are stored",
                    value.len()
                )));
            }
        }
        // JSON writes a NUL as `\u0000`; the parse tells it from an escaped backslash.
        if self.headers_json.contains("\\u0000")
            && serde_json::from_str::<Vec<(String, String)>>(&self.headers_json).is_ok_and(
                |headers| {
                    headers
                        .iter()
                        .any(|(n, v)| n.contains('\0') || v.contains('\0'))
                },
            )
        {
            return Err(InboxError::Unstorable(
                "a kept header contains a NUL character".to_owned(),
            ));
        }
        let meta = [
            ("user agent", self.meta.user_agent.as_ref()),
            ("client address", self.meta.client_addr.as_ref()),
        ];
        for (name, value) in meta {
            if value.is_some_and(|v| v.contains('\0')) {
                return Err(InboxError::Unstorable(format!(
                    "its {name} contains a NUL character"
                )));
            }
        }
        Ok(())
    }

    /// Takes what the store keeps from a verified delivery.
    pub fn from_delivery(delivery: &Delivery, meta: AcceptMeta, received_at_ms: i64) -> Self {
        NewDelivery {
            dedupe_key: delivery.dedupe_key(),
            scheme: delivery.scheme().as_str(),
            message_id: delivery.id().map(str::to_owned),
            event_id: delivery.event_id().map(str::to_owned),
            event_type: delivery.event_type().map(str::to_owned),
            body: delivery.body().clone(),
            headers_json: serde_json::to_string(delivery.headers())
                .unwrap_or_else(|_| "[]".to_owned()),
            meta,
            received_at_ms,
        }
    }
}

/// A stored delivery with its processing state: what handlers, `get` and `list` return.
///
/// Its `Debug` shows the body's length and the kept headers' names, never their contents
/// (personal data, signatures): a delivery printed by a handler ends up in logs.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoredDelivery {
    /// The id.
    pub id: DeliveryId,
    /// The deduplication key.
    pub dedupe_key: String,
    /// The scheme's short name (`standard`, `stripe`, `github`, …).
    pub scheme: String,
    /// The sender's delivery id (`webhook-id`, `X-GitHub-Delivery`, …).
    pub message_id: Option<String>,
    /// The event id from the body.
    pub event_id: Option<String>,
    /// The event type.
    pub event_type: Option<String>,
    /// The exact body bytes as received.
    #[serde(skip)]
    pub body: Bytes,
    /// The headers kept for re-verification (lowercase names).
    pub headers: Vec<(String, String)>,
    /// The client address.
    pub client_addr: Option<String>,
    /// The `User-Agent`.
    pub user_agent: Option<String>,
    /// When it was received (ms since the epoch).
    pub received_at_ms: i64,
    /// Its status.
    pub status: DeliveryStatus,
    /// Handler runs started (including the current one while processing). A delivery
    /// completed or dead-lettered as [unhandled](crate::Unhandled) ran nothing: that claim is
    /// not counted (0, unless a handler ran it before, say one since removed).
    /// Reset to 0 by a replay or re-drive.
    pub attempts: u32,
    /// When it is due (or, while processing, when the lease ends), ms since the epoch.
    pub next_attempt_at_ms: i64,
    /// The last handler error.
    pub last_error: Option<String>,
    /// How long the last successful run took, in ms.
    pub processing_ms: Option<i64>,
    /// When it became done or dead (ms since the epoch).
    pub finished_at_ms: Option<i64>,
}

impl std::fmt::Debug for StoredDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("StoredDelivery")
            .field("id", &self.id)
            .field("dedupe_key", &self.dedupe_key)
            .field("scheme", &self.scheme)
            .field("message_id", &self.message_id)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("body_len", &self.body.len())
            .field("header_names", &header_names)
            .field("client_addr", &self.client_addr)
            .field("user_agent", &self.user_agent)
            .field("received_at_ms", &self.received_at_ms)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("next_attempt_at_ms", &self.next_attempt_at_ms)
            .field("last_error", &self.last_error)
            .field("processing_ms", &self.processing_ms)
            .field("finished_at_ms", &self.finished_at_ms)
            .finish()
    }
}

impl StoredDelivery {
    /// `delivery` as a worker hands it to a handler on its first attempt (status
    /// [`Processing`](DeliveryStatus::Processing), one attempt, received at `now_ms`): for
    /// unit tests of raw and batch handlers, without an inbox.
    ///
    /// ```
    /// use webhook_core::{Signer, Verifier};
    /// use webhook_inbox::{DeliveryId, StoredDelivery};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let body = br#"{"type":"organization.created","data":{}}"#;
    /// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body);
    /// let verifier = Verifier::standard(secret)?.without_timestamp_check();
    /// let delivery = verifier.verify_delivery(&headers, body.to_vec().into())?;
    ///
    /// let stored = StoredDelivery::processing(DeliveryId(1), &delivery, 1_700_000_000_000);
    /// assert_eq!(stored.event_type_str(), "organization.created");
    /// assert_eq!(stored.attempts, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn processing(id: DeliveryId, delivery: &Delivery, now_ms: i64) -> Self {
        StoredDelivery {
            id,
            dedupe_key: delivery.dedupe_key(),
            scheme: delivery.scheme().as_str().to_owned(),
            message_id: delivery.id().map(str::to_owned),
            event_id: delivery.event_id().map(str::to_owned),
            event_type: delivery.event_type().map(str::to_owned),
            body: delivery.body().clone(),
            headers: delivery
                .headers()
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            client_addr: None,
            user_agent: None,
            received_at_ms: now_ms,
            status: DeliveryStatus::Processing,
            attempts: 1,
            next_attempt_at_ms: now_ms,
            last_error: None,
            processing_ms: None,
            finished_at_ms: None,
        }
    }

    /// The event type, or `""` when the sender gave none.
    pub fn event_type_str(&self) -> &str {
        self.event_type.as_deref().unwrap_or("")
    }

    /// The body parsed as JSON into `T`.
    ///
    /// ```
    /// # let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// # let body = br#"{"type":"invoice.paid","data":{"id":"in_1","amount":4200}}"#;
    /// # let headers = webhook_core::Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body);
    /// # let verifier = webhook_core::Verifier::standard(secret)?.without_timestamp_check();
    /// # let delivery = verifier.verify_delivery(&headers, body.to_vec().into())?;
    /// use webhook_inbox::{DeliveryId, StoredDelivery};
    ///
    /// // What a raw handler receives.
    /// let d = StoredDelivery::processing(DeliveryId(1), &delivery, 1_700_000_000_000);
    /// let body: serde_json::Value = d.json()?;
    /// assert_eq!(body["data"]["amount"], 4200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Verifies the stored bytes and headers again, e.g. after a secret leak, to tell which
    /// stored deliveries really came from the sender. Use a verifier built with
    /// `without_timestamp_check()` for old deliveries.
    ///
    /// ```
    /// use webhook_core::{Signer, Verifier};
    /// use webhook_inbox::{DeliveryId, StoredDelivery};
    ///
    /// let leaked = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let body = br#"{"type":"invoice.paid","data":{}}"#;
    /// let headers = Signer::standard(leaked)?.sign("msg_1", 1_700_000_000, body);
    /// let verifier = Verifier::standard(leaked)?.without_timestamp_check();
    /// let delivery = verifier.verify_delivery(&headers, body.to_vec().into())?;
    /// let stored = StoredDelivery::processing(DeliveryId(1), &delivery, 1_700_000_000_000);
    ///
    /// let old = Verifier::standard(leaked)?.without_timestamp_check();
    /// assert!(stored.reverify(&old).is_ok());
    /// let new_secret = "whsec_dGhlIG5ldyBzZWNyZXQsIGFmdGVyIHRoZSBsZWFr";
    /// let rotated = Verifier::standard(new_secret)?.without_timestamp_check();
    /// assert!(stored.reverify(&rotated).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reverify(&self, verifier: &Verifier) -> Result<Verified, VerifyError> {
        verifier.verify(self.headers.as_slice(), &self.body)
    }
}

/// Which deliveries [`Inbox::list`](crate::Inbox::list) returns, newest first. The
/// conditions combine; see [`Inbox::list`](crate::Inbox::list) for paging through an inbox.
///
/// ```
/// use webhook_inbox::{DeliveryStatus, ListFilter};
///
/// let filter = ListFilter::dead().event_type("invoice.paid").limit(5_000);
/// assert_eq!(filter.status, Some(DeliveryStatus::Dead));
/// assert_eq!(filter.limit, 1_000); // capped
/// assert_eq!(ListFilter::new().limit, 100);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only this exact event type.
    pub event_type: Option<String>,
    /// Only ids below this one (paging).
    pub before: Option<DeliveryId>,
    /// Only deliveries whose dedupe key, message id or event id is this (indexed lookups).
    pub key: Option<String>,
    /// At most this many (default 100, capped at 1000).
    pub limit: u32,
}

impl Default for ListFilter {
    fn default() -> Self {
        ListFilter {
            status: None,
            event_type: None,
            before: None,
            key: None,
            limit: 100,
        }
    }
}

impl ListFilter {
    /// Everything, 100 at a time.
    pub fn new() -> Self {
        ListFilter::default()
    }

    /// The dead letters.
    pub fn dead() -> Self {
        ListFilter::new().status(DeliveryStatus::Dead)
    }

    /// Only `status`.
    pub fn status(mut self, status: DeliveryStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only `event_type`.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Only ids below `id`.
    pub fn before(mut self, id: DeliveryId) -> Self {
        self.before = Some(id);
        self
    }

    /// At most `limit` (capped at 1000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit.min(1000);
        self
    }

    /// Only the deliveries that `key` names: a dedupe key (`standard:msg_…`), a sender's message
    /// id (`msg_…`, a GitHub delivery UUID) or a body's event id (`evt_…`). Answered from
    /// indexes, whatever the size of the inbox.
    ///
    /// ```
    /// use webhook_inbox::ListFilter;
    /// let filter = ListFilter::new().key("evt_53891546994442300");
    /// assert_eq!(filter.key.as_deref(), Some("evt_53891546994442300"));
    /// ```
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The dedupe keys `key` may stand for: itself, and a message id under every scheme.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn dedupe_keys(key: &str) -> Vec<String> {
        std::iter::once(key.to_owned())
            .chain(
                webhook_core::Scheme::ALL
                    .iter()
                    .map(|scheme| scheme.dedupe_key(key)),
            )
            .collect()
    }
}

/// Per event type figures over a window (what an `/admin/webhook-stats` endpoint returns).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EventTypeStats {
    /// The event type (`""` when the sender gave none).
    pub event_type: String,
    /// Deliveries received in the window.
    pub total: u64,
    /// Of those, done: handled successfully, or completed with no handler
    /// ([`Unhandled::Complete`](crate::Unhandled::Complete)).
    pub succeeded: u64,
    /// Failed handler runs that finished in the window.
    pub failed: u64,
    /// Of the deliveries received in the window, the dead ones.
    pub dead: u64,
    /// Of the deliveries received in the window, those still pending, processing or retrying.
    pub in_queue: u64,
    /// Mean handler run time over runs finished in the window, in ms.
    pub avg_ms: Option<f64>,
    /// Shortest handler run, in ms.
    pub min_ms: Option<i64>,
    /// Longest handler run, in ms.
    pub max_ms: Option<i64>,
}

/// How many deliveries are in each status ([`Inbox::counts`](crate::Inbox::counts)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatusCounts {
    /// Waiting for a worker.
    pub pending: u64,
    /// Claimed by a worker.
    pub processing: u64,
    /// Done: handled, or completed without a handler.
    pub done: u64,
    /// Waiting for a retry.
    pub retrying: u64,
    /// Dead letters.
    pub dead: u64,
}

impl StatusCounts {
    /// Deliveries not yet done or dead: pending, processing and retrying. A depth that keeps
    /// growing means the workers fall behind (or a circuit is open).
    ///
    /// ```
    /// use webhook_inbox::StatusCounts;
    ///
    /// let mut counts = StatusCounts::default();
    /// (counts.pending, counts.processing, counts.retrying) = (120, 8, 3);
    /// (counts.done, counts.dead) = (10_000, 2);
    /// assert_eq!(counts.queue_depth(), 131); // done and dead wait for nothing
    /// ```
    pub fn queue_depth(&self) -> u64 {
        self.pending + self.processing + self.retrying
    }
}

/// The inbox's health (what an `/admin/health` endpoint returns).
///
/// Two separate signals. [`healthy`](Health::healthy) says whether deliveries can be accepted:
/// what a load balancer's or Kubernetes' probe should see. [`handlers_failing`](Health::handlers_failing)
/// says whether processing is failing (a downstream service down, a bug): a reason to alert,
/// not to take the receiver out of service or restart it, since the inbox keeps accepting and
/// retries the deliveries once the handlers recover.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webhook_inbox::Inbox;
///
/// let inbox = Inbox::connect("sqlite::memory:").await?;
/// let health = inbox.health().await;
/// // The readiness probe's answer, and the body of `/admin/health`:
/// let status = if health.healthy { 200 } else { 503 };
/// let body = serde_json::to_value(&health)?;
/// assert_eq!(status, 200);
/// assert_eq!((body["handlers_failing"].as_bool(), body["reason"].as_str()), (Some(false), None));
/// assert_eq!(health.counts.map(|c| c.queue_depth()), Some(0));
/// # inbox.close().await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Health {
    /// False when the store does not answer or accepts cannot be stored (a group commit failed
    /// within the last [`retry_after`](crate::InboxBuilder::retry_after), in whole seconds and
    /// at least one, as the 503s' `Retry-After` says; the inbox is closed).
    pub healthy: bool,
    /// True when more handler runs failed in the window than the threshold, or a handler's
    /// circuit is open (its breaker holds its deliveries, so few runs fail, yet none succeeds).
    pub handlers_failing: bool,
    /// Failed handler runs in the window.
    pub recent_failures: u64,
    /// The threshold.
    pub failure_threshold: u64,
    /// The window, in seconds.
    pub window_secs: u64,
    /// Handler circuits of this process's workers that are open (see
    /// [`BreakerConfig`](crate::BreakerConfig)), each from when it opens until a trial run
    /// succeeds; counted while deliveries wait (with an empty queue, nothing is held back).
    pub open_circuits: u64,
    /// Deliveries per status (absent when the store did not answer).
    pub counts: Option<StatusCounts>,
    /// What is wrong, if anything: why it is unhealthy, else why handlers are failing.
    pub reason: Option<String>,
}

/// A finished handler run, as recorded by a worker.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The delivery.
    pub id: DeliveryId,
    /// Its event type (for the attempts log).
    pub event_type: Option<String>,
    /// The worker's lease owner id; the outcome is only applied while the lease is held.
    pub owner: String,
    /// When the run finished.
    pub finished_at_ms: i64,
    /// How long it ran.
    pub duration_ms: i64,
    /// What happens next.
    pub result: OutcomeResult,
}

impl Outcome {
    /// An outcome for `id`, run under `owner`'s lease.
    pub fn new(
        id: DeliveryId,
        event_type: Option<String>,
        owner: impl Into<String>,
        finished_at_ms: i64,
        duration_ms: i64,
        result: OutcomeResult,
    ) -> Self {
        Outcome {
            id,
            event_type,
            owner: owner.into(),
            finished_at_ms,
            duration_ms,
            result,
        }
    }
}

/// What a handler run leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutcomeResult {
    /// Done.
    Done,
    /// Failed; run again at the given time.
    Retry {
        /// The error.
        error: String,
        /// When (ms since the epoch).
        at_ms: i64,
    },
    /// Failed for good.
    Dead {
        /// The error.
        error: String,
    },
    /// No handler matched, so nothing ran: done, or dead with `error` (under
    /// [`Unhandled::DeadLetter`](crate::Unhandled::DeadLetter)). No attempt is logged: the
    /// attempts log and [`stats`](crate::Inbox::stats) are about handler runs.
    Unhandled {
        /// Why it is dead; `None` when it is done.
        error: Option<String>,
    },
}

impl OutcomeResult {
    /// `(status, next attempt, last error, attempts-log outcome)` as the backends store them;
    /// no attempts-log outcome when nothing ran.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn columns(
        &self,
    ) -> (
        &'static str,
        Option<i64>,
        Option<&str>,
        Option<&'static str>,
    ) {
        match self {
            OutcomeResult::Done => ("done", None, None, Some("ok")),
            OutcomeResult::Retry { error, at_ms } => (
                "retrying",
                Some(*at_ms),
                Some(error.as_str()),
                Some("failed"),
            ),
            OutcomeResult::Dead { error } => ("dead", None, Some(error.as_str()), Some("dead")),
            OutcomeResult::Unhandled { error: None } => ("done", None, None, None),
            OutcomeResult::Unhandled { error: Some(error) } => {
                ("dead", None, Some(error.as_str()), None)
            }
        }
    }

    /// Whether the delivery is finished (done or dead) after it.
    pub fn is_final(&self) -> bool {
        !matches!(self, OutcomeResult::Retry { .. })
    }
}

/// Which due deliveries a worker claims (see [`Backend::claim_matching`](crate::Backend::claim_matching)):
/// those its handlers match, and, once they have waited, those no running worker of its
/// [`Inbox`](crate::Inbox) handles (for its [`Unhandled`](crate::Unhandled) policy; see
/// [`unhandled_after`](crate::WorkerBuilder::unhandled_after)). A worker does not take a
/// delivery that only another worker of its inbox handles; workers whose patterns overlap
/// (`*` and `user.created`) share the deliveries both match.
///
/// ```
/// use webhook_inbox::ClaimFilter;
/// use webhook_inbox::webhook_core::EventPattern;
///
/// let mine = vec![EventPattern::parse("user.*")?];
/// let known = vec![EventPattern::parse("user.*")?, EventPattern::parse("billing.paid")?];
/// let filter = ClaimFilter::new(mine, known, Some(1_000));
/// assert!(filter.admits(Some("user.created"), 5_000));
/// assert!(!filter.admits(Some("billing.paid"), 0)); // another worker's
/// assert!(!filter.admits(Some("order.placed"), 5_000)); // nobody's, due too recently
/// assert!(filter.admits(Some("order.placed"), 1_000)); // nobody's, due long enough
/// assert!(ClaimFilter::all().admits(None, i64::MAX));
/// # Ok::<(), webhook_inbox::webhook_core::FilterError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimFilter {
    /// The patterns of the worker's handlers.
    pub handled: Vec<EventPattern>,
    /// Every pattern a running worker of the inbox handles, the worker's own included.
    pub known: Vec<EventPattern>,
    /// Deliveries that match none of `known` are claimed once due since this time or earlier
    /// (ms since the epoch; a delivery becomes due when received, when a retry is scheduled,
    /// when a lease runs out), so that a worker with the handler elsewhere had the time to take
    /// it; `None` claims none of them (a worker of the inbox started or stopped too recently
    /// to be sure what it handles).
    pub unhandled_due_by_ms: Option<i64>,
    /// Workers anywhere whose patterns were noted at or after this time (ms since the epoch;
    /// [`Backend::note_worker`](crate::Backend::note_worker)) count as running: a delivery one
    /// of them handles is not unhandled either. `i64::MAX` (what [`new`](ClaimFilter::new)
    /// sets) counts none.
    pub live_since_ms: i64,
}

impl ClaimFilter {
    /// A filter from its parts.
    pub fn new(
        handled: Vec<EventPattern>,
        known: Vec<EventPattern>,
        unhandled_due_by_ms: Option<i64>,
    ) -> Self {
        ClaimFilter {
            handled,
            known,
            unhandled_due_by_ms,
            live_since_ms: i64::MAX,
        }
    }

    /// Counts the workers noted in the store since `live_since_ms` as running too.
    pub fn live_since(mut self, live_since_ms: i64) -> Self {
        self.live_since_ms = live_since_ms;
        self
    }

    /// Every due delivery (a worker with a `*` handler).
    pub fn all() -> Self {
        ClaimFilter::new(vec![EventPattern::ANY], vec![EventPattern::ANY], None)
    }

    /// Whether the worker's handlers match everything, so that nothing needs filtering.
    pub fn claims_all(&self) -> bool {
        self.handled.iter().any(EventPattern::is_any)
    }

    /// Whether a delivery of `event_type`, due since `due_at_ms`, is claimed, as far as
    /// `handled` and `known` tell (the backend also leaves what workers noted in the store
    /// handle). A delivery without an event type matches only `*`.
    pub fn admits(&self, event_type: Option<&str>, due_at_ms: i64) -> bool {
        let event_type = event_type.unwrap_or("");
        let matched = |patterns: &[EventPattern]| patterns.iter().any(|p| p.matches(event_type));
        matched(&self.handled)
            || self
                .unhandled_due_by_ms
                .is_some_and(|by| due_at_ms <= by && !matched(&self.known))
    }

    /// `handled` and `known` as (exact types, prefixes, has `*`), for a backend's query.
    pub fn split(patterns: &[EventPattern]) -> (Vec<&str>, Vec<&str>, bool) {
        let mut exact = Vec::new();
        let mut prefixes = Vec::new();
        let mut any = false;
        for p in patterns {
            if p.is_any() {
                any = true;
            } else if p.is_exact() {
                exact.push(p.literal());
                // `pull_request` also takes `pull_request.opened`.
                prefixes.extend(p.subtypes_prefix());
            } else {
                prefixes.push(p.literal());
            }
        }
        (exact, prefixes, any)
    }
}

/// What [`Inbox::prune`](crate::Inbox::prune) removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PruneReport {
    /// Done deliveries removed.
    pub deliveries: u64,
    /// Dedupe keys removed.
    pub dedupe_keys: u64,
    /// Attempt log rows removed.
    pub attempts: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use webhook_core::{Signer, Verifier};

    #[test]
    fn debug_shows_no_body_and_no_header_values() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"type":"user.created","data":{"email":"alice@example.com"}}"#;
        let headers = Signer::standard(secret)
            .unwrap()
            .sign("msg_1", 1_700_000_000, body);
        let signature = headers.get("webhook-signature").unwrap().to_owned();
        let delivery = Verifier::standard(secret)
            .unwrap()
            .without_timestamp_check()
            .verify_delivery(&headers, body.to_vec().into())
            .unwrap();
        let new = format!(
            "{:?}",
            NewDelivery::from_delivery(&delivery, AcceptMeta::new(), 0)
        );
        let stored = format!(
            "{:?}",
            StoredDelivery::processing(DeliveryId(7), &delivery, 0)
        );
        for shown in [new, stored] {
            assert!(!shown.contains("alice"), "{shown}");
            assert!(!shown.contains(&signature[3..]), "{shown}");
            assert!(shown.contains("body_len: 60"), "{shown}");
            assert!(shown.contains("webhook-signature"), "{shown}");
            assert!(shown.contains("user.created"), "{shown}");
        }
    }
}
