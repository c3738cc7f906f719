//! Workers against real SQLite files, with a manual clock and short timings.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::interposed::{Interposed, interposed_inbox};
use support::{delivery, eventually, inbox_with};
use webhook_inbox::{
    AcceptMeta, BatchOptions, BreakerConfig, DeliveryId, DeliveryStatus, HandlerError,
    HandlerResult, Inbox, ListFilter, RetryPolicy, StoredDelivery, Unhandled,
};

async fn status(inbox: &Inbox, id: DeliveryId) -> DeliveryStatus {
    inbox.get(id).await.unwrap().unwrap().status
}

async fn accept(inbox: &Inbox, id: &str, event_type: &str) -> DeliveryId {
    inbox
        .accept(&delivery(id, event_type, "{}"), AcceptMeta::new())
        .await
        .unwrap()
        .id()
}

/// A handler that counts its runs and holds each one until `release`.
#[derive(Clone, Default)]
struct Held {
    runs: Arc<AtomicUsize>,
    release: Arc<tokio::sync::Notify>,
}

impl Held {
    fn handler(
        &self,
    ) -> impl Fn(StoredDelivery) -> futures_util::future::BoxFuture<'static, HandlerResult>
    + Send
    + Sync
    + 'static {
        let held = self.clone();
        move |_d: StoredDelivery| {
            let held = held.clone();
            Box::pin(async move {
                held.runs.fetch_add(1, Ordering::SeqCst);
                held.release.notified().await;
                Ok(())
            })
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// Waits (up to 5 s) for the first run to start.
    async fn started(&self) -> bool {
        eventually(5, || async { self.runs() >= 1 }).await
    }

    fn release(&self) {
        self.release.notify_waiters();
    }
}

/// A handler that counts its runs in `runs` and succeeds.
fn counting(
    runs: &Arc<AtomicUsize>,
) -> impl Fn(StoredDelivery) -> futures_util::future::Ready<HandlerResult> + Clone + Send + Sync + 'static
{
    let runs = runs.clone();
    move |_d: StoredDelivery| {
        runs.fetch_add(1, Ordering::SeqCst);
        futures_util::future::ready(Ok(()))
    }
}

/// Whether every one of `ids` is done.
async fn all_done(inbox: &Inbox, ids: &[DeliveryId]) -> bool {
    for id in ids {
        if status(inbox, *id).await != DeliveryStatus::Done {
            return false;
        }
    }
    true
}

/// A second instance on the inbox file in `dir` (another process, in effect), on `clock`.
async fn second_instance(
    dir: &tempfile::TempDir,
    clock: &webhook_inbox::ManualClock,
    configure: impl FnOnce(webhook_inbox::InboxBuilder) -> webhook_inbox::InboxBuilder,
) -> Inbox {
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    configure(Inbox::builder(&url).clock(Arc::new(clock.clone())))
        .build()
        .await
        .unwrap()
}

/// A worker that handles `a.*` and has been running longer than the default `unhandled_after`
/// (the clock is advanced past it).
fn settled_a_worker(inbox: &Inbox, clock: &webhook_inbox::ManualClock) -> webhook_inbox::Worker {
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("a.*", |_d: StoredDelivery| async { HandlerResult::Ok(()) })
        .spawn()
        .unwrap();
    clock.advance(Duration::from_secs(120));
    worker
}

/// A connection of its own to the inbox file in `dir`, to change rows behind the inbox's back.
async fn raw_db(dir: &tempfile::TempDir) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    sqlx::SqliteConnection::connect(&url).await.unwrap()
}

/// Sets when `id` is due (or, while processing, when its lease ends), behind the inbox's back.
async fn set_due(dir: &tempfile::TempDir, id: DeliveryId, at_ms: i64) {
    sqlx::query("UPDATE inbox_deliveries SET next_attempt_at_ms = ?1 WHERE id = ?2")
        .bind(at_ms)
        .bind(id.0)
        .execute(&mut raw_db(dir).await)
        .await
        .unwrap();
}

/// Makes the lease on `id` run out now, behind the worker's back (as when its renewals fail).
async fn expire_lease(dir: &tempfile::TempDir, id: DeliveryId) {
    sqlx::query("UPDATE inbox_deliveries SET next_attempt_at_ms = 0 WHERE id = ?1")
        .bind(id.0)
        .execute(&mut raw_db(dir).await)
        .await
        .unwrap();
}

#[derive(serde::Deserialize)]
struct Envelope {
    id: String,
}

/// `usize::MAX` for "no limit" is clamped, not a panic at build or in the writer (which would
/// leave every accept failing).
#[tokio::test]
async fn huge_batch_and_queue_sizes_are_clamped() {
    let (_dir, inbox, _clock) =
        inbox_with(|b| b.max_batch(usize::MAX).queue_capacity(usize::MAX)).await;
    let accepted = inbox
        .accept(&delivery("big", "a.b", "{}"), AcceptMeta::new())
        .await;
    assert!(accepted.is_ok(), "{accepted:?}");
}

/// A zero commit timeout (an unset setting) is raised to the minimum, not a 503 for every
/// delivery. A commit can still outlast the 100 ms minimum on a busy disk (an fsync on a
/// shared CI machine): such a timeout names the raised value, and the sender's retry lands.
#[tokio::test]
async fn a_zero_commit_timeout_is_raised() {
    let (_dir, inbox, _clock) = inbox_with(|b| b.commit_timeout(Duration::ZERO)).await;
    for i in 0..20 {
        let delivery = delivery(&format!("z{i}"), "a.b", "{}");
        let mut accepted = inbox.accept(&delivery, AcceptMeta::new()).await;
        for _retry in 0..5 {
            match &accepted {
                Err(webhook_inbox::InboxError::Timeout(timeout)) => {
                    assert_eq!(*timeout, webhook_inbox::MIN_COMMIT_TIMEOUT);
                    accepted = inbox.accept(&delivery, AcceptMeta::new()).await;
                }
                _ => break,
            }
        }
        assert!(accepted.is_ok(), "{accepted:?}");
    }
}

