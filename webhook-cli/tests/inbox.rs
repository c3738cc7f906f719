//! `webhook inbox` against a real SQLite inbox file, filled and processed by webhook-inbox.

mod inbox_suite;

fn sqlite() -> inbox_suite::Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    inbox_suite::fill(url, Some(dir))
}

inbox_suite!(sqlite());

#[test]
fn usage_and_database_errors() {
    inbox_suite::usage_and_database_errors();
}

#[test]
fn a_file_without_an_inbox_exits_3_and_stays_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.db");
    std::fs::write(&file, b"").unwrap();
    inbox_suite::a_url_without_an_inbox_exits_3_and_stays_without_one(&format!(
        "sqlite://{}",
        file.display()
    ));
}

/// A database that cannot be reached is named in the error (the URL may come from
/// `WEBHOOK_INBOX_URL`), its password hidden.
#[cfg(feature = "postgres")]
#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://bob:s3cr3tpw@127.0.0.1:{port}/hooks");
    let out = assert_cmd::Command::cargo_bin("webhook")
        .unwrap()
        .args(["inbox", "stats"])
        .env("WEBHOOK_INBOX_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "inbox at postgres://bob:***@127.0.0.1:{port}/hooks"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3tpw"), "{stderr}");
}
