//! Rejection metrics and the rate-limited warning when verification keeps failing, as the tower
//! layer has them.

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::sync::Once;
use std::time::Duration;

use actix_web::{App, HttpResponse, web};
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use webhook_actix::testing::SignedRequest;
use webhook_actix::{VerifiedEvent, WebhookConfig, WebhookDedupe};

async fn handler(_event: VerifiedEvent<OrgEvent>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// An app with `config`, routing `POST /webhooks` to `handler` behind `WebhookDedupe`.
macro_rules! deduped_app {
    ($config:expr, $handler:expr) => {{
        let config = $config;
        let dedupe = WebhookDedupe::memory_for(&config);
        actix_web::test::init_service(
            App::new().app_data(config).service(
                web::resource("/webhooks")
                    .wrap(dedupe)
                    .route(web::post().to($handler)),
            ),
        )
        .await
    }};
}

/// Two webhook extractors in one handler (documented as unsupported).
async fn two_extractors(
    _a: webhook_actix::VerifiedDelivery,
    _b: webhook_actix::VerifiedDelivery,
) -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Sends each request in turn to an app with `config`; returns the statuses.
fn drive(config: WebhookConfig, requests: Vec<SignedRequest>) -> Vec<u16> {
    actix_web::rt::System::new().block_on(async move {
        let app = actix_web::test::init_service(
            App::new()
                .app_data(config)
                .route("/webhooks", web::post().to(handler)),
        )
        .await;
        let mut statuses = Vec::new();
        for req in requests {
            let res = actix_web::test::call_service(&app, req.to_request()).await;
            statuses.push(res.status().as_u16());
        }
        statuses
    })
}

fn wrong_secret(id: &str) -> SignedRequest {
    SignedRequest::new(OLD_SECRET, ORG_CREATED.to_owned())
        .uri("/webhooks")
        .id(id)
}

#[test]
fn rejections_are_counted_by_reason() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let statuses = metrics::with_local_recorder(&recorder, || {
        drive(
            WebhookConfig::secret(SECRET).unwrap(),
            vec![
                signed(ORG_CREATED),
                wrong_secret("m1"),
                wrong_secret("m2"),
                signed(ORG_CREATED).header("webhook-timestamp", "1000"),
            ],
        )
    });
    assert_eq!(statuses, [200, 401, 401, 401]);
    let counters = counters(snapshotter.snapshot().into_vec());
    assert_eq!(
        counters,
        [
            (
                "webhook_rejections_total".to_owned(),
                "reason=signature_mismatch,scheme=standard".to_owned(),
                2
            ),
            (
                "webhook_rejections_total".to_owned(),
                "reason=timestamp_too_old,scheme=standard".to_owned(),
                1
            ),
            (
                "webhook_requests_total".to_owned(),
                "outcome=rejected".to_owned(),
                3
            ),
        ]
    );
}

/// Outcomes as the tower layer counts them, so one dashboard serves both: under WebhookDedupe
/// the handler's answer is known (accepted, failed); a body that does not fit the handler's
/// type is one rejected request, not also a failed one.
#[test]
fn outcomes_are_counted_as_the_tower_layer_counts_them() {
    async fn answer(event: VerifiedEvent<OrgEvent>) -> HttpResponse {
        if event.delivery().id() == Some("m_bad") {
            HttpResponse::InternalServerError().finish()
        } else {
            HttpResponse::Ok().finish()
        }
    }
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let statuses = metrics::with_local_recorder(&recorder, || {
        actix_web::rt::System::new().block_on(async {
            let config = WebhookConfig::secret(SECRET)
                .unwrap()
                .events(webhook_core::EventFilter::new(["organization.*"]).unwrap());
            let dedupe = webhook_actix::WebhookDedupe::memory_for(&config);
            let app = actix_web::test::init_service(
                App::new().app_data(config).service(
                    web::resource("/webhooks")
                        .wrap(dedupe)
                        .route(web::post().to(answer)),
                ),
            )
            .await;
            let not_an_org = ORG_CREATED.replace(r#""display_name":"Acme""#, r#""display_name":5"#);
            let requests = vec![
                signed(ORG_CREATED).id("m_ok"),
                signed(ORG_CREATED).id("m_ok"),
                signed(ORG_CREATED).id("m_bad"),
                wrong_secret("m_wrong"),
                signed(&ORG_CREATED.replace("organization.created", "user.login")).id("m_user"),
                signed(&not_an_org).id("m_422"),
            ];
            let mut statuses = Vec::new();
            for req in requests {
                let res = actix_web::test::call_service(&app, req.to_request()).await;
                statuses.push(res.status().as_u16());
            }
            statuses
        })
    });
    assert_eq!(statuses, [200, 200, 500, 401, 200, 422]);
    let snapshot = snapshotter.snapshot().into_vec();
    let mut outcomes: Vec<(String, u64)> = snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == "webhook_requests_total")
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => Some((
                key.key().labels().map(|l| l.value().to_owned()).collect(),
                *n,
            )),
            _ => None,
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            ("accepted".to_owned(), 1),
            ("duplicate".to_owned(), 1),
            ("failed".to_owned(), 1),
            ("rejected".to_owned(), 2),
            ("unsubscribed".to_owned(), 1),
        ]
    );
    let verified = snapshot
        .iter()
        .find(|(key, ..)| key.key().name() == "webhook_verify_duration_seconds")
        .map(|(.., value)| match value {
            DebugValue::Histogram(samples) => samples.len(),
            _ => 0,
        });
    assert_eq!(verified, Some(6), "every body that reached verification");
}