#[tokio::test]
async fn routes_typed_raw_and_unhandled_most_specific_first() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (typed, raw) = (seen.clone(), seen.clone());
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .unhandled_after(Duration::ZERO)
        .on_raw("organization.*", move |d: StoredDelivery| {
            let raw = raw.clone();
            async move {
                raw.lock()
                    .unwrap()
                    .push(format!("raw:{}", d.event_type_str()));
                Ok(())
            }
        })
        .on::<Envelope, _>("organization.directory.user_created", move |e: Envelope| {
            let typed = typed.clone();
            async move {
                typed.lock().unwrap().push(format!("typed:{}", e.id));
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    let a = accept(&inbox, "a", "organization.directory.user_created").await;
    let b = accept(&inbox, "b", "organization.created").await;
    let c = accept(&inbox, "c", "billing.paid").await;
    assert!(
        eventually(5, || async {
            status(&inbox, a).await == DeliveryStatus::Done
                && status(&inbox, b).await == DeliveryStatus::Done
                && status(&inbox, c).await == DeliveryStatus::Done
        })
        .await
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, vec!["raw:organization.created", "typed:evt_a"]);
    worker.shutdown().await;
}

/// A one-segment pattern takes the actions of its event (GitHub's `issues.opened`), in the claim
/// query as in routing, and an exact `issues.closed` still wins for its own type.
#[tokio::test]
async fn an_event_name_takes_its_actions() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (any, closed) = (seen.clone(), seen.clone());
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_raw("issues", move |d: StoredDelivery| {
            let any = any.clone();
            async move {
                any.lock()
                    .unwrap()
                    .push(format!("issues:{}", d.event_type_str()));
                Ok(())
            }
        })
        .on_raw("issues.closed", move |d: StoredDelivery| {
            let closed = closed.clone();
            async move {
                closed
                    .lock()
                    .unwrap()
                    .push(format!("closed:{}", d.event_type_str()));
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    let ids = [
        accept(&inbox, "a", "issues.opened").await,
        accept(&inbox, "b", "issues.closed").await,
        accept(&inbox, "c", "issues").await,
    ];
    let other = accept(&inbox, "d", "issues_comment.created").await;
    assert!(
        eventually(5, || async {
            let mut done = true;
            for id in ids {
                done &= status(&inbox, id).await == DeliveryStatus::Done;
            }
            done
        })
        .await
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            "closed:issues.closed",
            "issues:issues",
            "issues:issues.opened"
        ]
    );
    assert_eq!(status(&inbox, other).await, DeliveryStatus::Pending);
    worker.shutdown().await;
}

#[tokio::test]
async fn invalid_patterns_are_refused_and_bad_bodies_go_dead() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    assert!(
        inbox
            .worker()
            .on_raw("a.*.b", |_d: StoredDelivery| async { Ok(()) })
            .spawn()
            .is_err()
    );
    // A second handler for a pattern would never run.
    let twice = inbox
        .worker()
        .on_raw("a.*", |_d: StoredDelivery| async { Ok(()) })
        .on_batch(
            "a.*",
            BatchOptions::default(),
            |_b: Vec<StoredDelivery>| async { Ok(()) },
        )
        .spawn();
    assert!(
        matches!(&twice, Err(e) if e.to_string().contains("two handlers for the event pattern `a.*`")),
        "{:?}",
        twice.map(|w| w.owner_id().to_owned())
    );
    #[derive(serde::Deserialize)]
    struct Strict {
        #[allow(dead_code)]
        missing_field: u32,
    }
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .unhandled(Unhandled::DeadLetter)
        .unhandled_after(Duration::ZERO)
        .on::<Strict, _>("typed.event", |_s: Strict| async { Ok(()) })
        .spawn()
        .unwrap();
    let bad = accept(&inbox, "a", "typed.event").await;
    let unrouted = accept(&inbox, "b", "nobody.listens").await;
    assert!(
        eventually(5, || async {
            status(&inbox, bad).await == DeliveryStatus::Dead
                && status(&inbox, unrouted).await == DeliveryStatus::Dead
        })
        .await
    );
    let row = inbox.get(bad).await.unwrap().unwrap();
    assert_eq!(row.attempts, 1, "a body that does not parse is not retried");
    assert!(row.last_error.unwrap().contains("missing_field"));
    worker.shutdown().await;
}

#[tokio::test]
async fn failures_retry_on_the_stored_schedule_then_die_and_redrive() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await; // retries after 1 s then 2 s: 3 attempts
    let calls = Arc::new(AtomicUsize::new(0));
    let healthy = Arc::new(AtomicBool::new(false));
    let (c, h) = (calls.clone(), healthy.clone());
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .circuit_breaker(BreakerConfig::disabled())
        .on_raw("*", move |_d: StoredDelivery| {
            let (c, h) = (c.clone(), h.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                if h.load(Ordering::SeqCst) {
                    Ok(())
                } else {
                    Err(HandlerError::new("downstream is down"))
                }
            }
        })
        .spawn()
        .unwrap();
    let id = accept(&inbox, "a", "t").await;
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Retrying
        })
        .await
    );
    let row = inbox.get(id).await.unwrap().unwrap();
    assert_eq!(
        (row.attempts, row.last_error.as_deref()),
        (1, Some("downstream is down"))
    );
    assert_eq!(row.next_attempt_at_ms, clock.now_ms_for_test() + 1_000);
    // Not due yet: nothing runs however long we wait in real time.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(1));
    assert!(eventually(5, || async { calls.load(Ordering::SeqCst) == 2 }).await);
    clock.advance(Duration::from_secs(2));
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Dead
        })
        .await
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let dead = inbox.list(&ListFilter::dead()).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts")
    );

    healthy.store(true, Ordering::SeqCst);
    inbox.redrive(id).await.unwrap();
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    let second = accept(&inbox, "b", "t").await;
    assert!(
        eventually(5, || async {
            status(&inbox, second).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(inbox.redrive_all_dead().await.unwrap(), 0);
    worker.shutdown().await;
}

/// A tiny extension so the test reads the manual clock through the public trait.
trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}
impl NowForTest for webhook_inbox::ManualClock {
    fn now_ms_for_test(&self) -> i64 {
        webhook_inbox::Clock::now_unix_ms(self)
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_failure_and_the_worker_lives_on() {
    let (_dir, inbox, _clock) =
        inbox_with(|b| b.retry_policy(webhook_inbox::RetryPolicy::none())).await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .concurrency(1)
        .on_raw("*", |d: StoredDelivery| async move {
            if d.message_id.as_deref() == Some("boom") {
                panic!("handler bug");
            }
            HandlerResult::Ok(())
        })
        .spawn()
        .unwrap();
    let boom = accept(&inbox, "boom", "t").await;
    let fine = accept(&inbox, "fine", "t").await;
    assert!(
        eventually(5, || async {
            status(&inbox, boom).await == DeliveryStatus::Dead
                && status(&inbox, fine).await == DeliveryStatus::Done
        })
        .await
    );
    assert!(
        inbox
            .get(boom)
            .await
            .unwrap()
            .unwrap()
            .last_error
            .unwrap()
            .contains("handler panicked: handler bug")
    );
    // In the singular: one attempt.
    let error = inbox.get(boom).await.unwrap().unwrap().last_error.unwrap();
    assert!(error.ends_with("(gave up after 1 attempt)"), "{error}");
    let later = accept(&inbox, "later", "t").await;
    assert!(
        eventually(5, || async {
            status(&inbox, later).await == DeliveryStatus::Done
        })
        .await
    );
    worker.shutdown().await;
}

/// A panic while the handler builds its future (a raw handler's synchronous part, a typed
/// handler's `Deserialize`) is a failure like one inside the future: the delivery is not left
/// `processing` under a lease its worker keeps renewing.
#[tokio::test]
async fn a_handler_panicking_before_its_future_exists_is_a_failure_too() {
    let (_dir, inbox, _clock) =
        inbox_with(|b| b.retry_policy(webhook_inbox::RetryPolicy::none())).await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .concurrency(1)
        .on_raw("*", |d: StoredDelivery| {
            if d.message_id.as_deref() == Some("boom") {
                panic!("bug before the future");
            }
            async { HandlerResult::Ok(()) }
        })
        .spawn()
        .unwrap();
    let boom = accept(&inbox, "boom", "t").await;
    let fine = accept(&inbox, "fine", "t").await;
    assert!(
        eventually(5, || async {
            status(&inbox, boom).await == DeliveryStatus::Dead
                && status(&inbox, fine).await == DeliveryStatus::Done
        })
        .await
    );
    let error = inbox.get(boom).await.unwrap().unwrap().last_error.unwrap();
    assert!(
        error.contains("handler panicked: bug before the future"),
        "{error}"
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn replay_runs_a_done_delivery_again_with_its_original_bytes() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b2 = bodies.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_raw("*", move |d: StoredDelivery| {
            let b2 = b2.clone();
            async move {
                b2.lock().unwrap().push(d.body.clone());
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    let id = accept(&inbox, "a", "t").await;
    assert!(eventually(5, || async { bodies.lock().unwrap().len() == 1 }).await);
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    inbox.replay(id).await.unwrap();
    assert!(eventually(5, || async { bodies.lock().unwrap().len() == 2 }).await);
    let bodies = bodies.lock().unwrap().clone();
    let sent = delivery("a", "t", "{}").body().clone();
    assert_eq!(bodies, [sent.clone(), sent]);
    assert!(matches!(
        inbox.replay(DeliveryId(424242)).await,
        Err(webhook_inbox::InboxError::NotFound(_))
    ));
    worker.shutdown().await;
}

#[tokio::test]
async fn an_open_circuit_holds_deliveries_without_failing_them() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let healthy = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let (h, c) = (healthy.clone(), calls.clone());
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_raw("*", move |_d: StoredDelivery| {
            let (h, c) = (h.clone(), c.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                if h.load(Ordering::SeqCst) {
                    Ok(())
                } else {
                    Err(HandlerError::new("503 from CRM"))
                }
            }
        })
        // After the handler: the setting applies to every handler wherever it stands.
        .circuit_breaker(BreakerConfig::new(2, Duration::from_secs(60)))
        .spawn()
        .unwrap();
    let a = accept(&inbox, "a", "t").await;
    let b = accept(&inbox, "b", "t").await;
    assert!(eventually(5, || async { calls.load(Ordering::SeqCst) == 2 }).await);
    assert!(
        eventually(5, || async {
            status(&inbox, a).await == DeliveryStatus::Retrying
                && status(&inbox, b).await == DeliveryStatus::Retrying
        })
        .await
    );
    // Open: a new delivery and the due retries wait, with no attempt counted.
    let c_id = accept(&inbox, "c", "t").await;
    clock.advance(Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "nothing dispatched while open"
    );
    let held = inbox.get(c_id).await.unwrap().unwrap();
    assert_eq!((held.status, held.attempts), (DeliveryStatus::Pending, 0));
    assert_eq!(inbox.get(a).await.unwrap().unwrap().attempts, 1);
    assert!(inbox.list(&ListFilter::dead()).await.unwrap().is_empty());
    // After the recovery time one trial goes through; it succeeds and the circuit closes.
    healthy.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(60));
    assert!(eventually(5, || async { calls.load(Ordering::SeqCst) == 3 }).await);
    // Deliveries that arrived during the trial were held for a second (clock time).
    clock.advance(Duration::from_secs(2));
    assert!(
        eventually(5, || async {
            status(&inbox, a).await == DeliveryStatus::Done
                && status(&inbox, b).await == DeliveryStatus::Done
                && status(&inbox, c_id).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    worker.shutdown().await;
}

#[tokio::test]
async fn batches_fill_up_flush_on_time_and_fail_as_a_unit() {
    let (_dir, inbox, _clock) =
        inbox_with(|b| b.retry_policy(webhook_inbox::RetryPolicy::none())).await;
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s2 = sizes.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_batch(
            "sync.*",
            BatchOptions::new(3, Duration::from_millis(300)),
            move |batch: Vec<StoredDelivery>| {
                let s2 = s2.clone();
                async move {
                    assert!(
                        batch.windows(2).all(|w| w[0].event_type == w[1].event_type),
                        "one event type per batch"
                    );
                    s2.lock().unwrap().push(batch.len());
                    if batch
                        .iter()
                        .any(|d| d.message_id.as_deref() == Some("poison"))
                    {
                        return Err(HandlerError::permanent("poison in batch"));
                    }
                    Ok(())
                }
            },
        )
        .spawn()
        .unwrap();
    let deliveries = [
        delivery("m0", "sync.user", "{}"),
        delivery("m1", "sync.user", "{}"),
        delivery("m2", "sync.user", "{}"),
        delivery("m3", "sync.user", "{}"),
        delivery("g0", "sync.group", "{}"),
    ];
    let accepted = futures_util::future::join_all(
        deliveries
            .iter()
            .map(|d| inbox.accept(d, AcceptMeta::new())),
    )
    .await;
    let ids: Vec<DeliveryId> = accepted.into_iter().map(|a| a.unwrap().id()).collect();
    assert!(
        eventually(5, || async {
            let mut all = true;
            for id in &ids {
                all &= status(&inbox, *id).await == DeliveryStatus::Done;
            }
            all
        })
        .await
    );
    let mut got = sizes.lock().unwrap().clone();
    got.sort();
    assert_eq!(got.iter().sum::<usize>(), 5);
    assert!(got.iter().all(|&n| n <= 3));
    assert!(got.contains(&3), "a full batch was dispatched: {got:?}");

    let poison = accept(&inbox, "poison", "sync.user").await;
    let sibling = accept(&inbox, "sibling", "sync.user").await;
    assert!(
        eventually(5, || async {
            status(&inbox, poison).await == DeliveryStatus::Dead
                && status(&inbox, sibling).await == DeliveryStatus::Dead
        })
        .await
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (n, m, d) = (now.clone(), max.clone(), done.clone());
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .concurrency(3)
        .on_raw("*", move |_x: StoredDelivery| {
            let (n, m, d) = (n.clone(), m.clone(), d.clone());
            async move {
                let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(cur, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                d.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    for i in 0..15 {
        accept(&inbox, &format!("m{i}"), "t").await;
    }
    assert!(eventually(10, || async { done.load(Ordering::SeqCst) == 15 }).await);
    assert_eq!(max.load(Ordering::SeqCst), 3);
    worker.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_unfinished_work_without_counting_it() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let started = Arc::new(AtomicUsize::new(0));
    let s2 = started.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .shutdown_timeout(Duration::from_millis(100))
        .on_raw("slow", move |_d: StoredDelivery| {
            let s2 = s2.clone();
            async move {
                s2.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
        })
        .on_batch(
            "batched",
            BatchOptions::new(100, Duration::from_secs(3600)),
            |_b: Vec<StoredDelivery>| async { Ok(()) },
        )
        .spawn()
        .unwrap();
    let slow = accept(&inbox, "a", "slow").await;
    let batched = accept(&inbox, "b", "batched").await;
    assert!(
        eventually(5, || async {
            started.load(Ordering::SeqCst) == 1
                && status(&inbox, batched).await == DeliveryStatus::Processing
        })
        .await
    );
    worker.shutdown().await;
    for id in [slow, batched] {
        let row = inbox.get(id).await.unwrap().unwrap();
        assert_eq!(
            (row.status, row.attempts),
            (DeliveryStatus::Pending, 0),
            "{id}"
        );
    }
}

#[tokio::test]
async fn a_crashed_workers_lease_expires_and_is_reclaimed() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let id = accept(&inbox, "a", "t").await;
    let now = webhook_inbox::Clock::now_unix_ms(&clock);
    // A worker that claims and then dies.
    let claimed = inbox
        .backend()
        .claim("dead-worker", 10, now, now + 30_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_raw("*", |_d: StoredDelivery| async { Ok(()) })
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(status(&inbox, id).await, DeliveryStatus::Processing);
    clock.advance(Duration::from_secs(30));
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(inbox.get(id).await.unwrap().unwrap().attempts, 2);
    worker.shutdown().await;
}

/// A delivery whose runs keep dying with their process (an abort on panic, an OOM kill) is not
/// run again once its attempts and three more claims are spent: it is dead, rather than crash
/// the receiver once per lease forever. One with attempts left runs.
#[tokio::test]
async fn a_delivery_whose_runs_keep_dying_goes_dead_when_out_of_attempts() {
    // The test policy allows three attempts; three more claims may record nothing.
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let poison = accept(&inbox, "poison", "t").await;
    let unlucky = accept(&inbox, "unlucky", "t").await;
    for crash in 0..6 {
        let now = webhook_inbox::Clock::now_unix_ms(&clock);
        let claimed = inbox
            .backend()
            .claim(&format!("died-{crash}"), 10, now, now + 30_000)
            .await
            .unwrap();
        assert!(claimed.iter().any(|d| d.id == poison));
        if crash == 1 {
            // `unlucky` died twice; it has one attempt left. Keep it out of the next claims.
            assert!(claimed.iter().any(|d| d.id == unlucky));
            set_due(&_dir, unlucky, i64::MAX / 2).await;
        }
        clock.advance(Duration::from_secs(31));
    }
    set_due(&_dir, unlucky, 0).await;
    let runs = Arc::new(Mutex::new(Vec::new()));
    let seen = runs.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_raw("*", move |d: StoredDelivery| {
            seen.lock().unwrap().push(d.id);
            async { Ok(()) }
        })
        .spawn()
        .unwrap();
    assert!(
        eventually(5, || async {
            status(&inbox, poison).await == DeliveryStatus::Dead
                && status(&inbox, unlucky).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(*runs.lock().unwrap(), [unlucky]);
    let dead = inbox.get(poison).await.unwrap().unwrap();
    assert!(
        dead.last_error
            .as_deref()
            .unwrap_or("")
            .contains("claimed 7 times, more than 3 past the retry policy's 3"),
        "{:?}",
        dead.last_error
    );
    worker.shutdown().await;
}

/// A claim that the store applied but whose answer the worker gave up on (it timed out) counts
/// an attempt that never ran. Even with no retries allowed, the delivery still runs once its
/// lease ends: such claims are not taken for a run that killed its process.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_does_not_cost_the_delivery_its_run() {
    let (_dir, backend, inbox) = interposed_inbox(
        |i| i,
        |b| {
            b.retry_policy(RetryPolicy::none())
                .commit_timeout(Duration::from_millis(200))
        },
    )
    .await;
    let id = accept(&inbox, "lost-answer", "t").await;
    *backend.watched.lock().unwrap() = Some(id);
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .lease(Duration::from_secs(1))
        .on_raw("*", move |_d: StoredDelivery| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .spawn()
        .unwrap();
    // The first claim applies, then its answer is held past the timeout.
    backend.claimed.notified().await;
    *backend.watched.lock().unwrap() = None;
    assert!(
        eventually(10, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await,
        "{:?}",
        inbox.get(id).await.unwrap()
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    backend.go.notify_waiters();
    worker.shutdown().await;
}

/// A run over `run_timeout` is cancelled and counts as a failed attempt; the retry runs.
#[tokio::test]
async fn a_run_over_the_timeout_is_cancelled_and_retried() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let id = accept(&inbox, "hangs", "t").await;
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .run_timeout(Duration::from_millis(100))
        .on_raw("*", move |_d: StoredDelivery| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    std::future::pending::<()>().await;
                }
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Retrying
        })
        .await
    );
    let stored = inbox.get(id).await.unwrap().unwrap();
    assert!(
        stored
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("timed out after 100 ms"),
        "{:?}",
        stored.last_error
    );
    clock.advance(Duration::from_secs(2));
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    worker.shutdown().await;
}

/// A claim on a connection whose server went silent never answers: the worker gives up on it
/// after the store timeout and claims again, instead of waiting for good.
#[tokio::test]
async fn a_claim_that_never_answers_is_given_up_and_the_worker_goes_on() {
    let (_dir, backend, inbox) = interposed_inbox(
        |i| {
            i.claims_hang.store(1, Ordering::SeqCst);
            i
        },
        |b| b.commit_timeout(Duration::from_millis(200)),
    )
    .await;
    let id = accept(&inbox, "a", "t").await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_raw("*", |_d: StoredDelivery| async { Ok(()) })
        .spawn()
        .unwrap();
    assert!(
        eventually(10, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(backend.claims_hang.load(Ordering::SeqCst), 0);
    worker.shutdown().await;
}

#[tokio::test]
async fn a_long_run_keeps_its_lease_and_runs_once() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let held = Held::default();
    let worker = || {
        inbox
            .worker()
            .poll_interval(Duration::from_millis(10))
            .lease(Duration::from_secs(30))
            .on_raw("*", held.handler())
            .spawn()
            .unwrap()
    };
    let first = worker();
    let id = accept(&inbox, "long", "t").await;
    assert!(eventually(5, || async { held.runs() == 1 }).await);
    let start = webhook_inbox::Clock::now_unix_ms(&clock);
    let second = worker();
    // The handler runs for four lease lengths; the first worker renews every third of one.
    for step in 1..=12 {
        clock.advance(Duration::from_secs(10));
        let renewed = start + step * 10_000 + 30_000;
        assert!(
            eventually(5, || async {
                inbox.get(id).await.unwrap().unwrap().next_attempt_at_ms >= renewed
            })
            .await,
            "lease not renewed at step {step}"
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(held.runs(), 1, "the delivery was claimed twice");
    held.release();
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    let row = inbox.get(id).await.unwrap().unwrap();
    assert_eq!((row.attempts, held.runs()), (1, 1));
    first.shutdown().await;
    second.shutdown().await;
}

/// When renewals fail (the store unreachable) and the lease runs out while the run goes on, the
/// worker's next claim returns its own running delivery: it is not started a second time.
#[tokio::test]
async fn a_worker_does_not_start_again_what_it_still_runs_after_its_lease_ran_out() {
    let (dir, inbox, _clock) = inbox_with(|b| b).await;
    let held = Held::default();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .lease(Duration::from_secs(30))
        .on_raw("*", held.handler())
        .spawn()
        .unwrap();
    let id = accept(&inbox, "long", "t").await;
    assert!(eventually(5, || async { held.runs() == 1 }).await);
    // The lease runs out behind the worker's back, as when its renewals fail.
    expire_lease(&dir, id).await;
    // The worker claims it again (the claim renews its lease)...
    assert!(
        eventually(5, || async {
            inbox.get(id).await.unwrap().unwrap().attempts == 2
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ...and does not start it while the first run goes on.
    assert_eq!(held.runs(), 1, "started twice at once");
    held.release();
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(held.runs(), 1);
    worker.shutdown().await;
}

/// A claimed row that cannot be read (damaged outside the inbox, or written by a newer version)
/// is dead-lettered with the reason; the deliveries claimed with it run as usual.
#[tokio::test]
async fn an_unreadable_row_is_dead_lettered_and_its_batch_runs() {
    let (dir, inbox, _clock) = inbox_with(|b| b).await;
    let first = accept(&inbox, "first", "t").await;
    let bad = accept(&inbox, "bad", "t").await;
    let last = accept(&inbox, "last", "t").await;
    let mut db = raw_db(&dir).await;
    sqlx::query(r#"UPDATE inbox_deliveries SET headers = '{"not":"pairs"}' WHERE id = ?1"#)
        .bind(bad.0)
        .execute(&mut db)
        .await
        .unwrap();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .on_raw("*", |_d: StoredDelivery| async { HandlerResult::Ok(()) })
        .spawn()
        .unwrap();
    assert!(
        eventually(5, || async {
            status(&inbox, first).await == DeliveryStatus::Done
                && status(&inbox, last).await == DeliveryStatus::Done
        })
        .await
    );
    let (status, error): (String, String) =
        sqlx::query_as("SELECT status, last_error FROM inbox_deliveries WHERE id = ?1")
            .bind(bad.0)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(status, "dead");
    assert!(error.contains("the stored row cannot be read"), "{error}");
    worker.shutdown().await;
}

/// A poll interval longer than a third of the lease does not delay renewals: a long run keeps
/// its delivery.
#[tokio::test]
async fn renewals_do_not_wait_for_a_long_poll_interval() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let held = Held::default();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_secs(30))
        .lease(Duration::from_secs(3))
        .on_raw("*", held.handler())
        .spawn()
        .unwrap();
    let id = accept(&inbox, "long", "t").await;
    assert!(held.started().await);
    // Renewed (to the advanced clock plus a lease) within seconds, not after the 30 s poll.
    let renewed_after_a_third = || async {
        let start = webhook_inbox::Clock::now_unix_ms(&clock);
        clock.advance(Duration::from_millis(1100));
        eventually(4, || async {
            inbox.get(id).await.unwrap().unwrap().next_attempt_at_ms >= start + 1100 + 3000
        })
        .await
    };
    assert!(
        renewed_after_a_third().await,
        "lease not renewed before the next poll"
    );
    // The same while shutting down, waiting for the run to finish.
    let shutdown = tokio::spawn(worker.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        renewed_after_a_third().await,
        "lease not renewed during shutdown before the next poll"
    );
    held.release();
    shutdown.await.unwrap();
    assert_eq!(status(&inbox, id).await, DeliveryStatus::Done);
}

#[tokio::test]
async fn a_run_finishing_during_shutdown_keeps_its_lease() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let held = Held::default();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .lease(Duration::from_secs(30))
        .shutdown_timeout(Duration::from_secs(30))
        .on_raw("*", held.handler())
        .spawn()
        .unwrap();
    let id = accept(&inbox, "draining", "t").await;
    assert!(held.started().await);
    let shutdown = tokio::spawn(worker.shutdown());
    let start = webhook_inbox::Clock::now_unix_ms(&clock);
    for step in 1..=6 {
        clock.advance(Duration::from_secs(10));
        let renewed = start + step * 10_000 + 30_000;
        assert!(
            eventually(5, || async {
                inbox.get(id).await.unwrap().unwrap().next_attempt_at_ms >= renewed
            })
            .await,
            "lease not renewed while shutting down, step {step}"
        );
    }
    held.release();
    shutdown.await.unwrap();
    let row = inbox.get(id).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (DeliveryStatus::Done, 1));
}

/// Runs finishing more often than the poll interval during shutdown do not starve the renewal
/// of a long run's lease.
#[tokio::test]
async fn leases_are_renewed_during_shutdown_while_other_runs_keep_finishing() {
    const SHORT: usize = 60;
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let release = Arc::new(tokio::sync::Notify::new());
    let started = Arc::new(AtomicUsize::new(0));
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let (r2, s2) = (release.clone(), started.clone());
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(200))
        .concurrency(SHORT + 1)
        .lease(Duration::from_secs(30))
        .shutdown_timeout(Duration::from_secs(30))
        .on_raw("*", move |d: StoredDelivery| {
            let (release, started, mut go) = (r2.clone(), s2.clone(), go_rx.clone());
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                match d
                    .message_id
                    .as_deref()
                    .and_then(|m| m.strip_prefix("short-"))
                {
                    // Once shutdown starts, one short run finishes every 100 ms, more often
                    // than the 200 ms poll interval.
                    Some(k) => {
                        let k: u64 = k.parse().unwrap();
                        go.wait_for(|go| *go).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(100 * k)).await;
                    }
                    None => release.notified().await,
                }
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    let long = accept(&inbox, "long", "t").await;
    for k in 1..=SHORT {
        accept(&inbox, &format!("short-{k}"), "t").await;
    }
    assert!(eventually(5, || async { started.load(Ordering::SeqCst) == SHORT + 1 }).await);
    let shutdown = tokio::spawn(worker.shutdown());
    go_tx.send(true).unwrap();
    let start = webhook_inbox::Clock::now_unix_ms(&clock);
    clock.advance(Duration::from_secs(10));
    // Within the 6 s in which the short runs finish.
    assert!(
        eventually(4, || async {
            inbox.get(long).await.unwrap().unwrap().next_attempt_at_ms >= start + 40_000
        })
        .await,
        "lease not renewed while runs kept finishing"
    );
    release.notify_waiters();
    shutdown.await.unwrap();
    let row = inbox.get(long).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (DeliveryStatus::Done, 1));
}

#[tokio::test]
async fn stats_health_and_retention() {
    let (_dir, inbox, clock) = inbox_with(|b| {
        b.retry_policy(webhook_inbox::RetryPolicy::none())
            .health_threshold(2, Duration::from_secs(300))
            .retention(Duration::from_secs(7 * 24 * 3600))
            .dedupe_retention(Duration::from_secs(30 * 24 * 3600))
    })
    .await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .circuit_breaker(BreakerConfig::disabled())
        .on_raw("*", |d: StoredDelivery| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if d.event_type_str() == "bad" {
                Err(HandlerError::new("nope"))
            } else {
                Ok(())
            }
        })
        .spawn()
        .unwrap();
    assert!(inbox.health().await.healthy);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(accept(&inbox, &format!("ok{i}"), "good").await);
        ids.push(accept(&inbox, &format!("bad{i}"), "bad").await);
    }
    assert!(
        eventually(5, || async {
            inbox.counts().await.unwrap().queue_depth() == 0
        })
        .await
    );
    let stats = inbox.stats(Duration::from_secs(3600)).await.unwrap();
    let good = stats.iter().find(|s| s.event_type == "good").unwrap();
    let bad = stats.iter().find(|s| s.event_type == "bad").unwrap();
    assert_eq!(
        (good.total, good.succeeded, good.failed, good.dead),
        (3, 3, 0, 0)
    );
    assert_eq!(
        (bad.total, bad.succeeded, bad.failed, bad.dead),
        (3, 0, 3, 3)
    );
    assert!(
        good.min_ms.unwrap() >= 5
            && good.avg_ms.unwrap() >= 5.0
            && good.max_ms.unwrap() >= good.min_ms.unwrap()
    );
    // Failing handlers are reported, but the inbox still accepts: it stays healthy (a probe
    // must not take it out of service for a downstream outage).
    let health = inbox.health().await;
    assert!(health.healthy);
    assert!(health.handlers_failing);
    assert_eq!(health.recent_failures, 3);
    assert!(health.reason.unwrap().contains("threshold 2"));
    // Five minutes later the failures are out of the window.
    clock.advance(Duration::from_secs(301));
    let health = inbox.health().await;
    assert!(health.healthy && !health.handlers_failing);
    assert_eq!(health.reason, None);
    // Eight days later the done deliveries are pruned; dead ones and all dedupe keys stay.
    clock.advance(Duration::from_secs(8 * 24 * 3600));
    let report = inbox.prune().await.unwrap();
    assert_eq!(report.deliveries, 3);
    assert_eq!(inbox.counts().await.unwrap().dead, 3);
    assert!(
        inbox
            .accept(&delivery("ok0", "good", "{}"), AcceptMeta::new())
            .await
            .unwrap()
            .is_duplicate()
    );
    worker.shutdown().await;
}

/// A run that ends while a claim returning its delivery is on its way (its lease had run out,
/// the claim took it back, then the run recorded its outcome under the renewed lease): the
/// claimed copy is stale, and the handler does not run a second time.
#[tokio::test]
async fn a_run_ending_while_a_claim_takes_its_delivery_back_is_not_run_again() {
    let (dir, backend, inbox) = interposed_inbox(|i| i, |b| b).await;
    let held = Held::default();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .lease(Duration::from_secs(30))
        .on_raw("*", held.handler())
        .spawn()
        .unwrap();
    let id = accept(&inbox, "long", "t").await;
    assert!(held.started().await);
    // The lease runs out behind the worker's back; the next claim takes the delivery back and
    // waits before the worker sees it.
    *backend.watched.lock().unwrap() = Some(id);
    expire_lease(&dir, id).await;
    tokio::time::timeout(Duration::from_secs(5), backend.claimed.notified())
        .await
        .expect("the claim never took the delivery back");
    // Meanwhile the first run ends and records its outcome under the renewed lease.
    held.release();
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Done
        })
        .await
    );
    *backend.watched.lock().unwrap() = None;
    backend.go.notify_one();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(held.runs(), 1, "the stale claimed copy ran again");
    assert_eq!(status(&inbox, id).await, DeliveryStatus::Done);
    worker.shutdown().await;
}

/// A worker over `backend` (SQLite in `dir`) whose handler fails its first run and succeeds
/// after; retries are due at once. The delivery's record is watched: the record that ends the
/// first run waits for `go_record` before the run lets go of the delivery.
struct Flaky {
    _dir: tempfile::TempDir,
    backend: Arc<Interposed>,
    inbox: Inbox,
    id: DeliveryId,
    runs: Arc<AtomicUsize>,
    worker: webhook_inbox::Worker,
}

impl Flaky {
    async fn start(then_watch_claims: bool) -> Self {
        let (dir, backend, inbox) = interposed_inbox(
            |i| Interposed {
                then_watch_claims,
                ..i
            },
            |b| b.retry_policy(RetryPolicy::fixed([Duration::ZERO, Duration::ZERO])),
        )
        .await;
        let id = accept(&inbox, "flaky", "t").await;
        *backend.watched_record.lock().unwrap() = Some(id);
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let worker = inbox
            .worker()
            .poll_interval(Duration::from_millis(10))
            .lease(Duration::from_secs(60))
            .on_raw("*", move |_d: StoredDelivery| {
                let run = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if run == 0 {
                        Err(HandlerError::new("first run fails"))
                    } else {
                        Ok(())
                    }
                }
            })
            .spawn()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), backend.recorded.notified())
            .await
            .expect("the failed run was never recorded");
        Flaky {
            _dir: dir,
            backend,
            inbox,
            id,
            runs,
            worker,
        }
    }

    /// The retry ran once, with its attempt counted once, without waiting out a lease.
    async fn assert_retried(self) {
        assert!(
            eventually(5, || async {
                status(&self.inbox, self.id).await == DeliveryStatus::Done
            })
            .await,
            "the retry waited for the lease instead of running"
        );
        assert_eq!(self.runs.load(Ordering::SeqCst), 2);
        assert_eq!(self.inbox.get(self.id).await.unwrap().unwrap().attempts, 2);
        self.worker.shutdown().await;
    }
}

/// A run whose retry is recorded, then claimed at once by this worker before the run lets go of
/// it: the claimed copy is given back (undoing its attempt) instead of waiting out a lease, and
/// the retry runs.
#[tokio::test]
async fn a_retry_claimed_before_its_run_lets_go_is_given_back_and_runs() {
    let flaky = Flaky::start(false).await;
    let (inbox, id) = (&flaky.inbox, flaky.id);
    assert!(
        eventually(5, || async {
            let d = inbox.get(id).await.unwrap().unwrap();
            d.status == DeliveryStatus::Processing && d.attempts == 2
        })
        .await,
        "the worker never claimed the retry"
    );
    flaky.backend.go_record.notify_one();
    flaky.assert_retried().await;
}

/// The same order, but the run lets go while the claim that took its retry is on its way: that
/// copy is given back too.
#[tokio::test]
async fn a_retry_claimed_while_its_run_lets_go_is_given_back_and_runs() {
    let flaky = Flaky::start(true).await;
    // The worker claims the retry, which is due at once; the claim's answer waits.
    tokio::time::timeout(Duration::from_secs(5), flaky.backend.claimed.notified())
        .await
        .expect("the worker never claimed the retry");
    *flaky.backend.watched.lock().unwrap() = None;
    // The failed run lets go while the claim is on its way.
    flaky.backend.go_record.notify_one();
    tokio::time::sleep(Duration::from_millis(200)).await;
    flaky.backend.go.notify_one();
    flaky.assert_retried().await;
}

/// Workers with different handlers share an inbox: each takes only its own deliveries, and
/// none is completed by a worker without its handler.
#[tokio::test]
async fn workers_with_different_handlers_take_only_their_own() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let (a_runs, b_runs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let a = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("a.created", counting(&a_runs))
        .spawn()
        .unwrap();
    let b = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("b.*", counting(&b_runs))
        .spawn()
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(accept(&inbox, &format!("a{i}"), "a.created").await);
        ids.push(accept(&inbox, &format!("b{i}"), "b.created").await);
    }
    assert!(eventually(5, || all_done(&inbox, &ids)).await);
    assert_eq!(
        (a_runs.load(Ordering::SeqCst), b_runs.load(Ordering::SeqCst)),
        (10, 10)
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// A delivery no worker handles waits `unhandled_after` (for an instance that may have the
/// handler), then follows the `Unhandled` policy without counting as a handler run.
#[tokio::test]
async fn unhandled_deliveries_wait_then_complete_without_a_run() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .unhandled_after(Duration::from_secs(60))
        .on_raw("a.*", |_d: StoredDelivery| async { HandlerResult::Ok(()) })
        .spawn()
        .unwrap();
    let handled = accept(&inbox, "h", "a.created").await;
    let unhandled = accept(&inbox, "u", "nobody.listens").await;
    assert!(
        eventually(5, || async {
            status(&inbox, handled).await == DeliveryStatus::Done
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = inbox.get(unhandled).await.unwrap().unwrap();
    assert_eq!(
        (waiting.status, waiting.attempts),
        (DeliveryStatus::Pending, 0)
    );

    clock.advance(Duration::from_secs(60));
    assert!(
        eventually(5, || async {
            status(&inbox, unhandled).await == DeliveryStatus::Done
        })
        .await
    );
    let stats = inbox.stats(Duration::from_secs(3600)).await.unwrap();
    let nobody = stats
        .iter()
        .find(|s| s.event_type == "nobody.listens")
        .unwrap();
    assert_eq!(
        (nobody.failed, nobody.avg_ms, nobody.min_ms),
        (0, None, None),
        "no handler run is logged for it"
    );
    worker.shutdown().await;
}

/// A worker spawned a moment after another is not passed over: deliveries waiting from before
/// either started are not given the `Unhandled` policy by the first one (no delivery is, until
/// the workers have been settled for `unhandled_after`), and the second runs them at once.
#[tokio::test]
async fn a_worker_spawned_after_another_still_runs_its_old_deliveries() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(accept(&inbox, &format!("b{i}"), "b.created").await);
    }
    // A backlog older than `unhandled_after`.
    clock.advance(Duration::from_secs(600));
    let a = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("a.*", |_d: StoredDelivery| async { HandlerResult::Ok(()) })
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for id in &ids {
        let d = inbox.get(*id).await.unwrap().unwrap();
        assert_eq!((d.status, d.attempts), (DeliveryStatus::Pending, 0));
    }
    let b_runs = Arc::new(AtomicUsize::new(0));
    let b = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("b.*", counting(&b_runs))
        .spawn()
        .unwrap();
    assert!(eventually(5, || all_done(&inbox, &ids)).await);
    assert_eq!(b_runs.load(Ordering::SeqCst), 5);
    a.shutdown().await;
    b.shutdown().await;
}

/// Two instances on one store, one without the handler for a type (a rolling upgrade): the one
/// with the handler runs every delivery of it at once, and the other neither takes nor
/// dead-letters any of them.
#[tokio::test]
async fn an_instance_without_the_handler_leaves_its_deliveries_to_one_with_it() {
    let (dir, old, clock) = inbox_with(|b| b).await;
    let new = second_instance(&dir, &clock, |b| b).await;
    let old_worker = old
        .worker()
        .poll_interval(Duration::from_millis(5))
        .unhandled(Unhandled::DeadLetter)
        .unhandled_after(Duration::from_secs(60))
        .on_raw("a.*", |_d: StoredDelivery| async { HandlerResult::Ok(()) })
        .spawn()
        .unwrap();
    // The old instance has been running for longer than the wait.
    clock.advance(Duration::from_secs(120));
    let b_runs = Arc::new(AtomicUsize::new(0));
    let new_worker = new
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("b.*", counting(&b_runs))
        .spawn()
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(accept(&old, &format!("b{i}"), "b.created").await);
    }
    assert!(eventually(5, || all_done(&old, &ids)).await);
    assert_eq!(b_runs.load(Ordering::SeqCst), 20);
    old_worker.shutdown().await;
    new_worker.shutdown().await;
}

/// A retry is the handler's instance's to run: an instance without the handler does not take
/// it as unhandled when it falls due (it waits `unhandled_after` from then, not from receipt).
#[tokio::test]
async fn an_instance_without_the_handler_leaves_a_retry_to_one_with_it() {
    let (dir, old, clock) = inbox_with(|b| b).await;
    let new = second_instance(&dir, &clock, |b| {
        b.retry_policy(RetryPolicy::fixed([Duration::from_secs(120)]))
    })
    .await;
    let old_worker = settled_a_worker(&old, &clock);
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let new_worker = new
        .worker()
        .poll_interval(Duration::from_millis(50))
        .on_raw("b.*", move |_d: StoredDelivery| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    Err(HandlerError::new("downstream 503"))
                } else {
                    Ok(())
                }
            }
        })
        .spawn()
        .unwrap();
    let id = accept(&new, "b1", "b.created").await;
    assert!(
        eventually(5, || async {
            status(&new, id).await == DeliveryStatus::Retrying
        })
        .await
    );
    // The retry falls due, long after the delivery was received.
    clock.advance(Duration::from_secs(120));
    assert!(
        eventually(5, || async {
            status(&new, id).await == DeliveryStatus::Done
        })
        .await
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the retry ran in the handler"
    );
    old_worker.shutdown().await;
    new_worker.shutdown().await;
}

/// A backlog at the instance that has the handler (more deliveries than it runs at once) is not
/// taken as unhandled by an instance without it, however long it waits: each worker notes its
/// patterns in the store, and every instance's claims leave what a running worker handles.
#[tokio::test]
async fn a_backlog_at_the_handlers_instance_is_not_taken_as_unhandled() {
    let (dir, old, clock) = inbox_with(|b| b).await;
    let new = second_instance(&dir, &clock, |b| b).await;
    let old_worker = settled_a_worker(&old, &clock);
    let held = Held::default();
    let new_worker = new
        .worker()
        .poll_interval(Duration::from_millis(5))
        .concurrency(1)
        .on_raw("b.*", held.handler())
        .spawn()
        .unwrap();
    let ids = [
        accept(&new, "b1", "b.created").await,
        accept(&new, "b2", "b.created").await,
        accept(&new, "b3", "b.created").await,
    ];
    assert!(held.started().await);
    // The backlog waits past `unhandled_after` while the first run lasts.
    clock.advance(Duration::from_secs(61));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let done = {
        let mut n = 0;
        for id in &ids {
            if status(&new, *id).await == DeliveryStatus::Done {
                n += 1;
            }
        }
        n
    };
    assert_eq!(done, 0, "nothing was completed without its handler");
    assert!(
        eventually(5, || {
            held.release();
            all_done(&new, &ids)
        })
        .await
    );
    assert_eq!(held.runs(), 3);
    old_worker.shutdown().await;
    new_worker.shutdown().await;
}

/// A worker's note outlives it for a while: while the instance that has the handler restarts,
/// its deliveries are not taken as unhandled by another instance.
#[tokio::test]
async fn a_restarting_handler_keeps_its_deliveries() {
    let (dir, old, clock) = inbox_with(|b| b).await;
    let new = second_instance(&dir, &clock, |b| b).await;
    let old_worker = settled_a_worker(&old, &clock);
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = counting(&runs);
    let first = new
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("b.*", handler.clone())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    first.shutdown().await;
    // Deliveries arrive while it is down, and wait past `unhandled_after`.
    let ids = [
        accept(&new, "b1", "b.created").await,
        accept(&new, "b2", "b.created").await,
    ];
    clock.advance(Duration::from_secs(61));
    tokio::time::sleep(Duration::from_millis(200)).await;
    for id in &ids {
        assert_eq!(status(&new, *id).await, DeliveryStatus::Pending);
    }
    let again = new
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("b.*", handler)
        .spawn()
        .unwrap();
    assert!(eventually(5, || all_done(&new, &ids)).await);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    old_worker.shutdown().await;
    again.shutdown().await;
}

/// `close` without `shutdown` first stops the inbox's workers and waits for their runs: a
/// handled delivery is recorded as done, not run again after a restart.
#[tokio::test]
async fn close_waits_for_the_workers_and_their_runs() {
    let (dir, inbox, _clock) = inbox_with(|b| b).await;
    let held = Held::default();
    let _worker = inbox
        .worker()
        .on_raw("*", held.handler())
        .poll_interval(Duration::from_millis(10))
        .spawn()
        .unwrap();
    let id = accept(&inbox, "msg_close", "user.created").await;
    assert!(held.started().await);
    let closing = tokio::spawn({
        let inbox = inbox.clone();
        async move { inbox.close().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!closing.is_finished(), "close returned while a handler ran");
    held.release.notify_waiters();
    tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .expect("close did not return")
        .unwrap();
    // Spawning on the closed inbox is refused.
    let refused = inbox.worker().on_raw("*", held.handler()).spawn();
    assert!(matches!(refused, Err(webhook_inbox::InboxError::Closed)));

    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let reopened = Inbox::connect(&url).await.unwrap();
    let stored = reopened.get(id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Done);
    assert_eq!(stored.attempts, 1);
    assert_eq!(held.runs(), 1);
    reopened.close().await;
}

/// A worker that could only complete deliveries unhandled, or that has no runtime to run on,
/// is refused at `spawn`.
#[tokio::test]
async fn a_worker_without_handlers_is_refused() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let err = inbox.worker().spawn().unwrap_err();
    assert!(err.to_string().contains("no handler"), "{err}");
    // One that dead-letters what it cannot handle is a worker with a purpose.
    let janitor = inbox
        .worker()
        .unhandled(Unhandled::DeadLetter)
        .spawn()
        .unwrap();
    janitor.shutdown().await;
    inbox.close().await;
}

#[test]
fn spawning_outside_a_runtime_is_an_error_not_a_panic() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_dir, inbox, _clock) = rt.block_on(inbox_with(|b| b));
    let err = inbox
        .worker()
        .on_raw("*", |_d: StoredDelivery| async { Ok(()) })
        .spawn()
        .unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    rt.block_on(inbox.close());
}

/// Deliveries no handler takes are completed by default; the first of each event type is
/// warned about, so that a pattern with a typo shows in the logs.
#[tokio::test]
async fn unhandled_event_types_are_warned_about_once_each() {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(10))
        .unhandled_after(Duration::ZERO)
        .on_raw("organisation.*", |_d: StoredDelivery| async { Ok(()) })
        .spawn()
        .unwrap();
    let ids = [
        accept(&inbox, "u1", "organization.created").await,
        accept(&inbox, "u2", "organization.created").await,
        accept(&inbox, "u3", "organization.deleted").await,
    ];
    assert!(
        eventually(5, || async {
            for id in ids {
                if status(&inbox, id).await != DeliveryStatus::Done {
                    return false;
                }
            }
            true
        })
        .await
    );
    worker.shutdown().await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 2, "{log}");
    assert!(warnings[0].contains("\"organization.created\""), "{log}");
    assert!(warnings[1].contains("\"organization.deleted\""), "{log}");
}

/// A handler failing every run opens its circuit; from then on its breaker holds the
/// deliveries, so only a trial a minute fails, too few for the failure threshold, and nothing
/// succeeds: health reports the open circuit as handlers failing until a trial succeeds.
#[tokio::test]
async fn an_open_circuit_is_reported_as_handlers_failing_until_a_trial_succeeds() {
    let (_dir, inbox, clock) =
        inbox_with(|b| b.retry_policy(RetryPolicy::fixed(vec![Duration::from_secs(1); 1000])))
            .await;
    let down = Arc::new(AtomicBool::new(true));
    let d = down.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .on_raw("*", move |_: StoredDelivery| {
            let down = d.load(Ordering::SeqCst);
            async move {
                if down {
                    Err(HandlerError::new("the CRM answers 503"))
                } else {
                    Ok(())
                }
            }
        })
        .spawn()
        .unwrap();
    for i in 0..6 {
        accept(&inbox, &format!("m{i}"), "user.created").await;
    }
    assert!(
        eventually(10, || async {
            clock.advance(Duration::from_secs(1));
            inbox.health().await.open_circuits == 1
        })
        .await
    );
    // The failures leave the window; the circuit stays open (each trial fails and opens it
    // again).
    clock.advance(Duration::from_secs(301));
    assert!(
        eventually(10, || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            inbox.health().await.open_circuits == 1
        })
        .await
    );
    let health = inbox.health().await;
    assert!(health.healthy, "{health:?}");
    assert!(
        health.recent_failures <= health.failure_threshold,
        "{health:?}"
    );
    assert!(health.handlers_failing, "{health:?}");
    assert_eq!(health.open_circuits, 1);
    assert!(
        health
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("circuit")),
        "{health:?}"
    );
    // The downstream recovers: the next trial closes the circuit and the queue drains.
    down.store(false, Ordering::SeqCst);
    assert!(
        eventually(10, || async {
            clock.advance(Duration::from_secs(10));
            let health = inbox.health().await;
            health.open_circuits == 0 && health.counts.unwrap().queue_depth() == 0
        })
        .await
    );
    clock.advance(Duration::from_secs(301));
    assert!(!inbox.health().await.handlers_failing);
    worker.shutdown().await;
}

/// A circuit that opened on a delivery's last attempt (it went dead) has nothing left to try
/// and holds nothing back: health does not report it.
#[tokio::test]
async fn an_open_circuit_with_nothing_to_try_is_not_reported() {
    let (_dir, inbox, clock) = inbox_with(|b| b.retry_policy(RetryPolicy::none())).await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .circuit_breaker(BreakerConfig::new(1, Duration::from_secs(60)))
        .on_raw("*", |_: StoredDelivery| async {
            HandlerResult::Err(HandlerError::new("the CRM answers 503"))
        })
        .spawn()
        .unwrap();
    let id = accept(&inbox, "only", "user.created").await;
    assert!(
        eventually(5, || async {
            status(&inbox, id).await == DeliveryStatus::Dead
        })
        .await
    );
    assert_eq!(inbox.health().await.open_circuits, 0);
    // An hour later: nothing waits, nothing failed in the window, the recovery is long past.
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health = inbox.health().await;
    assert_eq!(
        health.counts.as_ref().unwrap().queue_depth(),
        0,
        "{health:?}"
    );
    assert_eq!(health.recent_failures, 0, "{health:?}");
    assert!(!health.handlers_failing, "{health:?}");
    worker.shutdown().await;
}

/// Shutdown, and close without shutdown, take a worker's circuits out of the count.
#[tokio::test]
async fn open_circuits_leave_the_count_on_shutdown_and_close() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let spawn = || {
        inbox
            .worker()
            .poll_interval(Duration::from_millis(5))
            .circuit_breaker(BreakerConfig::new(1, Duration::from_secs(60)))
            .on_raw("*", |_: StoredDelivery| async {
                HandlerResult::Err(HandlerError::new("down"))
            })
            .spawn()
            .unwrap()
    };
    let a = spawn();
    let b = spawn();
    accept(&inbox, "x1", "t").await;
    accept(&inbox, "x2", "t").await;
    accept(&inbox, "x3", "t").await;
    assert!(
        eventually(5, || async {
            clock.advance(Duration::from_millis(1500));
            inbox.health().await.open_circuits == 2
        })
        .await,
        "{:?}",
        inbox.health().await
    );
    a.shutdown().await;
    assert_eq!(inbox.health().await.open_circuits, 1);
    drop(b);
    inbox.close().await;
    assert!(eventually(5, || async { inbox.health().await.open_circuits == 0 }).await);
}

