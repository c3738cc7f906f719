//! The main job on actix-web: verify Scalekit / Standard Webhooks deliveries with
//! `webhook-actix`, store them durably in the inbox, answer 201 at once, and process them in the
//! background. Same flags and the same stdout lines as `axum-receiver`.
//!
//! ```text
//! cargo run -p webhook-examples --bin actix-receiver -- --addr 127.0.0.1:3000 --database sqlite://webhooks.db
//! ```

use actix_web::dev::Service as _;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::PrometheusHandle;
use std::process::ExitCode;
use webhook_actix::{VerifiedDelivery, WebhookConfig};
use webhook_core::Scheme;
use webhook_examples::serve::{MAX_CONNECTIONS, REQUEST_TIMEOUT};
use webhook_examples::{
    announce, init_tracing, open_inbox, secret_or_generate, spawn_worker, stats_error_json,
    stats_json, stop_worker_on,
};
use webhook_inbox::{AcceptAnswer, AcceptMeta, Inbox, InboxError};

/// The inbox lives on its own multi-threaded tokio runtime; actix-web's workers are
/// single-threaded runtimes of their own and hand it work through `Handle::spawn`.
#[derive(Clone)]
struct Store {
    inbox: Inbox,
    runtime: tokio::runtime::Handle,
    metrics: PrometheusHandle,
}

fn main() -> ExitCode {
    webhook_examples::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let args = webhook_examples::parse_args(
        "Receive Scalekit / Standard Webhooks deliveries on actix-web: verify, store in the inbox, \
         answer 201, process in the background",
    );
    let metrics = webhook_examples::install_metrics()?;
    let secret = secret_or_generate();
    let config = WebhookConfig::secrets(Scheme::StandardWebhooks, secret.secrets()?)?;
    // The address first: a second instance on a taken port stops before it opens the inbox.
    let listener = std::net::TcpListener::bind(args.addr)
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;

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

    let inbox_runtime = runtime.handle().clone();
    let worker_stopped = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                // actix-web bounds only the first request head's time: a whole request, body
                // included, gets REQUEST_TIMEOUT, as under `serve_http1`.
                .wrap_fn(|req, srv| {
                    let call = srv.call(req);
                    async move {
                        match actix_web::rt::time::timeout(REQUEST_TIMEOUT, call).await {
                            Ok(result) => result,
                            Err(_) => Err(actix_web::error::InternalError::from_response(
                                "request not completed in time",
                                HttpResponse::RequestTimeout()
                                    .force_close()
                                    .body("request not completed in time"),
                            )
                            .into()),
                        }
                    }
                })
                .app_data(config.clone())
                .app_data(web::Data::new(store.clone()))
                .service(only("/webhooks", "POST", web::post().to(receive)))
                .service(only("/admin/webhook-stats", "GET", web::get().to(stats)))
                .service(only("/admin/health", "GET", web::get().to(health)))
                .service(only("/metrics", "GET", web::get().to(render_metrics)))
        })
        .workers(2)
        // The same bound on connections served at once as `serve_http1` (per worker here).
        .max_connections(MAX_CONNECTIONS / 2)
        // Ctrl-C and SIGTERM are handled below, installed before the address is announced.
        .disable_signals()
        .shutdown_timeout(webhook_examples::serve::DRAIN_TIMEOUT.as_secs())
        .listen(listener)?;
        let addrs = server.addrs();
        let server = server.run();
        let handle = server.handle();
        let (stop, worker_stopped) = stop_worker_on(
            webhook_examples::serve::shutdown_signal(),
            worker,
            inbox_runtime.clone(),
        );
        // Awaited on the inbox's runtime, which lives until the inbox is closed: the task that
        // exits on a second signal is spawned where the signal resolves, and actix's runtime
        // ends with the HTTP drain, while the worker may still be stopping.
        let stop = inbox_runtime.spawn(stop);
        // Dropped if the server ends by itself, so that the worker stops then.
        let unsignalled = stop.abort_handle();
        actix_web::rt::spawn(async move {
            let _ = stop.await;
            handle.stop(true).await;
        });
        for addr in addrs {
            announce(&secret, addr);
            tracing::info!("actix-receiver listening on {addr}");
        }
        let served = server.await;
        unsignalled.abort();
        served?;
        Ok::<_, std::io::Error>(worker_stopped)
    })?;

    runtime.block_on(async {
        let _ = worker_stopped.await;
        inbox.close().await;
    });
    Ok(())
}

/// `path`, served by `route` alone: another method gets `405` naming the one allowed, as axum
/// answers (`App::route` would give `404`: its method guard hides the whole path).
fn only(path: &str, allow: &'static str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(move || async move {
            HttpResponse::MethodNotAllowed()
                .insert_header((actix_web::http::header::ALLOW, allow))
                .finish()
        }))
}

async fn receive(
    req: HttpRequest,
    delivery: VerifiedDelivery,
    store: web::Data<Store>,
) -> AcceptAnswer {
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
    let result = accepted.unwrap_or_else(|err| {
        tracing::error!("the accept task failed: {err}");
        Err(InboxError::Closed)
    });
    // The same answers as the axum receiver's InboxService: 201/200 once committed, 422 for a
    // delivery no store can keep, 503 + Retry-After otherwise (never a 2xx before the commit).
    // An actix `Responder` with webhook-inbox's `actix` feature.
    AcceptAnswer::new(&result, store.inbox.retry_after())
}

async fn stats(store: web::Data<Store>) -> HttpResponse {
    let inbox = store.inbox.clone();
    match store
        .runtime
        .spawn(async move { stats_json(&inbox).await })
        .await
    {
        Ok(Ok(json)) => HttpResponse::Ok().json(json),
        Ok(Err(e)) => HttpResponse::ServiceUnavailable().json(stats_error_json(&e)),
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
