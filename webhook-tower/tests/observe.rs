//! Metrics, the per-request span and the rate-limited warning.

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Once};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::{Layer, ServiceExt, service_fn};
use webhook_core::{FixedClock, Signer};
use webhook_tower::WebhookVerify;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;
const BODY: &str = r#"{"type":"user.login","data":{"email":"secret-body@example.com"}}"#;

fn request(id: &str, secret: &str) -> Request<Full<Bytes>> {
    let mut req = Request::post("/")
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .unwrap();
    *req.headers_mut() = Signer::standard(secret)
        .unwrap()
        .sign(id, NOW, BODY.as_bytes())
        .into();
    req
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `requests` on a runtime under a fresh metrics recorder; gives `webhook_requests_total`
/// by outcome.
fn requests_by_outcome(requests: impl std::future::Future<Output = ()>) -> Vec<(String, u64)> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || runtime().block_on(requests));
    let mut outcomes: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "webhook_requests_total")
        .map(|(key, _, _, value)| {
            let outcome = key.key().labels().map(|l| l.value().to_owned()).collect();
            let n = match value {
                DebugValue::Counter(n) => n,
                _ => 0,
            };
            (outcome, n)
        })
        .collect();
    outcomes.sort();
    outcomes
}

/// The counters of a snapshot as `(name, "label=value,…", count)`, sorted.
fn counters(
    snapshot: Vec<(
        metrics_util::CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        DebugValue,
    )>,
) -> Vec<(String, String, u64)> {
    let mut counters: Vec<(String, String, u64)> = snapshot
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                Some((key.name().to_owned(), labels.join(","), n))
            }
            _ => None,
        })
        .collect();
    counters.sort();
    counters
}

async fn drive(layer: WebhookVerify, requests: Vec<Request<Full<Bytes>>>) -> Vec<StatusCode> {
    let svc = layer.layer(service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    }));
    let mut statuses = Vec::new();
    for req in requests {
        statuses.push(svc.clone().oneshot(req).await.unwrap().status());
    }
    statuses
}

#[test]
fn metrics_count_outcomes_reasons_and_verify_time() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let wrong = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let statuses = metrics::with_local_recorder(&recorder, || {
        runtime().block_on(drive(
            WebhookVerify::new(SECRET).clock(Arc::new(FixedClock(NOW))),
            vec![
                request("m1", SECRET),
                request("m1", SECRET),
                request("m2", wrong),
                request("m3", wrong),
            ],
        ))
    });
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        ]
    );

    let snapshot = snapshotter.snapshot().into_vec();
    let verify_samples = snapshot
        .iter()
        .map(|(key, _, _, value)| match value {
            DebugValue::Histogram(samples)
                if key.key().name() == "webhook_verify_duration_seconds" =>
            {
                samples.len()
            }
            _ => 0,
        })
        .sum::<usize>();
    let counters = counters(snapshot);
    assert_eq!(
        counters,
        [
            (
                "webhook_rejections_total".into(),
                "reason=signature_mismatch,scheme=standard".into(),
                2
            ),
            (
                "webhook_requests_total".into(),
                "outcome=accepted".into(),
                1
            ),
            (
                "webhook_requests_total".into(),
                "outcome=duplicate".into(),
                1
            ),
            (
                "webhook_requests_total".into(),
                "outcome=rejected".into(),
                2
            ),
        ]
    );
    assert_eq!(verify_samples, 4);
}

