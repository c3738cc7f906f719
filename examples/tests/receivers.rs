//! The axum and actix receivers (the main job), over real TCP with a real SQLite file: the same
//! scenarios run against both binaries.

mod support;

use std::time::Duration;

use support::{Sender, next_line, sample, start};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn db(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("webhooks.db").display())
}

async fn stores_acknowledges_processes_with_retries(bin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let server = start(
        bin,
        &[
            "--database",
            &database,
            "--fail-attempts",
            "1",
            "--retry-base-ms",
            "50",
        ],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let sender = Sender::new(&server.addr, SECRET);

    let user = sample("organization.directory.user_created", "evt_user_1");
    let res = sender.send("msg_user_1", &user).await;
    assert_eq!(
        res.status(),
        201,
        "new deliveries are acknowledged with 201 once stored"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["duplicate"], false, "{body}");
    let first_id = body["id"].clone();
    assert!(first_id.is_i64(), "{body}");

    // The first attempt fails on purpose; the retry succeeds and prints the line.
    let line = next_line(&server, Duration::from_secs(20)).expect("processed line");
    assert_eq!(line["id"], "msg_user_1");
    assert_eq!(line["event_id"], "evt_user_1");
    assert_eq!(line["type"], "organization.directory.user_created");
    assert_eq!(line["attempt"], 2);

    // The sender's retry (same id, new signature) is a duplicate: 200, not processed again.
    let res = sender.send("msg_user_1", &user).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "id": first_id, "duplicate": true })
    );

    let group = sample("organization.directory.group_created", "evt_group_1");
    assert_eq!(sender.send("msg_group_1", &group).await.status(), 201);
    let line = next_line(&server, Duration::from_secs(20)).expect("group line");
    assert_eq!(line["type"], "organization.directory.group_created");
    assert!(
        next_line(&server, Duration::from_millis(500)).is_none(),
        "no duplicate processing"
    );

    // Rejections.
    let res = sender
        .send_at("msg_old", &user, support::now() - 3600)
        .await;
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "timestamp_too_old");
    let res = reqwest::Client::new()
        .post(format!("http://{}/webhooks", server.addr))
        .body(user.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Verified, but no store keeps an id this long: 422, so the sender stops retrying.
    let res = sender.send(&"m".repeat(1100), &user).await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "unstorable", "{body}");

    // Admin endpoints.
    let stats = stats(&server.addr).await;
    let user_stats = for_type(&stats, "organization.directory.user_created");
    assert_eq!(user_stats["succeeded"], 1);
    assert_eq!(user_stats["failed"], 1);
    let metrics = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("webhook_"), "{metrics}");
    // Histograms with buckets (aggregatable across instances), not per-process summaries.
    assert!(
        metrics.contains("webhook_inbox_processing_seconds_bucket{"),
        "{metrics}"
    );
    assert!(!metrics.contains("quantile="), "{metrics}");
    assert!(
        metrics.contains("webhook_inbox_unstorable_total 1"),
        "{metrics}"
    );
    let health = reqwest::get(format!("http://{}/admin/health", server.addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// `/admin/webhook-stats` answers 503 with the store's error when the store cannot be read, as
/// `/admin/health` does: a 200 told a dashboard or a probe that all was well.
async fn stats_answer_503_when_the_store_cannot_be_read(bin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let server = start(
        bin,
        &["--database", &database],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let sender = Sender::new(&server.addr, SECRET);
    let body = sample("organization.created", "evt_stats_1");
    assert_eq!(sender.send("msg_stats_1", &body).await.status(), 201);
    next_line(&server, Duration::from_secs(20)).expect("processed line");
    let ok = reqwest::get(format!("http://{}/admin/webhook-stats", server.addr))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // The attempts table gone (a botched manual migration, say): every stats read fails.
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(&database).await.unwrap();
        sqlx::query("ALTER TABLE inbox_attempts RENAME TO inbox_attempts_moved")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let res = reqwest::get(format!("http://{}/admin/webhook-stats", server.addr))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        503,
        "a store that cannot be read is not a 200"
    );
    let answer: serde_json::Value = res.json().await.unwrap();
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("inbox_attempts")),
        "{answer}"
    );
    let health = reqwest::get(format!("http://{}/admin/health", server.addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
}

/// The receiver's `/admin/webhook-stats` answer.
async fn stats(addr: &str) -> serde_json::Value {
    reqwest::get(format!("http://{addr}/admin/webhook-stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The per-event-type entry of a stats answer.
fn for_type<'a>(stats: &'a serde_json::Value, event_type: &str) -> &'a serde_json::Value {
    stats["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["event_type"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type} stats: {stats}"))
}

async fn dead_letters_after_the_last_attempt(bin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let server = start(
        bin,
        &[
            "--database",
            &database,
            // Fails exactly the two attempts it gets: a third would succeed and print a line.
            "--fail-attempts",
            "2",
            "--retry-base-ms",
            "20",
            "--max-attempts",
            "2",
        ],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let sender = Sender::new(&server.addr, SECRET);
    // Six deliveries, twelve failures in a row: with the handler's circuit breaker on, it would
    // open after five and hold the rest for 60 s, whatever --retry-base-ms says.
    for i in 0..6 {
        let body = sample("user.login", &format!("evt_login_{i}"));
        assert_eq!(
            sender.send(&format!("msg_dead_{i}"), &body).await.status(),
            201
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    // The endpoint reads the counts before the per-type figures, so the answer that first
    // counts the deliveries dead also has their last attempts.
    let dead = loop {
        let stats = stats(&server.addr).await;
        if stats["counts"]["dead"] == 6 {
            break stats;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all dead: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Dead after exactly the two attempts each was given.
    assert_eq!(for_type(&dead, "user.login")["failed"], 12, "{dead}");
    assert!(
        next_line(&server, Duration::from_millis(500)).is_none(),
        "a dead delivery ran a third time"
    );
}

async fn acknowledged_deliveries_survive_a_kill(bin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let body = sample("organization.created", "evt_org_1");
    {
        // Every attempt fails: the delivery is stored and retrying when the process dies.
        let mut server = start(
            bin,
            &[
                "--database",
                &database,
                "--fail-attempts",
                "100",
                "--retry-base-ms",
                "100",
                "--max-attempts",
                "50",
                "--lease-secs",
                "2",
            ],
            &[("WEBHOOK_SECRET", SECRET)],
        );
        assert_eq!(
            Sender::new(&server.addr, SECRET)
                .send("msg_org_1", &body)
                .await
                .status(),
            201
        );
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
    }
    let server = start(
        bin,
        &[
            "--database",
            &database,
            "--retry-base-ms",
            "100",
            "--lease-secs",
            "2",
        ],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let line = next_line(&server, Duration::from_secs(60)).expect("processed after restart");
    assert_eq!(line["id"], "msg_org_1");
    // Still deduplicated after the restart.
    assert_eq!(
        Sender::new(&server.addr, SECRET)
            .send("msg_org_1", &body)
            .await
            .status(),
        200
    );
}

async fn generates_a_secret_and_prints_the_send_command(bin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let server = start(bin, &["--database", &database], &[]);
    let log = server.stderr.lock().unwrap().join("\n");
    assert!(log.contains("WEBHOOK_SECRET=whsec_"), "{log}");
    // The address it listens on, not the `127.0.0.1:0` it was asked for.
    assert!(
        log.contains(&format!("send --url http://{}/webhooks", server.addr)),
        "{log}"
    );
    // The printed command passes the secret in the environment, never as an argument.
    let command = log.lines().find(|l| l.contains("send --url")).unwrap();
    assert!(
        command.trim().starts_with("WEBHOOK_SECRET='whsec_"),
        "{command}"
    );
    assert!(!command.contains("--secret"), "{command}");
    let secret = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("WEBHOOK_SECRET="))
        .unwrap()
        .to_owned();
    let sender = Sender::new(&server.addr, &secret);
    assert_eq!(
        sender
            .send("msg_gen", &sample("role.created", "evt_role_1"))
            .await
            .status(),
        201
    );
    assert!(next_line(&server, Duration::from_secs(20)).is_some());
}

/// SIGTERM (what `docker stop` and Kubernetes send) stops the receiver gracefully: the worker
/// finishes and the inbox closes (its SQLite WAL checkpointed away), exit status 0.
fn sigterm_stops_gracefully(bin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let mut server = start(
        bin,
        &["--database", &database],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let exit = server.terminate();
    assert!(exit.success(), "{exit:?}");
    let log = server.stderr.lock().unwrap().join("\n");
    assert!(log.contains("shutting down"), "{log}");
    let wal = dir.path().join("webhooks.db-wal");
    assert!(!wal.exists(), "the inbox was not closed: {wal:?} is left");
}

/// A second SIGTERM during the graceful stop exits at once, with status 143: here the stop
/// waits for a request whose body stalls (the drain would give it 10 s).
fn a_second_sigterm_exits_at_once(bin: &str) {
    use std::io::Write as _;
    let (_dir, mut server) = serving(bin);
    let mut stalled = std::net::TcpStream::connect(&server.addr).unwrap();
    stalled
        .write_all(support::stalled_request().as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.send_sigterm();
    assert!(
        server.exit_within(Duration::from_secs(1)).is_none(),
        "the graceful stop did not wait for the request in flight"
    );
    server.send_sigterm();
    let exit = server.exit_within(Duration::from_secs(5));
    assert_eq!(exit.and_then(|e| e.code()), Some(143), "{exit:?}");
    let log = server.stderr.lock().unwrap().join("\n");
    assert!(log.contains("second signal"), "{log}");
    drop(stalled);
}

/// A second SIGTERM also exits at once after the HTTP drain, while the worker still finishes
/// (here its store call waits on a write lock another process holds): the graceful stop is
/// not over until the inbox is closed.
async fn a_second_sigterm_exits_at_once_while_the_worker_stops(bin: &str) {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let mut server = start(
        bin,
        &[
            "--database",
            &database,
            "--fail-attempts",
            "1000",
            "--max-attempts",
            "1000",
            "--retry-base-ms",
            "20",
        ],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let sender = Sender::new(&server.addr, SECRET);
    let body = sample("organization.created", "evt_lock_1");
    assert_eq!(sender.send("msg_lock_1", &body).await.status(), 201);
    // The delivery fails and is retried, 20 ms later, then 40, 80…: the worker claims it again
    // within a few hundred ms, and that write waits for this lock (up to the store's 10 s).
    let mut lock = sqlx::SqliteConnection::connect(&database).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut lock)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.send_sigterm();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        server.exit_within(Duration::ZERO).is_none(),
        "the graceful stop did not wait for the worker"
    );
    server.send_sigterm();
    let exit = server.exit_within(Duration::from_secs(3));
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut lock).await;
    assert_eq!(exit.and_then(|e| e.code()), Some(143), "{exit:?}");
}

/// `bin` on a fresh inbox in a temp dir (kept while the returned dir lives), with the secret.
fn serving(bin: &str) -> (tempfile::TempDir, support::Server) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let server = start(
        bin,
        &["--database", &database],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    (dir, server)
}

/// A client that never finishes its request head is cut off, not held open for good.
fn a_request_head_that_never_ends_is_cut_off(bin: &str) {
    let (_dir, server) = serving(bin);
    server.assert_an_unfinished_head_is_cut_off();
}

/// A client whose body stops coming gets 408 and is disconnected (actix-web bounds only the
/// first request head itself; the receiver bounds the whole request).
fn a_stalled_body_is_answered_408(bin: &str) {
    let (_dir, server) = serving(bin);
    server.assert_a_stalled_body_is_answered_408();
}

/// A second instance on a taken port stops at once, naming the address, before it opens (or
/// creates) an inbox.
fn a_taken_port_stops_before_the_inbox_opens(bin: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let first = start(
        bin,
        &["--database", &database],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let other = dir.path().join("other.db");
    let out = std::process::Command::new(bin)
        .args(["--addr", &first.addr])
        .arg("--database")
        .arg(format!("sqlite://{}", other.display()))
        .env("WEBHOOK_SECRET", SECRET)
        .env_remove("WEBHOOK_INBOX_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {}", first.addr)),
        "{stderr}"
    );
    assert!(!other.exists(), "the inbox was created");
}

/// A known path asked with another method is `405` with `Allow`; an unknown path is `404`.
async fn other_methods_are_405_with_allow(bin: &str) {
    let (_dir, server) = serving(bin);
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", server.addr);
    for (method, path, allow) in [
        (reqwest::Method::GET, "/webhooks", "POST"),
        (reqwest::Method::PUT, "/webhooks", "POST"),
        (reqwest::Method::POST, "/admin/health", "GET"),
        (reqwest::Method::DELETE, "/admin/webhook-stats", "GET"),
        (reqwest::Method::POST, "/metrics", "GET"),
    ] {
        let res = client
            .request(method.clone(), url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        let allowed = res.headers()["allow"].to_str().unwrap();
        assert!(
            allowed.split(',').any(|m| m.trim() == allow),
            "{method} {path}: {allowed}"
        );
    }
    let res = client.get(url("/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

/// A rotation list may have spaces and a trailing comma; a bad entry is named by position.
async fn rotation_lists_are_trimmed_and_bad_entries_named(bin: &str) {
    const OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let dir = tempfile::tempdir().unwrap();
    let database = db(&dir);
    let list = format!(" {SECRET} , {OLD} ,");
    let server = start(
        bin,
        &["--database", &database],
        &[("WEBHOOK_SECRET", &list)],
    );
    let body = sample("organization.created", "evt_org_rot");
    assert_eq!(
        Sender::new(&server.addr, OLD)
            .send("msg_rot", &body)
            .await
            .status(),
        201
    );
    drop(server);
    let out = std::process::Command::new(bin)
        .args(["--addr", "127.0.0.1:0", "--database", &database])
        .env("WEBHOOK_SECRET", format!("{SECRET},whsec_!!"))
        .env_remove("WEBHOOK_INBOX_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("secret 2 of 2 in the list"), "{stderr}");
    assert!(!stderr.contains("whsec_!!"), "{stderr}");
}

/// `--help` names `WEBHOOK_INBOX_URL` but never prints its value: it may hold a password.
fn help_hides_the_database_url(bin: &str) {
    let out = std::process::Command::new(bin)
        .arg("--help")
        .env(
            "WEBHOOK_INBOX_URL",
            "postgres://app:s3cret-pw@db.internal/hooks",
        )
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    assert!(help.contains("WEBHOOK_INBOX_URL"), "{help}");
    assert!(!help.contains("s3cret-pw"), "{help}");
    // It says what the program is and where its secret comes from.
    assert!(
        help.starts_with("Receive Scalekit / Standard Webhooks"),
        "{help}"
    );
    assert!(help.contains("WEBHOOK_SECRET"), "{help}");
}

/// A startup error is one `error: …` line with the message, not Rust's debug form of it.
fn startup_errors_are_one_readable_line(bin: &str) {
    let out = std::process::Command::new(bin)
        .args(["--addr", "127.0.0.1:0", "--database", "webhooks.db"])
        .env("WEBHOOK_SECRET", SECRET)
        .env_remove("WEBHOOK_INBOX_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: unsupported inbox URL `webhooks.db`: expected `sqlite://"),
        "{stderr}"
    );
    assert!(!stderr.contains("UnsupportedUrl"), "{stderr}");
}

macro_rules! receiver_tests {
    ($module:ident, $bin:literal) => {
        mod $module {
            const BIN: &str = env!(concat!("CARGO_BIN_EXE_", $bin));

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stores_acknowledges_processes_with_retries() {
                super::stores_acknowledges_processes_with_retries(BIN).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stats_answer_503_when_the_store_cannot_be_read() {
                super::stats_answer_503_when_the_store_cannot_be_read(BIN).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn dead_letters_after_the_last_attempt() {
                super::dead_letters_after_the_last_attempt(BIN).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn acknowledged_deliveries_survive_a_kill() {
                super::acknowledged_deliveries_survive_a_kill(BIN).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn generates_a_secret_and_prints_the_send_command() {
                super::generates_a_secret_and_prints_the_send_command(BIN).await
            }

            #[test]
            fn help_hides_the_database_url() {
                super::help_hides_the_database_url(BIN)
            }

            #[test]
            fn startup_errors_are_one_readable_line() {
                super::startup_errors_are_one_readable_line(BIN)
            }

            #[test]
            fn sigterm_stops_gracefully() {
                super::sigterm_stops_gracefully(BIN)
            }

            #[test]
            fn a_second_sigterm_exits_at_once() {
                super::a_second_sigterm_exits_at_once(BIN)
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_second_sigterm_exits_at_once_while_the_worker_stops() {
                super::a_second_sigterm_exits_at_once_while_the_worker_stops(BIN).await
            }

            #[test]
            fn a_request_head_that_never_ends_is_cut_off() {
                super::a_request_head_that_never_ends_is_cut_off(BIN)
            }

            #[test]
            fn a_stalled_body_is_answered_408() {
                super::a_stalled_body_is_answered_408(BIN)
            }

            #[test]
            fn a_taken_port_stops_before_the_inbox_opens() {
                super::a_taken_port_stops_before_the_inbox_opens(BIN)
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn other_methods_are_405_with_allow() {
                super::other_methods_are_405_with_allow(BIN).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rotation_lists_are_trimmed_and_bad_entries_named() {
                super::rotation_lists_are_trimmed_and_bad_entries_named(BIN).await
            }
        }
    };
}

receiver_tests!(axum, "axum-receiver");
receiver_tests!(actix, "actix-receiver");
