//! A webhook receiver for the multi-instance and outage tests and the PostgreSQL load script:
//! verifies Standard Webhooks signatures and stores deliveries in the inbox a connection string
//! names (`POST /webhook`; `postgres://…` or `sqlite://…`). With `--worker` it also runs a
//! worker whose idempotent handler records one side effect per dedupe key in the same
//! PostgreSQL database (`test_effects`, primary key = dedupe key) and logs every run that
//! committed (`test_runs`: instance, process id, attempt).
//!
//! ```text
//! inbox-pg-receiver --addr 127.0.0.1:8080 --database-url postgres://…/db?options[search_path]=s1 \
//!                   [--instance a] [--worker] [--handler-ms 20] [--lease-ms 2000] [--durability full]
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use clap::Parser;
use sqlx::postgres::{PgPool, PgPoolOptions};
use webhook_core::Verifier;
use webhook_inbox::{BreakerConfig, Durability, HandlerError, Inbox, StoredDelivery};
use webhook_tower::WebhookVerify;

#[derive(Parser, Debug)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The inbox connection string.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// This instance's name (recorded with each handler run).
    #[arg(long, default_value = "receiver")]
    instance: String,
    /// Run a worker recording side effects in the (PostgreSQL) inbox database.
    #[arg(long)]
    worker: bool,
    /// How long each handler run takes, in milliseconds.
    #[arg(long, default_value_t = 0)]
    handler_ms: u64,
    /// Handler runs in flight per instance.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Worker lease in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    lease_ms: u64,
    /// Worker poll interval in milliseconds (LISTEN/NOTIFY wakes idle workers sooner).
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// How long the handler's circuit stays open after 5 consecutive failures, in ms.
    #[arg(long, default_value_t = 60_000)]
    breaker_recovery_ms: u64,
    /// full or process.
    #[arg(long, default_value = "full")]
    durability: Durability,
    /// The `Retry-After` sent with 503 answers, in seconds.
    #[arg(long, default_value_t = 1)]
    retry_after_secs: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The signing secret.
    #[arg(long, default_value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

const MAX_BODY: usize = 1 << 20;

async fn effects_tables(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('inbox-pg-receiver.tables'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS test_effects (dedupe_key TEXT PRIMARY KEY, delivery_id BIGINT NOT NULL, \
         instance TEXT NOT NULL, pid BIGINT NOT NULL, attempt BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS test_runs (dedupe_key TEXT NOT NULL, delivery_id BIGINT NOT NULL, \
         instance TEXT NOT NULL, pid BIGINT NOT NULL, attempt BIGINT NOT NULL, fresh BOOLEAN NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The idempotent handler: the side effect is keyed by the dedupe key and commits together
/// with the run log.
async fn record_effect(
    pool: PgPool,
    instance: Arc<str>,
    handler_ms: u64,
    d: StoredDelivery,
) -> Result<(), HandlerError> {
    if handler_ms > 0 {
        tokio::time::sleep(Duration::from_millis(handler_ms)).await;
    }
    let pid = i64::from(std::process::id());
    let mut tx = pool.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO test_effects (dedupe_key, delivery_id, instance, pid, attempt) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&d.dedupe_key)
    .bind(d.id.0)
    .bind(&*instance)
    .bind(pid)
    .bind(i64::from(d.attempts))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO test_runs (dedupe_key, delivery_id, instance, pid, attempt, fresh) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&d.dedupe_key)
    .bind(d.id.0)
    .bind(&*instance)
    .bind(pid)
    .bind(i64::from(d.attempts))
    .bind(fresh == 1)
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
    let inbox = Inbox::builder(&args.database_url)
        .durability(args.durability)
        .retry_after(Duration::from_secs(args.retry_after_secs))
        .build()
        .await?;
    let worker = if args.worker {
        let pool = PgPoolOptions::new()
            .max_connections(args.concurrency.try_into().unwrap_or(16))
            .acquire_timeout(Duration::from_secs(3))
            .connect(&args.database_url)
            .await?;
        effects_tables(&pool).await?;
        let instance: Arc<str> = Arc::from(args.instance.as_str());
        let handler_ms = args.handler_ms;
        Some(
            inbox
                .worker()
                .lease(Duration::from_millis(args.lease_ms))
                .poll_interval(Duration::from_millis(args.poll_ms))
                .concurrency(args.concurrency)
                .shutdown_timeout(Duration::from_secs(5))
                .circuit_breaker(BreakerConfig::new(
                    5,
                    Duration::from_millis(args.breaker_recovery_ms),
                ))
                .on_raw("*", move |d: StoredDelivery| {
                    record_effect(pool.clone(), instance.clone(), handler_ms, d)
                })
                .spawn()?,
        )
    } else {
        None
    };
    // The inbox deduplicates durably, so the layer's in-memory store is off.
    let verify =
        WebhookVerify::with_verifier(Verifier::standard(&args.secret)?.without_timestamp_check())
            .body_limit(MAX_BODY)
            .without_dedupe();
    let health_inbox = inbox.clone();
    let app = Router::new()
        .route_service("/webhook", inbox.service())
        .layer(verify)
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
    eprintln!(
        "{} listening on {} ({})",
        args.instance,
        listener.local_addr()?,
        inbox.backend().name()
    );
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
