//! `webhook send`: sign and POST deliveries, then summarize the receiver's answers.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use webhook_core::Signer;

use crate::cli::{SendArgs, Tamper};
use crate::error::CliError;
use crate::payload::Payload;
use crate::report::{Expect, Outcome, Report};
use crate::{ids, keys};

/// How much of the response body `send --count 1` shows.
const SHOWN_RESPONSE_BYTES: usize = 2048;
/// How much of a response body is read before the connection is given up.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How old a `--tamper timestamp` delivery's timestamp is.
const STALE_BY_SECS: i64 = 3600;

/// Everything one delivery needs, shared by all of them.
struct Plan {
    client: reqwest::Client,
    url: reqwest::Url,
    signer: Signer,
    payload: Payload,
    tamper: Option<Tamper>,
    /// `--header`s: they override the content type and even the signed headers; a name given
    /// twice is sent twice (to test a receiver's duplicate-header rejection).
    extra: http::HeaderMap,
    keep_response: bool,
}

/// What one delivery produced: its outcome and, for a single delivery, what was sent and answered.
struct Delivered {
    outcome: Outcome,
    id: String,
    response: Option<String>,
    /// Where a 3xx answer pointed (redirects are not followed: that would send the delivery
    /// somewhere else).
    location: Option<String>,
}

