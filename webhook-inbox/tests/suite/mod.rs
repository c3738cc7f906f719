//! The backend test suite: every backend must pass it. A test file instantiates it with
//! `backend_suite!(async { (guard, Arc<dyn Backend>) })`; the guard keeps temp resources alive.
#![allow(dead_code, unreachable_pub)]

use webhook_inbox::backend::Backend;
use webhook_inbox::{
    AcceptMeta, Accepted, ClaimFilter, DeliveryId, DeliveryStatus, InboxError, ListFilter,
    NewDelivery, Outcome, OutcomeResult, StoredDelivery,
};

use crate::support::delivery;

pub const T0: i64 = 1_700_000_000_000;

/// The patterns a GitHub worker notes (`issues` and `issues.*`), the query that reads its
/// stored rows (backend-specific tests run it with their own driver), and the rows it must find:
/// the name, and one prefix row for its subtypes, written once.
pub const NOTED_PATTERNS: [&str; 2] = ["issues", "issues.*"];
pub const NOTED_ROWS_SQL: &str =
    "SELECT kind, literal FROM inbox_worker_patterns WHERE owner = 'gh' ORDER BY kind, literal";
pub fn noted_rows() -> [(String, String); 2] {
    [
        ("exact".to_owned(), "issues".to_owned()),
        ("prefix".to_owned(), "issues.".to_owned()),
    ]
}

pub fn new(id: &str, event_type: &str, at: i64) -> NewDelivery {
    let meta = AcceptMeta::new()
        .client_addr("10.0.0.7:4444".parse().unwrap())
        .user_agent("Svix-Webhooks/1.0");
    NewDelivery::from_delivery(&delivery(id, event_type, "{}"), meta, at)
}

fn done(id: DeliveryId, owner: &str, at: i64, ms: i64) -> Outcome {
    Outcome::new(
        id,
        Some("user.created".into()),
        owner,
        at,
        ms,
        OutcomeResult::Done,
    )
}

pub async fn accept_tells_new_from_duplicate(b: &dyn Backend) {
    let first = b
        .accept_batch(&[
            new("a", "user.created", T0),
            new("b", "user.created", T0),
            new("a", "user.created", T0),
        ])
        .await
        .unwrap();
    let (a, bb) = (first[0].id(), first[1].id());
    assert_eq!(
        first,
        vec![Accepted::New(a), Accepted::New(bb), Accepted::Duplicate(a)]
    );
    assert_ne!(a, bb);
    let second = b
        .accept_batch(&[new("b", "x", T0 + 1), new("c", "x", T0 + 1)])
        .await
        .unwrap();
    assert_eq!(second[0], Accepted::Duplicate(bb));
    assert!(matches!(second[1], Accepted::New(_)));

    let stored = b.get(a).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Pending);
    assert_eq!(stored.attempts, 0);
    assert_eq!(stored.scheme, "standard");
    assert_eq!(stored.message_id.as_deref(), Some("a"));
    assert_eq!(stored.event_id.as_deref(), Some("evt_a"));
    assert_eq!(stored.event_type.as_deref(), Some("user.created"));
    assert_eq!(stored.dedupe_key, "standard:a");
    assert_eq!(
        &stored.body[..],
        br#"{"id":"evt_a","type":"user.created","data":{}}"#
    );
    assert_eq!(stored.client_addr.as_deref(), Some("10.0.0.7:4444"));
    assert_eq!(stored.user_agent.as_deref(), Some("Svix-Webhooks/1.0"));
    assert_eq!(stored.received_at_ms, T0);
    // The kept headers re-verify the stored bytes.
    let verifier = webhook_core::Verifier::standard(crate::support::SECRET)
        .unwrap()
        .without_timestamp_check();
    assert!(stored.reverify(&verifier).is_ok());
    assert!(b.get(DeliveryId(999_999)).await.unwrap().is_none());
}

