//! The main job on actix-web: verify Scalekit / Standard Webhooks deliveries with
//! `webhook-actix`, store them durably in the inbox, answer 201 at once, and process them in the
//! background. Same flags and the same stdout lines as `axum-receiver`.
//!
//! ```text
//! cargo run -p webhook-examples --bin actix-receiver -- --addr 127.0.0.1:3000 --database sqlite://webhooks.db
//! ```

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use clap::Parser;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use webhook_actix::{VerifiedDelivery, WebhookConfig};
use webhook_core::Scheme;
use webhook_examples::{
    ReceiverArgs, announce, init_tracing, open_inbox, secret_or_generate, spawn_worker, stats_json,
};
use webhook_inbox::{AcceptMeta, Accepted, Inbox};

/// The inbox lives on its own multi-threaded tokio runtime; actix-web's workers are
/// single-threaded runtimes of their own and hand it work through `Handle::spawn`.
#[derive(Clone)]
struct Store {
    inbox: Inbox,
    runtime: tokio::runtime::Handle,
    metrics: PrometheusHandle,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let args = ReceiverArgs::parse();
    let metrics = PrometheusBuilder::new().install_recorder()?;
    let secret = secret_or_generate();
    let config = WebhookConfig::secrets(Scheme::StandardWebhooks, secret.value().split(','))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (inbox, worker) = runtime.block_on(async {
        let inbox = open_inbox(&args).await?;
        let worker = spawn_worker(&inbox, &args)?;
        Ok::<_, webhook_inbox::InboxError>((inbox, worker))
    })?;
    let store = Store {
        inbox: inbox.clone(),
        runtime: runtime.handle().clone(),
        metrics,
    };

    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(config.clone())
                .app_data(web::Data::new(store.clone()))
                .route("/webhooks", web::post().to(receive))
                .route("/admin/webhook-stats", web::get().to(stats))
                .route("/admin/health", web::get().to(health))
                .route("/metrics", web::get().to(render_metrics))
        })
        .workers(2)
        .bind(args.addr)?;
        for addr in server.addrs() {
            announce(&secret, addr);
            tracing::info!("actix-receiver listening on {addr}");
        }
        server.run().await
    })?;

    tracing::info!("shutting down: finishing in-flight deliveries");
    runtime.block_on(async {
        worker.shutdown().await;
        inbox.close().await;
    });
    Ok(())
}

async fn receive(
    req: HttpRequest,
    delivery: VerifiedDelivery,
    store: web::Data<Store>,
) -> HttpResponse {
    let mut meta = AcceptMeta::new();
    if let Some(addr) = req.peer_addr() {
        meta = meta.client_addr(addr);
    }
    if let Some(agent) = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
    {
        meta = meta.user_agent(agent);
    }
    let inbox = store.inbox.clone();
    let delivery = delivery.into_inner();
    let accepted = store
        .runtime
        .spawn(async move { inbox.accept(&delivery, meta).await })
        .await;
    match accepted {
        Ok(Ok(Accepted::New(id))) => {
            HttpResponse::Created().json(serde_json::json!({ "id": id.0 }))
        }
        Ok(Ok(Accepted::Duplicate(id))) => {
            HttpResponse::Ok().json(serde_json::json!({ "id": id.0, "duplicate": true }))
        }
        Ok(Err(err)) => unavailable(&store, &err.to_string()),
        Err(err) => unavailable(&store, &err.to_string()),
    }
}

/// Never a 2xx for a delivery that was not stored: the sender retries later.
fn unavailable(store: &Store, reason: &str) -> HttpResponse {
    tracing::error!("could not store delivery: {reason}");
    let retry_after = store.inbox.retry_after().as_secs().max(1);
    HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
        .insert_header(("retry-after", retry_after.to_string()))
        .json(serde_json::json!({ "error": "the inbox could not store the delivery; retry later", "code": "store_unavailable" }))
}

async fn stats(store: web::Data<Store>) -> HttpResponse {
    let inbox = store.inbox.clone();
    match store
        .runtime
        .spawn(async move { stats_json(&inbox).await })
        .await
    {
        Ok(json) => HttpResponse::Ok().json(json),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn health(store: web::Data<Store>) -> HttpResponse {
    let inbox = store.inbox.clone();
    match store
        .runtime
        .spawn(async move { inbox.health().await })
        .await
    {
        Ok(health) if health.healthy => HttpResponse::Ok().json(health),
        Ok(health) => HttpResponse::ServiceUnavailable().json(health),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn render_metrics(store: web::Data<Store>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(store.metrics.render())
}
