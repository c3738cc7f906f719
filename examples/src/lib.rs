//! Shared pieces of the example receivers: flags, the secret, the inbox, the background handlers
//! and the one JSON line per processed event that they print on stdout.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use clap::Parser;
use webhook_core::event::Event;
use webhook_core::scalekit::{DirectoryGroup, DirectoryUser};
use webhook_inbox::{
    BreakerConfig, HandlerError, Inbox, InboxError, RetryPolicy, StoredDelivery, Worker,
};

pub mod serve;

/// The flags the axum and actix receivers take (their `--help` starts with [`parse_args`]'s `about`).
#[derive(Clone, Debug, Parser)]
pub struct ReceiverArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Where the inbox lives: `sqlite://file.db` (embedded) or `postgres://…` (shared by several
    /// instances).
    #[arg(
        long,
        default_value = "sqlite://webhooks.db",
        env = "WEBHOOK_INBOX_URL",
        hide_env_values = true
    )]
    pub database: String,
    /// Fail the first N attempts of every delivery, to watch retries and dead letters happen
    /// (the handlers' circuit breakers are then off: they would hold every delivery for 60 s
    /// after 5 failures in a row).
    #[arg(long, default_value_t = 0)]
    pub fail_attempts: u32,
    /// Base delay of the retry backoff, in milliseconds (doubles each attempt, with jitter).
    #[arg(long, default_value_t = 1000)]
    pub retry_base_ms: u64,
    /// Attempts before a delivery is dead.
    #[arg(long, default_value_t = 5)]
    pub max_attempts: u32,
    /// How long a worker holds a claimed delivery; after a crash, its deliveries are claimed
    /// again once this passes.
    #[arg(long, default_value_t = 60)]
    pub lease_secs: u64,
}

/// What `--help` says about the secret, which comes from the environment, not from a flag (a
/// flag would show it to every user of the machine in the process list).
const SECRET_HELP: &str = "The signing secret comes from WEBHOOK_SECRET: the endpoint's `whsec_…` secret, or \
several, comma-separated, during a rotation. Without it, a secret is generated for the run and printed \
with a command that sends the receiver a signed test event.";

