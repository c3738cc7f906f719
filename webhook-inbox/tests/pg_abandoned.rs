//! An instance that vanishes in the middle of an accept (a host gone without a reset) leaves
//! its session idle in a transaction, holding the dedupe keys it inserted. Other instances must
//! get those keys back in seconds (the server's `idle_in_transaction_session_timeout`), and a
//! statement waiting on such a key must give up (`lock_timeout`) rather than wait, holding the
//! keys it inserted, until the server's TCP keepalive ends the vanished session hours later.
//!
//! Needs `DATABASE_URL`: run through `scripts/with-postgres.sh`.

mod pg_support;

use std::str::FromStr;
use std::time::{Duration, Instant};

use webhook_core::{Signer, Verifier};
use webhook_inbox::backend::Backend;
use webhook_inbox::backend::postgres::{PgConnectOptions, PgPoolOptions, PostgresBackend};
use webhook_inbox::{AcceptMeta, Accepted, Durability, NewDelivery, SchemaSetup};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_of_a_transaction_left_open_come_back_in_seconds() {
    let url = pg_support::fresh_url("abandoned");
    // The defaults (30 s, 10 s) made short, through the connection options that override them.
    let options = || {
        PgConnectOptions::from_str(&url).unwrap().options([
            ("idle_in_transaction_session_timeout", "2s"),
            ("lock_timeout", "1s"),
        ])
    };
    let open = |setup| {
        PostgresBackend::open_with(options(), PgPoolOptions::new(), Durability::Full, setup)
    };
    let vanishing = open(SchemaSetup::Migrate).await.unwrap();
    let other = open(SchemaSetup::Existing).await.unwrap();
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

    // The vanishing instance inserts the key and never commits.
    let mut open_tx = vanishing.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO inbox_dedupe (dedupe_key, first_seen_ms) VALUES ($1, 0)")
        .bind(&new.dedupe_key)
        .execute(&mut *open_tx)
        .await
        .unwrap();
    let left_open = Instant::now();

    // The sender's retry reaches the other instance: its accept waits on the key's lock and
    // gives up after the lock timeout, server side (without one it waits until the open
    // transaction ends).
    let started = Instant::now();
    let blocked = tokio::time::timeout(
        Duration::from_secs(6),
        other.accept_batch(std::slice::from_ref(&new)),
    )
    .await;
    assert!(
        matches!(blocked, Ok(Err(_))),
        "an accept of a key held by an open transaction: {blocked:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // Two seconds idle in its transaction, and the server ends the vanished session: the key
    // was never stored, and the next retry stores the delivery.
    tokio::time::sleep(Duration::from_millis(2_500).saturating_sub(left_open.elapsed())).await;
    let accepted = tokio::time::timeout(
        Duration::from_secs(6),
        other.accept_batch(std::slice::from_ref(&new)),
    )
    .await;
    assert!(
        matches!(
            accepted.as_ref().map(|a| a.as_deref()),
            Ok(Ok([Accepted::New(_)]))
        ),
        "{accepted:?}"
    );
    assert!(
        open_tx.commit().await.is_err(),
        "the open transaction was ended"
    );
}

/// Without settings of its own, the inbox's sessions get the defaults; the migration ran without
/// the lock timeout and left no session with it changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_get_the_default_timeouts() {
    let url = pg_support::fresh_url("session_defaults");
    let backend = PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap();
    for _ in 0..3 {
        let mut conn = backend.pool().acquire().await.unwrap();
        let settings: (String, String) = sqlx::query_as(
            "SELECT current_setting('idle_in_transaction_session_timeout'), current_setting('lock_timeout')",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(settings, ("30s".to_owned(), "10s".to_owned()));
    }
}
