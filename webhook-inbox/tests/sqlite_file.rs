//! The SQLite inbox's file: where it is and who can read it.

mod support;

use webhook_inbox::backend::sqlite::SqliteBackend;
use webhook_inbox::{Durability, InboxError};

/// `sqlite://$DB` with `DB` unset names no file: SQLite would open a private temporary database
/// that loses every acknowledged delivery with its connection.
#[tokio::test]
async fn a_url_without_a_file_is_refused() {
    for url in ["sqlite://", "sqlite:"] {
        let err = SqliteBackend::connect(url, Durability::Full)
            .await
            .unwrap_err();
        assert!(matches!(err, InboxError::Config(_)), "{url}: {err:?}");
        assert!(err.to_string().contains("names no file"), "{err}");
    }
    // in memory is still fine
    SqliteBackend::connect("sqlite::memory:", Durability::Full)
        .await
        .unwrap();
}

/// Webhook bodies are often personal data: a new inbox file, and its WAL, are readable by
/// their owner only. An existing file keeps the permissions it has.
#[cfg(unix)]
#[tokio::test]
async fn a_new_inbox_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    use webhook_inbox::backend::Backend as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let url = format!("sqlite://{}", path.display());
    let backend = SqliteBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("inbox.db-wal")), 0o600);
    backend.close().await;

    let shared = dir.path().join("shared.db");
    std::fs::File::create(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    SqliteBackend::connect(&format!("sqlite://{}", shared.display()), Durability::Full)
        .await
        .unwrap()
        .close()
        .await;
    assert_eq!(mode(&shared), 0o640);
}

/// The file deleted or replaced while the receiver runs (a cleaner of temporary files, a restore
/// over a running receiver): commits would go to the unlinked file and be lost with it. Accepts
/// fail (503, the sender retries) and health turns red instead.
#[cfg(unix)]
#[tokio::test]
async fn a_file_deleted_or_replaced_under_the_receiver_is_noticed() {
    use webhook_inbox::backend::Backend as _;
    use webhook_inbox::{AcceptMeta, NewDelivery};
    let new = |id: &str| {
        let delivery = support::delivery(id, "user.created", "{}");
        NewDelivery::from_delivery(&delivery, AcceptMeta::new(), 1_700_000_000_000)
    };
    for replace in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let backend =
            SqliteBackend::connect(&format!("sqlite://{}", path.display()), Durability::Full)
                .await
                .unwrap();
        backend.accept_batch(&[new("m1")]).await.unwrap();
        backend.failures_since(0).await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        if replace {
            std::fs::write(&path, b"").unwrap();
        }
        let err = backend.accept_batch(&[new("m2")]).await.unwrap_err();
        assert!(matches!(err, InboxError::FileChanged(_)), "{err:?}");
        assert!(matches!(
            backend.failures_since(0).await,
            Err(InboxError::FileChanged(_))
        ));
    }
}

/// An SQLite URI (`sqlite:file:…`) is opened by SQLite itself: no stray file named after the
/// URI is created or watched. A failed first open leaves no empty file behind, and `open_with`
/// on default (in-memory) options works as `sqlite::memory:` does.
#[tokio::test]
async fn uris_failed_opens_and_in_memory_options() {
    use std::str::FromStr as _;
    use webhook_inbox::SchemaSetup;
    use webhook_inbox::backend::Backend as _;
    use webhook_inbox::backend::sqlite::SqliteConnectOptions;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.db");
    let backend =
        SqliteBackend::connect(&format!("sqlite:file:{}", real.display()), Durability::Full)
            .await
            .unwrap();
    backend.failures_since(0).await.unwrap();
    backend.close().await;
    assert!(real.exists());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with("file:")), "{names:?}");

    let read_only = dir.path().join("ro.db");
    let opened = SqliteBackend::connect(
        &format!("sqlite://{}?mode=ro", read_only.display()),
        Durability::Full,
    )
    .await;
    assert!(opened.is_err());
    assert!(!read_only.exists(), "no empty file left behind");

    let in_memory = SqliteBackend::open_with(
        SqliteConnectOptions::from_str("sqlite::memory:").unwrap(),
        Durability::Full,
        SchemaSetup::Migrate,
    )
    .await
    .unwrap();
    in_memory.failures_since(0).await.unwrap();
}