/// The receiver's flags, with `about` as the first line of its `--help`.
pub fn parse_args(about: &'static str) -> ReceiverArgs {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let matches = ReceiverArgs::command()
        .about(about)
        .after_help(SECRET_HELP)
        .get_matches();
    ReceiverArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The exit of a receiver's `main`: success, or its error as one `error: …` line on stderr
/// (not the debug form `main` returning a `Result` prints) and exit status 1.
pub fn exit_code(result: Result<(), Box<dyn std::error::Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The signing secret from `WEBHOOK_SECRET`, or a freshly generated one (`Generated`), which the
/// receiver announces with [`announce`] once it knows the address it listens on.
pub fn secret_or_generate() -> Secret {
    if let Ok(secret) = std::env::var("WEBHOOK_SECRET")
        && !secret.trim().is_empty()
    {
        return Secret::FromEnv(secret);
    }
    let mut bytes = [0u8; 24];
    if getrandom::fill(&mut bytes).is_err() {
        eprintln!("error: no random source to generate a secret; set WEBHOOK_SECRET");
        std::process::exit(2);
    }
    Secret::Generated(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// Where the receiver's signing secret came from.
#[derive(Clone, Debug)]
pub enum Secret {
    /// `WEBHOOK_SECRET`.
    FromEnv(String),
    /// Generated for this run.
    Generated(String),
}

impl Secret {
    /// The secret (or comma-separated secrets).
    pub fn value(&self) -> &str {
        match self {
            Secret::FromEnv(s) | Secret::Generated(s) => s,
        }
    }

    /// The secrets of a rotation: see [`rotation_secrets`].
    pub fn secrets(&self) -> Result<Vec<&str>, String> {
        rotation_secrets(self.value())
    }
}

/// The secrets in a comma-separated rotation list (`whsec_new, whsec_old`): each trimmed,
/// empty entries skipped, and one that is not a valid Standard Webhooks secret named by its
/// position, never by its value.
///
/// ```
/// use webhook_examples::rotation_secrets;
/// let list = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD,";
/// assert_eq!(rotation_secrets(list).unwrap().len(), 2);
/// let err = rotation_secrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,whsec_!!").unwrap_err();
/// assert!(err.starts_with("secret 2 of 2 in the list"), "{err}");
/// assert!(rotation_secrets(" , ").is_err());
/// ```
pub fn rotation_secrets(value: &str) -> Result<Vec<&str>, String> {
    let secrets: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.is_empty() {
        return Err("no secret in the list: set WEBHOOK_SECRET to one or more whsec_… secrets, comma-separated".into());
    }
    for (i, secret) in secrets.iter().enumerate() {
        webhook_core::Verifier::standard(secret)
            .map_err(|e| format!("secret {} of {} in the list: {e}", i + 1, secrets.len()))?;
    }
    Ok(secrets)
}

/// Prints a generated secret on stderr with the exact command that sends the receiver at `addr`
/// a signed test event (nothing for a secret from the environment).
pub fn announce(secret: &Secret, addr: SocketAddr) {
    let Secret::Generated(secret) = secret else {
        return;
    };
    eprintln!(
        "WEBHOOK_SECRET is not set; generated one for this run:\n\n    WEBHOOK_SECRET={secret}\n"
    );
    // The secret in the environment, not in an argument other users of the machine can read.
    eprintln!("Send it a signed Scalekit test event with:\n");
    eprintln!(
        "    WEBHOOK_SECRET='{secret}' cargo run -p webhook-cli -- send --url http://{addr}/webhooks --type organization.directory.user_created\n"
    );
}

/// Opens the inbox named by `--database` with the flags' retry policy.
pub async fn open_inbox(args: &ReceiverArgs) -> Result<Inbox, InboxError> {
    let retries = args.max_attempts.saturating_sub(1) as usize;
    let policy = if retries == 0 {
        RetryPolicy::none()
    } else {
        RetryPolicy::new(
            backon::ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(args.retry_base_ms))
                .with_max_delay(Duration::from_secs(60))
                .with_max_times(retries)
                .with_jitter(),
        )
    };
    Inbox::builder(&args.database)
        .retry_policy(policy)
        .build()
        .await
}

/// Installs the Prometheus recorder with histogram buckets: without them the exporter renders
/// histograms as per-process summaries, which cannot be aggregated across instances.
pub fn install_metrics() -> Result<metrics_exporter_prometheus::PrometheusHandle, String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    const SECONDS: &[f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0,
    ];
    const BATCH: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];
    // Verification takes microseconds (about 1 µs per KiB): in the buckets above every sample
    // would fall in the first.
    const VERIFY: &[f64] = &[
        0.000_001,
        0.000_002_5,
        0.000_005,
        0.000_01,
        0.000_025,
        0.000_05,
        0.000_1,
        0.000_25,
        0.000_5,
        0.001,
        0.002_5,
        0.01,
    ];
    PrometheusBuilder::new()
        .set_buckets(SECONDS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(webhook_inbox::metrics::COMMIT_BATCH_SIZE.to_owned()),
                BATCH,
            )
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("webhook_verify_duration_seconds".to_owned()),
                VERIFY,
            )
        })
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))
}

/// Starts the background worker: typed handlers for directory users and groups, and one for
/// everything else. Each processed event prints one JSON line on stdout.
pub fn spawn_worker(inbox: &Inbox, args: &ReceiverArgs) -> Result<Worker, InboxError> {
    let fail_attempts = args.fail_attempts;
    // 20 s for in-flight runs at shutdown (default 30 s), released after that: within a 30 s
    // termination grace period, with the HTTP drain running alongside.
    let mut worker = inbox
        .worker()
        .lease(Duration::from_secs(args.lease_secs))
        .shutdown_timeout(Duration::from_secs(20));
    if fail_attempts > 0 {
        // Failures on purpose would open the breakers (5 in a row: 60 s of waiting), and the
        // retries would not follow `--retry-base-ms`.
        worker = worker.circuit_breaker(BreakerConfig::disabled());
    }
    for action in ["created", "updated", "deleted"] {
        worker = worker
            .on_raw(&format!("organization.directory.user_{action}"), move |d| {
                user_event(d, fail_attempts)
            })
            .on_raw(
                &format!("organization.directory.group_{action}"),
                move |d| group_event(d, fail_attempts),
            );
    }
    worker
        .on_raw("*", move |d: StoredDelivery| async move {
            maybe_fail(&d, fail_attempts)?;
            tracing::info!(event_type = d.event_type_str(), "event");
            processed(&d);
            Ok(())
        })
        .spawn()
}

