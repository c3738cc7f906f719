//! The storage interface: [`Backend`], implemented by [`SqliteBackend`](sqlite::SqliteBackend)
//! (and by the PostgreSQL backend behind the `postgres` feature).
//!
//! Every method is one short transaction. Times are milliseconds since the Unix epoch and are
//! passed in by the caller, so the inbox's [`Clock`](crate::Clock) drives everything and the
//! backends stay free of wall-clock reads. The shared test suite in
//! `tests/backend_suite.rs` runs against every backend.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::{
    Accepted, ClaimFilter, DeliveryId, EventTypeStats, InboxError, ListFilter, NewDelivery,
    Outcome, PruneReport, StatusCounts, StoredDelivery,
};

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod read;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// A boxed, sendable future (backends are used as `Arc<dyn Backend>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A result from a backend.
pub type BackendResult<T> = Result<T, InboxError>;

/// How much a commit must survive before the inbox answers 2xx.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Every commit is flushed to stable storage before it is acknowledged: survives process
    /// crashes, OS crashes and power loss. SQLite: WAL with `synchronous=FULL`. The default.
    #[default]
    Full,
    /// Commits survive a crash of the process (SIGKILL, panic, OOM kill) but the last ones may
    /// be lost if the OS crashes or power fails before the next checkpoint. SQLite: WAL with
    /// `synchronous=NORMAL`.
    Process,
}

/// Whether opening a store may create and migrate its schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaSetup {
    /// Create the store (SQLite file, PostgreSQL schema) and its tables if missing, and apply
    /// the embedded migrations. What a receiver does. The default.
    #[default]
    Migrate,
    /// Use the store as it is: create and migrate nothing, and fail with
    /// [`InboxError::NoInbox`] when the URL holds no inbox (a mistyped path, database or
    /// `search_path`). For tools that inspect a receiver's store, like the `webhook` CLI: they
    /// never change its schema, and work with a role that may only read and write rows.
    Existing,
}

impl std::str::FromStr for Durability {
    type Err = InboxError;

    /// `full`, or `process` (also spelled `normal`, SQLite's name for it).
    ///
    /// ```
    /// use webhook_inbox::Durability;
    /// assert_eq!("process".parse::<Durability>().unwrap(), Durability::Process);
    /// assert!("fsync".parse::<Durability>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(Durability::Full),
            "process" | "normal" => Ok(Durability::Process),
            other => Err(InboxError::Config(format!(
                "unknown durability `{other}`: expected `full` or `process`"
            ))),
        }
    }
}

/// Older binaries keep running against a schema that newer ones migrated (a rolling upgrade, or
/// the CLI of another version): the migrations only add.
///
/// A new PostgreSQL index goes in a migration file of its own that starts with
/// `-- no-transaction` and uses `CREATE INDEX CONCURRENTLY IF NOT EXISTS`: a plain
/// `CREATE INDEX` holds off every instance's writes while it builds. Applied files never change
/// (their checksums are recorded).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn migrator(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    migrator.set_ignore_missing(true);
    migrator
}

