//! The shared backend suite against SQLite files.

mod suite;
mod support;

use std::sync::Arc;

use webhook_inbox::Durability;
use webhook_inbox::backend::Backend;
use webhook_inbox::backend::sqlite::SqliteBackend;

async fn sqlite() -> (tempfile::TempDir, Arc<dyn Backend>) {
    let (dir, url) = support::temp_db();
    let backend = SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    (dir, Arc::new(backend))
}

backend_suite!(sqlite());

#[tokio::test]
async fn reopening_keeps_everything_and_migrations_are_idempotent() {
    let (dir, url) = support::temp_db();
    let b = SqliteBackend::connect(&url, Durability::Process)
        .await
        .unwrap();
    let id = b
        .accept_batch(&[suite::new("a", "t", suite::T0)])
        .await
        .unwrap()[0]
        .id();
    b.close().await;
    let b = SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    assert!(b.get(id).await.unwrap().is_some());
    assert!(
        b.accept_batch(&[suite::new("a", "t", suite::T0)])
            .await
            .unwrap()[0]
            .is_duplicate()
    );
    drop(dir);
}

/// Two processes on one file (the receiver, and the CLI replaying): replays racing a stream of
/// commits from the other connection never fail with a stale-snapshot "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_from_another_process_survive_concurrent_commits() {
    let (_dir, url) = support::temp_db();
    let receiver = SqliteBackend::connect(&url, Durability::Process)
        .await
        .unwrap();
    let cli = SqliteBackend::connect(&url, Durability::Process)
        .await
        .unwrap();
    let id = receiver
        .accept_batch(&[suite::new("replayed", "t", suite::T0)])
        .await
        .unwrap()[0]
        .id();
    let writes = tokio::spawn(async move {
        for i in 0..300 {
            let d = suite::new(&format!("w{i}"), "t", suite::T0);
            receiver.accept_batch(&[d]).await.unwrap();
        }
    });
    for _ in 0..300 {
        cli.replay(id, suite::T0).await.unwrap();
    }
    writes.await.unwrap();
}

/// An older binary (a receiver not yet upgraded, or an older CLI) still opens a file that a
/// newer one migrated further: the migrations only add, and unknown applied ones are ignored.
#[tokio::test]
async fn a_schema_migrated_by_a_newer_version_still_opens() {
    use sqlx::Connection as _;
    let (dir, url) = support::temp_db();
    SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap()
        .close()
        .await;
    let path = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let mut raw = sqlx::SqliteConnection::connect(&path).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999999999999, 'from a newer version', TRUE, x'00', 1)",
    )
    .execute(&mut raw)
    .await
    .unwrap();
    raw.close().await.unwrap();
    let b = SqliteBackend::connect(&url, Durability::Full)
        .await
        .expect("an older binary refused a schema a newer one migrated");
    b.close().await;
}

/// Opening an existing inbox creates nothing: not the file, not the tables.
#[tokio::test]
async fn opening_an_existing_inbox_creates_nothing() {
    use webhook_inbox::{InboxError, SchemaSetup};
    let (dir, url) = support::temp_db();
    let file = dir.path().join("inbox.db");
    let missing = SqliteBackend::open(&url, Durability::Full, SchemaSetup::Existing).await;
    assert!(matches!(missing, Err(InboxError::NoInbox)), "{missing:?}");
    assert!(!file.exists());
    std::fs::write(&file, b"").unwrap();
    let empty = SqliteBackend::open(&url, Durability::Full, SchemaSetup::Existing).await;
    assert!(matches!(empty, Err(InboxError::NoInbox)), "{empty:?}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        0,
        "tables were created"
    );
    SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap()
        .close()
        .await;
    SqliteBackend::open(&url, Durability::Full, SchemaSetup::Existing)
        .await
        .unwrap()
        .close()
        .await;
}

/// Pruning finds old done deliveries through the partial index on `finished_at_ms`, not by
/// reading every done row while it holds the only write connection.
#[tokio::test]
async fn prune_finds_old_done_deliveries_by_index() {
    use sqlx::Connection as _;
    let (_dir, url) = support::temp_db();
    let b = SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    b.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT id FROM inbox_deliveries \
         WHERE status = 'done' AND finished_at_ms < 5 LIMIT 2000",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("inbox_deliveries_finished")),
        "{plan:?}"
    );
}

