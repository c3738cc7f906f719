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