/// Two senders of one scheme on two routes: `source` tells their metrics, span and warning
/// apart.
#[test]
fn a_named_layer_labels_its_metrics_span_and_warning_with_its_source() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let logs = capture_logs(|| {
        metrics::with_local_recorder(&recorder, || {
            runtime().block_on(async {
                let clock = Arc::new(FixedClock(NOW));
                let scalekit = WebhookVerify::new(SECRET)
                    .clock(clock.clone())
                    .source("scalekit");
                assert_eq!(scalekit.source_name(), Some("scalekit"));
                let clerk = WebhookVerify::new(other)
                    .clock(clock)
                    .source(String::from("clerk"));
                let scalekit = drive(scalekit, vec![request("s1", SECRET), request("s2", other)]);
                assert_eq!(scalekit.await, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
                assert_eq!(
                    drive(clerk, vec![request("c1", other)]).await,
                    [StatusCode::OK]
                );
            })
        })
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let histograms: Vec<String> = snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == "webhook_verify_duration_seconds")
        .map(|(key, ..)| key.key().labels().map(|l| l.value().to_owned()).collect())
        .collect();
    assert_eq!(
        histograms.len(),
        2,
        "one histogram per source: {histograms:?}"
    );
    assert_eq!(
        counters(snapshot),
        [
            (
                "webhook_rejections_total".into(),
                "reason=signature_mismatch,scheme=standard,source=scalekit".into(),
                1
            ),
            (
                "webhook_requests_total".into(),
                "outcome=accepted,source=clerk".into(),
                1
            ),
            (
                "webhook_requests_total".into(),
                "outcome=accepted,source=scalekit".into(),
                1
            ),
            (
                "webhook_requests_total".into(),
                "outcome=rejected,source=scalekit".into(),
                1
            ),
        ]
    );
    for needle in ["webhook.source=\"scalekit\"", "webhook.source=\"clerk\""] {
        assert!(
            logs.contains(needle) || logs.contains(&needle.replace('"', "")),
            "no {needle} in:\n{logs}"
        );
    }
    let warning = logs
        .lines()
        .find(|l| l.contains(" WARN "))
        .unwrap_or_default();
    // The warning's own fields, not the enclosing span's `webhook.source`, which the same line
    // shows when the span is enabled (and a WARN-level subscriber does not show).
    let (_span, event) = warning.split_once("}: ").unwrap_or(("", warning));
    assert!(
        event.contains("source=\"scalekit\"") || event.contains("source=scalekit"),
        "{logs}"
    );
}

/// Layers cloned from one and named apart count their failures apart: a failure behind one
/// does not silence the other's warning for the interval, nor add to its counts.
#[test]
fn layers_named_apart_warn_apart() {
    let wrong = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let logs = capture_logs(|| {
        runtime().block_on(async {
            let base = WebhookVerify::new(SECRET).clock(Arc::new(FixedClock(NOW)));
            let scalekit = base.clone().source("scalekit");
            let clerk = base.source("clerk");
            drive(scalekit, vec![request("s1", wrong)]).await;
            drive(clerk, vec![request("c1", wrong)]).await;
        })
    });
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 2, "{logs}");
    for (warning, source) in warnings.iter().zip(["scalekit", "clerk"]) {
        // The event's own fields, after the span's.
        let (_span, warning) = warning.split_once("}: ").unwrap_or(("", warning));
        assert!(
            warning.contains(&format!("source={source}"))
                || warning.contains(&format!("source=\"{source}\"")),
            "{warning}"
        );
        assert!(warning.contains("signature_mismatch ×1"), "{warning}");
    }
}

