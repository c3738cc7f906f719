//! A full disk: SQLite rolls a transaction whose commit fails back by itself, behind sqlx's back.
//! Deliveries accepted once there is room again must be really stored, not acknowledged into a
//! transaction that never commits.
//!
//! The disk is a 2 MiB tmpfs in a mount namespace of its own (`unshare`, needs user namespaces
//! or root): the test re-runs itself inside one. Where that is not possible, it says so and
//! passes without running.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

mod support;

use webhook_inbox::backend::Backend;
use webhook_inbox::backend::sqlite::SqliteBackend;
use webhook_inbox::sqlx::{self, Connection as _};
use webhook_inbox::{AcceptMeta, Accepted, Durability, NewDelivery};

const DIR_VAR: &str = "WEBHOOK_TEST_TMPFS";

#[test]
fn accepts_after_failed_commits_on_a_full_disk_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=2m tmpfs '{}' && exec \"$0\" --exact --ignored --nocapture inside_a_full_tmpfs",
        dir.path().display()
    );
    let out = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", &script])
        .arg(std::env::current_exe().unwrap())
        .env(DIR_VAR, dir.path())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: cannot run unshare: {e}");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && (stderr.contains("unshare:") || stderr.contains("mount:")) {
        eprintln!("skipped: no mount namespace or tmpfs mount here: {stderr}");
        return;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the inner test ran: {stdout}");
}

#[tokio::test]
#[ignore = "run by accepts_after_failed_commits_on_a_full_disk_are_stored, inside a tmpfs"]
async fn inside_a_full_tmpfs() {
    let dir = std::env::var(DIR_VAR).expect("run through the outer test");
    let dir = Path::new(&dir);
    let url = format!("sqlite://{}", dir.join("inbox.db").display());
    let backend = SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap();

    let filler = dir.join("filler");
    fill(&filler);
    let large = new_delivery("msg_large", &"x".repeat(64 * 1024));
    for _ in 0..3 {
        let full = backend.accept_batch(std::slice::from_ref(&large)).await;
        assert!(full.is_err(), "the disk is full: {full:?}");
    }
    std::fs::remove_file(&filler).unwrap();

    for i in 0..3 {
        let accepted = backend
            .accept_batch(&[new_delivery(&format!("msg_small_{i}"), "small")])
            .await
            .unwrap();
        assert!(
            matches!(accepted.as_slice(), [Accepted::New(_)]),
            "{accepted:?}"
        );
    }
    // Seen from another connection: committed, not held in an open transaction.
    assert_eq!(stored_rows(&url).await, 3);
    backend.close().await;
    assert_eq!(stored_rows(&url).await, 3, "still there after a restart");
}

/// Writes `path` until the file system is full.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).and_then(|()| file.flush()).is_ok() {}
}

fn new_delivery(id: &str, data: &str) -> NewDelivery {
    let delivery = support::delivery(id, "user.created", &format!(r#""{data}""#));
    NewDelivery::from_delivery(&delivery, AcceptMeta::new(), 1_700_000_000_000)
}

async fn stored_rows(url: &str) -> i64 {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT count(*) FROM inbox_deliveries")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}
