//! Three receiver processes share one PostgreSQL schema behind a (simulated) load balancer.
//!
//! A client sends 5,000 signed deliveries, each id to two different instances at the same
//! moment, retrying until both acknowledge. Mid-load one instance is killed with SIGKILL while
//! its worker holds leases; the test waits until the others have picked those deliveries up
//! (after the lease expired), then restarts it. At the end every acknowledged delivery was
//! handled, each exactly once by the idempotent handler (a table keyed by dedupe key), no id
//! was "new" twice, and every delivery the killed instance had leased was re-run by another
//! instance with a second attempt.
//!
//! Needs `DATABASE_URL`: run through `scripts/with-postgres.sh`.

mod pg_procs;
mod pg_support;
mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pg_procs::query::{count, string_set};
use pg_procs::receiver::{Receiver, free_port};
use pg_procs::sender::{Answer, Sender, body};
use sqlx::postgres::PgPool;

const DELIVERIES: usize = 5_000;
const SENDERS: usize = 64;
const LEASE_MS: u64 = 2_000;
const WORKER_ARGS: [&str; 9] = [
    "--worker",
    "--handler-ms",
    "40",
    "--concurrency",
    "16",
    "--lease-ms",
    "2000",
    "--poll-ms",
    "250",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_one_killed_mid_load_every_delivery_handled_once() {
    let started = Instant::now();
    let url = pg_support::fresh_url("multi");
    let logs = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let mut receivers = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        receivers
            .push(Receiver::start(&format!("r{i}"), *port, &url, logs.path(), &WORKER_ARGS).await);
    }
    let urls: Vec<String> = receivers.iter().map(Receiver::url).collect();
    let db = PgPool::connect(&url).await.unwrap();

    // The client: each id goes to two different instances at once, each send retried until a 2xx.
    let sender = Sender::new();
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (sender, next, acked, urls) =
            (sender.clone(), next.clone(), acked.clone(), urls.clone());
        clients.spawn(async move {
            let mut answers: Vec<(String, Vec<Answer>, Vec<Answer>)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= DELIVERIES {
                    return answers;
                }
                let id = format!("multi-{i}");
                let payload = body(&id, 1024);
                let pause = Duration::from_millis(20);
                let (a, b) = tokio::join!(
                    sender.send_until_acked(&urls[i % 3], &id, &payload, pause),
                    sender.send_until_acked(&urls[(i + 1) % 3], &id, &payload, pause),
                );
                acked.fetch_add(1, Ordering::Relaxed);
                answers.push((id, a, b));
            }
        });
    }

    // Mid-load: SIGKILL r1 while its worker holds leases.
    let waiting = Instant::now();
    while acked.load(Ordering::Relaxed) < DELIVERIES / 3 {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "only {} acknowledged after 120 s: the receivers are stuck",
            acked.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let victim_pid = receivers[1].pid();
    receivers[1].kill().await;
    let killed_at = Instant::now();
    let leased: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM inbox_deliveries WHERE status = 'processing' AND lease_owner LIKE $1 ORDER BY id",
    )
    .bind(format!("worker-{victim_pid}-%"))
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(
        !leased.is_empty(),
        "the killed instance held no leases: the test did not exercise lease expiry"
    );

    // The survivors take the killed instance's deliveries once the lease has expired.
    let all_done = support::eventually(30, || async {
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbox_deliveries WHERE id = ANY($1) AND status <> 'done'",
        )
        .bind(&leased)
        .fetch_one(&db)
        .await
        .unwrap();
        open == 0
    })
    .await;
    assert!(
        all_done,
        "the killed instance's leased deliveries were not picked up"
    );
    let picked_up_after = killed_at.elapsed();
    receivers[1] = Receiver::start("r1", ports[1], &url, logs.path(), &WORKER_ARGS).await;

    let mut answers = Vec::new();
    while let Some(done) = clients.join_next().await {
        answers.extend(done.unwrap());
    }
    let load_took = started.elapsed();

    // Everything acknowledged gets handled.
    let handled = support::eventually(40, || async {
        count(&db, "SELECT COUNT(*) FROM test_effects").await == DELIVERIES as i64
            && count(
                &db,
                "SELECT COUNT(*) FROM inbox_deliveries WHERE status = 'done'",
            )
            .await
                == DELIVERIES as i64
    })
    .await;
    assert!(
        handled,
        "not everything was handled: {} effects, {} done deliveries",
        count(&db, "SELECT COUNT(*) FROM test_effects").await,
        count(
            &db,
            "SELECT COUNT(*) FROM inbox_deliveries WHERE status = 'done'"
        )
        .await
    );

    // Every id was acknowledged by both instances, and "new" (201) at most once.
    assert_eq!(answers.len(), DELIVERIES);
    let mut news = 0;
    let mut retried_sends = 0;
    for (id, a, b) in &answers {
        assert!(a.last().unwrap().is_2xx() && b.last().unwrap().is_2xx());
        let created = [a, b]
            .iter()
            .filter(|s| matches!(s.last().unwrap(), Answer::Status(201, _)))
            .count();
        assert!(created <= 1, "{id} was stored as new twice: {a:?} {b:?}");
        news += created;
        retried_sends += a.len() + b.len() - 2;
        for answer in a.iter().chain(b.iter()) {
            assert!(
                matches!(
                    answer,
                    Answer::Status(200 | 201 | 503, _) | Answer::NoAnswer
                ),
                "{id}: unexpected answer {answer:?}"
            );
        }
    }

    // One stored delivery per id, and the effects (keyed by the dedupe key) are exactly the
    // acknowledged ids; below, only the killed instance's leases ran twice.
    let keys = string_set(&db, "SELECT dedupe_key FROM test_effects").await;
    let expected: HashSet<String> = answers
        .iter()
        .map(|(id, _, _)| format!("standard:{id}"))
        .collect();
    assert_eq!(keys, expected);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM inbox_deliveries").await,
        DELIVERIES as i64
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM inbox_dedupe").await,
        DELIVERIES as i64
    );

    // The killed instance's leased deliveries ran again elsewhere, as a second attempt (which a
    // claim only makes once the lease has expired).
    let reruns: Vec<(i64, String, i64, i64)> =
        sqlx::query_as("SELECT delivery_id, instance, pid, attempt FROM test_runs WHERE delivery_id = ANY($1) AND attempt >= 2")
            .bind(&leased)
            .fetch_all(&db)
            .await
            .unwrap();
    let rerun_ids: HashSet<i64> = reruns.iter().map(|r| r.0).collect();
    assert_eq!(
        rerun_ids,
        leased.iter().copied().collect::<HashSet<_>>(),
        "every leased delivery ran again"
    );
    assert!(
        reruns
            .iter()
            .all(|(_, instance, pid, _)| instance != "r1" && *pid != i64::from(victim_pid))
    );
    let attempts: Vec<i64> =
        sqlx::query_scalar("SELECT attempts FROM inbox_deliveries WHERE id = ANY($1)")
            .bind(&leased)
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(attempts.iter().all(|a| *a >= 2));
    // And nothing else ran twice: every committed run beyond the first of its delivery, and
    // every run that found its effect already there, is one of the killed instance's leases.
    let unexplained: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM test_runs WHERE (attempt >= 2 OR NOT fresh) AND NOT (delivery_id = ANY($1))",
    )
    .bind(&leased)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(unexplained, 0, "deliveries ran again without a crash");

    let runs = count(&db, "SELECT COUNT(*) FROM test_runs").await;
    let by_instance: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT instance, COUNT(*) FROM test_effects GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .into_iter()
    .collect();
    eprintln!(
        "multi-instance: {DELIVERIES} deliveries x2 sends in {load_took:?}; {news} answered 201; {retried_sends} sends retried; \
         killed r1 holding {} leases, all re-run by r0/r2 {picked_up_after:?} after the kill (lease {LEASE_MS} ms); \
         {runs} committed handler runs for {DELIVERIES} effects; effects by instance {by_instance:?}",
        leased.len()
    );
    for mut r in receivers {
        r.kill().await;
    }
    db.close().await;
}