/// Starts stopping `worker` (on `runtime`) as soon as `signal` fires, while the server drains its
/// connections. One after the other, the drain (10 s) and the worker's runs (up to its 30 s
/// shutdown timeout) would outlast a 30 s termination grace period (Kubernetes' default), and a
/// kill in the middle leaves leases that hold those deliveries back by a lease. Returns the
/// signal to give the server (it resolves when `signal` does) and the worker's stop, to await
/// before closing the inbox. If the server ends without the signal, the worker stops then.
pub fn stop_worker_on(
    signal: impl Future<Output = ()>,
    worker: Worker,
    runtime: tokio::runtime::Handle,
) -> (impl Future<Output = ()>, tokio::task::JoinHandle<()>) {
    let (stopping, stop_requested) = tokio::sync::oneshot::channel::<()>();
    let stopped = runtime.spawn(async move {
        // an error: the server's signal future was dropped, the server ended by itself
        let _ = stop_requested.await;
        worker.shutdown().await;
    });
    let signal = async move {
        signal.await;
        tracing::info!("shutting down: draining connections and finishing in-flight deliveries");
        let _ = stopping.send(());
    };
    (signal, stopped)
}

async fn user_event(d: StoredDelivery, fail_attempts: u32) -> Result<(), HandlerError> {
    maybe_fail(&d, fail_attempts)?;
    let event: Event<DirectoryUser> =
        webhook_core::event::from_slice(&d.body).map_err(HandlerError::permanent)?;
    // Ids only: an email address in the logs is personal data kept wherever the logs go.
    tracing::info!(
        event_type = %event.event_type,
        user = %event.data.id,
        organization = %event.data.organization_id,
        "directory user event"
    );
    processed(&d);
    Ok(())
}

async fn group_event(d: StoredDelivery, fail_attempts: u32) -> Result<(), HandlerError> {
    maybe_fail(&d, fail_attempts)?;
    let event: Event<DirectoryGroup> =
        webhook_core::event::from_slice(&d.body).map_err(HandlerError::permanent)?;
    tracing::info!(
        event_type = %event.event_type,
        group = %event.data.id,
        "directory group event"
    );
    processed(&d);
    Ok(())
}

fn maybe_fail(d: &StoredDelivery, fail_attempts: u32) -> Result<(), HandlerError> {
    if d.attempts <= fail_attempts {
        tracing::warn!(
            attempt = d.attempts,
            id = d.id.0,
            "simulated failure (--fail-attempts)"
        );
        return Err(HandlerError::new(format!(
            "simulated failure on attempt {}",
            d.attempts
        )));
    }
    Ok(())
}

/// The stdout line for a processed event, fields in this order:
/// `{"id":"<webhook-id>","event_id":"<evt_…>","type":"…","attempt":N}`.
#[derive(serde::Serialize)]
pub struct ProcessedLine<'a> {
    /// The sender's delivery id (`webhook-id`).
    pub id: Option<&'a str>,
    /// The event's own id from the body (`evt_…`).
    pub event_id: Option<&'a str>,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: Option<&'a str>,
    /// Which attempt this was (1 for the first).
    pub attempt: u32,
}

impl ProcessedLine<'_> {
    /// Writes the line to stdout, whole.
    pub fn print(&self) {
        if let Ok(line) = serde_json::to_string(self) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

/// Prints the one stdout line for a processed delivery.
pub fn processed(d: &StoredDelivery) {
    ProcessedLine {
        id: d.message_id.as_deref(),
        event_id: d.event_id.as_deref(),
        event_type: d.event_type.as_deref(),
        attempt: d.attempts,
    }
    .print();
}

/// `GET /admin/webhook-stats`: per event type figures over the last hour plus queue counts, or
/// the store's error, which the receivers answer `503` with `{"error": …}` (a `200` would tell a
/// dashboard or a probe that all is well while the store cannot be read).
pub async fn stats_json(inbox: &Inbox) -> Result<serde_json::Value, InboxError> {
    // Counts first: the per-type figures, read after them, then include every attempt of a
    // delivery the counts show finished (its status and its attempt are written together).
    let counts = inbox.counts().await?;
    let stats = inbox.stats(Duration::from_secs(3600)).await?;
    Ok(serde_json::json!({ "window_secs": 3600, "event_types": stats, "counts": counts }))
}

/// The body of a `503` from `/admin/webhook-stats` when the store cannot be read.
pub fn stats_error_json(error: &InboxError) -> serde_json::Value {
    serde_json::json!({ "error": error.to_string() })
}

/// Logs to stderr (stdout carries only the processed-event lines).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

/// The README's snippets, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