/// A place to keep deliveries: SQLite, PostgreSQL, or your own.
///
/// Implementations must make each method atomic, and `accept_batch` durable (per
/// [`Durability`]) before it returns.
pub trait Backend: Debug + Send + Sync + 'static {
    /// A short name for logs (`sqlite`, `postgres`).
    fn name(&self) -> &'static str;

    /// Stores a batch in one transaction. For each input, in order: `New(id)` if its dedupe key
    /// was not seen before (including earlier in the same batch), else `Duplicate(first id)`.
    fn accept_batch<'a>(
        &'a self,
        batch: &'a [NewDelivery],
    ) -> BoxFuture<'a, BackendResult<Vec<Accepted>>>;

    /// Claims up to `limit` due deliveries (pending or retrying with `next_attempt_at <= now`,
    /// or processing with an expired lease) for `owner` until `lease_until_ms`, oldest due
    /// first, and counts an attempt on each: [`claim_matching`](Backend::claim_matching) with
    /// [`ClaimFilter::all`].
    fn claim<'a>(
        &'a self,
        owner: &'a str,
        limit: u32,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> BoxFuture<'a, BackendResult<Vec<StoredDelivery>>> {
        Box::pin(async move {
            let all = ClaimFilter::all();
            self.claim_matching(owner, limit, now_ms, lease_until_ms, &all)
                .await
        })
    }

    /// [`claim`](Backend::claim), for only the deliveries `filter` admits by event type (see
    /// [`ClaimFilter::admits`]); the worker claims through this. Filter in the query: a backend
    /// that claimed and gave back what the filter refuses would keep taking other workers'
    /// deliveries, and fill its `limit` with them.
    fn claim_matching<'a>(
        &'a self,
        owner: &'a str,
        limit: u32,
        now_ms: i64,
        lease_until_ms: i64,
        filter: &'a ClaimFilter,
    ) -> BoxFuture<'a, BackendResult<Vec<StoredDelivery>>>;

    /// Notes, as of `now_ms`, that the worker `owner` handles `patterns` (replacing what it
    /// noted before), so that claims anywhere leave the deliveries they match to it rather
    /// than take them as unhandled (see [`ClaimFilter::live_since_ms`]). The worker calls it
    /// when it starts and then every minute; a stopped worker's note is not removed but
    /// expires, so that its backlog is not taken as unhandled while it restarts. The default
    /// notes nothing: a backend without it knows only the workers of the claiming process.
    fn note_worker<'a>(
        &'a self,
        owner: &'a str,
        patterns: &'a [webhook_core::EventPattern],
        now_ms: i64,
    ) -> BoxFuture<'a, BackendResult<()>> {
        let _ = (owner, patterns, now_ms);
        Box::pin(async { Ok(()) })
    }

    /// Records finished runs in one transaction. An outcome applies only if `owner` still holds
    /// the lease; returns how many applied.
    fn record<'a>(&'a self, outcomes: &'a [Outcome]) -> BoxFuture<'a, BackendResult<u64>>;

    /// Gives claimed deliveries back without counting the attempt (shutdown, open circuit):
    /// they become due again at `due_at_ms`.
    fn release<'a>(
        &'a self,
        owner: &'a str,
        ids: &'a [DeliveryId],
        due_at_ms: i64,
    ) -> BoxFuture<'a, BackendResult<u64>>;

    /// Extends the leases `owner` still holds on `ids` (deliveries it is processing) to
    /// `lease_until_ms`, so that a long run keeps its delivery; returns how many it still held.
    fn extend_leases<'a>(
        &'a self,
        owner: &'a str,
        ids: &'a [DeliveryId],
        lease_until_ms: i64,
    ) -> BoxFuture<'a, BackendResult<u64>>;

    /// Re-queues a done, dead, retrying or pending delivery with its original bytes, attempts
    /// reset; also one left processing under a lease that has run out (its worker died). One
    /// a worker holds is an `InvalidState` error.
    fn replay(&self, id: DeliveryId, now_ms: i64) -> BoxFuture<'_, BackendResult<()>>;

    /// Re-queues a dead delivery.
    fn redrive(&self, id: DeliveryId, now_ms: i64) -> BoxFuture<'_, BackendResult<()>>;

    /// Re-queues every dead delivery; returns how many.
    fn redrive_all_dead(&self, now_ms: i64) -> BoxFuture<'_, BackendResult<u64>>;

    /// One delivery.
    fn get(&self, id: DeliveryId) -> BoxFuture<'_, BackendResult<Option<StoredDelivery>>>;

    /// Deliveries matching `filter`, newest first.
    fn list<'a>(
        &'a self,
        filter: &'a ListFilter,
    ) -> BoxFuture<'a, BackendResult<Vec<StoredDelivery>>>;

    /// Per event type figures for deliveries received, and runs finished, since `since_ms`.
    fn stats(&self, since_ms: i64) -> BoxFuture<'_, BackendResult<Vec<EventTypeStats>>>;

    /// Failed runs (retrying or dead outcomes) finished since `since_ms`.
    fn failures_since(&self, since_ms: i64) -> BoxFuture<'_, BackendResult<u64>>;

    /// Deliveries per status.
    fn counts(&self) -> BoxFuture<'_, BackendResult<StatusCounts>>;

    /// Removes done deliveries finished before `done_before_ms`, dedupe keys first seen before
    /// `keys_before_ms` whose delivery is gone, and attempt rows finished before
    /// `done_before_ms`.
    fn prune(
        &self,
        done_before_ms: i64,
        keys_before_ms: i64,
    ) -> BoxFuture<'_, BackendResult<PruneReport>>;

    /// Wakes this process's idle workers through `wake` whenever another process sharing the
    /// store commits new work (PostgreSQL: `LISTEN`/`NOTIFY`). [`InboxBuilder::build`](crate::InboxBuilder::build)
    /// calls it once. The default does nothing: such work is found at the next poll.
    fn wake_on_new_work(&self, wake: Arc<Notify>) {
        let _ = wake;
    }

    /// Closes connections after pending work.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// How a pattern is kept in `inbox_worker_patterns.kind`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn pattern_kind(pattern: &webhook_core::EventPattern) -> &'static str {
    if pattern.is_any() {
        "any"
    } else if pattern.is_exact() {
        "exact"
    } else {
        "prefix"
    }
}

