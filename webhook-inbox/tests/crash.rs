//! Crash test: a receiver process (SQLite inbox + idempotent worker) takes 5,000 signed
//! deliveries from a sender that retries non-2xx answers and connection errors; the test kills
//! it with SIGKILL twice mid-load and restarts it. At the end every acknowledged delivery was
//! handled and none is missing; runs repeat only for what the killed processes had claimed
//! (the handler is idempotent, as at-least-once delivery requires: it records its side effect
//! once per message id, and every run in a second table).

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use tokio::process::{Child, Command};

const TOTAL: usize = 5_000;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_receiver(port: u16, dir: &Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_inbox-test-receiver"))
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--db", dir.join("inbox.db").to_str().unwrap()])
        .args(["--effects", dir.join("effects.db").to_str().unwrap()])
        .args(["--lease-ms", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Up to 30 s: a restart right after a SIGKILL reopens the database under load.
    for _ in 0..3000 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("receiver did not start listening");
}

async fn open(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .read_only(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

/// The count `sql` reads, or `None` when the query fails (the receiver holds the file).
async fn count(path: &Path, sql: &'static str) -> Option<i64> {
    if !path.exists() {
        return Some(0);
    }
    let pool = open(path).await;
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.ok();
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_twice_mid_load_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let inbox_db = dir.path().join("inbox.db");
    let effects_db = dir.path().join("effects.db");
    let acked_file = dir.path().join("acked.txt");

    let mut receiver = start_receiver(port, dir.path()).await;
    let sender = Command::new(env!("CARGO_BIN_EXE_inbox-load"))
        .args(["--url", &format!("http://127.0.0.1:{port}/webhook")])
        .args([
            "--count",
            &TOTAL.to_string(),
            "--concurrency",
            "32",
            "--retry-delay-ms",
            "20",
        ])
        .args([
            "--prefix",
            "crash",
            "--acked-out",
            acked_file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    for kill_at in [1_500, 3_000] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while count(&inbox_db, "SELECT COUNT(*) FROM inbox_deliveries")
            .await
            .unwrap_or(0)
            < kill_at
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "load stalled before {kill_at}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        receiver.kill().await.unwrap(); // SIGKILL
        tokio::time::sleep(Duration::from_millis(200)).await;
        receiver = start_receiver(port, dir.path()).await;
    }

    let output = tokio::time::timeout(Duration::from_secs(300), sender.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success());
    let summary = String::from_utf8_lossy(&output.stdout).to_string();
    let acked: HashSet<String> = std::fs::read_to_string(&acked_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        acked.len(),
        TOTAL,
        "the sender gets a 2xx for every delivery in the end: {summary}"
    );
    let field = |name: &str| -> u64 {
        let rest = summary.split(&format!("\"{name}\":")).nth(1).unwrap_or("0");
        rest.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    };
    assert!(
        field("conn_errors") + field("non_2xx") > 0,
        "the sender saw the crashes: {summary}"
    );

    // Every acknowledged delivery gets handled, even those claimed by the killed processes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while count(
        &effects_db,
        "SELECT COUNT(DISTINCT message_id) FROM effects",
    )
    .await
    .unwrap_or(0)
        < TOTAL as i64
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every delivery was handled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut wait_done = 0;
    while count(
        &inbox_db,
        "SELECT COUNT(*) FROM inbox_deliveries WHERE status != 'done'",
    )
    .await
    // A failed read proves nothing: wait for one that answers.
    .unwrap_or(i64::MAX)
        > 0
    {
        wait_done += 1;
        assert!(wait_done < 600, "deliveries left unfinished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    receiver.kill().await.unwrap();

    let effects = open(&effects_db).await;
    let handled: HashSet<String> = sqlx::query_scalar("SELECT message_id FROM effects")
        .fetch_all(&effects)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(handled, acked, "exactly the acknowledged ids were handled");
    // At least once, and again only for what a killed process had claimed: a run it committed
    // before its outcome was recorded runs again after the lease. Each process claims at most
    // twice its concurrency (16) at a time.
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs")
        .fetch_one(&effects)
        .await
        .unwrap();
    let reruns = runs - handled.len() as i64;
    assert!(
        (0..=2 * 32).contains(&reruns),
        "{runs} committed runs for {} deliveries",
        handled.len()
    );

    let inbox = open(&inbox_db).await;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox_deliveries")
        .fetch_one(&inbox)
        .await
        .unwrap();
    assert_eq!(
        stored, TOTAL as i64,
        "one stored delivery per id (duplicates from sender retries were recognised)"
    );
}
