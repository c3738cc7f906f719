//! The worker warns when a handler runs longer than `slow_threshold`, naming the event type
//! and never the body.
//!
//! Logs are captured per thread; `#[tokio::test]` runs a current-thread runtime, so the worker's
//! spawned tasks log on the test's thread and into its buffer.

mod support;

use std::cell::RefCell;
use std::io;
use std::sync::Once;
use std::time::Duration;

use support::{delivery, eventually, inbox_with};
use tracing::Level;
use webhook_inbox::{AcceptMeta, DeliveryStatus, HandlerResult, StoredDelivery};

const SLOW_MESSAGE: &str = "webhook handler is running longer than the threshold";
const BODY_MARKER: &str = "body-marker-3f9c1e";

thread_local! {
    static CAPTURED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes into this thread's capture buffer.
struct ThreadBuffer;

impl io::Write for ThreadBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CAPTURED.with_borrow_mut(|captured| captured.extend_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs, once, a global subscriber that writes into the logging thread's buffer. Scoped
/// subscribers per test race with tracing's global per-callsite interest cache when tests run
/// in parallel, and a test could then capture nothing.
fn install_capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .with_writer(|| ThreadBuffer)
            .with_max_level(Level::TRACE)
            .with_ansi(false)
            .without_time()
            .init();
    });
}

/// Runs one delivery of `event_type` through a handler that sleeps `handler_sleep`, with
/// `threshold` as the slow threshold, and returns everything logged meanwhile (all levels).
async fn run_and_capture(event_type: &str, handler_sleep: Duration, threshold: Duration) -> String {
    install_capture();
    CAPTURED.with_borrow_mut(Vec::clear);

    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .slow_threshold(threshold)
        .on_raw("*", move |d: StoredDelivery| async move {
            tokio::time::sleep(handler_sleep).await;
            tracing::info!(event_type = d.event_type_str(), "test handler finished");
            HandlerResult::Ok(())
        })
        .spawn()
        .unwrap();
    let data = format!(r#"{{"marker":"{BODY_MARKER}"}}"#);
    let id = inbox
        .accept(&delivery("msg_1", event_type, &data), AcceptMeta::new())
        .await
        .unwrap()
        .id();
    assert!(
        eventually(10, || async {
            inbox.get(id).await.unwrap().unwrap().status == DeliveryStatus::Done
        })
        .await,
        "the delivery was not processed"
    );
    worker.shutdown().await;
    String::from_utf8(CAPTURED.with_borrow_mut(std::mem::take)).unwrap()
}

fn slow_warnings(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(SLOW_MESSAGE)).collect()
}

#[tokio::test]
async fn a_run_over_the_threshold_warns_once_with_the_event_type_and_no_body() {
    let log = run_and_capture(
        "invoice.slow",
        Duration::from_millis(300),
        Duration::from_millis(100),
    )
    .await;

    let warnings = slow_warnings(&log);
    assert_eq!(warnings.len(), 1, "expected one slow warning in:\n{log}");
    let line = warnings[0];
    assert!(line.contains(" WARN "), "not at WARN level: {line}");
    assert!(line.contains(r#"handler="invoice.slow""#), "{line}");
    assert!(line.contains("threshold_ms=100"), "{line}");
    assert!(
        log.contains("test handler finished"),
        "the handler's own event was not captured:\n{log}"
    );
    assert!(
        !log.contains(BODY_MARKER),
        "the body leaked into the log:\n{log}"
    );
}

#[tokio::test]
async fn a_run_under_the_threshold_does_not_warn() {
    let log = run_and_capture(
        "invoice.fast",
        Duration::from_millis(10),
        Duration::from_secs(2),
    )
    .await;

    // The capture works for events from the worker's tasks: the handler's own event is there.
    assert!(
        log.contains(r#"test handler finished event_type="invoice.fast""#),
        "the handler's own event was not captured:\n{log}"
    );
    assert!(
        slow_warnings(&log).is_empty(),
        "unexpected slow warning:\n{log}"
    );
    assert!(
        !log.contains(BODY_MARKER),
        "the body leaked into the log:\n{log}"
    );
}