/// Runs `webhook send`, writing the summary to `out`.
pub(crate) fn run(args: &SendArgs, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    if !matches!(args.url.scheme(), "http" | "https") {
        // `localhost:3000/webhooks` parses as the scheme `localhost`.
        let hint = if args.url.cannot_be_a_base() {
            format!(" (did you mean http://{}?)", args.url)
        } else {
            String::new()
        };
        return Err(CliError::Usage(format!(
            "--url must be an http:// or https:// URL, not {}:{hint}",
            args.url.scheme()
        )));
    }
    let signer = keys::signer(
        &args.key,
        args.body_file.as_deref() == Some(std::path::Path::new("-")),
    )?;
    if args.tamper == Some(Tamper::Timestamp) && !args.key.scheme.has_timestamp() {
        return Err(CliError::Usage(format!(
            "--tamper timestamp needs a scheme that signs a timestamp; {} does not",
            args.key.scheme
        )));
    }
    let payload = Payload::from_args(args.body_file.as_deref(), args.event_type.as_deref())?;
    let scheme = args.key.scheme;
    let keyed_on_body = scheme.id_header().is_none() || scheme == webhook_core::Scheme::Timestamped;
    if args.count > 1 && args.body_file.is_some() && keyed_on_body && !args.quiet {
        let why = if scheme.id_header().is_none() {
            "sends no delivery id"
        } else {
            "signs no delivery id"
        };
        eprintln!(
            "warning: {scheme} {why}, so receivers dedupe it on the body: these {} \
             deliveries of one body are one delivery to them (the rest are duplicates); \
             --type sends a fresh event each time",
            args.count
        );
    }
    let mut extra = http::HeaderMap::new();
    for h in &args.headers {
        let name = http::HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|e| CliError::Usage(format!("--header {}: {e}", h.name)))?;
        let value = http::HeaderValue::from_str(&h.value)
            .map_err(|e| CliError::Usage(format!("--header {}: {e}", h.name)))?;
        extra.append(name, value);
    }
    if let Some(event) = &args.event {
        let (name, value) = keys::event_header(signer.scheme(), event)?;
        let value = http::HeaderValue::from_str(&value)
            .map_err(|e| CliError::Usage(format!("--event: {e}")))?;
        // A `--header` of the same name wins, as over the signed headers.
        if !extra.contains_key(name) {
            extra.insert(http::HeaderName::from_static(name), value);
        }
    }
    let certs = args.cacert.as_deref().map(certificates).transpose()?;
    let builder = || {
        let mut client = reqwest::Client::builder()
            .timeout(Duration::from_secs(args.timeout))
            .user_agent(concat!("webhook-cli/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(certs) = &certs {
            client = client.tls_certs_merge(certs.iter().cloned());
        }
        if args.insecure {
            client = client.tls_danger_accept_invalid_certs(true);
        }
        client
    };
    let client = match builder().build() {
        Ok(client) => Ok(client),
        // The system's CA certificates could not be loaded (a minimal container has none): an
        // http URL needs no certificate, so it is sent without them (trusting nothing, should
        // a proxy speak TLS).
        Err(_) if args.url.scheme() == "http" => builder()
            .tls_certs_only(certs.clone().unwrap_or_default())
            .build(),
        Err(e) => Err(e),
    }
    .map_err(|e| {
        let mut message = format!("cannot build the HTTP client: {}", chain(&e));
        if message.contains("No CA certificates") {
            message.push_str(
                " (install the system's CA certificates, e.g. the ca-certificates package, or \
                 pass the receiver's CA with --cacert FILE)",
            );
        }
        CliError::Runtime(message)
    })?;
    let plan = Plan {
        client,
        url: args.url.clone(),
        signer,
        payload,
        tamper: args.tamper,
        extra,
        keep_response: args.count == 1,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;

    let progress = if args.count > 1 && !args.quiet {
        let bar = ProgressBar::with_draw_target(Some(args.count), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed_precise} {wide_bar} {pos}/{len} {per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };

    let expect = if args.tamper.is_some() {
        Expect::Rejection
    } else {
        Expect::Success
    };
    let capacity = usize::try_from(args.count).unwrap_or(usize::MAX);
    let mut report = Report::new(expect, capacity);
    let mut single: Option<Delivered> = None;
    let mut redirect: Option<String> = None;
    let started = Instant::now();
    let interrupted = runtime.block_on(async {
        let mut deliveries = futures_util::stream::iter(0..args.count)
            .map(|_| deliver(&plan))
            .buffer_unordered(usize::try_from(args.concurrency).unwrap_or(1));
        // Ctrl-C stops sending; what was answered so far is still summarized.
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                biased;
                _ = &mut ctrl_c => return Ok::<bool, CliError>(true),
                next = deliveries.next() => {
                    let Some(delivered) = next else { return Ok(false) };
                    let delivered = delivered?;
                    progress.inc(1);
                    if redirect.is_none() {
                        redirect.clone_from(&delivered.location);
                    }
                    if plan.keep_response {
                        single = Some(delivered);
                    } else {
                        report.record(delivered.outcome);
                    }
                }
            }
        }
    })?;
    progress.finish_and_clear();

    let mut text = String::new();
    // A single delivery's id and answer, for `--json` (`inbox show ID` takes the id).
    let mut single_json = serde_json::Map::new();
    if let Some(delivered) = single {
        let sends_id = plan.signer.scheme().id_header().is_some();
        text.push_str(&describe_single(&delivered, sends_id, args.json));
        // The id only where the scheme sends one: Stripe's, Slack's and Paddle's deliveries
        // carry none (the inbox files them under the body's event id).
        let sent_id = sends_id.then(|| delivered.id.clone());
        single_json.insert("id".into(), sent_id.into());
        // Escaped as for the terminal (JSON leaves bidi and C1 characters raw).
        let response = delivered
            .response
            .as_deref()
            .map(|r| crate::terminal::printable(r, "\n\t"));
        single_json.insert("response".into(), response.into());
        single_json.insert("location".into(), delivered.location.clone().into());
        report.record(delivered.outcome);
    }
    if interrupted {
        report.interrupt(args.count);
    }
    report.finish(started.elapsed());
    if args.json {
        let mut json = report.json(&shown(&plan.url), args.concurrency);
        if let Some(object) = json.as_object_mut() {
            object.insert("planned".into(), args.count.into());
            object.extend(single_json);
        }
        text.push_str(&json.to_string());
        text.push('\n');
    } else {
        text.push_str(&report.human(&shown(&plan.url), args.concurrency));
    }
    CliError::write_out(out, text.as_bytes(), "the summary")?;

    if interrupted {
        return Err(CliError::Interrupted(format!(
            "interrupted: {} of {} deliveries were answered (those in flight are not counted)",
            report.sent(),
            args.count
        )));
    }

    if report.failed() > 0 {
        return Err(CliError::Runtime(format!(
            "{} of {} deliveries got no answer from {}: {}",
            report.failed(),
            report.sent(),
            shown(&plan.url),
            report.first_failure().unwrap_or("unknown error")
        )));
    }
    if report.unexpected() > 0 {
        let redirected = redirect.map_or(String::new(), |to| {
            format!("; the receiver redirected to {to}, which is not followed (it would send the delivery elsewhere): use that URL")
        });
        return Err(CliError::Failed(format!(
            "{} of {} deliveries were not answered {}{redirected}",
            report.unexpected(),
            report.sent(),
            match expect {
                Expect::Success => "with a 2xx",
                Expect::Rejection => "with a 400/401/403 although their signatures were bad",
            }
        )));
    }
    Ok(())
}

