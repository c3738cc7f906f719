//! The main job: an axum server that verifies Scalekit / Standard Webhooks deliveries, stores them
//! durably in the inbox (SQLite by default), answers 201 at once, and processes them in the
//! background with typed handlers, retries and dead letters.
//!
//! ```text
//! cargo run -p webhook-examples --bin axum-receiver -- --addr 127.0.0.1:3000 --database sqlite://webhooks.db
//! ```
//!
//! - `POST /webhooks`: verify (`WebhookVerify`), store (`Inbox`), 201 new / 200 duplicate /
//!   4xx rejected / 503 + `Retry-After` when the store cannot commit.
//! - `GET /admin/webhook-stats`: per event type totals and processing times (JSON; 503 with
//!   the error while the store cannot be read).
//! - `GET /admin/health`: 200 or 503 with the recent failure count.
//! - `GET /metrics`: Prometheus text.
//!
//! Stdout carries one JSON line per processed event; logs go to stderr. Ctrl-C or SIGTERM stops
//! it: connections get 10 s to finish while the worker finishes its runs (up to 20 s), then the
//! inbox closes.

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post_service};
use metrics_exporter_prometheus::PrometheusHandle;
use std::process::ExitCode;
use tower::{Layer as _, ServiceExt as _};
use webhook_core::{Scheme, Verifier};
use webhook_examples::serve::{MAX_CONNECTIONS, bind, serve_http1, shutdown_signal};
use webhook_examples::{
    announce, init_tracing, open_inbox, secret_or_generate, spawn_worker, stats_error_json,
    stats_json, stop_worker_on,
};
use webhook_inbox::Inbox;
use webhook_tower::WebhookVerify;

#[derive(Clone)]
struct AppState {
    inbox: Inbox,
    metrics: PrometheusHandle,
}

#[tokio::main]
async fn main() -> ExitCode {
    webhook_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let args = webhook_examples::parse_args(
        "Receive Scalekit / Standard Webhooks deliveries on axum: verify, store in the inbox, \
         answer 201, process in the background",
    );
    let metrics = webhook_examples::install_metrics()?;
    let secret = secret_or_generate();
    // Several secrets, comma-separated, during a rotation.
    let verifier = Verifier::with_secrets(Scheme::StandardWebhooks, secret.secrets()?)?;
    // The address first: a second instance on a taken port stops before it opens the inbox.
    let listener = bind(args.addr).await?;

    let inbox = open_inbox(&args).await?;
    let worker = spawn_worker(&inbox, &args)?;

    // The inbox deduplicates durably by delivery id, so the layer's in-memory store is off.
    let verify = WebhookVerify::with_verifier(verifier).without_dedupe();
    let app = Router::new()
        .route("/webhooks", post_service(verify.layer(inbox.service())))
        .route("/admin/webhook-stats", get(stats))
        .route("/admin/health", get(health))
        .route("/metrics", get(render_metrics))
        .with_state(AppState {
            inbox: inbox.clone(),
            metrics,
        });

    let (stop, worker_stopped) =
        stop_worker_on(shutdown_signal(), worker, tokio::runtime::Handle::current());
    announce(&secret, listener.local_addr()?);
    tracing::info!("axum-receiver listening on {}", listener.local_addr()?);
    // `axum::serve` sets no limit on how long a client takes to send its request; this serves
    // the same router with one (and the client address the inbox stores).
    serve_http1(
        listener,
        |peer| {
            let app = app.clone();
            hyper::service::service_fn(
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(req)
                },
            )
        },
        stop,
        MAX_CONNECTIONS,
    )
    .await;

    let _ = worker_stopped.await;
    inbox.close().await;
    Ok(())
}

async fn stats(State(state): State<AppState>) -> impl IntoResponse {
    match stats_json(&state.inbox).await {
        Ok(json) => (StatusCode::OK, axum::Json(json)),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(stats_error_json(&e)),
        ),
    }
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let health = state.inbox.health().await;
    let status = if health.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(health))
}

async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.render()
}