pub async fn claims_lease_and_reclaim_expired(b: &dyn Backend) {
    for id in ["a", "b", "c"] {
        b.accept_batch(&[new(id, "t", T0)]).await.unwrap();
    }
    let first = b.claim("A", 2, T0, T0 + 1_000).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|d| d.status == DeliveryStatus::Processing && d.attempts == 1)
    );
    let second = b.claim("B", 10, T0, T0 + 10_000).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(
        b.claim("B", 10, T0 + 999, T0 + 2_000)
            .await
            .unwrap()
            .is_empty()
    );
    // A crashed: its leases expire and B takes them, counting a second attempt.
    let reclaimed = b.claim("B", 10, T0 + 1_000, T0 + 5_000).await.unwrap();
    assert_eq!(
        reclaimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        first.iter().map(|d| d.id).collect::<Vec<_>>()
    );
    assert!(reclaimed.iter().all(|d| d.attempts == 2));
    // A's late outcome no longer applies; B's does.
    assert_eq!(
        b.record(&[done(first[0].id, "A", T0 + 1_100, 5)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        b.record(&[done(first[0].id, "B", T0 + 1_100, 5)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        b.get(first[0].id).await.unwrap().unwrap().status,
        DeliveryStatus::Done
    );
}

pub async fn outcomes_schedule_retries_and_dead_letters(b: &dyn Backend) {
    b.accept_batch(&[new("a", "t", T0), new("b", "t", T0), new("c", "t", T0)])
        .await
        .unwrap();
    let claimed = b.claim("W", 10, T0, T0 + 60_000).await.unwrap();
    let [a, bb, c] = [claimed[0].id, claimed[1].id, claimed[2].id];
    let applied = b
        .record(&[
            done(a, "W", T0 + 10, 7),
            Outcome::new(
                bb,
                Some("t".into()),
                "W",
                T0 + 10,
                3,
                OutcomeResult::Retry {
                    error: "boom".into(),
                    at_ms: T0 + 1_000,
                },
            ),
            Outcome::new(
                c,
                Some("t".into()),
                "W",
                T0 + 10,
                4,
                OutcomeResult::Dead {
                    error: "bad".into(),
                },
            ),
        ])
        .await
        .unwrap();
    assert_eq!(applied, 3);
    let a_row = b.get(a).await.unwrap().unwrap();
    assert_eq!(
        (a_row.status, a_row.processing_ms, a_row.finished_at_ms),
        (DeliveryStatus::Done, Some(7), Some(T0 + 10))
    );
    let b_row = b.get(bb).await.unwrap().unwrap();
    assert_eq!(
        (
            b_row.status,
            b_row.last_error.as_deref(),
            b_row.next_attempt_at_ms
        ),
        (DeliveryStatus::Retrying, Some("boom"), T0 + 1_000)
    );
    let c_row = b.get(c).await.unwrap().unwrap();
    assert_eq!(
        (c_row.status, c_row.last_error.as_deref()),
        (DeliveryStatus::Dead, Some("bad"))
    );
    // The retry is not due before its time, then it is, with its attempt count kept.
    assert!(
        b.claim("W", 10, T0 + 999, T0 + 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    let again = b.claim("W", 10, T0 + 1_000, T0 + 60_000).await.unwrap();
    assert_eq!((again.len(), again[0].id, again[0].attempts), (1, bb, 2));

    let counts = b.counts().await.unwrap();
    assert_eq!(
        (
            counts.done,
            counts.processing,
            counts.dead,
            counts.queue_depth()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(b.failures_since(T0).await.unwrap(), 2);
    assert_eq!(b.failures_since(T0 + 11).await.unwrap(), 0);
}

pub async fn release_does_not_count_an_attempt(b: &dyn Backend) {
    b.accept_batch(&[new("a", "t", T0)]).await.unwrap();
    let d = b.claim("W", 1, T0, T0 + 60_000).await.unwrap().remove(0);
    assert_eq!(b.release("other", &[d.id], T0).await.unwrap(), 0);
    assert_eq!(b.release("W", &[d.id], T0 + 5_000).await.unwrap(), 1);
    let row = b.get(d.id).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.attempts, row.next_attempt_at_ms),
        (DeliveryStatus::Pending, 0, T0 + 5_000)
    );
    assert!(
        b.claim("W", 1, T0 + 4_999, T0 + 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.claim("W", 1, T0 + 5_000, T0 + 60_000).await.unwrap()[0].attempts,
        1
    );
}

pub async fn extended_leases_hold_off_other_claims(b: &dyn Backend) {
    b.accept_batch(&[new("a", "t", T0), new("b", "t", T0)])
        .await
        .unwrap();
    let claimed = b.claim("A", 2, T0, T0 + 1_000).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|d| d.id).collect();
    // Only the holder extends, and a lease is never shortened.
    assert_eq!(b.extend_leases("B", &ids, T0 + 9_000).await.unwrap(), 0);
    assert_eq!(b.extend_leases("A", &ids, T0 + 5_000).await.unwrap(), 2);
    assert_eq!(
        b.extend_leases("A", &ids[..1], T0 + 2_000).await.unwrap(),
        1
    );
    assert_eq!(
        b.get(ids[0]).await.unwrap().unwrap().next_attempt_at_ms,
        T0 + 5_000
    );
    assert!(
        b.claim("B", 10, T0 + 4_999, T0 + 10_000)
            .await
            .unwrap()
            .is_empty()
    );
    // A finished delivery is not extended.
    assert_eq!(
        b.record(&[done(ids[0], "A", T0 + 100, 5)]).await.unwrap(),
        1
    );
    assert_eq!(b.extend_leases("A", &ids, T0 + 8_000).await.unwrap(), 1);
    assert_eq!(b.extend_leases("A", &[], T0 + 8_000).await.unwrap(), 0);
    let reclaimed = b.claim("B", 10, T0 + 8_000, T0 + 10_000).await.unwrap();
    assert_eq!(reclaimed.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[1]]);
}

pub async fn list_finds_a_delivery_by_any_of_its_keys(b: &dyn Backend) {
    let ids: Vec<DeliveryId> = b
        .accept_batch(&[
            new("msg_a", "t", T0),
            new("msg_b", "t", T0),
            new("a", "t", T0),
        ])
        .await
        .unwrap()
        .into_iter()
        .map(Accepted::id)
        .collect();
    let found = |filter: ListFilter| async move {
        b.list(&filter)
            .await
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect::<Vec<_>>()
    };
    // Message id, body event id, dedupe key.
    for key in ["msg_a", "evt_msg_a", "standard:msg_a"] {
        assert_eq!(found(ListFilter::new().key(key)).await, [ids[0]], "{key}");
    }
    assert_eq!(found(ListFilter::new().key("a")).await, [ids[2]]);
    assert_eq!(found(ListFilter::new().key("evt_a")).await, [ids[2]]);
    // The timestamped scheme keys on the body: its `webhook-id` is found as a message id.
    let body = br#"{"id":"evt_ts","type":"t"}"#;
    let headers = webhook_core::Signer::new(webhook_core::Scheme::Timestamped, "secret")
        .unwrap()
        .sign("wh_1", 1_700_000_000, body);
    let ts = webhook_core::Verifier::new(webhook_core::Scheme::Timestamped, "secret")
        .unwrap()
        .without_timestamp_check()
        .verify_delivery(&headers, bytes::Bytes::from_static(body))
        .unwrap();
    assert_eq!(ts.dedupe_key(), "timestamped:evt_ts");
    let ts_id = b
        .accept_batch(&[NewDelivery::from_delivery(&ts, AcceptMeta::new(), T0)])
        .await
        .unwrap()[0]
        .id();
    for key in ["wh_1", "evt_ts", "timestamped:evt_ts"] {
        assert_eq!(found(ListFilter::new().key(key)).await, [ts_id], "{key}");
    }
    assert!(found(ListFilter::new().key("msg_")).await.is_empty());
    assert!(
        found(ListFilter::new().key("msg_a").status(DeliveryStatus::Dead))
            .await
            .is_empty()
    );
}

pub async fn replay_and_redrive(b: &dyn Backend) {
    b.accept_batch(&[new("a", "t", T0), new("b", "t", T0), new("c", "t", T0)])
        .await
        .unwrap();
    let claimed = b.claim("W", 10, T0, T0 + 60_000).await.unwrap();
    let [a, bb, c] = [claimed[0].id, claimed[1].id, claimed[2].id];
    // Processing deliveries cannot be replayed.
    assert!(matches!(
        b.replay(a, T0).await,
        Err(InboxError::InvalidState { .. })
    ));
    b.record(&[
        done(a, "W", T0, 1),
        Outcome::new(
            bb,
            None,
            "W",
            T0,
            1,
            OutcomeResult::Dead { error: "x".into() },
        ),
        Outcome::new(
            c,
            None,
            "W",
            T0,
            1,
            OutcomeResult::Dead { error: "y".into() },
        ),
    ])
    .await
    .unwrap();
    // Re-drive is for dead letters only.
    assert!(matches!(
        b.redrive(a, T0).await,
        Err(InboxError::InvalidState { .. })
    ));
    assert!(matches!(
        b.redrive(DeliveryId(12345), T0).await,
        Err(InboxError::NotFound(_))
    ));
    b.replay(a, T0 + 5).await.unwrap();
    let row = b.get(a).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.attempts, row.next_attempt_at_ms),
        (DeliveryStatus::Pending, 0, T0 + 5)
    );
    b.redrive(bb, T0 + 5).await.unwrap();
    assert_eq!(
        b.get(bb).await.unwrap().unwrap().status,
        DeliveryStatus::Pending
    );
    assert_eq!(b.list(&ListFilter::dead()).await.unwrap().len(), 1);
    assert_eq!(b.redrive_all_dead(T0 + 6).await.unwrap(), 1);
    assert!(b.list(&ListFilter::dead()).await.unwrap().is_empty());
    let again = b.claim("W", 10, T0 + 10, T0 + 60_000).await.unwrap();
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|d| d.attempts == 1));
    assert_eq!(
        &again[0].body[..],
        br#"{"id":"evt_a","type":"t","data":{}}"#
    );
    // A delivery left processing by a worker that died can be replayed once its lease ran out,
    // not before.
    let held = again[0].id;
    assert!(matches!(
        b.replay(held, T0 + 59_999).await,
        Err(InboxError::InvalidState { .. })
    ));
    b.replay(held, T0 + 60_000).await.unwrap();
    let row = b.get(held).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.attempts, row.next_attempt_at_ms),
        (DeliveryStatus::Pending, 0, T0 + 60_000)
    );
    let reclaimed = b.claim("V", 10, T0 + 60_000, T0 + 90_000).await.unwrap();
    let replayed = reclaimed.iter().find(|d| d.id == held).unwrap();
    assert_eq!(replayed.attempts, 1);
}