/// A delivery whose next retry (30 s) is later than its circuit's recovery (5 s): something is
/// left to try and every run fails, so the circuit stays reported past its hold.
#[tokio::test]
async fn a_circuit_waiting_for_a_later_retry_is_still_reported_open() {
    let (_dir, inbox, clock) =
        inbox_with(|b| b.retry_policy(RetryPolicy::fixed(vec![Duration::from_secs(30); 100])))
            .await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .circuit_breaker(BreakerConfig::new(1, Duration::from_secs(5)))
        .on_raw("*", |_: StoredDelivery| async {
            HandlerResult::Err(HandlerError::new("the CRM answers 503"))
        })
        .spawn()
        .unwrap();
    accept(&inbox, "late", "user.created").await;
    assert!(eventually(5, || async { inbox.health().await.open_circuits == 1 }).await);
    clock.advance(Duration::from_secs(11));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health = inbox.health().await;
    assert_eq!(
        health.counts.as_ref().unwrap().queue_depth(),
        1,
        "{health:?}"
    );
    assert_eq!(
        health.open_circuits, 1,
        "never succeeded, still waiting: {health:?}"
    );
    assert!(health.handlers_failing, "{health:?}");
    worker.shutdown().await;
}

/// A trial that hangs (no run_timeout, downstream not answering) holds every other delivery of
/// the handler: the circuit stays reported while the trial is in flight.
#[tokio::test]
async fn a_circuit_whose_trial_is_in_flight_is_still_reported_open() {
    let (_dir, inbox, clock) = inbox_with(|b| b).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(5))
        .circuit_breaker(BreakerConfig::new(1, Duration::from_secs(5)))
        .shutdown_timeout(Duration::from_millis(50))
        .on_raw("*", move |_: StoredDelivery| {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    HandlerResult::Err(HandlerError::new("down"))
                } else {
                    std::future::pending::<()>().await;
                    Ok(())
                }
            }
        })
        .spawn()
        .unwrap();
    accept(&inbox, "h1", "t").await;
    assert!(eventually(5, || async { inbox.health().await.open_circuits == 1 }).await);
    accept(&inbox, "h2", "t").await;
    accept(&inbox, "h3", "t").await;
    // The hold ends: a trial starts and hangs.
    clock.advance(Duration::from_secs(5));
    assert!(eventually(5, || async { runs.load(Ordering::SeqCst) == 2 }).await);
    // One recovery later, the trial is still running and the others still held.
    clock.advance(Duration::from_secs(6));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let health = inbox.health().await;
    assert_eq!(health.open_circuits, 1, "trial in flight: {health:?}");
    worker.shutdown().await;
}