/// The `(kind, literal)` rows that note `patterns`: one per pattern, and for a one-segment name
/// (`issues`, which also takes `issues.opened`) a `prefix` row for its subtypes as well, so that
/// an instance of an earlier version, which reads `exact` as that type alone, does not take
/// those subtypes as unhandled during a rolling upgrade.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn pattern_rows(patterns: &[webhook_core::EventPattern]) -> Vec<(&'static str, &str)> {
    let mut rows: Vec<(&'static str, &str)> = Vec::with_capacity(patterns.len());
    let extra = patterns
        .iter()
        .filter_map(|p| Some(("prefix", p.subtypes_prefix()?)));
    for row in patterns
        .iter()
        .map(|p| (pattern_kind(p), p.literal()))
        .chain(extra)
    {
        // `issues` beside `issues.*` would note `issues.` twice, which PostgreSQL's one-statement
        // upsert refuses.
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    rows
}

/// A noted pattern back from its `kind` and `literal` columns (`None` for a row this crate did
/// not write).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn noted_pattern(kind: &str, literal: &str) -> Option<webhook_core::EventPattern> {
    let text = match kind {
        "any" => "*".to_owned(),
        "exact" => literal.to_owned(),
        "prefix" => format!("{literal}*"),
        _ => return None,
    };
    webhook_core::EventPattern::parse(&text).ok()
}

/// The patterns a claim counts as handled: `filter.known` and those noted in the store since
/// `filter.live_since_ms` (read by `noted`); and the due time by which unhandled deliveries
/// are claimed, none when the noted patterns cannot be read (nothing is taken as unhandled
/// that some worker may handle).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) async fn known_for_claim<F>(
    filter: &ClaimFilter,
    noted: F,
) -> (Vec<webhook_core::EventPattern>, Option<i64>)
where
    F: Future<Output = BackendResult<Vec<(String, String)>>>,
{
    let mut known = filter.known.clone();
    let settled = filter.unhandled_due_by_ms.is_some()
        && filter.live_since_ms != i64::MAX
        && !known.iter().any(webhook_core::EventPattern::is_any);
    if !settled {
        return (known, filter.unhandled_due_by_ms);
    }
    match noted.await {
        Ok(rows) => {
            for (kind, literal) in rows {
                if let Some(p) = noted_pattern(&kind, &literal)
                    && !known.contains(&p)
                {
                    known.push(p);
                }
            }
            (known, filter.unhandled_due_by_ms)
        }
        Err(e) => {
            tracing::debug!(error = %e, "reading the noted worker patterns failed; taking nothing as unhandled");
            (known, None)
        }
    }
}

/// How long the noted patterns of a worker that never said it stopped (a crash) are kept.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) const WORKER_ROWS_KEPT_MS: i64 = 24 * 3600 * 1000;

/// Whether `operation` (`replay` or `redrive`) may put delivery `id` back in the queue: a
/// re-drive only a dead one; a replay any but one a worker holds, that is processing under a
/// lease that has not run out at `now_ms` (a crashed worker's delivery can be replayed).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn check_requeue(
    id: DeliveryId,
    status: crate::DeliveryStatus,
    lease_until_ms: i64,
    now_ms: i64,
    operation: &'static str,
) -> BackendResult<()> {
    use crate::DeliveryStatus;
    let (allowed, expected) = match operation {
        "redrive" => (status == DeliveryStatus::Dead, "dead"),
        _ => (
            status != DeliveryStatus::Processing || lease_until_ms <= now_ms,
            "done, dead, retrying, pending, or processing under an expired lease",
        ),
    };
    if allowed {
        Ok(())
    } else {
        Err(InboxError::InvalidState {
            id,
            status,
            operation,
            expected,
        })
    }
}

#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod tests {
    use webhook_core::EventPattern;

    use super::*;

    /// A one-segment name is noted as itself and as the prefix of its subtypes, which an
    /// earlier version reads as it did; both rows read back as patterns.
    #[test]
    fn a_one_segment_name_is_noted_with_its_subtypes() {
        let patterns: Vec<EventPattern> = ["issues", "user.login", "orders/*", "*", "issues.*"]
            .into_iter()
            .map(|p| EventPattern::parse(p).unwrap())
            .collect();
        let rows = pattern_rows(&patterns);
        assert_eq!(
            rows,
            [
                ("exact", "issues"),
                ("exact", "user.login"),
                ("prefix", "orders/"),
                ("any", ""),
                ("prefix", "issues."),
            ]
        );
        for (kind, literal) in rows {
            assert!(noted_pattern(kind, literal).is_some(), "{kind} {literal}");
        }
    }
}
