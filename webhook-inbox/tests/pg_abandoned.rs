//! An instance that vanishes in the middle of an accept (a host gone without a reset) leaves
//! its transaction open, holding the dedupe keys it inserted. Other instances must get those
//! keys back in seconds (`idle_in_transaction_session_timeout`), and a statement waiting on such
//! a key must give up (`lock_timeout`) rather than wait, holding the keys it inserted, until the
//! server's TCP keepalive ends the vanished session hours later.
//!
//! Needs `DATABASE_URL`: run through `scripts/with-postgres.sh`.

mod pg_support;

use std::str::FromStr;
use std::time::{Duration, Instant};

use webhook_core::{Signer, Verifier};
use webhook_inbox::SchemaSetup;
use webhook_inbox::backend::Backend;
use webhook_inbox::backend::postgres::{PgConnectOptions, PgPoolOptions, PostgresBackend};
use webhook_inbox::{AcceptMeta, Accepted, Durability, InboxError, NewDelivery};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_of_a_transaction_left_open_come_back_in_seconds() {
    let url = pg_support::fresh_url("abandoned");
    // The defaults (10 s, 30 s) made short.
    let open = || async {
        PostgresBackend::connect(&url, Durability::Full)
            .await
            .unwrap()
            .transaction_timeouts(Duration::from_secs(1), Duration::from_secs(5))
    };
    let vanishing = open().await;
    let other = open().await;
    let body = r#"{"id":"evt_1","type":"user.created","data":{}}"#;
    let headers =
        Signer::standard(SECRET)
            .unwrap()
            .sign("msg_abandoned", 1_700_000_000, body.as_bytes());
    let delivery = Verifier::standard(SECRET)
        .unwrap()
        .without_timestamp_check()
        .verify_delivery(&headers, body.into())
        .unwrap();
    let new = NewDelivery::from_delivery(&delivery, AcceptMeta::new(), 1_700_000_000_000);

    // The vanishing instance inserts the key in one of its transactions and never commits.
    let mut open_tx = vanishing.begin().await.unwrap();
    sqlx::query("INSERT INTO inbox_dedupe (dedupe_key, first_seen_ms) VALUES ($1, 0)")
        .bind(&new.dedupe_key)
        .execute(&mut *open_tx)
        .await
        .unwrap();

    // The sender's retry reaches the other instance: its accept waits on the key's lock and
    // the server gives up after the lock timeout (without one it waits until the open
    // transaction ends).
    let blocked = tokio::time::timeout(
        Duration::from_secs(4),
        other.accept_batch(std::slice::from_ref(&new)),
    )
    .await;
    let code = match &blocked {
        Ok(Err(InboxError::Store(e))) => e
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned()),
        _ => None,
    };
    assert_eq!(
        code.as_deref(),
        Some("55P03"),
        "lock not available: {blocked:?}"
    );

    // After 5 s idle, the server ends the open transaction: the key was never stored, and a
    // retry stores the delivery.
    let started = Instant::now();
    let accepted = loop {
        match tokio::time::timeout(
            Duration::from_secs(4),
            other.accept_batch(std::slice::from_ref(&new)),
        )
        .await
        {
            Ok(Ok(accepted)) => break accepted,
            _ if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("the key is still held after 30 s: {other:?}"),
        }
    };
    assert!(
        matches!(accepted.as_slice(), [Accepted::New(_)]),
        "{accepted:?}"
    );
    assert!(
        open_tx.commit().await.is_err(),
        "the open transaction was ended"
    );
}

/// The inbox's transactions get the default timeouts where nothing else sets them, keep a
/// setting of the connection options, and leave the session itself untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_get_the_default_timeouts_unless_set_elsewhere() {
    async fn settings(conn: &mut sqlx::PgConnection) -> (String, String) {
        sqlx::query_as(
            "SELECT current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout')",
        )
        .fetch_one(conn)
        .await
        .unwrap()
    }
    let url = pg_support::fresh_url("tx_timeouts");
    let backend = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    let mut tx = backend.begin().await.unwrap();
    assert_eq!(
        settings(&mut tx).await,
        ("10s".to_owned(), "30s".to_owned())
    );
    tx.rollback().await.unwrap();
    let mut conn = backend.pool().acquire().await.unwrap();
    assert_eq!(settings(&mut conn).await, ("0".to_owned(), "0".to_owned()));
    drop(conn);

    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("lock_timeout", "2s")]);
    let backend = PostgresBackend::open_with(
        options,
        PgPoolOptions::new(),
        Durability::Full,
        SchemaSetup::Existing,
    )
    .await
    .unwrap();
    let mut tx = backend.begin().await.unwrap();
    assert_eq!(settings(&mut tx).await, ("2s".to_owned(), "30s".to_owned()));
}