/// An extractor's rejection inside the layer (a 422 carrying a `Rejection`, as axum's
/// `VerifiedEvent` answers a body that does not fit its type) is a rejection like the layer's:
/// counted with its reason, answered by the rejection handler, the inner stack's headers kept
/// but not those of the body it replaced; and the id is not remembered as handled.
#[test]
fn an_inner_rejection_is_counted_and_answered_as_the_layers_own() {
    use webhook_core::Rejection;
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let answers = metrics::with_local_recorder(&recorder, || {
        runtime().block_on(async {
            let layer = WebhookVerify::new(SECRET)
                .clock(Arc::new(FixedClock(NOW)))
                .on_rejection(|r: &Rejection| {
                    let mut res =
                        Response::new(Full::new(Bytes::from(format!("custom:{}", r.code()))));
                    *res.status_mut() = StatusCode::from_u16(r.status()).unwrap();
                    res.headers_mut()
                        .insert("content-type", "text/plain".parse().unwrap());
                    res
                });
            let svc = layer.layer(service_fn(|_req: Request<Full<Bytes>>| async {
                let rejection = Rejection::UnprocessableEvent("field `data` does not fit".into());
                let mut res = Response::new(Full::new(Bytes::from(rejection.json_body())));
                *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                let headers = res.headers_mut();
                headers.insert("content-type", "application/json".parse().unwrap());
                headers.insert("content-encoding", "identity".parse().unwrap());
                headers.append("x-request-id", "r-1".parse().unwrap());
                headers.append("vary", "a".parse().unwrap());
                headers.append("vary", "b".parse().unwrap());
                res.extensions_mut().insert(rejection);
                Ok::<_, Infallible>(res)
            }));
            let mut answers = Vec::new();
            for _ in 0..2 {
                let res = svc.clone().oneshot(request("m1", SECRET)).await.unwrap();
                let (parts, body) = res.into_parts();
                let body = http_body_util::BodyExt::collect(body)
                    .await
                    .unwrap()
                    .to_bytes();
                answers.push((parts, body));
            }
            answers
        })
    });
    for (parts, body) in &answers {
        assert_eq!(parts.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(&body[..], b"custom:unprocessable_event");
        assert_eq!(parts.headers["content-type"], "text/plain");
        assert!(parts.headers.get("content-encoding").is_none());
        assert_eq!(parts.headers["x-request-id"], "r-1");
        let vary: Vec<_> = parts.headers.get_all("vary").iter().collect();
        assert_eq!(vary, ["a", "b"]);
        assert_eq!(
            parts.extensions.get::<Rejection>().map(Rejection::code),
            Some("unprocessable_event")
        );
    }
    let counters = counters(snapshotter.snapshot().into_vec());
    assert_eq!(
        counters,
        [
            (
                "webhook_rejections_total".into(),
                "reason=unprocessable_event,scheme=standard".into(),
                2
            ),
            (
                "webhook_requests_total".into(),
                "outcome=rejected".into(),
                2
            ),
        ]
    );
}

thread_local! {
    static CAPTURED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes into this thread's capture buffer.
struct ThreadBuffer;

impl Write for ThreadBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with_borrow_mut(|captured| captured.extend_from_slice(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` and returns what it logged on this thread, at every level.
///
/// One global subscriber writing into a per-thread buffer, rather than a scoped subscriber per
/// test: tracing caches each callsite's interest globally, and scoped subscribers created and
/// dropped by tests running in parallel race with that cache, so a test could capture nothing.
/// The runtimes here are current-thread, so everything a test logs is on its own thread.
fn capture_logs(f: impl FnOnce()) -> String {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(|| ThreadBuffer)
            .init();
    });
    CAPTURED.with_borrow_mut(Vec::clear);
    f();
    String::from_utf8(CAPTURED.with_borrow_mut(std::mem::take)).unwrap()
}

#[test]
fn repeated_failures_warn_once_per_interval_naming_the_check() {
    let wrong = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let logs = capture_logs(|| {
        runtime().block_on(async {
            let layer = WebhookVerify::new(SECRET).clock(Arc::new(FixedClock(NOW)));
            let mut stale = request("m_old", SECRET);
            stale.headers_mut().insert(
                "webhook-timestamp",
                (NOW - 1000).to_string().parse().unwrap(),
            );
            let requests = (0..5)
                .map(|i| request(&format!("w{i}"), wrong))
                .chain([stale])
                .collect();
            drive(layer, requests).await;
        })
    });
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 1, "one warning per interval, got:\n{logs}");
    assert!(
        warnings[0].contains("signature_mismatch ×1"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("wrong or rotated secret"),
        "{}",
        warnings[0]
    );
    // Which sender's secret to check, in an app with several.
    assert!(
        warnings[0].contains("scheme=\"standard\"") || warnings[0].contains("scheme=standard"),
        "{}",
        warnings[0]
    );
    assert!(
        !logs.contains("MfKQ9r8") && !logs.contains("C2FVsBQ"),
        "secrets must not be logged"
    );

    // With a zero interval every failure reports, with the counts accumulated since the last one.
    let logs = capture_logs(|| {
        runtime().block_on(async {
            let layer = WebhookVerify::new(SECRET)
                .clock(Arc::new(FixedClock(NOW)))
                .warn_interval(std::time::Duration::ZERO);
            drive(layer, vec![request("z1", wrong), request("z2", wrong)]).await;
        })
    });
    assert_eq!(
        logs.lines().filter(|l| l.contains(" WARN ")).count(),
        2,
        "{logs}"
    );
}

#[test]
fn span_carries_id_type_scheme_and_outcome_but_never_the_body() {
    let logs = capture_logs(|| {
        runtime().block_on(async {
            let layer = WebhookVerify::new(SECRET).clock(Arc::new(FixedClock(NOW)));
            drive(
                layer,
                vec![request("msg_span", SECRET), request("msg_span", SECRET)],
            )
            .await;
        })
    });
    assert!(
        logs.contains("webhook.id=\"msg_span\"") || logs.contains("webhook.id=msg_span"),
        "{logs}"
    );
    assert!(
        logs.contains("webhook.event_type=\"user.login\"")
            || logs.contains("webhook.event_type=user.login"),
        "{logs}"
    );
    assert!(
        logs.contains("webhook.scheme=\"standard\"") || logs.contains("webhook.scheme=standard"),
        "{logs}"
    );
    assert!(logs.contains("webhook.secret_index=0"), "{logs}");
    // The first request was handled, the second acknowledged as a duplicate (a span's fields
    // show on its close line).
    for outcome in ["accepted", "duplicate"] {
        assert!(
            logs.contains(&format!("webhook.outcome=\"{outcome}\""))
                || logs.contains(&format!("webhook.outcome={outcome}")),
            "no {outcome} outcome in:\n{logs}"
        );
    }
    assert!(
        !logs.contains("secret-body@example.com"),
        "the body must not be logged:\n{logs}"
    );
    assert!(!logs.contains("MfKQ9r8"), "the secret must not be logged");
}

/// A request dropped before it is answered (the client went away, a timeout outside the layer)
/// still counts, as `cancelled`: while the inner service runs, and while the body is read.
#[test]
fn a_request_dropped_before_its_answer_counts_as_cancelled() {
    let outcomes = requests_by_outcome(async {
        let layer = WebhookVerify::new(SECRET).clock(Arc::new(FixedClock(NOW)));
        let stuck = layer.layer(service_fn(|_req: Request<Full<Bytes>>| async {
            std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>().await
        }));
        let call = stuck.clone().oneshot(request("slow", SECRET));
        let dropped = tokio::time::timeout(std::time::Duration::from_millis(20), call).await;
        assert!(dropped.is_err(), "the inner service answered");

        // A client that sends its headers, then nothing.
        let body = http_body_util::StreamBody::new(futures_util::stream::pending::<
            Result<http_body::Frame<Bytes>, Infallible>,
        >());
        let mut streaming = Request::post("/").body(body).unwrap();
        *streaming.headers_mut() = request("streaming", SECRET).headers().clone();
        let call = layer
            .layer(service_fn(|_req: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }))
            .oneshot(streaming);
        let dropped = tokio::time::timeout(std::time::Duration::from_millis(20), call).await;
        assert!(dropped.is_err(), "the body was read to its end");
    });
    assert_eq!(outcomes, [("cancelled".to_owned(), 2)]);
}

/// A panic in the inner service, unwinding through the layer (to a catch-panic layer or the
/// server), counts as failed, not cancelled.
#[test]
fn a_panicking_inner_service_counts_as_failed() {
    use futures_util::FutureExt as _;
    let outcomes = requests_by_outcome(async {
        let svc = WebhookVerify::new(SECRET)
            .clock(Arc::new(FixedClock(NOW)))
            .layer(service_fn(|_req: Request<Full<Bytes>>| async {
                panic!("the handler panics");
                #[allow(unreachable_code)]
                Ok::<Response<Full<Bytes>>, Infallible>(Response::new(Full::new(Bytes::new())))
            }));
        let caught = std::panic::AssertUnwindSafe(svc.oneshot(request("boom", SECRET)))
            .catch_unwind()
            .await;
        assert!(caught.is_err());
    });
    assert_eq!(outcomes, [("failed".to_owned(), 1)]);
}

/// A rejection handler that panics counts the request once, as failed, not also as rejected:
/// after the body was read (a bad signature) and before (missing headers).
#[test]
fn a_panicking_rejection_handler_counts_once_as_failed() {
    use futures_util::FutureExt as _;
    let outcomes = requests_by_outcome(async {
        let svc = WebhookVerify::new(SECRET)
            .clock(Arc::new(FixedClock(NOW)))
            .on_rejection(|_: &webhook_core::Rejection| -> Response<Full<Bytes>> {
                panic!("the rejection handler panics")
            })
            .layer(service_fn(|_req: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }));
        let wrong_secret = request("boom", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let caught = std::panic::AssertUnwindSafe(svc.clone().oneshot(wrong_secret))
            .catch_unwind()
            .await;
        assert!(caught.is_err());
        // Refused on its headers, in `call`, before there is a response future.
        let mut unsigned = request("boom2", SECRET);
        unsigned.headers_mut().remove("webhook-signature");
        let caught = std::panic::AssertUnwindSafe(svc.oneshot(unsigned))
            .catch_unwind()
            .await;
        assert!(caught.is_err());
    });
    assert_eq!(outcomes, [("failed".to_owned(), 2)]);
}