#[test]
fn repeated_failures_warn_once_per_interval_naming_the_check() {
    let logs = capture_logs(|| {
        drive(
            WebhookConfig::secret(SECRET).unwrap(),
            (0..5).map(|i| wrong_secret(&format!("w{i}"))).collect(),
        );
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
    assert!(
        warnings[0].contains("scheme=\"standard\""),
        "{}",
        warnings[0]
    );
    assert!(
        !logs.contains("MfKQ9r8") && !logs.contains("C2FVsBQ"),
        "secrets must not be logged"
    );

    let logs = capture_logs(|| {
        drive(
            WebhookConfig::secret(SECRET)
                .unwrap()
                .warn_interval(Duration::ZERO),
            vec![wrong_secret("z1"), wrong_secret("z2")],
        );
    });
    assert_eq!(
        logs.lines().filter(|l| l.contains(" WARN ")).count(),
        2,
        "{logs}"
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

/// Runs `f` and returns what it logged on this thread (one global subscriber writing into a
/// per-thread buffer; actix's test system runs on the calling thread).
fn capture_logs(f: impl FnOnce()) -> String {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadBuffer)
            .init();
    });
    CAPTURED.with_borrow_mut(Vec::clear);
    f();
    String::from_utf8(CAPTURED.with_borrow_mut(std::mem::take)).unwrap()
}

/// The label sets (`"label=value,…"`) of the metrics named `name` in a snapshot, sorted.
fn label_sets(
    snapshot: &[(
        metrics_util::CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        DebugValue,
    )],
    name: &str,
) -> Vec<String> {
    let mut sets: Vec<String> = snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == name)
        .map(|(key, ..)| {
            key.key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    sets.sort();
    sets
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
                let labels: Vec<String> = key
                    .key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                Some((key.key().name().to_owned(), labels.join(","), n))
            }
            _ => None,
        })
        .collect();
    counters.sort();
    counters
}

