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
