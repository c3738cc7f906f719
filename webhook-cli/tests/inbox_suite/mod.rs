//! The `webhook inbox` scenarios, run against SQLite (`tests/inbox.rs`) and PostgreSQL
//! (`tests/inbox_postgres.rs`) inboxes filled and processed by webhook-inbox.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use assert_cmd::Command;
use bytes::Bytes;
use predicates::prelude::*;
use webhook_core::{Delivery, Signer, Verifier};
use webhook_inbox::{AcceptMeta, HandlerError, HandlerResult, Inbox, RetryPolicy, StoredDelivery};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn delivery(id: &str, event_type: &str) -> Delivery {
    let body = format!(r#"{{"id":"evt_{id}","type":"{event_type}","data":{{"n":1}}}}"#);
    let headers = Signer::standard(SECRET).unwrap().sign(
        &format!("msg_{id}"),
        1_700_000_000,
        body.as_bytes(),
    );
    Verifier::standard(SECRET)
        .unwrap()
        .without_timestamp_check()
        .verify_delivery(&headers, Bytes::from(body))
        .unwrap()
}

/// An inbox file with 3 done `organization.created`, 2 dead `role.created` (ids 4, 5; their
/// handler fails for good) and 1 pending `user.login` (id 6).
pub struct Fixture {
    _keep: Option<tempfile::TempDir>,
    pub url: String,
}

/// Fills the inbox at `url` (created if missing); `keep` lives as long as the fixture.
pub fn fill(url: String, keep: Option<tempfile::TempDir>) -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let inbox = Inbox::builder(&url)
            .retry_policy(RetryPolicy::none())
            .build()
            .await
            .unwrap();
        let meta = || AcceptMeta::new().user_agent("Svix-Webhooks/1.24");
        for (id, t) in [
            ("a1", "organization.created"),
            ("a2", "organization.created"),
            ("a3", "organization.created"),
            ("r1", "role.created"),
            ("r2", "role.created"),
        ] {
            inbox.accept(&delivery(id, t), meta()).await.unwrap();
        }
        let worker = inbox
            .worker()
            .on_raw("organization.*", |_d: StoredDelivery| async {
                HandlerResult::Ok(())
            })
            .on_raw("role.*", |_d: StoredDelivery| async {
                Err(HandlerError::permanent(
                    "role sync failed: upstream answered 503",
                ))
            })
            .poll_interval(Duration::from_millis(10))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let counts = inbox.counts().await.unwrap();
            if counts.done == 3 && counts.dead == 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "worker did not finish: {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.shutdown().await;
        inbox
            .accept(&delivery("u1", "user.login"), meta())
            .await
            .unwrap();
        inbox.close().await;
    });
    Fixture { _keep: keep, url }
}

pub fn inbox(f: &Fixture) -> Command {
    let mut cmd = Command::cargo_bin("webhook").unwrap();
    cmd.env_remove("WEBHOOK_INBOX_URL")
        .args(["inbox", "--database", &f.url]);
    cmd
}

pub fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.arg("--json").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn stats_counts_per_status_and_event_type(f: &Fixture) {
    inbox(f)
        .arg("stats")
        .assert()
        .success()
        .stdout(predicate::str::contains("Deliveries by status"))
        .stdout(predicate::str::contains("role.created"))
        .stdout(predicate::str::contains("QUEUE DEPTH"));
    let stats = json(inbox(f).arg("stats"));
    assert_eq!(stats["counts"]["done"], 3);
    assert_eq!(stats["counts"]["dead"], 2);
    assert_eq!(stats["counts"]["pending"], 1);
    assert_eq!(stats["queue_depth"], 1);
    let roles = stats["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["event_type"] == "role.created")
        .unwrap();
    assert_eq!(roles["total"], 2);
    assert_eq!(roles["dead"], 2);
}

pub fn list_dead_says_what_is_dead_and_why(f: &Fixture) {
    inbox(f)
        .args(["list", "--status", "dead"])
        .assert()
        .success()
        .stdout(predicate::str::contains("role sync failed"))
        .stdout(predicate::str::contains("evt_r1"))
        .stdout(predicate::str::contains("organization.created").not());
    let rows = json(inbox(f).args(["list", "--status", "dead"]));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "dead"));
    assert!(rows.iter().all(|r| {
        r["last_error"]
            .as_str()
            .unwrap()
            .contains("upstream answered 503")
    }));
}

pub fn list_filters_by_type_and_limits_newest_first(f: &Fixture) {
    let rows = json(inbox(f).args(["list", "--type", "organization.created", "--limit", "2"]));
    let ids: Vec<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![3, 2]);
    let rows = json(inbox(f).args(["list", "--before", "2"]));
    assert_eq!(rows.as_array().unwrap().len(), 1);
    inbox(f)
        .args(["list", "--limit", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2 shown; the next page: --before 5",
        ));
    inbox(f)
        .args(["list", "--type", "nothing.here"])
        .assert()
        .success()
        .stdout("No deliveries match.\n");
}