fn outcome_counts(recorder: &DebuggingRecorder) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, ..)| k.key().name() == "webhook_requests_total")
        .filter_map(|(k, _, _, v)| match v {
            DebugValue::Counter(n) => {
                Some((k.key().labels().map(|l| l.value().to_owned()).collect(), n))
            }
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// An `error_handler` that panics (on a wrong signature), under `WebhookDedupe`: the request is
/// counted once, as `failed`, as the tower layer counts it.
#[test]
fn a_panicking_error_handler_counts_once_as_failed() {
    let recorder = DebuggingRecorder::new();
    let caught = metrics::with_local_recorder(&recorder, || {
        std::panic::catch_unwind(|| {
            actix_web::rt::System::new().block_on(async {
                let app = deduped_app!(
                    WebhookConfig::secret(SECRET)
                        .unwrap()
                        .error_handler(|_r, _req| panic!("the error handler panics")),
                    handler
                );
                let req =
                    webhook_actix::testing::SignedRequest::new(OLD_SECRET, ORG_CREATED.to_owned())
                        .uri("/webhooks")
                        .id("m1");
                actix_web::test::call_service(&app, req.to_request()).await;
            })
        })
    });
    assert!(caught.is_err(), "the handler panicked");
    let counted = outcome_counts(&recorder);
    eprintln!("webhook_requests_total after a panicking error handler: {counted:?}");
    assert_eq!(
        counted,
        [("failed".to_owned(), 1)],
        "as the tower layer counts it"
    );
}

/// No `WebhookConfig` registered: every delivery is answered 500 `misconfigured` and counted
/// as rejected (a deployment mistake that metrics should show).
#[test]
fn a_missing_config_is_counted_as_rejected() {
    let recorder = DebuggingRecorder::new();
    let status = metrics::with_local_recorder(&recorder, || {
        actix_web::rt::System::new().block_on(async {
            let app = actix_web::test::init_service(
                App::new().route("/webhooks", web::post().to(handler)),
            )
            .await;
            let res = actix_web::test::call_service(&app, signed(ORG_CREATED).to_request()).await;
            res.status().as_u16()
        })
    });
    assert_eq!(status, 500);
    let counted = outcome_counts(&recorder);
    eprintln!("webhook_requests_total after a 500 misconfigured: {counted:?}");
    assert_eq!(counted, [("rejected".to_owned(), 1)]);
    let rejections = label_sets(
        &recorder.snapshotter().snapshot().into_vec(),
        "webhook_rejections_total",
    );
    assert_eq!(rejections, ["reason=misconfigured,scheme=none"]);
}

/// Each request has the tower layer's `webhook` span: under `WebhookDedupe` around the
/// handler too (its logs carry the delivery), without it around the extractor's work; with the
/// id, event type, scheme and outcome, never the body.
#[test]
fn a_webhook_span_carries_the_delivery_and_the_outcome() {
    async fn logging_handler(event: VerifiedEvent<OrgEvent>) -> HttpResponse {
        tracing::info!("handling {}", event.delivery().id().unwrap_or_default());
        HttpResponse::Ok().finish()
    }
    let logs = capture_logs(|| {
        actix_web::rt::System::new().block_on(async {
            let app = deduped_app!(WebhookConfig::secret(SECRET).unwrap(), logging_handler);
            for _ in 0..2 {
                let req = SignedRequest::new(SECRET, ORG_CREATED.to_owned())
                    .uri("/webhooks")
                    .id("msg_span");
                actix_web::test::call_service(&app, req.to_request()).await;
            }
        })
    });
    let handling = logs
        .lines()
        .find(|l| l.contains("handling msg_span"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(handling.contains("webhook{"), "{handling}");
    assert!(handling.contains("webhook.id=\"msg_span\""), "{handling}");
    assert!(
        handling.contains("webhook.scheme=\"standard\""),
        "{handling}"
    );
    assert!(handling.contains("webhook.event_type="), "{handling}");
    assert!(handling.contains("webhook.secret_index=0"), "{handling}");
    let duplicate = logs
        .lines()
        .find(|l| l.contains("already processed"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        duplicate.contains("webhook.outcome=\"duplicate\""),
        "{duplicate}"
    );
    assert!(!logs.contains("Acme"), "the body is never logged: {logs}");

    // Without the middleware: the extractor's own span.
    let logs = capture_logs(|| {
        drive(
            WebhookConfig::secret(SECRET).unwrap(),
            vec![wrong_secret("msg_wrong")],
        );
    });
    let rejected = logs
        .lines()
        .find(|l| l.contains("webhook rejected"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        rejected.contains("webhook{") && rejected.contains("webhook.outcome=\"rejected\""),
        "{rejected}"
    );
}

/// Two webhook extractors in one handler under `WebhookDedupe` (documented as unsupported: the
/// second reads an empty body): the request is counted once, as rejected (not also as failed
/// for the first one's claim, which the rejection releases).
#[test]
fn two_extractors_count_one_request_once() {
    let recorder = DebuggingRecorder::new();
    let status = metrics::with_local_recorder(&recorder, || {
        actix_web::rt::System::new().block_on(async {
            let app = deduped_app!(WebhookConfig::secret(SECRET).unwrap(), two_extractors);
            let res = actix_web::test::call_service(&app, signed(ORG_CREATED).to_request()).await;
            res.status().as_u16()
        })
    });
    let counted = outcome_counts(&recorder);
    eprintln!("status {status}, webhook_requests_total: {counted:?}");
    assert_eq!(
        counted.iter().map(|(_, n)| n).sum::<u64>(),
        1,
        "{counted:?}"
    );
}

/// The same with a panicking `error_handler`: counted once, as failed.
#[test]
fn a_panicking_error_handler_after_a_claim_counts_once() {
    let recorder = DebuggingRecorder::new();
    let caught = metrics::with_local_recorder(&recorder, || {
        std::panic::catch_unwind(|| {
            actix_web::rt::System::new().block_on(async {
                let app = deduped_app!(
                    WebhookConfig::secret(SECRET)
                        .unwrap()
                        .error_handler(|_r, _req| panic!("the error handler panics")),
                    two_extractors
                );
                actix_web::test::call_service(&app, signed(ORG_CREATED).to_request()).await;
            })
        })
    });
    assert!(caught.is_err());
    let counted = outcome_counts(&recorder);
    eprintln!("webhook_requests_total: {counted:?}");
    assert_eq!(counted, [("failed".to_owned(), 1)]);
}

/// Two requests interleaved on one actix thread: each handler log line, before and after an
/// await, carries its own delivery's span.
#[test]
fn interleaved_requests_keep_their_own_spans() {
    async fn slow(event: VerifiedEvent<OrgEvent>) -> HttpResponse {
        let id = event.delivery().id().unwrap_or_default().to_owned();
        tracing::info!("before {id}");
        actix_web::rt::time::sleep(Duration::from_millis(if id == "msg_a" { 50 } else { 10 }))
            .await;
        tracing::info!("after {id}");
        HttpResponse::Ok().finish()
    }
    let logs = capture_logs(|| {
        actix_web::rt::System::new().block_on(async {
            let app = deduped_app!(WebhookConfig::secret(SECRET).unwrap(), slow);
            let a =
                actix_web::test::call_service(&app, signed(ORG_CREATED).id("msg_a").to_request());
            let b =
                actix_web::test::call_service(&app, signed(ORG_CREATED).id("msg_b").to_request());
            futures_util::future::join(a, b).await;
            tracing::info!("outside");
        })
    });
    eprintln!("{logs}");
    for id in ["msg_a", "msg_b"] {
        for when in ["before", "after"] {
            let line = logs
                .lines()
                .find(|l| l.contains(&format!("{when} {id}")))
                .unwrap();
            assert!(line.contains(&format!("webhook.id=\"{id}\"")), "{line}");
            let other = if id == "msg_a" { "msg_b" } else { "msg_a" };
            assert!(!line.contains(&format!("webhook.id=\"{other}\"")), "{line}");
        }
    }
    let outside = logs.lines().find(|l| l.contains("outside")).unwrap();
    assert!(!outside.contains("webhook{"), "{outside}");
}

/// Two senders of one scheme on two routes: `source` tells their metrics, span and warning
/// apart, under `WebhookDedupe` (accepted, duplicate) and without (rejected).
#[test]
fn a_named_config_labels_metrics_span_and_warning_with_its_source() {
    async fn logging_handler(event: VerifiedEvent<OrgEvent>) -> HttpResponse {
        tracing::info!("handling {}", event.delivery().id().unwrap_or_default());
        HttpResponse::Ok().finish()
    }
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let logs = capture_logs(|| {
        metrics::with_local_recorder(&recorder, || {
            actix_web::rt::System::new().block_on(async {
                let scalekit = WebhookConfig::secret(SECRET).unwrap().source("scalekit");
                assert_eq!(scalekit.source_name(), Some("scalekit"));
                let clerk = WebhookConfig::secret(OLD_SECRET)
                    .unwrap()
                    .source(String::from("clerk"));
                let dedupe = WebhookDedupe::memory_for(&scalekit);
                let app = actix_web::test::init_service(
                    App::new()
                        .service(
                            web::resource("/scalekit")
                                .app_data(scalekit)
                                .wrap(dedupe)
                                .route(web::post().to(logging_handler)),
                        )
                        .service(
                            web::resource("/clerk")
                                .app_data(clerk)
                                .route(web::post().to(handler)),
                        ),
                )
                .await;
                let requests = [
                    SignedRequest::new(SECRET, ORG_CREATED)
                        .uri("/scalekit")
                        .id("s1"),
                    SignedRequest::new(SECRET, ORG_CREATED)
                        .uri("/scalekit")
                        .id("s1"),
                    SignedRequest::new(SECRET, ORG_CREATED)
                        .uri("/clerk")
                        .id("c1"),
                ];
                let mut statuses = Vec::new();
                for req in requests {
                    let res = actix_web::test::call_service(&app, req.to_request()).await;
                    statuses.push(res.status().as_u16());
                }
                assert_eq!(statuses, [200, 200, 401]);
            })
        })
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let histograms = label_sets(&snapshot, "webhook_verify_duration_seconds");
    assert_eq!(histograms.len(), 2, "{histograms:?}");
    assert!(
        histograms.contains(&"source=scalekit".to_owned()),
        "{histograms:?}"
    );
    assert!(
        histograms.contains(&"source=clerk".to_owned()),
        "{histograms:?}"
    );
    let counters = counters(snapshot);
    assert_eq!(
        counters,
        [
            (
                "webhook_rejections_total".to_owned(),
                "reason=signature_mismatch,scheme=standard,source=clerk".to_owned(),
                1
            ),
            (
                "webhook_requests_total".to_owned(),
                "outcome=accepted,source=scalekit".to_owned(),
                1
            ),
            (
                "webhook_requests_total".to_owned(),
                "outcome=duplicate,source=scalekit".to_owned(),
                1
            ),
            (
                "webhook_requests_total".to_owned(),
                "outcome=rejected,source=clerk".to_owned(),
                1
            ),
        ]
    );
    let handling = logs
        .lines()
        .find(|l| l.contains("handling s1"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        handling.contains("webhook.source=\"scalekit\""),
        "{handling}"
    );
    let warning = logs
        .lines()
        .find(|l| l.contains(" WARN "))
        .unwrap_or_else(|| panic!("{logs}"));
    // The warning's own fields, not the enclosing span's `webhook.source`, which the same line
    // shows when the span is enabled (and a WARN-level subscriber does not show).
    let (_span, event) = warning.split_once("}: ").unwrap_or(("", warning));
    assert!(event.contains("source=\"clerk\""), "{warning}");
}

/// `WebhookDedupe` wrapping a scope whose resources each register their own named config (one
/// dedupe store for every sender): the accepted, failed and cancelled outcomes it counts carry the
/// source of the config that verified the delivery, like the outcomes the extractor counts, not
/// the source of whatever config the middleware could see (none here, or the app's).
#[test]
fn a_dedupe_around_a_scope_counts_outcomes_with_the_routes_source() {
    async fn answer(event: VerifiedEvent<OrgEvent>) -> HttpResponse {
        if event.delivery().id() == Some("bad") {
            HttpResponse::InternalServerError().finish()
        } else {
            HttpResponse::Ok().finish()
        }
    }
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        actix_web::rt::System::new().block_on(async {
            let fallback = WebhookConfig::secret(OLD_SECRET)
                .unwrap()
                .source("fallback");
            let scalekit = WebhookConfig::secret(SECRET).unwrap().source("scalekit");
            let dedupe = WebhookDedupe::memory_for(&scalekit);
            let app = actix_web::test::init_service(
                App::new().app_data(fallback).service(
                    web::scope("/hooks").wrap(dedupe).service(
                        web::resource("/scalekit")
                            .app_data(scalekit)
                            .route(web::post().to(answer)),
                    ),
                ),
            )
            .await;
            let mut statuses = Vec::new();
            for id in ["ok", "ok", "bad"] {
                let req = SignedRequest::new(SECRET, ORG_CREATED)
                    .uri("/hooks/scalekit")
                    .id(id);
                let res = actix_web::test::call_service(&app, req.to_request()).await;
                statuses.push(res.status().as_u16());
            }
            assert_eq!(statuses, [200, 200, 500]);
        })
    });
    let outcomes = label_sets(&snapshotter.snapshot().into_vec(), "webhook_requests_total");
    assert_eq!(
        outcomes,
        [
            "outcome=accepted,source=scalekit",
            "outcome=duplicate,source=scalekit",
            "outcome=failed,source=scalekit",
        ]
    );
}

/// Configurations cloned from one and named apart count their failures apart, as tower layers
/// do: a failure on one route does not silence the other's warning for the interval.
#[test]
fn configs_named_apart_warn_apart() {
    let logs = capture_logs(|| {
        let base = WebhookConfig::secret(SECRET).unwrap();
        drive(base.clone().source("scalekit"), vec![wrong_secret("s1")]);
        drive(base.source("clerk"), vec![wrong_secret("c1")]);
    });
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 2, "{logs}");
    for (warning, source) in warnings.iter().zip(["scalekit", "clerk"]) {
        let (_span, event) = warning.split_once("}: ").unwrap_or(("", warning));
        assert!(event.contains(&format!("source=\"{source}\"")), "{warning}");
    }
}
