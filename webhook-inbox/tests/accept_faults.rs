//! Accepts while the store fails or stops answering: every caller hears a 503 quickly, and
//! none waits behind a failing store for its own attempt.

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::delivery;
use support::interposed::interposed_inbox;
use webhook_inbox::{AcceptAnswer, AcceptMeta, InboxError};

/// A server that stops answering without closing the connection: the commit is given up after
/// the commit timeout and answered 503.
#[tokio::test]
async fn a_commit_that_never_finishes_is_answered_503_after_the_commit_timeout() {
    let (_dir, backend, inbox) =
        interposed_inbox(|i| i, |b| b.commit_timeout(Duration::from_millis(200))).await;
    *backend.accept_delay.lock().unwrap() = Duration::from_secs(3600);
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        inbox.accept(&delivery("hung", "t", "{}"), AcceptMeta::new()),
    )
    .await
    .expect("the accept waited for the hung commit");
    assert!(matches!(result, Err(InboxError::Timeout(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(AcceptAnswer::new(&result, inbox.retry_after()).status, 503);
}

/// When a commit fails, the accepts queued behind it get the same error at once instead of
/// each trying the failing store in turn; the next accept tries it again.
#[tokio::test]
async fn accepts_queued_behind_a_failing_commit_are_answered_at_once() {
    // One delivery per commit, so that without the drain each would take its own 300 ms try.
    let (_dir, backend, inbox) = interposed_inbox(|i| i, |b| b.max_batch(1)).await;
    *backend.accept_delay.lock().unwrap() = Duration::from_millis(300);
    backend.accept_fails.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let accepts = (0..40).map(|i| {
        let inbox = inbox.clone();
        tokio::spawn(async move {
            inbox
                .accept(&delivery(&format!("m{i}"), "t", "{}"), AcceptMeta::new())
                .await
        })
    });
    for accept in futures_util::future::join_all(accepts).await {
        assert!(accept.unwrap().is_err());
    }
    let tries = backend.accept_calls.load(Ordering::SeqCst);
    assert!(tries <= 3, "{tries} commits tried against a failing store");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The store recovers: the next accept is committed.
    backend.accept_fails.store(false, Ordering::SeqCst);
    *backend.accept_delay.lock().unwrap() = Duration::ZERO;
    assert!(
        inbox
            .accept(&delivery("after", "t", "{}"), AcceptMeta::new())
            .await
            .is_ok()
    );
}

/// An inbox whose writer task ended (a panicking backend) accepts nothing: health says so while
/// the store itself still answers.
#[tokio::test]
async fn health_is_red_when_accepts_can_no_longer_be_stored() {
    let (_dir, backend, inbox) = interposed_inbox(|i| i, |b| b).await;
    assert!(inbox.health().await.healthy);
    backend.accept_panics.store(true, Ordering::SeqCst);
    let result = inbox
        .accept(&delivery("boom", "t", "{}"), AcceptMeta::new())
        .await;
    assert!(matches!(result, Err(InboxError::Closed)), "{result:?}");
    let health = inbox.health().await;
    assert!(!health.healthy);
    assert_eq!(health.reason.as_deref(), Some("the inbox is closed"));
    assert!(
        inbox.counts().await.is_ok(),
        "the store itself still answers"
    );
}

/// A store that answers reads but cannot commit (a full disk): health is red from the failed
/// commit on, naming it, and green again once a commit succeeds.
#[tokio::test]
async fn health_is_red_while_commits_fail() {
    let (_dir, backend, inbox) = interposed_inbox(|i| i, |b| b).await;
    assert!(inbox.health().await.healthy);
    backend.accept_fails.store(true, Ordering::SeqCst);
    let failed = inbox
        .accept(&delivery("full", "t", "{}"), AcceptMeta::new())
        .await;
    assert!(failed.is_err());
    let health = inbox.health().await;
    assert!(!health.healthy, "{health:?}");
    assert!(
        health
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("a group commit failed")),
        "{health:?}"
    );
    backend.accept_fails.store(false, Ordering::SeqCst);
    assert!(
        inbox
            .accept(&delivery("room", "t", "{}"), AcceptMeta::new())
            .await
            .is_ok()
    );
    assert!(inbox.health().await.healthy);
}

/// A failed commit counts for `retry_after`: a receiver that a readiness probe took out of
/// service for it receives no accept to show that the store recovered, so health turns green
/// again on its own (and red at the next failure, if the store is still down).
#[tokio::test]
async fn a_failed_commit_stops_counting_after_retry_after() {
    let (_dir, backend, inbox) =
        interposed_inbox(|i| i, |b| b.retry_after(Duration::from_millis(300))).await;
    // Counted as long as the 503s ask senders to wait: rounded up to 1 s.
    backend.accept_fails.store(true, Ordering::SeqCst);
    let failed = inbox
        .accept(&delivery("during", "t", "{}"), AcceptMeta::new())
        .await;
    assert!(failed.is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!inbox.health().await.healthy);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let health = inbox.health().await;
    assert!(health.healthy, "{health:?}");
    // Still down: the next accept fails and health is red again.
    assert!(
        inbox
            .accept(&delivery("still", "t", "{}"), AcceptMeta::new())
            .await
            .is_err()
    );
    assert!(!inbox.health().await.healthy);
}

/// With `retry_after(Duration::ZERO)` (the 503 still says `Retry-After: 1`) a failed commit is
/// still reported, for that second.
#[tokio::test]
async fn a_zero_retry_after_still_reports_a_failed_commit() {
    let (_dir, backend, inbox) = interposed_inbox(|i| i, |b| b.retry_after(Duration::ZERO)).await;
    backend.accept_fails.store(true, Ordering::SeqCst);
    let failed = inbox
        .accept(&delivery("during", "t", "{}"), AcceptMeta::new())
        .await;
    let answer = webhook_inbox::AcceptAnswer::new(&failed, inbox.retry_after());
    assert_eq!((answer.status, answer.retry_after_secs), (503, Some(1)));
    let health = inbox.health().await;
    assert!(!health.healthy, "{health:?}");
}

/// A store that stops answering turns health red within about the commit timeout, as the docs
/// say, rather than leaving the probe waiting until its own timeout (or the server's TCP
/// keepalive, hours later).
#[tokio::test]
async fn health_is_red_when_the_store_stops_answering() {
    let (_dir, backend, inbox) =
        interposed_inbox(|i| i, |b| b.commit_timeout(Duration::from_millis(300))).await;
    assert!(inbox.health().await.healthy);
    backend.counts_hang.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let health = tokio::time::timeout(Duration::from_secs(5), inbox.health())
        .await
        .expect("health waited for a store that does not answer");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(!health.healthy);
    let reason = health.reason.unwrap_or_default();
    assert!(reason.contains("did not answer"), "{reason}");
    backend.counts_hang.store(false, Ordering::SeqCst);
    assert!(inbox.health().await.healthy);
}

/// A slow store that works: each of health's queries answers within the commit timeout (the
/// limit every store call of the inbox gets), the two together take longer. Health is green:
/// the store answers.
#[tokio::test]
async fn health_is_green_when_each_query_answers_within_the_commit_timeout() {
    let (_dir, backend, inbox) =
        interposed_inbox(|i| i, |b| b.commit_timeout(Duration::from_millis(300))).await;
    backend.reads_delay_ms.store(200, Ordering::SeqCst);
    let health = inbox.health().await;
    assert!(health.healthy, "{health:?}");
    assert!(health.counts.is_some(), "{health:?}");
}

/// A store that goes silent on every query: health is red within about one commit timeout,
/// not one per query (the probe would wait twice the time a store call may take).
#[tokio::test]
async fn health_of_a_silent_store_is_red_within_one_commit_timeout() {
    let (_dir, backend, inbox) =
        interposed_inbox(|i| i, |b| b.commit_timeout(Duration::from_secs(1))).await;
    backend.reads_delay_ms.store(60_000, Ordering::SeqCst);
    let started = Instant::now();
    let health = inbox.health().await;
    let took = started.elapsed();
    assert!(!health.healthy, "{health:?}");
    assert!(took < Duration::from_millis(1600), "{took:?}");
}
