//! [`Interposed`]: a real backend behind hooks that pause, slow down or fail its calls.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use webhook_inbox::backend::{BackendResult, BoxFuture};
use webhook_inbox::{
    Accepted, Backend, ClaimFilter, DeliveryId, EventTypeStats, Inbox, InboxBuilder, InboxError,
    ListFilter, NewDelivery, Outcome, PruneReport, StatusCounts, StoredDelivery,
};

/// An inbox on a SQLite file in a temp dir, its store behind an [`Interposed`] that
/// `interpose` sets up, built by `configure`.
#[cfg(feature = "sqlite")]
pub async fn interposed_inbox(
    interpose: impl FnOnce(Interposed) -> Interposed,
    configure: impl FnOnce(InboxBuilder) -> InboxBuilder,
) -> (tempfile::TempDir, Arc<Interposed>, Inbox) {
    use webhook_inbox::Durability;
    use webhook_inbox::backend::sqlite::SqliteBackend;
    let (dir, url) = super::temp_db();
    let sqlite = SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let backend = Arc::new(interpose(Interposed::over(sqlite)));
    let inbox = configure(Inbox::builder(&url).backend(backend.clone()))
        .build()
        .await
        .unwrap();
    (dir, backend, inbox)
}

/// A real backend behind a wrapper that can hold a claim's answer, or a record's, when it
/// concerns the watched delivery, until `go` (`go_record`), and can slow down or fail accepts.
#[derive(Debug, Default)]
pub struct Interposed {
    pub inner: Option<Arc<dyn Backend>>,
    /// Pause claims that return this delivery, after the claim.
    pub watched: Mutex<Option<DeliveryId>>,
    pub claimed: Arc<tokio::sync::Notify>,
    /// Pause records of this delivery's outcome, after the record, until `go_record`; with
    /// `then_watch_claims`, claims that return it pause from then on.
    pub watched_record: Mutex<Option<DeliveryId>>,
    pub then_watch_claims: bool,
    pub recorded: Arc<tokio::sync::Notify>,
    pub go: Arc<tokio::sync::Notify>,
    pub go_record: Arc<tokio::sync::Notify>,
    /// Each accept waits this long first, then fails when `accept_fails` is set.
    pub accept_delay: Mutex<Duration>,
    pub accept_fails: AtomicBool,
    /// The next accept panics (a bug in a backend), ending the writer task.
    pub accept_panics: AtomicBool,
    /// Accepts that reached the wrapper.
    pub accept_calls: AtomicUsize,
    /// This many claims, the next ones, never answer (a connection whose server went silent).
    pub claims_hang: AtomicUsize,
    /// Counts never answer while set (a server gone silent under a health probe).
    pub counts_hang: AtomicBool,
    /// Counts and failure counts each answer after this many ms (a slow store that works).
    pub reads_delay_ms: AtomicU64,
}

