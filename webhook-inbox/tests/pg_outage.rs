//! PostgreSQL stops (`pg_ctl stop -m immediate`, like a crash) and starts again during a load.
//!
//! The test runs its own throwaway cluster (the shared one is never stopped) and a receiver
//! process with a worker. While the server is away the receiver must answer 503 with
//! `Retry-After` (never a 2xx for a delivery it could not store); the sender retries; the
//! worker backs off and reconnects. At the end every acknowledged delivery is stored and
//! handled, and a handler ran again after committing its effect only for runs the outage cut
//! off (at most what one worker holds claimed).
//!
//! Needs the PostgreSQL server binaries: run through `scripts/with-postgres.sh`.

mod pg_procs;
mod pg_support;
mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pg_procs::cluster::Cluster;
use pg_procs::query::{count, string_set};
use pg_procs::receiver::{Receiver, free_port};
use pg_procs::sender::{Answer, Sender, body};
use sqlx::postgres::PgPool;

const DELIVERIES: usize = 2_000;
const SENDERS: usize = 32;
const OUTAGE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_during_load_loses_nothing_and_never_acks_unstored() {
    // Same convention as every PostgreSQL test: run through scripts/with-postgres.sh.
    let _ = pg_support::database_url();
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let url = cluster.url();
    let logs = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::start(
        "outage",
        free_port(),
        &url,
        logs.path(),
        &[
            "--worker",
            "--handler-ms",
            "2",
            "--lease-ms",
            "5000",
            "--poll-ms",
            "200",
            "--retry-after-secs",
            "1",
            // The handler writes to the stopped server too: its circuit opens during the outage;
            // keep the pause after it short.
            "--breaker-recovery-ms",
            "1000",
        ],
    )
    .await;
    let target = receiver.url();

    let sender = Sender::new();
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (sender, next, acked, target) =
            (sender.clone(), next.clone(), acked.clone(), target.clone());
        clients.spawn(async move {
            let mut answers: Vec<(String, Vec<Answer>)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= DELIVERIES {
                    return answers;
                }
                let id = format!("outage-{i}");
                let got = sender
                    .send_until_acked(&target, &id, &body(&id, 1024), Duration::from_millis(100))
                    .await;
                acked.fetch_add(1, Ordering::Relaxed);
                answers.push((id, got));
                // Keep the load going for the whole outage.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }

    let waiting = Instant::now();
    while acked.load(Ordering::Relaxed) < DELIVERIES / 4 {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "only {} acknowledged after 120 s: the receivers are stuck",
            acked.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let acked_before = acked.load(Ordering::Relaxed);
    let cluster = Arc::new(cluster);
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop()).await.unwrap();
    let acked_while_stopping = acked.load(Ordering::Relaxed) - acked_before;
    tokio::time::sleep(OUTAGE).await;
    let acked_during = acked.load(Ordering::Relaxed) - acked_before - acked_while_stopping;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart())
        .await
        .unwrap();
    let restarted = Instant::now();

    let mut answers = Vec::new();
    while let Some(done) = clients.join_next().await {
        answers.extend(done.unwrap());
    }
    let all_acked_after = restarted.elapsed();

    let db = PgPool::connect(&url).await.unwrap();
    let handled = support::eventually(30, || async {
        count(&db, "SELECT COUNT(*) FROM test_effects").await == DELIVERIES as i64
    })
    .await;
    let effects = count(&db, "SELECT COUNT(*) FROM test_effects").await;
    if !handled {
        let statuses: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM inbox_deliveries GROUP BY 1")
                .fetch_all(&db)
                .await
                .unwrap();
        let sessions: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT state, wait_event, left(query, 60) FROM pg_stat_activity WHERE datname = current_database()",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        panic!(
            "only {effects} of {DELIVERIES} deliveries were handled after the restart; statuses {statuses:?}; \
             sessions {sessions:?}; receiver log:\n{}",
            std::fs::read_to_string(logs.path().join("outage.log")).unwrap_or_default()
        );
    }

    // While the server was away the receiver said 503 + Retry-After, and nothing else.
    let mut unavailable = 0;
    for (id, got) in &answers {
        for answer in got {
            match answer {
                Answer::Status(200 | 201, _) => {}
                Answer::Status(503, retry_after) => {
                    assert!(retry_after, "{id}: a 503 without Retry-After");
                    unavailable += 1;
                }
                other => panic!("{id}: unexpected answer {other:?}"),
            }
        }
    }
    assert!(
        unavailable > 0,
        "no 503 during a {OUTAGE:?} outage: the test did not exercise it"
    );

    // No 2xx for an unstored delivery: every acknowledged id is in the store (the sender
    // never sends an acknowledged id again, so a lost one would be missing), and its effect is
    // there. (Runs during the outage may fail and run again: the effects table, keyed by the
    // delivery, is what shows each was handled.)
    let stored = string_set(&db, "SELECT dedupe_key FROM inbox_deliveries").await;
    let keys = string_set(&db, "SELECT dedupe_key FROM test_effects").await;
    let expected: HashSet<String> = answers
        .iter()
        .map(|(id, _)| format!("standard:{id}"))
        .collect();
    assert_eq!(answers.len(), DELIVERIES);
    assert_eq!(
        stored, expected,
        "an acknowledged delivery is missing from the store"
    );
    assert_eq!(keys, expected);
    let not_done = count(
        &db,
        "SELECT COUNT(*) FROM inbox_deliveries WHERE status <> 'done'",
    )
    .await;
    assert_eq!(not_done, 0);
    // A run that committed its effect, then lost the server before its outcome was stored, runs
    // again and finds the effect there; nothing else does. One worker holds at most twice its
    // concurrency (16) claimed at once.
    let repeated = count(&db, "SELECT COUNT(*) FROM test_runs WHERE NOT fresh").await;
    assert!(
        repeated <= 2 * 16,
        "{repeated} runs repeated a committed effect during one outage"
    );

    eprintln!(
        "pg outage: {acked_before} acked before the stop, {acked_while_stopping} while pg_ctl stopped the server, \
         {acked_during} during the {OUTAGE:?} outage, {unavailable} answers were 503 + Retry-After, all {DELIVERIES} acked \
         {all_acked_after:?} after the restart and handled ({repeated} runs repeated a committed effect)"
    );
    receiver.kill().await;
    db.close().await;
}