pub async fn list_filters_and_pages(b: &dyn Backend) {
    for (i, t) in ["x.a", "x.b", "x.a", "x.a"].iter().enumerate() {
        b.accept_batch(&[new(&format!("m{i}"), t, T0)])
            .await
            .unwrap();
    }
    let all = b.list(&ListFilter::new()).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let xa = b
        .list(&ListFilter::new().event_type("x.a").limit(2))
        .await
        .unwrap();
    assert_eq!(xa.len(), 2);
    let rest = b
        .list(&ListFilter::new().event_type("x.a").before(xa[1].id))
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert!(
        b.list(&ListFilter::new().status(DeliveryStatus::Done))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn stats_per_event_type(b: &dyn Backend) {
    b.accept_batch(&[
        new("a", "x.a", T0),
        new("b", "x.a", T0),
        new("c", "x.b", T0),
        new("old", "x.b", T0 - 100_000),
    ])
    .await
    .unwrap();
    let claimed = b.claim("W", 10, T0, T0 + 60_000).await.unwrap();
    let by_msg = |m: &str| {
        claimed
            .iter()
            .find(|d| d.message_id.as_deref() == Some(m))
            .unwrap()
            .id
    };
    b.record(&[
        Outcome::new(
            by_msg("a"),
            Some("x.a".into()),
            "W",
            T0 + 1,
            10,
            OutcomeResult::Done,
        ),
        Outcome::new(
            by_msg("b"),
            Some("x.a".into()),
            "W",
            T0 + 1,
            30,
            OutcomeResult::Retry {
                error: "e".into(),
                at_ms: T0 + 9,
            },
        ),
        Outcome::new(
            by_msg("c"),
            Some("x.b".into()),
            "W",
            T0 + 1,
            5,
            OutcomeResult::Dead { error: "e".into() },
        ),
    ])
    .await
    .unwrap();
    let stats = b.stats(T0 - 1).await.unwrap();
    assert_eq!(stats.len(), 2);
    let xa = &stats[0];
    assert_eq!(
        (
            xa.event_type.as_str(),
            xa.total,
            xa.succeeded,
            xa.failed,
            xa.dead,
            xa.in_queue
        ),
        ("x.a", 2, 1, 1, 0, 1)
    );
    assert_eq!(
        (xa.avg_ms, xa.min_ms, xa.max_ms),
        (Some(20.0), Some(10), Some(30))
    );
    let xb = &stats[1];
    assert_eq!(
        (xb.total, xb.succeeded, xb.failed, xb.dead),
        (1, 0, 1, 1),
        "the old delivery is outside the window"
    );
}

pub async fn prune_keeps_dedupe_keys_longer(b: &dyn Backend) {
    b.accept_batch(&[new("a", "t", T0), new("b", "t", T0)])
        .await
        .unwrap();
    let claimed = b.claim("W", 10, T0, T0 + 60_000).await.unwrap();
    b.record(&[done(claimed[0].id, "W", T0 + 10, 1)])
        .await
        .unwrap();
    // Nothing is old enough yet.
    assert_eq!(b.prune(T0, T0).await.unwrap().deliveries, 0);
    // The done delivery goes; its key stays (newer than the key cutoff); the retrying one stays.
    let report = b.prune(T0 + 11, T0).await.unwrap();
    assert_eq!(
        (report.deliveries, report.dedupe_keys, report.attempts),
        (1, 0, 1)
    );
    assert!(b.get(claimed[0].id).await.unwrap().is_none());
    assert!(b.get(claimed[1].id).await.unwrap().is_some());
    // A late retry from the sender is still a duplicate.
    assert_eq!(
        b.accept_batch(&[new("a", "t", T0 + 20)]).await.unwrap()[0],
        Accepted::Duplicate(claimed[0].id)
    );
    // Once the key is past its own retention it goes, but never while its delivery exists.
    let report = b.prune(T0 + 11, T0 + 1).await.unwrap();
    assert_eq!(report.dedupe_keys, 1);
    assert!(matches!(
        b.accept_batch(&[new("a", "t", T0 + 30)]).await.unwrap()[0],
        Accepted::New(_)
    ));
    assert!(matches!(
        b.accept_batch(&[new("b", "t", T0 + 30)]).await.unwrap()[0],
        Accepted::Duplicate(_)
    ));
}

pub async fn large_batches_are_chunked_and_deduplicated_within(b: &dyn Backend) {
    let batch: Vec<NewDelivery> = (0..1_200)
        .map(|i| new(&format!("m{}", i % 1_000), "bulk", T0))
        .collect();
    let out = b.accept_batch(&batch).await.unwrap();
    assert_eq!(out.iter().filter(|a| !a.is_duplicate()).count(), 1_000);
    assert_eq!(out[1_000], Accepted::Duplicate(out[0].id()));
    assert_eq!(b.counts().await.unwrap().pending, 1_000);
}

/// A worker can hold more deliveries than SQLite binds parameters in one statement (32766):
/// its leases are still extended and released, all of them.
pub async fn leases_of_more_ids_than_one_statement_binds(b: &dyn Backend) {
    const N: usize = 33_000;
    let batch: Vec<NewDelivery> = (0..N).map(|i| new(&format!("m{i}"), "t", T0)).collect();
    b.accept_batch(&batch).await.unwrap();
    let claimed = b.claim("A", N as u32, T0, T0 + 1_000).await.unwrap();
    assert_eq!(claimed.len(), N);
    let ids: Vec<DeliveryId> = claimed.iter().map(|d| d.id).collect();
    assert_eq!(
        b.extend_leases("A", &ids, T0 + 5_000).await.unwrap(),
        N as u64
    );
    assert_eq!(b.release("A", &ids, T0 + 6_000).await.unwrap(), N as u64);
    assert_eq!(b.counts().await.unwrap().pending, N as u64);
}

/// A prune of more rows than one delete statement takes (SQLite deletes in chunks, each its own
/// short transaction): every old done delivery, its key and its attempt row go; nothing else.
pub async fn prune_of_many_rows_removes_exactly_the_old_done_ones(b: &dyn Backend) {
    const N: usize = 4_500;
    let batch: Vec<NewDelivery> = (0..N).map(|i| new(&format!("p{i}"), "t", T0)).collect();
    b.accept_batch(&batch).await.unwrap();
    b.accept_batch(&[new("pending", "t", T0)]).await.unwrap();
    let claimed = b.claim("W", N as u32, T0, T0 + 60_000).await.unwrap();
    let (old, recent) = claimed.split_at(N - 10);
    let outcomes: Vec<Outcome> = old
        .iter()
        .map(|d| done(d.id, "W", T0 + 10, 1))
        .chain(recent.iter().map(|d| done(d.id, "W", T0 + 50, 1)))
        .collect();
    b.record(&outcomes).await.unwrap();
    let report = b.prune(T0 + 11, T0 + 11).await.unwrap();
    assert_eq!(
        (report.deliveries, report.dedupe_keys, report.attempts),
        ((N - 10) as u64, (N - 10) as u64, (N - 10) as u64)
    );
    let counts = b.counts().await.unwrap();
    assert_eq!((counts.done, counts.pending), (10, 1));
    assert!(b.get(old[0].id).await.unwrap().is_none());
    assert!(b.get(recent[0].id).await.unwrap().is_some());
    // The kept deliveries' keys still dedupe; the pruned ones' are gone.
    let again = |d: &StoredDelivery| new(d.message_id.as_deref().unwrap(), "t", T0 + 60);
    assert!(b.accept_batch(&[again(&recent[0])]).await.unwrap()[0].is_duplicate());
    assert!(!b.accept_batch(&[again(&old[0])]).await.unwrap()[0].is_duplicate());
}

/// A re-drive of more dead letters than one statement takes (SQLite re-queues them in chunks):
/// every dead delivery is pending again with its attempts reset; done and pending ones are
/// left as they are.
pub async fn redrive_of_many_dead_letters_requeues_exactly_those(b: &dyn Backend) {
    const N: usize = 4_500;
    let batch: Vec<NewDelivery> = (0..N + 10)
        .map(|i| new(&format!("r{i}"), "t", T0))
        .collect();
    b.accept_batch(&batch).await.unwrap();
    b.accept_batch(&[new("pending", "t", T0)]).await.unwrap();
    let claimed = b
        .claim("W", (N + 10) as u32, T0, T0 + 60_000)
        .await
        .unwrap();
    let (dead, finished) = claimed.split_at(N);
    let outcomes: Vec<Outcome> = dead
        .iter()
        .map(|d| {
            let dead = OutcomeResult::Dead {
                error: "gone".into(),
            };
            Outcome::new(d.id, None, "W", T0 + 10, 1, dead)
        })
        .chain(finished.iter().map(|d| done(d.id, "W", T0 + 10, 1)))
        .collect();
    b.record(&outcomes).await.unwrap();
    assert_eq!(b.counts().await.unwrap().dead, N as u64);
    assert_eq!(b.redrive_all_dead(T0 + 20).await.unwrap(), N as u64);
    let counts = b.counts().await.unwrap();
    assert_eq!(
        (counts.dead, counts.pending, counts.done),
        (0, N as u64 + 1, 10)
    );
    let row = b.get(dead[N - 1].id).await.unwrap().unwrap();
    assert_eq!(
        (
            row.status,
            row.attempts,
            row.next_attempt_at_ms,
            row.last_error
        ),
        (DeliveryStatus::Pending, 0, T0 + 20, None)
    );
    assert_eq!(b.redrive_all_dead(T0 + 30).await.unwrap(), 0);
}

/// A delivery without an event type (its body has no `type`).
fn untyped(id: &str, at: i64) -> NewDelivery {
    let body = format!(r#"{{"id":"evt_{id}"}}"#);
    let headers = webhook_core::Signer::standard(crate::support::SECRET)
        .unwrap()
        .sign(id, 1_700_000_000, body.as_bytes());
    let delivery = webhook_core::Verifier::standard(crate::support::SECRET)
        .unwrap()
        .without_timestamp_check()
        .verify_delivery(&headers, bytes::Bytes::from(body))
        .unwrap();
    NewDelivery::from_delivery(&delivery, AcceptMeta::new(), at)
}

fn patterns(list: &[&str]) -> Vec<webhook_core::EventPattern> {
    list.iter()
        .map(|p| webhook_core::EventPattern::parse(p).unwrap())
        .collect()
}

pub async fn claims_only_what_the_filter_admits(b: &dyn Backend) {
    let old = T0 - 600_000;
    b.accept_batch(&[
        new("exact", "user.created", T0),
        new("prefixed", "org.user.added", T0),
        new("prefix_itself", "org.", T0),
        new("other_prefix", "orgx.a", T0),
        new("underscore", "a_b.x", T0),
        new("not_underscore", "axb.x", T0),
        new("percent", "a%b.x", T0),
        new("known", "billing.paid", T0),
        new("known_old", "billing.paid", old),
        new("unhandled", "zzz.new", T0),
        new("unhandled_old", "zzz.old", old),
        untyped("untyped", T0),
        untyped("untyped_old", old),
    ])
    .await
    .unwrap();
    let names = |claimed: &[StoredDelivery]| {
        let mut names: Vec<String> = claimed
            .iter()
            .map(|d| d.message_id.clone().unwrap_or_default())
            .collect();
        names.sort();
        names
    };
    let claim = |filter: ClaimFilter| async move {
        let claimed = b
            .claim_matching("W", 100, T0, T0 + 60_000, &filter)
            .await
            .unwrap();
        for d in &claimed {
            assert!(
                filter.admits(d.event_type.as_deref(), d.received_at_ms),
                "{:?}",
                d.event_type
            );
            assert_eq!(d.attempts, 1);
        }
        claimed
    };
    // With `*` among the known patterns, exactly what the worker's handlers match.
    let handled = patterns(&["user.created", "org.*", "a_b.*"]);
    let mut known = handled.clone();
    known.extend(patterns(&["billing.paid", "*"]));
    let claimed = claim(ClaimFilter::new(handled, known, Some(T0))).await;
    assert_eq!(names(&claimed), ["exact", "prefixed", "underscore"]);
    // What no known pattern matches comes too once it has waited (for the Unhandled policy),
    // none of it while the workers are not settled; another worker's never does.
    let unhandled_by = |by: Option<i64>| {
        ClaimFilter::new(
            patterns(&["user.created"]),
            patterns(&["user.created", "billing.paid", "org.*", "a_b.*"]),
            by,
        )
    };
    assert!(claim(unhandled_by(None)).await.is_empty());
    let claimed = claim(unhandled_by(Some(T0 - 300_000))).await;
    assert_eq!(names(&claimed), ["unhandled_old", "untyped_old"]);
    let filter = unhandled_by(Some(T0));
    let claimed = claim(filter.clone()).await;
    assert_eq!(
        names(&claimed),
        [
            "not_underscore",
            "other_prefix",
            "percent",
            "prefix_itself",
            "unhandled",
            "untyped"
        ]
    );
    assert!(
        b.claim_matching("W", 100, T0, T0 + 60_000, &filter)
            .await
            .unwrap()
            .is_empty()
    );
    // What the filters left is untouched: due, with no attempt counted.
    let rest = b.claim("X", 100, T0, T0 + 60_000).await.unwrap();
    assert!(rest.iter().all(|d| d.attempts == 1));
    assert_eq!(names(&rest), ["known", "known_old"]);
}

pub async fn unhandled_outcomes_log_no_run(b: &dyn Backend) {
    b.accept_batch(&[new("c", "x.c", T0), new("d", "x.d", T0)])
        .await
        .unwrap();
    let claimed = b.claim("W", 10, T0, T0 + 60_000).await.unwrap();
    let outcomes: Vec<Outcome> = claimed
        .iter()
        .map(|d| {
            let error = (d.message_id.as_deref() == Some("d")).then(|| "no handler".to_owned());
            Outcome::new(
                d.id,
                d.event_type.clone(),
                "W",
                T0 + 1,
                0,
                OutcomeResult::Unhandled { error },
            )
        })
        .collect();
    assert_eq!(b.record(&outcomes).await.unwrap(), 2);
    for d in &claimed {
        let row = b.get(d.id).await.unwrap().unwrap();
        // Nothing ran: the claim's attempt is given back.
        assert_eq!(row.attempts, 0, "{:?}", d.message_id);
        if d.message_id.as_deref() == Some("d") {
            assert_eq!(row.status, DeliveryStatus::Dead);
            assert_eq!(row.last_error.as_deref(), Some("no handler"));
        } else {
            assert_eq!(row.status, DeliveryStatus::Done);
            assert_eq!(row.last_error, None);
        }
    }
    let stats = b.stats(T0 - 1).await.unwrap();
    assert!(
        stats
            .iter()
            .all(|s| s.failed == 0 && s.avg_ms.is_none() && s.min_ms.is_none()),
        "{stats:?}"
    );
    assert_eq!(b.failures_since(T0 - 1).await.unwrap(), 0);
}

pub async fn noted_workers_keep_their_types_from_the_unhandled(b: &dyn Backend) {
    b.accept_batch(&[
        new("x1", "x.created", T0),
        new("y", "y.created", T0),
        untyped("n", T0),
    ])
    .await
    .unwrap();
    let names = |claimed: Vec<StoredDelivery>| {
        let mut names: Vec<String> = claimed
            .into_iter()
            .map(|d| d.message_id.unwrap_or_default())
            .collect();
        names.sort();
        names
    };
    let mine = || ClaimFilter::new(patterns(&["z.only"]), patterns(&["z.only"]), Some(T0));
    let claim = |filter: ClaimFilter| async move {
        names(
            b.claim_matching("W", 10, T0, T0 + 60_000, &filter)
                .await
                .unwrap(),
        )
    };
    // Another instance's worker handles x.*: its deliveries are not unhandled here.
    b.note_worker("other", &patterns(&["x.*"]), T0)
        .await
        .unwrap();
    assert_eq!(claim(mine().live_since(T0 - 1)).await, ["n", "y"]);
    // A note older than the filter's `live_since` no longer counts.
    assert_eq!(claim(mine().live_since(T0 + 1)).await, ["x1"]);
    // Noting again replaces what was noted, and refreshes it.
    b.accept_batch(&[new("x2", "x.created", T0), new("x3", "x.deleted", T0)])
        .await
        .unwrap();
    b.note_worker("other", &patterns(&["x.created"]), T0 + 5)
        .await
        .unwrap();
    assert_eq!(claim(mine().live_since(T0 + 5)).await, ["x3"]);
    // A filter that counts no note (`new`'s default) takes it as unhandled.
    assert_eq!(claim(mine()).await, ["x2"]);
    // A noted one-segment name (GitHub's `issues`) also keeps its actions.
    b.accept_batch(&[
        new("i1", "issues", T0),
        new("i2", "issues.opened", T0),
        new("i3", "issues_comment.created", T0),
    ])
    .await
    .unwrap();
    // Beside `issues.*`, whose row the name's own subtypes row repeats.
    b.note_worker("gh", &patterns(&["issues", "issues.*"]), T0 + 5)
        .await
        .unwrap();
    assert_eq!(claim(mine().live_since(T0 + 5)).await, ["i3"]);
    // A noted `*` handles everything.
    b.accept_batch(&[new("z", "z.other", T0)]).await.unwrap();
    b.note_worker("every", &patterns(&["*"]), T0).await.unwrap();
    assert!(claim(mine().live_since(T0)).await.is_empty());
}

/// A handler's error may quote what it read (a name from the body, a downstream answer) and
/// so carry a NUL, which PostgreSQL's `TEXT` refuses: the outcome is still recorded, with the
/// error kept readable, instead of the whole record failing and the delivery waiting out its
/// lease to run again.
pub async fn an_error_with_a_nul_is_recorded(b: &dyn Backend) {
    b.accept_batch(&[new("n1", "t", T0), new("n2", "t", T0)])
        .await
        .unwrap();
    let claimed = b.claim("W", 10, T0, T0 + 60_000).await.unwrap();
    let [retry, dead] = [claimed[0].id, claimed[1].id];
    let applied = b
        .record(&[
            Outcome::new(
                retry,
                Some("t".into()),
                "W",
                T0 + 10,
                3,
                OutcomeResult::Retry {
                    error: "unknown customer \"a\0b\"".into(),
                    at_ms: T0 + 1_000,
                },
            ),
            Outcome::new(
                dead,
                Some("t".into()),
                "W",
                T0 + 10,
                3,
                OutcomeResult::Dead {
                    error: "bad\0".into(),
                },
            ),
        ])
        .await;
    assert_eq!(applied.unwrap(), 2);
    let row = b.get(retry).await.unwrap().unwrap();
    assert_eq!(row.status, DeliveryStatus::Retrying);
    let error = row.last_error.unwrap();
    assert!(error.starts_with("unknown customer \"a"), "{error}");
    assert!(error.ends_with("b\""), "{error}");
    let row = b.get(dead).await.unwrap().unwrap();
    assert_eq!(row.status, DeliveryStatus::Dead);
    assert!(row.last_error.unwrap().starts_with("bad"));
}

/// Instantiates every suite test for a backend factory: an expression evaluating to a future
/// of `(guard, Arc<dyn Backend>)`.
#[macro_export]
macro_rules! backend_suite {
    ($factory:expr) => {
        $crate::backend_suite!(@tests $factory;
            accept_tells_new_from_duplicate, claims_lease_and_reclaim_expired,
            outcomes_schedule_retries_and_dead_letters, release_does_not_count_an_attempt,
            extended_leases_hold_off_other_claims, list_finds_a_delivery_by_any_of_its_keys,
            replay_and_redrive, list_filters_and_pages, stats_per_event_type,
            prune_keeps_dedupe_keys_longer, large_batches_are_chunked_and_deduplicated_within,
            leases_of_more_ids_than_one_statement_binds,
            prune_of_many_rows_removes_exactly_the_old_done_ones,
            claims_only_what_the_filter_admits, unhandled_outcomes_log_no_run,
            noted_workers_keep_their_types_from_the_unhandled, an_error_with_a_nul_is_recorded,
            redrive_of_many_dead_letters_requeues_exactly_those);
    };
    (@tests $factory:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_guard, backend) = $factory.await;
                $crate::suite::$name(&*backend).await;
                backend.close().await;
            }
        )*
    };
}
