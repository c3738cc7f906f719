//! A plain hyper 1 server that calls `webhook-core` directly: the "custom server" path.
//!
//! `POST /webhooks` reads the body with a size limit, verifies it as a Standard Webhooks
//! (Scalekit, Svix) delivery, drops duplicates by `webhook-id`, prints one JSON line per accepted
//! event on stdout, and answers 204. Rejections use the same statuses and JSON bodies as the tower
//! layer. Logs go to stderr.
//!
//! ```text
//! WEBHOOK_SECRET=whsec_... cargo run -p webhook-examples --bin hyper-receiver -- --addr 127.0.0.1:3000
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use webhook_core::dedupe::{Claim, DedupeStore, MemoryDedupe};
use webhook_core::{FailureLog, Rejection, Verifier};
use webhook_examples::serve;

/// Body limit: Standard Webhooks payloads are usually under 20 KB.
const LIMIT: usize = 2 * 1024 * 1024;

#[derive(Parser)]
#[command(about = "Receive Standard Webhooks deliveries with plain hyper and webhook-core")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Signing secret (`whsec_…`); several may be given, comma-separated, during a rotation.
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    secret: String,
}

struct App {
    verifier: Verifier,
    seen: MemoryDedupe,
    /// Failing verification is logged as a warning at most once a minute, with counts.
    failures: FailureLog,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    webhook_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    webhook_examples::init_tracing();
    let args = Args::parse();
    let verifier = Verifier::with_secrets(
        webhook_core::Scheme::StandardWebhooks,
        webhook_examples::rotation_secrets(&args.secret)?,
    )?;
    let app = Arc::new(App {
        verifier,
        seen: MemoryDedupe::default(),
        failures: FailureLog::new(std::time::Duration::from_secs(60)),
    });
    let listener = serve::bind(args.addr).await?;
    let stop = serve::shutdown_signal();
    tracing::info!("hyper-receiver listening on {}", listener.local_addr()?);
    // A bound on how long a client takes to send its request, accept errors that do not end
    // the server, and a graceful stop on Ctrl-C or SIGTERM: see `webhook_examples::serve`.
    serve::serve_http1(
        listener,
        |_peer| {
            let app = app.clone();
            service_fn(move |req| handle(app.clone(), req))
        },
        stop,
        serve::MAX_CONNECTIONS,
    )
    .await;
    tracing::info!("shutting down");
    Ok(())
}

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/webhooks" {
        return Ok(response(
            StatusCode::NOT_FOUND,
            Bytes::from_static(b"not found"),
        ));
    }
    if req.method() != Method::POST {
        let mut res = response(StatusCode::METHOD_NOT_ALLOWED, Bytes::new());
        res.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        return Ok(res);
    }
    Ok(match receive(&app, req).await {
        Ok(status) => response(status, Bytes::new()),
        Err(rejection) => {
            // Per request at debug level: anyone can send garbage.
            tracing::debug!(code = rejection.code(), "rejected: {rejection}");
            if let Rejection::Verify(err) = &rejection
                && let Some(report) = app.failures.record(err)
            {
                tracing::warn!(failures = report.total(), checks = %report.checks(), "{report}");
            }
            let status =
                StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut res = response(status, Bytes::from(rejection.json_body()));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            res
        }
    })
}

async fn receive(app: &App, req: Request<Incoming>) -> Result<StatusCode, Rejection> {
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > LIMIT as u64) {
        return Err(Rejection::PayloadTooLarge { limit: LIMIT });
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return Err(Rejection::PayloadTooLarge { limit: LIMIT });
        }
        Err(_) => return Err(Rejection::BodyRead),
    };
    // One reading of the verifier's clock for the timestamp check and the dedupe window.
    let now = app.verifier.clock().now_unix();
    let delivery = app.verifier.verify_delivery_at(&parts.headers, body, now)?;
    let key = delivery.dedupe_key();
    match app.seen.claim(&key, now) {
        Claim::Duplicate => return Ok(StatusCode::OK),
        Claim::InFlight => return Err(Rejection::InFlight),
        Claim::New => {}
    }
    webhook_examples::ProcessedLine {
        id: delivery.id(),
        event_id: delivery.event_id(),
        event_type: delivery.event_type(),
        attempt: 1,
    }
    .print();
    app.seen
        .complete(&key, now, true, app.verifier.clock().now_unix());
    Ok(StatusCode::NO_CONTENT)
}

fn response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res
}
