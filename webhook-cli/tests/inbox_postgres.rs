//! `webhook inbox` against a real PostgreSQL inbox, filled and processed by webhook-inbox.
//!
//! The server comes from `DATABASE_URL`: run through `scripts/with-postgres.sh`, e.g.
//! `scripts/with-postgres.sh cargo test -p webhook-cli --all-features` (CI does). Each test
//! gets its own schema, so they run in parallel.

mod inbox_suite;

use std::sync::atomic::{AtomicU32, Ordering};

fn postgres() -> inbox_suite::Fixture {
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DATABASE_URL is not set: the PostgreSQL tests need a server. Run them through \
             scripts/with-postgres.sh, e.g. `scripts/with-postgres.sh cargo test -p webhook-cli --all-features`"
        ),
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!(
        "t_cli_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    inbox_suite::fill(format!("{url}{sep}options[search_path]={schema}"), None)
}

inbox_suite!(postgres());

#[test]
fn an_unreachable_server_exits_3() {
    assert_cmd::Command::cargo_bin("webhook")
        .unwrap()
        .args([
            "inbox",
            "--database",
            "postgres://nobody@127.0.0.1:9/none",
            "stats",
        ])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(3);
}

#[test]
fn a_search_path_without_an_inbox_exits_3_and_stays_without_one() {
    let url =
        std::env::var("DATABASE_URL").expect("DATABASE_URL: run through scripts/with-postgres.sh");
    let sep = if url.contains('?') { '&' } else { '?' };
    inbox_suite::a_url_without_an_inbox_exits_3_and_stays_without_one(&format!(
        "{url}{sep}options[search_path]=t_cli_mistyped_{}",
        std::process::id()
    ));
}