/// Signs and sends one delivery with a fresh id (and, for samples, a fresh event).
async fn deliver(plan: &Plan) -> Result<Delivered, CliError> {
    let now = keys::now_unix();
    let id = ids::fresh("msg_", now)?;
    let body: Bytes = plan.payload.body(now)?;
    let headers = match plan.tamper {
        None => plan.signer.sign(&id, now, &body),
        Some(Tamper::Timestamp) => plan.signer.sign(&id, now - STALE_BY_SECS, &body),
        Some(Tamper::Signature) => {
            let mut other = body.to_vec();
            other.push(b'\n');
            plan.signer.sign(&id, now, &other)
        }
    };
    // The header carrying the id (`webhook-id`, `svix-id`, `X-GitHub-Delivery`, …), if any.
    let id_header = headers
        .iter()
        .find(|(_, value)| *value == id)
        .and_then(|(name, _)| http::HeaderName::from_bytes(name.as_bytes()).ok());
    let mut map = http::HeaderMap::new();
    map.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(plan.payload.content_type()),
    );
    map.extend(http::HeaderMap::from(headers));
    map.extend(plan.extra.clone());
    // A `--header` that replaced the id: the id reported is the one sent.
    let id = id_header
        .and_then(|name| map.get(name))
        .and_then(|value| value.to_str().ok())
        .map_or(id, str::to_owned);

    let started = Instant::now();
    let result = plan
        .client
        .post(plan.url.clone())
        .headers(map)
        .body(body)
        .send()
        .await;
    let mut response = match result {
        Ok(response) => response,
        Err(e) => {
            return Ok(Delivered {
                outcome: failure(&e),
                id,
                response: None,
                location: None,
            });
        }
    };
    let status = response.status().as_u16();
    let location = response
        .status()
        .is_redirection()
        .then(|| response.headers().get(http::header::LOCATION))
        .flatten()
        // Shown to the operator: a server's bytes must not drive the terminal.
        .map(|l| crate::terminal::printable(&String::from_utf8_lossy(l.as_bytes()), ""));
    let mut kept = Vec::new();
    let mut read = 0usize;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if plan.keep_response && kept.len() < SHOWN_RESPONSE_BYTES {
                    kept.extend_from_slice(&chunk);
                }
                read = read.saturating_add(chunk.len());
                if read >= MAX_RESPONSE_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Ok(Delivered {
                    outcome: failure(&e),
                    id,
                    response: None,
                    location: None,
                });
            }
        }
    }
    let latency = started.elapsed();
    kept.truncate(SHOWN_RESPONSE_BYTES);
    Ok(Delivered {
        outcome: Outcome::Answered { status, latency },
        id,
        response: plan
            .keep_response
            .then(|| String::from_utf8_lossy(&kept).into_owned()),
        location,
    })
}

/// The answer to a single delivery, named by its id where the scheme sends one.
fn describe_single(delivered: &Delivered, sends_id: bool, json: bool) -> String {
    if json {
        return String::new();
    }
    match (&delivered.outcome, &delivered.response) {
        (Outcome::Answered { status, latency }, response) => {
            let mut s = format!(
                "{} answered HTTP {status} in {:.2} ms\n",
                if sends_id {
                    delivered.id.as_str()
                } else {
                    "the delivery"
                },
                latency.as_secs_f64() * 1000.0
            );
            if let Some(body) = response.as_deref().filter(|b| !b.is_empty()) {
                // Any server can answer: its bytes must not drive the terminal.
                s.push_str(&crate::terminal::printable(body.trim_end(), "\n\t"));
                s.push('\n');
            }
            s
        }
        (Outcome::Failed { .. }, _) => String::new(),
    }
}