pub fn show_by_numeric_id_event_id_or_message_id(f: &Fixture) {
    inbox(f)
        .args(["show", "4"])
        .assert()
        .success()
        .stdout(predicate::str::contains("role.created"))
        .stdout(predicate::str::contains("webhook-signature: v1,"))
        .stdout(predicate::str::contains(
            r#"{"id":"evt_r1","type":"role.created","data":{"n":1}}"#,
        ))
        .stdout(predicate::str::contains("Svix-Webhooks/1.24"))
        // Times say their zone.
        .stdout(
            predicate::str::is_match(r"received\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC").unwrap(),
        );
    for id in ["evt_r1", "msg_r1", "standard:msg_r1"] {
        let shown = json(inbox(f).args(["show", id]));
        assert_eq!(shown["id"], 4, "{id}");
        assert_eq!(
            shown["body"],
            r#"{"id":"evt_r1","type":"role.created","data":{"n":1}}"#
        );
    }
}

pub fn show_body_prints_the_exact_bytes_that_verify_again(f: &Fixture) {
    let body = inbox(f)
        .args(["show", "evt_a2", "--body"])
        .output()
        .unwrap();
    assert!(body.status.success());
    assert_eq!(
        body.stdout,
        br#"{"id":"evt_a2","type":"organization.created","data":{"n":1}}"#
    );
    // The stored headers and body verify again with the sender's secret.
    let shown = json(inbox(f).args(["show", "evt_a2"]));
    let mut verify = Command::cargo_bin("webhook").unwrap();
    verify.args(["verify", "--secret", SECRET, "--tolerance", "off"]);
    for pair in shown["headers"].as_array().unwrap() {
        verify.args([
            "--header",
            &format!(
                "{}: {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            ),
        ]);
    }
    verify
        .write_stdin(body.stdout)
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""id":"msg_a2""#));
}

pub fn unknown_ids_exit_4(f: &Fixture) {
    for id in ["999", "evt_nope"] {
        for sub in ["show", "replay", "redrive"] {
            inbox(f)
                .args([sub, id])
                .assert()
                .code(4)
                .stderr(predicate::str::contains("no delivery"));
        }
    }
}

/// The same event sent again under a new message id (a sender's manual resend), or a numeric
/// event id equal to another delivery's own id: the CLI asks for the numeric id rather than
/// pick one; `#N` always means delivery N.
pub fn an_id_naming_several_deliveries_exits_2(f: &Fixture) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let inbox = Inbox::builder(&f.url).build().await.unwrap();
        let deliveries = [
            (
                "msg_first",
                r#"{"id":"evt_twice","type":"user.login","data":{}}"#,
            ),
            (
                "msg_resent",
                r#"{"id":"evt_twice","type":"user.login","data":{}}"#,
            ),
            // A numeric event id (Shopify's are numbers) equal to delivery 3's own id.
            ("msg_numeric", r#"{"id":3,"type":"orders/create"}"#),
        ];
        for (msg, body) in deliveries {
            let headers =
                Signer::standard(SECRET)
                    .unwrap()
                    .sign(msg, 1_700_000_000, body.as_bytes());
            let delivery = Verifier::standard(SECRET)
                .unwrap()
                .without_timestamp_check()
                .verify_delivery(&headers, Bytes::from(body))
                .unwrap();
            inbox.accept(&delivery, AcceptMeta::new()).await.unwrap();
        }
        inbox.close().await;
    });
    for sub in ["show", "replay", "redrive"] {
        inbox(f)
            .args([sub, "evt_twice"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "`evt_twice` names 2 deliveries (ids ",
            ))
            .stderr(predicate::str::contains("pass the numeric id"));
    }
    inbox(f).args(["show", "msg_resent"]).assert().success();
    inbox(f)
        .args(["show", "3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`3` names 2 deliveries"));
    assert_eq!(json(inbox(f).args(["show", "#3"]))["id"], 3);
    assert_eq!(
        json(inbox(f).args(["show", "msg_numeric"]))["event_id"],
        "3"
    );
}

