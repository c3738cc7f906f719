//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tempfile::TempDir;
use webhook_core::{Delivery, Signer, Verifier};
use webhook_inbox::{Inbox, InboxBuilder, ManualClock, RetryPolicy};

pub mod interposed;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A temp dir that lives as long as the test, and the `sqlite://` URL of a file in it.
pub fn temp_db() -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    (dir, url)
}

/// A verified Standard Webhooks delivery with this id, event type and data.
pub fn delivery(id: &str, event_type: &str, data: &str) -> Delivery {
    let body = format!(r#"{{"id":"evt_{id}","type":"{event_type}","data":{data}}}"#);
    let headers = Signer::standard(SECRET)
        .unwrap()
        .sign(id, 1_700_000_000, body.as_bytes());
    Verifier::standard(SECRET)
        .unwrap()
        .without_timestamp_check()
        .verify_delivery(&headers, Bytes::from(body))
        .unwrap()
}

/// An inbox on a temp file with a manual clock and fixed, short retry delays.
pub async fn inbox_with(
    configure: impl FnOnce(InboxBuilder) -> InboxBuilder,
) -> (TempDir, Inbox, ManualClock) {
    let (dir, url) = temp_db();
    let clock = ManualClock::starting_now();
    let builder = Inbox::builder(&url)
        .clock(Arc::new(clock.clone()))
        .retry_policy(RetryPolicy::fixed([
            Duration::from_secs(1),
            Duration::from_secs(2),
        ]));
    let inbox = configure(builder).build().await.unwrap();
    (dir, inbox, clock)
}

/// Polls `check` every 10 ms until it returns true, for at most `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