/// The certificates of the `--cacert` PEM file (one or several).
fn certificates(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, CliError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    let what = format!("--cacert {}", path.display());
    // A CA bundle is some hundred kilobytes (the whole Mozilla set is about 200 KiB).
    let pem = crate::body::read_limited(
        crate::body::open(path, &what)?,
        &what,
        16 * 1024 * 1024,
        " (a PEM file of CA certificates is far smaller)",
    )?;
    let refused = |why: String| CliError::Usage(format!("{what}: {why}"));
    let mut certs = Vec::new();
    for (i, der) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let der = der.map_err(|e| refused(format!("certificate {}: {e}", i + 1)))?;
        // Parsed now, as the TLS client would parse it when it starts: a damaged certificate is
        // this file's fault, not the receiver's.
        rustls::RootCertStore::empty()
            .add(der.clone())
            .map_err(|e| refused(format!("certificate {} cannot be used: {e}", i + 1)))?;
        let cert = reqwest::Certificate::from_der(&der)
            .map_err(|e| refused(format!("certificate {}: {}", i + 1, chain(&e))))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(refused(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it; a DER file converts with \
             `openssl x509 -inform DER -in FILE -out FILE.pem`"
                .to_owned(),
        ));
    }
    Ok(certs)
}

/// What to do about a certificate rustls refused.
fn certificate_hint(refusal: &rustls::Error) -> &'static str {
    const NOT_FOR_A_SERVER: &str = " (the receiver's certificate is not for a TLS server: it \
                                    needs extendedKeyUsage=serverAuth)";
    use rustls::CertificateError as E;
    let rustls::Error::InvalidCertificate(error) = refusal else {
        return "";
    };
    // webpki's and the platform verifier's own errors sit behind `Other`, as types of theirs.
    let other = matches!(error, E::Other(_)).then(|| format!("{error:?}"));
    let other = other.as_deref().unwrap_or_default();
    match error {
        E::UnknownIssuer => {
            " (the receiver's certificate is not signed by a CA this machine trusts: pass the CA \
             that signed it, or a self-signed certificate itself, with --cacert FILE; --insecure \
             accepts any certificate, for development)"
        }
        _ if other.contains("CaUsedAsEndEntity") => {
            " (the receiver's certificate is marked as a CA, which rustls refuses as a server's \
             certificate even when trusted: `openssl req -x509` marks self-signed ones so by \
             default; make it with `-addext basicConstraints=critical,CA:FALSE` and pass it with \
             --cacert FILE, or use mkcert; --insecure accepts any certificate, for development)"
        }
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            " (the receiver's certificate does not name the host in --url: use a name it lists, \
             or give the receiver a certificate for this one)"
        }
        E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
            " (the receiver's certificate is outside its validity dates: renew it, or check this \
             machine's clock)"
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => NOT_FOR_A_SERVER,
        _ if other.contains("EkuError") => NOT_FOR_A_SERVER,
        _ => " (--insecure accepts any certificate, for development)",
    }
}

fn failure(e: &reqwest::Error) -> Outcome {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    let mut message = chain(e);
    if let Some(refusal) = certificate_refusal(e) {
        message.push_str(certificate_hint(refusal));
    } else if closed_while_sending(e) {
        message.push_str(
            " (the receiver closed the connection before it read the whole request: receivers \
             that refuse a request early, such as a 413 for a body over their size limit, do so)",
        );
    }
    Outcome::Failed { kind, message }
}

/// rustls's error when it refused the receiver's certificate (inside `io::Error`s).
fn certificate_refusal(e: &reqwest::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(refusal @ rustls::Error::InvalidCertificate(_)) =
            err.downcast_ref::<rustls::Error>()
        {
            return Some(refusal);
        }
        // An `io::Error`'s `source` skips the error it wraps: `get_ref` reaches it.
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// Whether the connection was reset or closed under the request: the answer, if the receiver
/// sent one first, is lost with it.
fn closed_while_sending(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            )
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// The URL as printed: a password in it is replaced by `***`.
fn shown(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Only fails for URLs that cannot have a password, and this one has one.
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

/// An error and its causes, `: `-separated (reqwest's own message hides the root cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
