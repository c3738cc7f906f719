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
