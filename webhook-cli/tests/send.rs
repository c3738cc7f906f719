//! `webhook send` against a real receiver on an ephemeral port, verifying with webhook-core.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{assert_exit_0, webhook};
use predicates::prelude::*;
use webhook_core::{Scheme, Verifier};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Default)]
struct Seen {
    valid: u64,
    invalid: Vec<&'static str>,
    ids: HashSet<String>,
    event_ids: HashSet<String>,
    event_types: Vec<String>,
}

#[derive(Clone)]
struct Receiver {
    verifier: Option<Verifier>,
    seen: Arc<Mutex<Seen>>,
}

/// A receiver listening on 127.0.0.1:0 until the test process ends. With `verifier: None` it
/// accepts everything (a broken receiver).
struct Running {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

fn start(verifier: Option<Verifier>) -> Running {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = Receiver {
        verifier,
        seen: seen.clone(),
    };
    let url = serve(
        axum::Router::new()
            .route("/webhooks", post(receive))
            .with_state(state),
    );
    Running { url, seen }
}

/// Serves `app` on 127.0.0.1:0 from a thread of its own until the test process ends; returns
/// the URL of its `/webhooks` route.
fn serve(app: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    url
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, String) {
    let mut seen = receiver.seen.lock().unwrap();
    let Some(verifier) = &receiver.verifier else {
        seen.valid += 1;
        return (StatusCode::OK, String::new());
    };
    match verifier.verify_delivery(&headers, body) {
        Ok(delivery) => {
            seen.valid += 1;
            seen.ids
                .insert(delivery.id().unwrap_or_default().to_owned());
            if let Some(event_id) = delivery.event_id() {
                seen.event_ids.insert(event_id.to_owned());
            }
            if let Some(t) = delivery.event_type() {
                seen.event_types.push(t.to_owned());
            }
            (
                StatusCode::CREATED,
                format!(r#"{{"received":"{}"}}"#, delivery.dedupe_key()),
            )
        }
        Err(e) => {
            seen.invalid.push(e.code());
            (
                StatusCode::from_u16(e.status()).unwrap(),
                e.code().to_owned(),
            )
        }
    }
}

fn summary(out: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {text} / {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn count_20_concurrency_4_all_verify_with_distinct_ids() {
    let receiver = start(Some(Verifier::standard(SECRET).unwrap()));
    let out = webhook()
        .args(["send", "--url", &receiver.url, "--secret", SECRET])
        .args(["--count", "20", "--concurrency", "4", "--json"])
        .output()
        .unwrap();
    assert_exit_0(&out, "webhook");
    let json = summary(&out);
    assert_eq!(json["sent"], 20);
    assert_eq!(json["planned"], 20);
    assert!(json.get("id").is_none(), "{json}");
    assert_eq!(json["statuses"]["201"], 20);
    assert_eq!(json["interrupted"], false);
    assert_eq!(json["unexpected"], 0);
    assert!(json["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert!(
        json["latency_ms"]["p99"].as_f64().unwrap() >= json["latency_ms"]["p50"].as_f64().unwrap()
    );
    assert!(json["per_second"].as_f64().unwrap() > 0.0);

    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.valid, 20);
    assert!(seen.invalid.is_empty(), "{:?}", seen.invalid);
    assert_eq!(seen.ids.len(), 20, "every delivery has its own webhook-id");
    assert_eq!(seen.event_ids.len(), 20, "every sample has its own evt_ id");
    assert!(seen.event_types.iter().all(|t| t == "organization.created"));
}

#[test]
fn the_human_summary_names_statuses_latency_and_throughput() {
    let receiver = start(Some(Verifier::standard(SECRET).unwrap()));
    webhook()
        .env("WEBHOOK_SECRET", SECRET)
        .args(["send", "--url", &receiver.url, "-n", "5", "-c", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sent 5 deliveries"))
        .stdout(predicate::str::contains("201 Created"))
        .stdout(predicate::str::contains("p50"))
        .stdout(predicate::str::contains("p99"))
        .stdout(predicate::str::contains("deliveries/s"));
}

#[test]
fn tamper_sends_bad_signatures_that_get_401() {
    let receiver = start(Some(Verifier::standard(SECRET).unwrap()));
    let out = webhook()
        .args(["send", "--url", &receiver.url, "--secret", SECRET])
        .args(["--tamper", "--count", "6", "--concurrency", "3", "--json"])
        .output()
        .unwrap();
    assert_exit_0(&out, "webhook");
    assert_eq!(summary(&out)["statuses"]["401"], 6);
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.valid, 0);
    assert_eq!(seen.invalid, vec!["signature_mismatch"; 6]);
}

#[test]
fn tamper_timestamp_sends_stale_deliveries_that_get_401() {
    let receiver = start(Some(Verifier::standard(SECRET).unwrap()));
    webhook()
        .args(["send", "--url", &receiver.url, "--secret", SECRET])
        .args(["--tamper", "timestamp", "--count", "3"])
        .assert()
        .success();
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.invalid, vec!["timestamp_too_old"; 3]);
}

#[test]
fn a_receiver_that_accepts_tampered_deliveries_fails_the_run_with_exit_1() {
    let receiver = start(None);
    webhook()
        .args(["send", "--url", &receiver.url, "--secret", SECRET])
        .args(["--tamper", "--count", "2"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("(unexpected)"))
        .stderr(predicate::str::contains(
            "although their signatures were bad",
        ));
}

#[test]
fn a_wrong_secret_gets_401s_and_exit_1() {
    let receiver = start(Some(Verifier::standard(SECRET).unwrap()));
    webhook()
        .args(["send", "--url", &receiver.url])
        .args([
            "--secret",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "--count",
            "2",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("401 Unauthorized"));
    assert_eq!(receiver.seen.lock().unwrap().invalid.len(), 2);
}

#[test]
fn a_single_typed_event_shows_the_response() {
    let receiver = start(Some(Verifier::standard(SECRET).unwrap()));
    webhook()
        .args(["send", "--url", &receiver.url, "--secret", SECRET])
        .args(["--type", "organization.directory.user_created"])
        .assert()
        .success()
        .stdout(predicate::str::contains("answered HTTP 201"))
        .stdout(predicate::str::contains(r#"{"received":"standard:msg_"#));
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(
        seen.event_types,
        vec!["organization.directory.user_created"]
    );
}

#[test]
fn a_body_file_is_sent_under_another_scheme() {
    let receiver = start(Some(Verifier::new(Scheme::GitHub, "gh-secret").unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("push.json");
    std::fs::write(&body, b"{\"ref\":\"refs/heads/main\"}\n").unwrap();
    webhook()
        .args([
            "send",
            "--url",
            &receiver.url,
            "--scheme",
            "github",
            "--secret",
            "gh-secret",
        ])
        .arg("--body-file")
        .arg(&body)
        .args(["--count", "3", "-H", "X-GitHub-Event: push"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.valid, 3);
    assert_eq!(seen.ids.len(), 3);
    assert_eq!(seen.event_types, vec!["push"; 3]);
}

/// Stripe sends no delivery id: one body sent several times is one delivery to a receiver,
/// and `send` says so.
#[test]
fn one_body_sent_several_times_under_stripe_is_flagged() {
    let receiver = start(Some(Verifier::new(Scheme::Stripe, "whsec_s").unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("event.json");
    std::fs::write(&body, br#"{"id":"evt_1","type":"invoice.paid"}"#).unwrap();
    webhook()
        .args(["send", "--url", &receiver.url, "--scheme", "stripe"])
        .args(["--secret", "whsec_s", "--count", "2", "--body-file"])
        .arg(&body)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "stripe sends no delivery id, so receivers dedupe it on the body",
        ));
}

#[test]
fn every_scheme_is_accepted_by_its_verifier() {
    for scheme in Scheme::ALL {
        let secret = match scheme {
            Scheme::StandardWebhooks => SECRET,
            _ => "a-raw-secret",
        };
        let receiver = start(Some(Verifier::new(scheme, secret).unwrap()));
        webhook()
            .args([
                "send",
                "--url",
                &receiver.url,
                "--scheme",
                scheme.as_str(),
                "--secret",
                secret,
            ])
            .args(["--type", "user.login", "--count", "2"])
            .assert()
            .success();
        assert_eq!(receiver.seen.lock().unwrap().valid, 2, "{scheme}");
    }
}

#[test]
fn an_unreachable_receiver_exits_3() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    webhook()
        .args([
            "send",
            "--url",
            &format!("http://127.0.0.1:{port}/"),
            "--secret",
            SECRET,
        ])
        .args(["--count", "2", "--timeout", "2"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("connect error"))
        .stderr(predicate::str::contains("got no answer"));
}

/// A receiver that closes the connection before reading the body (as one answering 413 early
/// does) resets it under the request: the error says what that usually means.
#[test]
fn a_connection_closed_under_the_body_says_why_that_happens() {
    use std::io::Read as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            // Read a little of the request, then close with the rest unread: a reset.
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head);
            drop(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 8 << 20]).unwrap();
    webhook()
        .args([
            "send",
            "--url",
            &format!("http://127.0.0.1:{port}/"),
            "--secret",
            SECRET,
        ])
        .arg("--body-file")
        .arg(&big)
        .args(["--timeout", "20"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "closed the connection before it read the whole request",
        ));
}

/// A redirect is not followed (it would send the delivery elsewhere), and the error says
/// where it pointed.
#[test]
fn a_redirect_is_reported_with_its_location() {
    let url = serve(axum::Router::new().route(
        "/webhooks",
        post(|| async {
            (
                StatusCode::PERMANENT_REDIRECT,
                [("location", "/webhooks/v2")],
            )
        }),
    ));
    webhook()
        .args(["send", "--url", &url, "--secret", SECRET, "--count", "2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the receiver redirected to /webhooks/v2, which is not followed",
        ));
}

/// A password in `--url` is never printed: not in the summary, the JSON or the error line.
#[test]
fn a_password_in_the_url_is_not_printed() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://admin:s3cr3tpw@127.0.0.1:{port}/");
    for json in [false, true] {
        let mut cmd = webhook();
        cmd.args(["send", "--url", &url, "--secret", SECRET, "--timeout", "2"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!printed.contains("s3cr3tpw"), "{printed}");
        assert!(printed.contains("admin:***@127.0.0.1"), "{printed}");
    }
}

#[test]
fn usage_errors_exit_2() {
    webhook()
        .args([
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--secret",
            SECRET,
            "--type",
            "nope.nope",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("webhook samples"));
    webhook()
        .args([
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--scheme",
            "github",
            "--secret",
            "x",
        ])
        .args(["--tamper", "timestamp"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("timestamp"));
    webhook()
        .args(["send", "--url", "not a url", "--secret", SECRET])
        .assert()
        .code(2);
    webhook()
        .args(["send", "--url", "ftp://127.0.0.1/", "--secret", SECRET])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("http://"));
    webhook()
        .args([
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--secret",
            SECRET,
            "--count",
            "0",
        ])
        .assert()
        .code(2);
    webhook()
        .args(["send", "--url", "http://127.0.0.1:9/", "--secret", SECRET])
        .args(["--type", "user.login", "--body-file", "x.json"])
        .assert()
        .code(2);
    webhook()
        .args(["send", "--url", "http://127.0.0.1:9/", "--secret", SECRET])
        .args(["--timeout", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--timeout"));
}

#[test]
fn samples_lists_the_catalog_and_prints_bodies_that_sign_and_verify() {
    webhook()
        .arg("samples")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "organization.directory.user_created",
        ))
        .stdout(predicate::str::contains("DirectoryUser"));
    let out = webhook().args(["samples", "user.login"]).output().unwrap();
    assert!(out.status.success());
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["type"], "user.login");
}

/// A receiver that answers 200 and then streams a body without end: `send` reads the first
/// 64 KiB, takes the 2xx, and moves on instead of waiting for `--timeout`.
#[test]
fn an_endless_response_body_is_cut_off_and_the_2xx_counts() {
    let endless = || async {
        let chunks = futures_util::stream::repeat_with(|| {
            Ok::<_, std::convert::Infallible>(axum::body::Bytes::from_static(&[b'x'; 4096]))
        });
        axum::body::Body::from_stream(chunks)
    };
    let url = serve(axum::Router::new().route("/webhooks", post(endless)));
    let started = std::time::Instant::now();
    let out = webhook()
        .args(["send", "--url", &url, "--secret", SECRET])
        .args(["--count", "2", "--timeout", "20"])
        .output()
        .unwrap();
    assert_exit_0(&out, "webhook");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

/// `--tamper` expects the answers of a failed verification: a 404 from a wrong path proves
/// nothing about the receiver's checks.
#[test]
fn tamper_against_a_wrong_path_is_not_a_pass() {
    let receiver = start(Some(
        Verifier::new(Scheme::StandardWebhooks, SECRET).unwrap(),
    ));
    let wrong = receiver.url.replace("/webhooks", "/typo");
    webhook()
        .args(["send", "--url", &wrong, "--secret", SECRET, "--tamper"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("400/401/403"));
}

/// Ctrl-C in the middle of a long run still prints the summary of what was answered, and exits
/// 130, as shells report an interrupted command.
#[cfg(unix)]
#[test]
fn ctrl_c_prints_the_summary_so_far_and_exits_130() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};
    let answered = Arc::new(AtomicU64::new(0));
    let counter = answered.clone();
    let url = serve(axum::Router::new().route(
        "/webhooks",
        post(move || {
            let counter = counter.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                counter.fetch_add(1, Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }
        }),
    ));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args([
            "send", "--url", &url, "--secret", SECRET, "--json", "--quiet",
        ])
        .args(["--count", "100000", "--concurrency", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A few answered deliveries: the run is under way, and its Ctrl-C handler (installed before
    // the first delivery is sent) is in place.
    let started = Instant::now();
    while answered.load(Ordering::SeqCst) < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no delivery arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let interrupted = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(10),
        "stopped promptly"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let json = summary(&out);
    assert_eq!(json["interrupted"], true);
    let sent = json["sent"].as_u64().unwrap();
    assert!(sent > 0 && sent < 100_000, "{json}");
    assert_eq!(json["statuses"]["204"], sent);
    assert!(
        stderr.contains(&format!("interrupted: {sent} of 100000")),
        "{stderr}"
    );
}

/// Any server can answer `send`: escape sequences in its answer are shown escaped, never sent
/// to the terminal raw.
#[test]
fn a_receivers_answer_cannot_drive_the_terminal() {
    let url = serve(axum::Router::new().route(
        "/webhooks",
        post(|| async {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "\x1b[31mRED\x1b]0;pwned\x07 error\u{202e}desrever",
            )
        }),
    ));
    let out = webhook()
        .args(["send", "--url", &url, "--secret", SECRET])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\x07'),
        "{stdout:?}"
    );
    assert!(!stdout.contains('\u{202e}'), "{stdout:?}");
    assert!(stdout.contains("\\u{1b}[31mRED"), "{stdout:?}");
}

/// A URL without its scheme (`localhost:3000/webhooks` parses as the scheme `localhost`) is
/// refused with the URL it probably meant.
#[test]
fn a_url_without_scheme_suggests_http() {
    webhook()
        .args([
            "send",
            "--url",
            "localhost:3000/webhooks",
            "--secret",
            SECRET,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "did you mean http://localhost:3000/webhooks?",
        ));
    webhook()
        .args(["send", "--url", "ftp://example.com/x", "--secret", SECRET])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("not ftp:")
                .and(predicate::str::contains("did you mean").not()),
        );
}

/// `send --event` sends GitHub's event header; a `--header` of that name wins over it.
#[test]
fn send_event_sets_the_event_header_and_header_overrides_it() {
    let url = serve(axum::Router::new().route(
        "/webhooks",
        post(|headers: http::HeaderMap| async move {
            match headers.get_all("x-github-event").iter().collect::<Vec<_>>()[..] {
                [one] if one == "push" => StatusCode::NO_CONTENT,
                _ => StatusCode::BAD_REQUEST,
            }
        }),
    ));
    let send = |extra: &[&str]| {
        webhook()
            .args(["send", "--url", &url, "--scheme", "github", "--secret", "s"])
            .args(["--event", "push"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(send(&[]).status.code(), Some(0));
    assert_eq!(
        send(&["--header", "X-GitHub-Event: issues"]).status.code(),
        Some(1)
    );
}

/// `--json` of a single delivery carries its id (for `inbox show`) and the receiver's answer,
/// as the human summary shows them.
#[test]
fn a_single_delivery_in_json_has_its_id_and_answer() {
    let receiver = start(Some(Verifier::standard(SECRET).unwrap()));
    let out = webhook()
        .args(["send", "--url", &receiver.url, "--json"])
        .args(["--secret", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json = summary(&out);
    assert_eq!(json["planned"], 1);
    assert_eq!(json["statuses"]["401"], 1);
    assert!(json["id"].as_str().unwrap().starts_with("msg_"), "{json}");
    assert!(!json["response"].as_str().unwrap().is_empty(), "{json}");
    assert_eq!(json["location"], serde_json::Value::Null);
}

/// A `--header` that replaces the id header: the id reported is the one sent, so that
/// `inbox show ID` finds the delivery.
#[test]
fn a_replaced_id_header_is_the_id_reported() {
    let url =
        serve(axum::Router::new().route("/webhooks", post(|| async { StatusCode::NO_CONTENT })));
    let out = webhook()
        .args(["send", "--url", &url, "--secret", SECRET, "--json"])
        .args(["--header", "webhook-id: msg_chosen"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(summary(&out)["id"], "msg_chosen");
}

/// Stripe's deliveries carry no delivery id: `--json` has none to give (the made-up one was
/// sent nowhere), and the human line says "the delivery".
#[test]
fn a_scheme_without_delivery_ids_reports_none() {
    let url =
        serve(axum::Router::new().route("/webhooks", post(|| async { StatusCode::NO_CONTENT })));
    let out = webhook()
        .args([
            "send", "--url", &url, "--scheme", "stripe", "--secret", "whsec_x", "--json",
        ])
        .output()
        .unwrap();
    assert_exit_0(&out, "stripe --json");
    assert_eq!(summary(&out)["id"], serde_json::Value::Null);
    let out = webhook()
        .args([
            "send", "--url", &url, "--scheme", "stripe", "--secret", "whsec_x",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("the delivery answered HTTP 204"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A redirect's location and the answer in `--json` are escaped too (JSON leaves bidi and C1
/// characters raw).
#[test]
fn a_redirects_location_cannot_drive_the_terminal() {
    let url = serve(axum::Router::new().route(
        "/webhooks",
        post(|| async {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(
                    "location",
                    http::HeaderValue::from_bytes(
                        "https://evil.example/\u{202e}gpj.exe".as_bytes(),
                    )
                    .unwrap(),
                )],
                "moved\u{202e}",
            )
        }),
    ));
    let out = webhook()
        .args(["send", "--url", &url, "--secret", SECRET])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
    assert!(stderr.contains("\\u{202e}gpj.exe"), "{stderr:?}");
    let out = webhook()
        .args(["send", "--url", &url, "--secret", SECRET, "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\u{202e}'), "{stdout:?}");
}
