//! A webhook receiver for the crash test and the load script: verifies Standard Webhooks
//! signatures, stores deliveries in a SQLite inbox (`POST /webhook`), and optionally runs a
//! worker whose idempotent handler records one side effect per message id in a second SQLite
//! file. `POST /plain` verifies and answers 200 without the inbox (the baseline).
//!
//! ```text
//! inbox-test-receiver --addr 127.0.0.1:8080 --db /tmp/inbox.db [--effects /tmp/effects.db]
//!                     [--durability full|process] [--lease-ms 2000] [--secret whsec_…]
//! ```

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use clap::Parser;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use webhook_core::Verifier;
use webhook_inbox::{Durability, HandlerError, Inbox, StoredDelivery};
use webhook_tower::WebhookVerify;

#[derive(Parser, Debug)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The inbox database file.
    #[arg(long)]
    db: String,
    /// Run a worker recording side effects in this SQLite file.
    #[arg(long)]
    effects: Option<String>,
    /// full (synchronous=FULL) or process (synchronous=NORMAL).
    #[arg(long, default_value = "full")]
    durability: Durability,
    /// Worker lease in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    lease_ms: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The signing secret.
    #[arg(long, default_value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

const MAX_BODY: usize = 1 << 20;

async fn effects_pool(path: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS processed (message_id TEXT PRIMARY KEY)")
        .execute(&pool)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS effects (message_id TEXT NOT NULL, delivery_id INTEGER NOT NULL)")
        .execute(&pool)
        .await?;
    // Every committed run, fresh or not: what tests count re-runs by.
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS runs (message_id TEXT NOT NULL, fresh INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await?;
    Ok(pool)
}

/// The idempotent handler: the side effect and the "processed" mark commit together.
async fn record_effect(pool: SqlitePool, d: StoredDelivery) -> Result<(), HandlerError> {
    let id = d
        .message_id
        .clone()
        .ok_or_else(|| HandlerError::permanent("no message id"))?;
    let mut tx = pool.begin().await?;
    let fresh =
        sqlx::query("INSERT INTO processed (message_id) VALUES (?1) ON CONFLICT DO NOTHING")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if fresh == 1 {
        sqlx::query("INSERT INTO effects (message_id, delivery_id) VALUES (?1, ?2)")
            .bind(id.clone())
            .bind(d.id.0)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO runs (message_id, fresh) VALUES (?1, ?2)")
        .bind(id)
        .bind(i64::try_from(fresh).unwrap_or(0))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(serve(args))
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let inbox = Inbox::builder(&format!("sqlite://{}", args.db))
        .durability(args.durability)
        .build()
        .await?;
    let worker = match &args.effects {
        Some(path) => {
            let pool = effects_pool(path).await?;
            Some(
                inbox
                    .worker()
                    .lease(Duration::from_millis(args.lease_ms))
                    .poll_interval(Duration::from_millis(50))
                    .concurrency(16)
                    .on_raw("*", move |d: StoredDelivery| record_effect(pool.clone(), d))
                    .spawn()?,
            )
        }
        None => None,
    };
    // The inbox deduplicates durably, so the layer's in-memory store is off.
    let verify =
        WebhookVerify::with_verifier(Verifier::standard(&args.secret)?.without_timestamp_check())
            .body_limit(MAX_BODY)
            .without_dedupe();
    let stats_inbox = inbox.clone();
    let health_inbox = inbox.clone();
    let app = Router::new()
        .route_service("/webhook", inbox.service())
        .route(
            "/plain",
            post(|| async { (StatusCode::OK, r#"{"ok":true}"#) }),
        )
        .layer(verify)
        .route(
            "/admin/webhook-stats",
            get(move || async move {
                match stats_inbox.stats(Duration::from_secs(3600)).await {
                    Ok(s) => (
                        StatusCode::OK,
                        serde_json::to_string(&s).unwrap_or_default(),
                    ),
                    Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
                }
            }),
        )
        .route(
            "/admin/health",
            get(move || async move {
                let h = health_inbox.health().await;
                let status = if h.healthy {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (status, serde_json::to_string(&h).unwrap_or_default())
            }),
        );
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    if let Some(worker) = worker {
        worker.shutdown().await;
    }
    inbox.close().await;
    Ok(())
}
