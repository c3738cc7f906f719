//! The shared backend suite against PostgreSQL, plus what only a shared server has: several
//! backends (instances) on one schema racing to accept and claim, and LISTEN/NOTIFY wake-ups.
//!
//! Needs `DATABASE_URL`: run through `scripts/with-postgres.sh`. Each test uses a fresh schema.

mod pg_support;
mod suite;
mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPool;
use tokio::sync::Notify;
use webhook_inbox::backend::Backend;
use webhook_inbox::backend::postgres::PostgresBackend;
use webhook_inbox::{
    AcceptMeta, Accepted, DeliveryStatus, Durability, Inbox, InboxError, NewDelivery,
    StoredDelivery,
};

async fn postgres() -> ((), Arc<dyn Backend>) {
    let url = pg_support::fresh_url("suite");
    let backend = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    ((), Arc::new(backend))
}

backend_suite!(postgres());

/// Most managed servers require TLS: `sslmode=require` connects over it (the test cluster of
/// `scripts/with-postgres.sh` has a self-signed certificate) and sets the inbox up; a URL
/// without `sslmode` connects plain.
#[tokio::test]
async fn connects_over_tls_when_required() {
    /// Whether the backend at `url` connects over TLS.
    async fn encrypted(url: &str) -> bool {
        let backend = PostgresBackend::connect(url, Durability::Full)
            .await
            .unwrap();
        let (ssl,): (bool,) =
            sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(backend.pool())
                .await
                .unwrap();
        ssl
    }

    let url = format!("{}&sslmode=require", pg_support::fresh_url("tls"));
    assert!(encrypted(&url).await, "the connection is not encrypted");
    let inbox = Inbox::connect(&url).await.unwrap();
    assert_eq!(inbox.counts().await.unwrap().queue_depth(), 0);

    // Asked for in any spelling sqlx reads (percent-encoded too), TLS is used.
    for asked in ["ssl%6Dode=require", "ssl-mode=require"] {
        let url = format!("{}&{asked}", pg_support::fresh_url("tls2"));
        assert!(encrypted(&url).await, "{asked}");
    }

    // Without `sslmode` in the URL, the connection is plain (see `PostgresBackend::open`).
    assert!(!encrypted(&pg_support::fresh_url("plain")).await);
}