/// A SQLite backend holding `n` deliveries, claimed and finished with `result`.
async fn finished_deliveries(
    n: usize,
    result: impl Fn() -> webhook_inbox::OutcomeResult,
) -> (tempfile::TempDir, Arc<SqliteBackend>) {
    let (dir, url) = support::temp_db();
    let b = Arc::new(
        SqliteBackend::connect(&url, Durability::Process)
            .await
            .unwrap(),
    );
    for start in (0..n).step_by(10_000) {
        let batch: Vec<_> = (start..(start + 10_000).min(n))
            .map(|i| suite::new(&format!("p{i}"), "t", suite::T0))
            .collect();
        b.accept_batch(&batch).await.unwrap();
    }
    let claimed = b
        .claim("W", n as u32, suite::T0, suite::T0 + 60_000)
        .await
        .unwrap();
    let outcomes: Vec<_> = claimed
        .iter()
        .map(|d| webhook_inbox::Outcome::new(d.id, None, "W", suite::T0 + 10, 1, result()))
        .collect();
    b.record(&outcomes).await.unwrap();
    (dir, b)
}

/// Runs `long` (a prune, a re-drive) and, 20 ms in, one accept; returns what `long` returned,
/// after checking that the accept was stored long before `long` ended: group commits go through
/// between its chunks instead of waiting behind it for the one write connection.
async fn accept_is_stored_during<T: Send + 'static>(
    b: &Arc<SqliteBackend>,
    long: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let running = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let result = long.await;
        (result, started.elapsed())
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let started = std::time::Instant::now();
    b.accept_batch(&[suite::new("during", "t", suite::T0 + 20)])
        .await
        .unwrap();
    let accept = started.elapsed();
    let (result, long) = running.await.unwrap();
    eprintln!("ran {long:?}, accept during it {accept:?}");
    assert!(accept * 4 < long, "accept {accept:?} waited ({long:?})");
    result
}

/// A prune of many rows lets group commits through between its chunks: an accept that arrives
/// while it runs is stored long before the prune ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_are_stored_while_a_long_prune_runs() {
    const N: usize = 30_000;
    let (_dir, b) = finished_deliveries(N, || webhook_inbox::OutcomeResult::Done).await;
    let pruning = {
        let b = b.clone();
        async move { b.prune(suite::T0 + 11, suite::T0 + 11).await.unwrap() }
    };
    let report = accept_is_stored_during(&b, pruning).await;
    assert_eq!(report.deliveries, N as u64);
}

/// A re-drive of many dead letters lets group commits through between its chunks, as a prune
/// does: one statement over them all held the write connection for seconds (4.9 s for a
/// million rows), and accepts waiting behind it timed out with a 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_are_stored_while_a_long_redrive_runs() {
    const N: usize = 30_000;
    let dead = || webhook_inbox::OutcomeResult::Dead {
        error: "gone".into(),
    };
    let (_dir, b) = finished_deliveries(N, dead).await;
    let redriving = {
        let b = b.clone();
        async move { b.redrive_all_dead(suite::T0 + 20).await.unwrap() }
    };
    assert_eq!(accept_is_stored_during(&b, redriving).await, N as u64);
}

/// A one-segment name is noted with a `prefix` row for its subtypes (which the previous version
/// reads as it did), once even beside the same prefix pattern.
#[tokio::test]
async fn a_noted_name_has_a_row_for_its_subtypes() {
    let (_dir, url) = support::temp_db();
    let b = SqliteBackend::connect(&url, Durability::Process)
        .await
        .unwrap();
    let issues = suite::NOTED_PATTERNS.map(|p| webhook_core::EventPattern::parse(p).unwrap());
    b.note_worker("gh", &issues, suite::T0).await.unwrap();
    b.close().await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(suite::NOTED_ROWS_SQL)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows, suite::noted_rows());
    pool.close().await;
}
