//! A webhook sender for load and crash tests: signs Standard Webhooks deliveries and POSTs
//! them from N concurrent connections, retrying non-2xx answers and connection errors the way
//! senders do, and prints throughput and acknowledgement latency as one JSON line.
//!
//! ```text
//! inbox-load --url http://127.0.0.1:8080/webhook --concurrency 64 --duration-secs 10
//! inbox-load --url … --count 5000 --acked-out acked.txt     # every id until it gets a 2xx
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use webhook_core::Signer;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Where to POST.
    #[arg(long)]
    url: String,
    /// Concurrent senders (one connection each).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Send this many distinct deliveries, each until it is acknowledged.
    #[arg(long)]
    count: Option<usize>,
    /// Or send for this long.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// Message id prefix (make it unique per run to avoid duplicates).
    #[arg(long, default_value = "msg")]
    prefix: String,
    /// Write acknowledged ids here, one per line.
    #[arg(long)]
    acked_out: Option<String>,
    /// Pause before retrying a failed send, in ms.
    #[arg(long, default_value_t = 50)]
    retry_delay_ms: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The signing secret.
    #[arg(long, default_value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

#[derive(Default)]
struct Totals {
    non_2xx: AtomicU64,
    conn_errors: AtomicU64,
}

fn body(id: &str, size: usize) -> Vec<u8> {
    let head = format!(r#"{{"id":"evt_{id}","type":"load.test","data":""#);
    let pad = size.saturating_sub(head.len() + 2);
    let mut b = head.into_bytes();
    b.extend(std::iter::repeat_n(b'x', pad));
    b.extend_from_slice(b"\"}");
    b
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let signer = Arc::new(Signer::standard(&args.secret)?);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build_http::<Full<Bytes>>();
    let next = Arc::new(AtomicUsize::new(0));
    let totals = Arc::new(Totals::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (args, signer, client, next, totals) = (
            args.clone(),
            signer.clone(),
            client.clone(),
            next.clone(),
            totals.clone(),
        );
        tasks.spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            let mut acked: Vec<String> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                match args.count {
                    Some(count) if i >= count => break,
                    None if Instant::now() >= deadline => break,
                    _ => {}
                }
                let id = format!("{}-{i}", args.prefix);
                let payload = body(&id, args.body_size);
                loop {
                    let ts = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0);
                    let headers = signer.sign(&id, ts, &payload);
                    let mut req = hyper::Request::post(&args.url)
                        .header("content-type", "application/json")
                        .header("user-agent", "inbox-load/1");
                    for (k, v) in headers.iter() {
                        req = req.header(k, v);
                    }
                    let Ok(req) = req.body(Full::new(Bytes::from(payload.clone()))) else {
                        break;
                    };
                    let sent = Instant::now();
                    let res =
                        tokio::time::timeout(Duration::from_secs(30), client.request(req)).await;
                    match res {
                        Ok(Ok(resp)) => {
                            let status = resp.status();
                            let _ = resp.into_body().collect().await;
                            if status.is_success() {
                                latencies.push(
                                    u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX),
                                );
                                acked.push(id);
                                break;
                            }
                            totals.non_2xx.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            totals.conn_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if args.count.is_none() && Instant::now() >= deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(args.retry_delay_ms)).await;
                }
            }
            (latencies, acked)
        });
    }
    let mut latencies = Vec::new();
    let mut acked = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (l, a) = done?;
        latencies.extend(l);
        acked.extend(a);
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        f64::from(latencies[i]) / 1000.0
    };
    if let Some(path) = &args.acked_out {
        std::fs::write(path, acked.join("\n"))?;
    }
    println!(
        r#"{{"url":"{}","acked":{},"seconds":{:.2},"rps":{:.0},"p50_ms":{:.2},"p99_ms":{:.2},"max_ms":{:.2},"non_2xx":{},"conn_errors":{}}}"#,
        args.url,
        acked.len(),
        secs,
        acked.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        totals.non_2xx.load(Ordering::Relaxed),
        totals.conn_errors.load(Ordering::Relaxed),
    );
    Ok(())
}