/// A dedupe key held by a transaction that does not end (an instance gone mid-commit) refuses
/// only its own delivery, after a short wait: the deliveries queued behind it and those sharing
/// its group commit are stored.
#[tokio::test]
async fn a_key_held_by_a_stuck_transaction_refuses_only_its_delivery() {
    let url = pg_support::fresh_url("heldkey");
    let inbox = Inbox::connect(&url).await.unwrap();
    let gone = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let mut stuck = gone.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO inbox_dedupe (dedupe_key, first_seen_ms) VALUES ($1, 0)")
        .bind("standard:msg_held")
        .execute(&mut *stuck)
        .await
        .unwrap();
    let held = support::delivery("msg_held", "a.b", "{}");
    let others: Vec<_> = (0..20)
        .map(|i| support::delivery(&format!("other_{i}"), "a.b", "{}"))
        .collect();
    let started = Instant::now();
    // The held delivery first, alone in its commit; the others queue behind it.
    let first = {
        let inbox = inbox.clone();
        let held = held.clone();
        tokio::spawn(async move { inbox.accept(&held, AcceptMeta::new()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = futures_util::future::join_all(
        others[..10]
            .iter()
            .map(|d| inbox.accept(d, AcceptMeta::new())),
    )
    .await;
    assert!(
        first.await.unwrap().is_err(),
        "the held key cannot be stored"
    );
    for (i, r) in queued.iter().enumerate() {
        assert!(matches!(r, Ok(Accepted::New(_))), "queued {i}: {r:?}");
    }
    // The retry of the held delivery in one group commit with others.
    let mut together = vec![inbox.accept(&held, AcceptMeta::new())];
    together.extend(
        others[10..]
            .iter()
            .map(|d| inbox.accept(d, AcceptMeta::new())),
    );
    let results = futures_util::future::join_all(together).await;
    assert!(results[0].is_err(), "{:?}", results[0]);
    for (i, r) in results[1..].iter().enumerate() {
        assert!(matches!(r, Ok(Accepted::New(_))), "together {i}: {r:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    stuck.rollback().await.unwrap();
    assert!(matches!(
        inbox.accept(&held, AcceptMeta::new()).await,
        Ok(Accepted::New(_))
    ));
    inbox.close().await;
}

/// A transaction that does not end holds the keys of its whole group commit (an instance gone
/// mid-commit), and their senders retry here together: a batch with several held keys costs a
/// lock wait each, past the commit timeout, yet the batch's other deliveries, whose keys are
/// free, are stored, not answered 503.
#[tokio::test]
async fn several_held_keys_in_a_batch_still_store_its_free_deliveries() {
    let url = pg_support::fresh_url("heldkeys");
    let inbox = Inbox::builder(&url)
        .commit_timeout(Duration::from_secs(3))
        .build()
        .await
        .unwrap();
    let gone = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let mut stuck = gone.pool().begin().await.unwrap();
    for i in 0..3 {
        sqlx::query("INSERT INTO inbox_dedupe (dedupe_key, first_seen_ms) VALUES ($1, 0)")
            .bind(format!("standard:msg_held_{i}"))
            .execute(&mut *stuck)
            .await
            .unwrap();
    }
    // One held delivery alone in its commit, while the batch queues behind it.
    let first = {
        let inbox = inbox.clone();
        tokio::spawn(async move {
            let d = support::delivery("msg_held_0", "a.b", "{}");
            inbox.accept(&d, AcceptMeta::new()).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut batch: Vec<_> = (1..3)
        .map(|i| support::delivery(&format!("msg_held_{i}"), "a.b", "{}"))
        .collect();
    batch.extend((0..10).map(|i| support::delivery(&format!("free_{i}"), "a.b", "{}")));
    let results =
        futures_util::future::join_all(batch.iter().map(|d| inbox.accept(d, AcceptMeta::new())))
            .await;
    assert!(first.await.unwrap().is_err());
    assert!(results[0].is_err() && results[1].is_err(), "{results:?}");
    for (i, r) in results[2..].iter().enumerate() {
        assert!(matches!(r, Ok(Accepted::New(_))), "free {i}: {r:?}");
    }
    stuck.rollback().await.unwrap();
    inbox.close().await;
}

/// A locked table (an index being built during a rolling upgrade, an `ALTER TABLE`) refuses
/// every key: the batch stored one by one gives up after the commit timeout and answers the
/// rest 503 after one more lock wait, instead of a 2 s lock wait per delivery (40 s for this
/// batch), and the inbox stores again once the lock is gone.
#[tokio::test]
async fn a_locked_table_answers_a_queued_batch_within_about_the_commit_timeout() {
    let url = pg_support::fresh_url("lockedtable");
    let inbox = Inbox::builder(&url)
        .commit_timeout(Duration::from_secs(3))
        .build()
        .await
        .unwrap();
    let admin = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let mut lock = admin.pool().begin().await.unwrap();
    sqlx::query("LOCK TABLE inbox_dedupe IN SHARE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let started = Instant::now();
    let first = {
        let inbox = inbox.clone();
        tokio::spawn(async move {
            let d = support::delivery("msg_first", "a.b", "{}");
            inbox.accept(&d, AcceptMeta::new()).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let deliveries: Vec<_> = (0..20)
        .map(|i| support::delivery(&format!("queued_{i}"), "a.b", "{}"))
        .collect();
    let queued = futures_util::future::join_all(
        deliveries
            .iter()
            .map(|d| inbox.accept(d, AcceptMeta::new())),
    )
    .await;
    let took = started.elapsed();
    assert!(first.await.unwrap().is_err());
    for (i, r) in queued.iter().enumerate() {
        assert!(r.is_err(), "queued {i} stored under a table lock: {r:?}");
    }
    // The first commit's wait (2 s), then the batch's (2 s), 3 s and at most one more wait
    // one by one, and one for the rest of the batch in one commit: about 10 s.
    assert!(took < Duration::from_secs(14), "{took:?}");
    lock.rollback().await.unwrap();
    assert!(matches!(
        inbox.accept(&deliveries[0], AcceptMeta::new()).await,
        Ok(Accepted::New(_))
    ));
    inbox.close().await;
}

/// `Debug` of the backend, the inbox and its service never shows the password of the URL
/// (sqlx's connection options would). The test cluster trusts loopback: any password connects.
#[tokio::test]
async fn debug_never_shows_the_password() {
    let url = pg_support::fresh_url("debugpw").replacen(
        "postgres://postgres@",
        "postgres://postgres:S3cretPw@",
        1,
    );
    assert!(url.contains("S3cretPw"), "{url}");
    let inbox = webhook_inbox::Inbox::connect(&url).await.unwrap();
    for shown in [format!("{inbox:?}"), format!("{:?}", inbox.service())] {
        assert!(!shown.contains("S3cretPw"), "{shown}");
        assert!(shown.contains("127.0.0.1"), "{shown}");
    }
    inbox.close().await;
}

#[tokio::test]
async fn reopening_keeps_everything_and_migrations_are_idempotent() {
    let url = pg_support::fresh_url("reopen");
    let b = PostgresBackend::connect(&url, Durability::Process)
        .await
        .unwrap();
    let id = b
        .accept_batch(&[suite::new("a", "t", suite::T0)])
        .await
        .unwrap()[0]
        .id();
    b.close().await;
    let b = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    assert_eq!(b.name(), "postgres");
    assert!(b.get(id).await.unwrap().is_some());
    assert!(
        b.accept_batch(&[suite::new("a", "t", suite::T0)])
            .await
            .unwrap()[0]
            .is_duplicate()
    );
    // The migrations are recorded in the inbox's own table, never in sqlx's default one that
    // the application's migrations use.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(b.pool())
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "_webhook_inbox_migrations",
            "inbox_attempts",
            "inbox_dedupe",
            "inbox_deliveries",
            "inbox_worker_patterns"
        ]
    );
    b.close().await;
}

/// A one-segment name is noted with a `prefix` row for its subtypes (which the previous version
/// reads as it did), once even beside the same prefix pattern.
#[tokio::test]
async fn a_noted_name_has_a_row_for_its_subtypes() {
    let url = pg_support::fresh_url("noted");
    let b = PostgresBackend::connect(&url, Durability::Process)
        .await
        .unwrap();
    let issues = suite::NOTED_PATTERNS.map(|p| webhook_core::EventPattern::parse(p).unwrap());
    b.note_worker("gh", &issues, suite::T0).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(suite::NOTED_ROWS_SQL)
        .fetch_all(b.pool())
        .await
        .unwrap();
    assert_eq!(rows, suite::noted_rows());
    b.close().await;
}

#[tokio::test]
async fn connection_strings_pick_the_backend() {
    let url = pg_support::fresh_url("dispatch");
    for url in [url.clone(), url.replacen("postgres://", "postgresql://", 1)] {
        let inbox = Inbox::connect(&url).await.unwrap();
        assert_eq!(inbox.backend().name(), "postgres");
        inbox.close().await;
    }
}

/// Two instances accepting the same deliveries at the same moment: each key is "new" exactly
/// once across both, and the duplicate names the same id.
#[tokio::test]
async fn instances_racing_on_the_same_keys_get_one_new_each() {
    let url = pg_support::fresh_url("race");
    let a = Arc::new(
        PostgresBackend::connect(&url, Durability::Full)
            .await
            .unwrap(),
    );
    let b = Arc::new(
        PostgresBackend::connect(&url, Durability::Full)
            .await
            .unwrap(),
    );
    let batch = |ids: Vec<usize>| -> Vec<NewDelivery> {
        ids.into_iter()
            .map(|i| suite::new(&format!("k{i}"), "race", suite::T0))
            .collect()
    };
    let mut results: HashMap<String, Vec<Accepted>> = HashMap::new();
    for round in 0..20 {
        let keys: Vec<usize> = (round * 50..round * 50 + 50).collect();
        let reversed: Vec<usize> = keys.iter().rev().copied().collect();
        let (ba, bb) = (batch(keys.clone()), batch(reversed.clone()));
        let (ra, rb) = tokio::join!(a.accept_batch(&ba), b.accept_batch(&bb));
        for (d, r) in ba.iter().zip(ra.unwrap()).chain(bb.iter().zip(rb.unwrap())) {
            results.entry(d.dedupe_key.clone()).or_default().push(r);
        }
    }
    assert_eq!(results.len(), 1_000);
    for (key, outcomes) in &results {
        let new: Vec<_> = outcomes.iter().filter(|r| !r.is_duplicate()).collect();
        assert_eq!(new.len(), 1, "{key}: {outcomes:?}");
        assert!(
            outcomes.iter().all(|r| r.id() == new[0].id()),
            "{key}: {outcomes:?}"
        );
    }
    assert_eq!(a.counts().await.unwrap().pending, 1_000);
    a.close().await;
    b.close().await;
}

/// Claims from several instances at once never hand one delivery to two owners, and nothing
/// is left behind.
#[tokio::test]
async fn concurrent_claims_skip_each_others_rows() {
    let url = pg_support::fresh_url("claims");
    let mut backends = Vec::new();
    for _ in 0..3 {
        backends.push(Arc::new(
            PostgresBackend::connect(&url, Durability::Full)
                .await
                .unwrap(),
        ));
    }
    let batch: Vec<NewDelivery> = (0..600)
        .map(|i| suite::new(&format!("c{i}"), "t", suite::T0))
        .collect();
    backends[0].accept_batch(&batch).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, b) in backends.iter().enumerate() {
        for w in 0..4 {
            let b = b.clone();
            tasks.spawn(async move {
                let owner = format!("instance{n}-worker{w}");
                let mut mine = Vec::new();
                loop {
                    let got = b
                        .claim(&owner, 7, suite::T0, suite::T0 + 60_000)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|d: StoredDelivery| d.id));
                }
            });
        }
    }
    let mut seen = HashSet::new();
    while let Some(mine) = tasks.join_next().await {
        for id in mine.unwrap() {
            assert!(seen.insert(id), "{id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 600);
    assert_eq!(backends[0].counts().await.unwrap().processing, 600);
    for b in backends {
        b.close().await;
    }
}

/// A commit by one instance wakes another instance's idle workers through NOTIFY, also for
/// re-queued deliveries.
#[tokio::test]
async fn notify_wakes_other_instances() {
    let url = pg_support::fresh_url("notify");
    let listener = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let writer = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let wake = Arc::new(Notify::new());
    listener.wake_on_new_work(wake.clone());
    // The listener announces itself once it is subscribed.
    tokio::time::timeout(Duration::from_secs(10), wake.notified())
        .await
        .expect("LISTEN subscribed");

    let woken = wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    writer
        .accept_batch(&[suite::new("n1", "t", suite::T0)])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("woken by the INSERT's NOTIFY");

    let d = writer
        .claim("W", 1, suite::T0, suite::T0 + 60_000)
        .await
        .unwrap()
        .remove(0);
    let woken = wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    writer.release("W", &[d.id], suite::T0).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("woken by the release's NOTIFY");

    // Nothing new: no wake-up.
    let woken = wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    assert!(
        writer
            .accept_batch(&[suite::new("n1", "t", suite::T0)])
            .await
            .unwrap()[0]
            .is_duplicate()
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), woken)
            .await
            .is_err(),
        "a duplicate is not new work"
    );
    listener.close().await;
    writer.close().await;
}

/// End to end across two inboxes: a worker that polls once a minute still handles a delivery
/// accepted by the other instance at once.
#[tokio::test]
async fn idle_worker_on_another_instance_wakes_at_once() {
    let url = pg_support::fresh_url("idle");
    let processing = Inbox::connect(&url).await.unwrap();
    let accepting = Inbox::connect(&url).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = processing
        .worker()
        .poll_interval(Duration::from_secs(60))
        .on_raw("*", move |d: StoredDelivery| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(d.message_id);
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    // Let the worker's first (empty) poll pass and the listener subscribe.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let accepted = accepting
        .accept(
            &support::delivery("wake-1", "user.created", "{}"),
            Default::default(),
        )
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("handled")
        .unwrap();
    let took = started.elapsed();
    assert_eq!(got.as_deref(), Some("wake-1"));
    assert!(
        took < Duration::from_secs(5),
        "woken after {took:?}, not at the next poll"
    );
    assert!(
        support::eventually(5, || async {
            processing
                .get(accepted.id())
                .await
                .unwrap()
                .is_some_and(|d| d.status == DeliveryStatus::Done)
        })
        .await
    );
    worker.shutdown().await;
    processing.close().await;
    accepting.close().await;
}

/// How many `inbox_deliveries` tables `schema` holds (0 or 1).
async fn inbox_tables_in(admin: &PgPool, schema: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'inbox_deliveries'")
        .bind(schema)
        .fetch_one(admin)
        .await
        .unwrap()
}

/// A schema named in the search path that does not exist yet is created, also when several
/// instances start at the same moment.
#[tokio::test]
async fn missing_schema_is_created_once_by_racing_instances() {
    let base = pg_support::database_url();
    let schema = pg_support::unique_schema("create");
    let url = pg_support::with_schema(&base, &schema);
    let (a, b, c) = tokio::join!(
        PostgresBackend::connect(&url, Durability::Full),
        PostgresBackend::connect(&url, Durability::Full),
        PostgresBackend::connect(&url, Durability::Full),
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let admin = PgPool::connect(&base).await.unwrap();
    assert_eq!(inbox_tables_in(&admin, &schema).await, 1);
    for b in [a, b, c] {
        b.close().await;
    }
    admin.close().await;
}

/// With `options[search_path]=<schema>,public` and no `<schema>` yet, the inbox is created in
/// `<schema>`, not in `public` (the first schema that exists).
#[tokio::test]
async fn the_first_schema_of_the_search_path_is_created_even_when_public_follows() {
    let base = pg_support::database_url();
    let schema = pg_support::unique_schema("path");
    let url = pg_support::with_schema(&base, &format!("{schema},public"));
    let b = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let admin = PgPool::connect(&base).await.unwrap();
    assert_eq!(inbox_tables_in(&admin, &schema).await, 1);
    assert_eq!(inbox_tables_in(&admin, "public").await, 0);
    b.close().await;
    admin.close().await;
}

/// Opening an existing inbox looks in the first schema of the search path, where the inbox
/// lives and which names its wake-up channel, not in a later one.
#[tokio::test]
async fn an_existing_inbox_is_looked_for_in_the_first_schema_only() {
    use webhook_inbox::SchemaSetup;
    let base = pg_support::database_url();
    let (empty, inbox) = (
        pg_support::unique_schema("empty"),
        pg_support::unique_schema("inbox"),
    );
    let created =
        PostgresBackend::connect(&pg_support::with_schema(&base, &inbox), Durability::Full)
            .await
            .unwrap();
    let admin = PgPool::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{empty}\"")))
        .execute(&admin)
        .await
        .unwrap();
    let behind = pg_support::with_schema(&base, &format!("{empty},{inbox}"));
    let opened = PostgresBackend::open(&behind, Durability::Full, SchemaSetup::Existing).await;
    assert!(matches!(opened, Err(InboxError::NoInbox)), "{opened:?}");
    let first = pg_support::with_schema(&base, &inbox);
    let opened = PostgresBackend::open(&first, Durability::Full, SchemaSetup::Existing)
        .await
        .unwrap();
    assert_eq!(opened.channel(), created.channel());
    opened.close().await;
    created.close().await;
    admin.close().await;
}

/// PostgreSQL refuses a NUL in `TEXT` (and a JSON body can carry one as `\u0000`), so one such
/// delivery would fail the whole group commit. The inbox checks before committing: it fails
/// alone, and the delivery committed next to it is stored.
#[tokio::test]
async fn an_unstorable_delivery_fails_alone() {
    let url = pg_support::fresh_url("unstorable");
    let backend = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let mut poison = suite::new("nul", "t", suite::T0);
    poison.event_type = Some("user.\0created".into());
    assert!(
        backend
            .accept_batch(&[poison, suite::new("fine", "t", suite::T0)])
            .await
            .is_err(),
        "PostgreSQL stored a NUL: the check is no longer needed"
    );
    backend.close().await;

    let inbox = Inbox::builder(&url).build().await.unwrap();
    let nul = support::delivery("nul", r"user.\u0000created", "{}");
    let long = support::delivery(&"m".repeat(3000), "t", "{}");
    let good = support::delivery("good", "t", "{}");
    let agent = support::delivery("agent", "t", "{}");
    let header = nul_in_a_kept_header();
    let (nul, long, agent, header, good) = tokio::join!(
        inbox.accept(&nul, AcceptMeta::new()),
        inbox.accept(&long, AcceptMeta::new()),
        inbox.accept(&agent, AcceptMeta::new().user_agent("bot\0")),
        inbox.accept(&header, AcceptMeta::new()),
        inbox.accept(&good, AcceptMeta::new()),
    );
    assert!(matches!(nul, Err(InboxError::Unstorable(_))), "{nul:?}");
    assert!(
        matches!(header, Err(InboxError::Unstorable(_))),
        "{header:?}"
    );
    assert!(matches!(long, Err(InboxError::Unstorable(_))), "{long:?}");
    assert!(matches!(agent, Err(InboxError::Unstorable(_))), "{agent:?}");
    assert!(matches!(good, Ok(Accepted::New(_))), "{good:?}");
    assert_eq!(inbox.counts().await.unwrap().pending, 1);
    inbox.close().await;
}

/// A verified delivery whose kept signature header carries a NUL in an entry the verifier
/// ignores (an unknown version). HTTP forbids it; a `Headers` source of another kind need not.
fn nul_in_a_kept_header() -> webhook_core::Delivery {
    let body = r#"{"id":"evt_h","type":"t","data":{}}"#;
    let mut headers = webhook_core::Signer::standard(support::SECRET)
        .unwrap()
        .sign("header", 1_700_000_000, body.as_bytes())
        .0;
    for (name, value) in &mut headers {
        if name == "webhook-signature" {
            value.push_str(" v9,a\0b");
        }
    }
    webhook_core::Verifier::standard(support::SECRET)
        .unwrap()
        .without_timestamp_check()
        .verify_delivery(headers.as_slice(), bytes::Bytes::from(body))
        .unwrap()
}

/// A claimed row that cannot be read is dead-lettered by the claim, which returns the others.
#[tokio::test]
async fn a_claim_dead_letters_an_unreadable_row_and_returns_the_rest() {
    let url = pg_support::fresh_url("unreadable");
    let b = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let ids: Vec<_> = b
        .accept_batch(&[
            suite::new("first", "t", suite::T0),
            suite::new("bad", "t", suite::T0),
            suite::new("last", "t", suite::T0),
        ])
        .await
        .unwrap()
        .into_iter()
        .map(Accepted::id)
        .collect();
    sqlx::query(r#"UPDATE inbox_deliveries SET headers = '{"not":"pairs"}' WHERE id = $1"#)
        .bind(ids[1].0)
        .execute(b.pool())
        .await
        .unwrap();
    let claimed = b
        .claim("w", 10, suite::T0, suite::T0 + 60_000)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );
    let (status, error): (String, String) =
        sqlx::query_as("SELECT status, last_error FROM inbox_deliveries WHERE id = $1")
            .bind(ids[1].0)
            .fetch_one(b.pool())
            .await
            .unwrap();
    assert_eq!(status, "dead");
    assert!(error.contains("the stored row cannot be read"), "{error}");
}

/// A prune can delete a key (past retention, its delivery gone) between an accept's insert,
/// which found the key taken, and the accept's read of that key's id. The accept then runs
/// again, stores the delivery as new and answers for the whole batch, instead of failing it.
#[tokio::test]
async fn a_key_pruned_during_an_accept_is_stored_as_new() {
    let url = pg_support::fresh_url("prune_race");
    let b = Arc::new(
        PostgresBackend::connect(&url, Durability::Full)
            .await
            .unwrap(),
    );
    let (a, later) = (
        suite::new("a", "t", suite::T0),
        suite::new("b", "t", suite::T0),
    );
    assert!(
        a.dedupe_key < later.dedupe_key,
        "keys are inserted in order"
    );
    let old = b.accept_batch(std::slice::from_ref(&a)).await.unwrap()[0].id();

    // `later`'s key, inserted and not committed: the accept's insert finds `a` taken, then
    // waits on this transaction.
    let pool = PgPool::connect(&url).await.unwrap();
    let mut holder = pool.begin().await.unwrap();
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    sqlx::query("INSERT INTO inbox_dedupe (dedupe_key, first_seen_ms) VALUES ($1, 0)")
        .bind(&later.dedupe_key)
        .execute(&mut *holder)
        .await
        .unwrap();
    let accept = tokio::spawn({
        let (b, batch) = (b.clone(), [a.clone(), later.clone()]);
        async move { b.accept_batch(&batch).await }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE pg_blocking_pids(pid) @> ARRAY[$1]",
        )
        .bind(holder_pid)
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the accept never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // What a prune does to `a`: its finished delivery, then its key.
    for sql in [
        "DELETE FROM inbox_deliveries WHERE dedupe_key = $1",
        "DELETE FROM inbox_dedupe WHERE dedupe_key = $1",
    ] {
        sqlx::query(sql)
            .bind(&a.dedupe_key)
            .execute(&pool)
            .await
            .unwrap();
    }
    holder.rollback().await.unwrap();

    let accepted = accept.await.unwrap().unwrap();
    assert!(
        accepted.iter().all(|x| !x.is_duplicate()),
        "both are new: {accepted:?}"
    );
    assert_ne!(accepted[0].id(), old);
    for (x, d) in accepted.iter().zip([&a, &later]) {
        let stored = b.get(x.id()).await.unwrap().expect("stored");
        assert_eq!(stored.dedupe_key, d.dedupe_key);
    }
}