pub fn replay_requeues_a_done_delivery_with_a_fresh_attempt_count(f: &Fixture) {
    inbox(f)
        .args(["replay", "evt_a1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("replayed delivery 1"));
    let shown = json(inbox(f).args(["show", "1"]));
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["attempts"], 0);
}

pub fn redrive_one_then_all_dead(f: &Fixture) {
    // Not dead: the inbox refuses, exit 1.
    inbox(f)
        .args(["redrive", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("done"));
    let out = json(inbox(f).args(["redrive", "4"]));
    assert_eq!(out["redriven"], serde_json::json!([4]));
    inbox(f)
        .args(["redrive", "--all-dead"])
        .assert()
        .success()
        .stdout("re-drove 1 dead delivery\n");
    let out = json(inbox(f).args(["redrive", "--all-dead"]));
    assert_eq!(out, serde_json::json!({ "redriven_count": 0 }));
    let dead = json(inbox(f).args(["list", "--status", "dead"]));
    assert!(dead.as_array().unwrap().is_empty());
    let stats = json(inbox(f).arg("stats"));
    assert_eq!(stats["counts"]["pending"], 3);
}

pub fn the_database_comes_from_the_environment_too(f: &Fixture) {
    Command::cargo_bin("webhook")
        .unwrap()
        .env("WEBHOOK_INBOX_URL", &f.url)
        .args(["inbox", "list", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("["));
}

pub fn usage_and_database_errors() {
    let webhook = || {
        let mut cmd = Command::cargo_bin("webhook").unwrap();
        cmd.env_remove("WEBHOOK_INBOX_URL");
        cmd
    };
    webhook()
        .args(["inbox", "stats"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("WEBHOOK_INBOX_URL"));
    webhook()
        .args([
            "inbox",
            "--database",
            "sqlite:///nonexistent/dir/inbox.db",
            "stats",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("/nonexistent/dir/inbox.db"));
    // An unreachable PostgreSQL names the cause, not only that the pool timed out.
    #[cfg(feature = "postgres")]
    {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        webhook()
            .args(["inbox", "--database"])
            .arg(format!("postgres://u:pw@127.0.0.1:{port}/db"))
            .arg("stats")
            .assert()
            .code(3)
            .stderr(predicate::str::contains("refused"));
    }
    webhook()
        .args(["inbox", "--database", "mysql://localhost/x", "stats"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unsupported inbox URL"));
    webhook()
        .args(["inbox", "--database", "sqlite::memory:", "redrive"])
        .assert()
        .code(2);
    // `--json` is global: before the subcommand it conflicts with `--body` as well as after.
    for args in [
        ["--json", "show", "1", "--body"],
        ["show", "1", "--body", "--json"],
    ] {
        webhook()
            .args(["inbox", "--database", "sqlite::memory:"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--json"));
    }
    webhook()
        .args(["inbox", "--database", "webhooks.db", "stats"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unsupported inbox URL `webhooks.db`",
        ));
    webhook()
        .args([
            "inbox",
            "--database",
            "sqlite::memory:",
            "list",
            "--status",
            "lost",
        ])
        .assert()
        .code(2);
}

/// A delivery a worker holds (processing under a live lease) shows when its lease ends, not a
/// "next attempt", and a refused replay says until when.
pub fn a_delivery_under_a_live_lease_says_until_when(f: &Fixture) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let inbox = Inbox::connect(&f.url).await.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let claimed = inbox
            .backend()
            .claim_matching(
                "worker-elsewhere",
                1,
                now,
                now + 3_600_000,
                &webhook_inbox::ClaimFilter::all(),
            )
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].id.0, 6);
        inbox.close().await;
    });
    inbox(f).args(["show", "#6"]).assert().success().stdout(
        predicate::str::contains("lease until").and(predicate::str::contains("next attempt").not()),
    );
    inbox(f)
        .args(["replay", "#6"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("its worker's lease runs until"));
}

/// One `#[test]` per scenario, each on a fresh inbox made by `$make` (an expression giving a
/// [`Fixture`]).
#[macro_export]
macro_rules! inbox_suite {
    ($make:expr) => {
        $crate::inbox_suite!(@tests $make;
            stats_counts_per_status_and_event_type,
            list_dead_says_what_is_dead_and_why,
            list_filters_by_type_and_limits_newest_first,
            show_by_numeric_id_event_id_or_message_id,
            show_body_prints_the_exact_bytes_that_verify_again,
            unknown_ids_exit_4,
            an_id_naming_several_deliveries_exits_2,
            replay_requeues_a_done_delivery_with_a_fresh_attempt_count,
            redrive_one_then_all_dead,
            the_database_comes_from_the_environment_too,
            a_delivery_under_a_live_lease_says_until_when,
        );
    };
    (@tests $make:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let fixture = $make;
                inbox_suite::$name(&fixture);
            }
        )*
    };
}

/// A URL that holds no inbox (an empty file, a mistyped database or search_path) is an error
/// naming the likely cause, and the CLI leaves it as it was: no tables are created there.
pub fn a_url_without_an_inbox_exits_3_and_stays_without_one(url: &str) {
    Command::cargo_bin("webhook")
        .unwrap()
        .env_remove("WEBHOOK_INBOX_URL")
        .args(["inbox", "--database", url, "stats"])
        .timeout(Duration::from_secs(120))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no webhook inbox at this URL"));
    let still = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(
            Inbox::builder(url)
                .schema(webhook_inbox::SchemaSetup::Existing)
                .build(),
        );
    assert!(
        matches!(still, Err(webhook_inbox::InboxError::NoInbox)),
        "{still:?}"
    );
}