impl Interposed {
    async fn read_delay(&self) {
        let ms = self.reads_delay_ms.load(Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    pub fn over(inner: impl Backend + 'static) -> Self {
        Interposed {
            inner: Some(Arc::new(inner)),
            ..Interposed::default()
        }
    }

    fn inner(&self) -> &Arc<dyn Backend> {
        self.inner.as_ref().unwrap()
    }
}

impl Backend for Interposed {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn accept_batch<'a>(
        &'a self,
        batch: &'a [NewDelivery],
    ) -> BoxFuture<'a, BackendResult<Vec<Accepted>>> {
        Box::pin(async move {
            self.accept_calls.fetch_add(1, Ordering::SeqCst);
            let delay = *self.accept_delay.lock().unwrap();
            tokio::time::sleep(delay).await;
            if self.accept_panics.swap(false, Ordering::SeqCst) {
                panic!("the interposed store panics on purpose");
            }
            if self.accept_fails.load(Ordering::SeqCst) {
                return Err(InboxError::Corrupt(
                    "the interposed store fails on purpose".into(),
                ));
            }
            self.inner().accept_batch(batch).await
        })
    }
    fn claim_matching<'a>(
        &'a self,
        owner: &'a str,
        limit: u32,
        now_ms: i64,
        lease_until_ms: i64,
        filter: &'a ClaimFilter,
    ) -> BoxFuture<'a, BackendResult<Vec<StoredDelivery>>> {
        Box::pin(async move {
            let hang = self
                .claims_hang
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if hang {
                std::future::pending::<()>().await;
            }
            let claimed = self
                .inner()
                .claim_matching(owner, limit, now_ms, lease_until_ms, filter)
                .await?;
            let watched = *self.watched.lock().unwrap();
            if claimed.iter().any(|d| Some(d.id) == watched) {
                self.claimed.notify_one();
                self.go.notified().await;
            }
            Ok(claimed)
        })
    }
    fn note_worker<'a>(
        &'a self,
        owner: &'a str,
        patterns: &'a [webhook_inbox::webhook_core::EventPattern],
        now_ms: i64,
    ) -> BoxFuture<'a, BackendResult<()>> {
        self.inner().note_worker(owner, patterns, now_ms)
    }
    fn record<'a>(&'a self, outcomes: &'a [Outcome]) -> BoxFuture<'a, BackendResult<u64>> {
        Box::pin(async move {
            let applied = self.inner().record(outcomes).await?;
            let watched = self.watched_record.lock().unwrap().take();
            if outcomes.iter().any(|o| Some(o.id) == watched) {
                if self.then_watch_claims {
                    *self.watched.lock().unwrap() = watched;
                }
                self.recorded.notify_one();
                self.go_record.notified().await;
            }
            Ok(applied)
        })
    }
    fn release<'a>(
        &'a self,
        owner: &'a str,
        ids: &'a [DeliveryId],
        due_at_ms: i64,
    ) -> BoxFuture<'a, BackendResult<u64>> {
        self.inner().release(owner, ids, due_at_ms)
    }
    fn extend_leases<'a>(
        &'a self,
        owner: &'a str,
        ids: &'a [DeliveryId],
        lease_until_ms: i64,
    ) -> BoxFuture<'a, BackendResult<u64>> {
        self.inner().extend_leases(owner, ids, lease_until_ms)
    }
    fn replay(&self, id: DeliveryId, now_ms: i64) -> BoxFuture<'_, BackendResult<()>> {
        self.inner().replay(id, now_ms)
    }
    fn redrive(&self, id: DeliveryId, now_ms: i64) -> BoxFuture<'_, BackendResult<()>> {
        self.inner().redrive(id, now_ms)
    }
    fn redrive_all_dead(&self, now_ms: i64) -> BoxFuture<'_, BackendResult<u64>> {
        self.inner().redrive_all_dead(now_ms)
    }
    fn get(&self, id: DeliveryId) -> BoxFuture<'_, BackendResult<Option<StoredDelivery>>> {
        self.inner().get(id)
    }
    fn list<'a>(
        &'a self,
        filter: &'a ListFilter,
    ) -> BoxFuture<'a, BackendResult<Vec<StoredDelivery>>> {
        self.inner().list(filter)
    }
    fn stats(&self, since_ms: i64) -> BoxFuture<'_, BackendResult<Vec<EventTypeStats>>> {
        self.inner().stats(since_ms)
    }
    fn failures_since(&self, since_ms: i64) -> BoxFuture<'_, BackendResult<u64>> {
        Box::pin(async move {
            self.read_delay().await;
            self.inner().failures_since(since_ms).await
        })
    }
    fn counts(&self) -> BoxFuture<'_, BackendResult<StatusCounts>> {
        Box::pin(async move {
            self.read_delay().await;
            if self.counts_hang.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            self.inner().counts().await
        })
    }
    fn prune(
        &self,
        done_before_ms: i64,
        keys_before_ms: i64,
    ) -> BoxFuture<'_, BackendResult<PruneReport>> {
        self.inner().prune(done_before_ms, keys_before_ms)
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        self.inner().close()
    }
}
