//! The worker loop: claim, route, run, record.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable as _};
use futures_util::FutureExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use webhook_core::EventPattern;

use super::breaker::{Admit, Verdict};
use super::handler::HandlerResult;
use super::{Kind, Route, Unhandled, WorkerConfig};
use crate::backend::BoxFuture;
use crate::clock::duration_ms;
use crate::error::bounded;
use crate::metrics as m;
use crate::{ClaimFilter, DeliveryId, HandlerError, Inbox, Outcome, OutcomeResult, StoredDelivery};

/// How often a worker notes its patterns in the store (clock time).
const NOTE_EVERY_MS: i64 = 60_000;

/// How long after its last note a worker counts as running for other instances' claims: a
/// worker gone without a word (a crash) keeps its deliveries out of the `Unhandled` policy
/// for this long.
const WORKER_LIVE_MS: i64 = 5 * NOTE_EVERY_MS;

/// The most deliveries waiting in batch buffers before the worker stops claiming.
const MAX_BUFFERED: usize = 10_000;

/// How many times a finished run gives back copies claimed meanwhile before it lets go (each
/// round needs another claim to return the same delivery during the release).
const SETTLE_ROUNDS: usize = 4;

pub(crate) struct Shared {
    inbox: Inbox,
    routes: Vec<Route>,
    owner: String,
    config: WorkerConfig,
    in_flight: Mutex<InFlight>,
    /// The routes' patterns, for the store's note and the claim filter.
    patterns: Vec<EventPattern>,
    /// Whether noting the patterns failed last time (its warning is given once).
    note_failed: AtomicBool,
    /// The event types already warned about as unhandled (at most [`MAX_WARNED_TYPES`]).
    warned_unhandled: Mutex<HashSet<String>>,
}

/// How many unhandled event types a worker warns about, each once: a pattern with a typo shows
/// up in the logs, and a sender of many unknown types cannot grow the set.
const MAX_WARNED_TYPES: usize = 64;

/// The deliveries this worker holds (running, or waiting in a batch), and the claimed copies of
/// them that must not start.
///
/// A claim can return a delivery this worker still holds, or whose run ended while the claim
/// was on its way. Either the claim came first (the lease had run out while renewals failed:
/// the claim took the delivery back, and the run records its outcome under the renewed lease),
/// or the run's outcome came first (a retry already due: the claim took the retried delivery
/// and counted an attempt). Neither copy is started. Each is given back once its run has
/// recorded the outcome: a release applies only to a delivery still processing under this
/// worker, so it changes nothing in the first order and undoes the claim in the second.
#[derive(Default)]
struct InFlight {
    held: HashSet<DeliveryId>,
    /// While a claim is on its way: the deliveries whose runs ended meanwhile.
    ended_during_claim: Option<HashSet<DeliveryId>>,
    /// Claimed again while held: given back when the holding run has recorded its outcome.
    claimed_while_held: HashSet<DeliveryId>,
}

impl InFlight {
    fn untrack(&mut self, ids: impl IntoIterator<Item = DeliveryId>) {
        for id in ids {
            self.held.remove(&id);
            self.claimed_while_held.remove(&id);
            if let Some(ended) = &mut self.ended_during_claim {
                ended.insert(id);
            }
        }
    }
}

/// What a claim's answer turns into.
struct Claimed {
    /// Deliveries to start.
    start: Vec<StoredDelivery>,
    /// Copies of deliveries whose runs ended while the claim was on its way, to give back.
    stale: Vec<DeliveryId>,
}

/// What a finished run needs to know about each delivery.
struct RunItem {
    id: DeliveryId,
    event_type: Option<String>,
    attempts: u32,
}

impl RunItem {
    fn of(d: &StoredDelivery) -> Self {
        RunItem {
            id: d.id,
            event_type: d.event_type.clone(),
            attempts: d.attempts,
        }
    }
}

struct Buffer {
    items: Vec<StoredDelivery>,
    since: Instant,
}

impl Shared {
    pub(crate) fn new(
        inbox: Inbox,
        routes: Vec<Route>,
        owner: String,
        config: WorkerConfig,
    ) -> Self {
        Shared {
            patterns: routes.iter().map(|r| r.pattern.clone()).collect(),
            inbox,
            routes,
            owner,
            config,
            in_flight: Mutex::new(InFlight::default()),
            note_failed: AtomicBool::new(false),
            warned_unhandled: Mutex::new(HashSet::new()),
        }
    }

    /// Whether `event_type` is unhandled here for the first time (up to [`MAX_WARNED_TYPES`]).
    fn first_unhandled(&self, event_type: &str) -> bool {
        let mut warned = self
            .warned_unhandled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        warned.len() < MAX_WARNED_TYPES && warned.insert(event_type.to_owned())
    }

    fn now(&self) -> i64 {
        self.inbox.now_ms()
    }

    /// Notes this worker's patterns in the store, so that instances without its handlers leave
    /// its deliveries to it: at the start, then every [`NOTE_EVERY_MS`] (a failed note is tried
    /// again on the next turn).
    async fn note_if_due(&self, noted_at: &mut Option<i64>) {
        let now = self.now();
        if noted_at.is_some_and(|at| now.saturating_sub(at) < NOTE_EVERY_MS && now >= at) {
            return;
        }
        let noted = bounded(
            self.inbox.commit_timeout(),
            self.inbox
                .backend()
                .note_worker(&self.owner, &self.patterns, now),
        )
        .await;
        match noted {
            Ok(()) => {
                *noted_at = Some(now);
                self.note_failed.store(false, AtomicOrdering::Relaxed);
            }
            // Once per failing spell, not once per turn.
            Err(e) if !self.note_failed.swap(true, AtomicOrdering::Relaxed) => tracing::warn!(
                error = %e,
                "noting the worker's handlers in the store failed; tried again each turn"
            ),
            Err(_) => {}
        }
    }

    /// What this worker claims at `now`: what its handlers match, and, for the `Unhandled`
    /// policy, what no worker of its inbox handles once it has waited `unhandled_after`: since
    /// it became due (received, retry time, lease end: for an instance that has the handler, in
    /// a rolling upgrade), and since the last start or stop of a worker of the inbox (a worker
    /// spawned right after this one).
    fn claim_filter(&self, now: i64) -> ClaimFilter {
        let (known, changed_at) = self.inbox.known_patterns();
        let cutoff = now.saturating_sub(duration_ms(self.config.unhandled_after));
        ClaimFilter::new(
            self.patterns.clone(),
            known,
            (changed_at <= cutoff).then_some(cutoff),
        )
        .live_since(now.saturating_sub(WORKER_LIVE_MS))
    }

    /// The inbox this worker serves.
    pub(crate) fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// The patterns of this worker's routes.
    pub(crate) fn patterns(&self) -> &[EventPattern] {
        &self.patterns
    }

    fn route_for(&self, event_type: &str) -> Option<usize> {
        self.routes
            .iter()
            .position(|r| r.pattern.matches(event_type))
    }

    /// Called before each claim: from now until [`track_claimed`](Shared::track_claimed), runs
    /// that end are noted.
    fn claim_started(&self) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.ended_during_claim = Some(HashSet::new());
        }
    }

    /// Tracks what a claim returned: the deliveries to start, and the copies of deliveries this
    /// worker holds or has just finished, which are not started (see [`InFlight`]).
    fn track_claimed(&self, claimed: Vec<StoredDelivery>) -> Claimed {
        let mut answer = Claimed {
            start: Vec::with_capacity(claimed.len()),
            stale: Vec::new(),
        };
        let Ok(mut in_flight) = self.in_flight.lock() else {
            return answer;
        };
        let InFlight {
            held,
            ended_during_claim,
            claimed_while_held,
        } = &mut *in_flight;
        let ended = ended_during_claim.take().unwrap_or_default();
        for d in claimed {
            let id = d.id;
            if ended.contains(&id) {
                answer.stale.push(id);
            } else if held.contains(&id) {
                claimed_while_held.insert(id);
            } else {
                held.insert(id);
                answer.start.push(d);
                continue;
            }
            tracing::debug!(
                webhook.delivery = id.0,
                "claimed a delivery whose run this worker still has or just ended; not started again"
            );
        }
        answer
    }

    fn untrack(&self, ids: impl IntoIterator<Item = DeliveryId>) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.untrack(ids);
        }
    }

    /// Stops holding `ids` after their run recorded its outcome, first giving back the copies
    /// claimed meanwhile. Each is released while still held, so no copy of it can start in
    /// between; a claim during the release marks it again, and the loop gives that one back too.
    /// The last check and the letting go happen under one lock, so no claim slips in between.
    async fn settle(&self, ids: &[DeliveryId]) {
        let mut rounds = 0;
        loop {
            let stale: Vec<DeliveryId> = {
                let Ok(mut in_flight) = self.in_flight.lock() else {
                    return;
                };
                let stale: Vec<DeliveryId> = ids
                    .iter()
                    .copied()
                    .filter(|id| in_flight.claimed_while_held.remove(id))
                    .collect();
                if stale.is_empty() || rounds == SETTLE_ROUNDS {
                    // Past the rounds, a copy still claimed waits out its lease.
                    in_flight.untrack(ids.iter().copied());
                    return;
                }
                stale
            };
            rounds += 1;
            self.give_back(&stale, self.now()).await;
        }
    }

    /// The deliveries this worker holds.
    fn held(&self) -> Vec<DeliveryId> {
        self.in_flight
            .lock()
            .map(|in_flight| in_flight.held.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Gives deliveries back (due at `due_at_ms`) and stops holding them.
    async fn release(&self, ids: &[DeliveryId], due_at_ms: i64) {
        self.give_back(ids, due_at_ms).await;
        self.untrack(ids.iter().copied());
    }

    /// Gives back what this worker still has processing among `ids`, without counting the
    /// attempt; deliveries it no longer has are left as they are.
    async fn give_back(&self, ids: &[DeliveryId], due_at_ms: i64) {
        if ids.is_empty() {
            return;
        }
        let backend = self.inbox.backend().clone();
        let owner = self.owner.clone();
        let limit = self.inbox.commit_timeout();
        let result = (|| bounded(limit, backend.release(&owner, ids, due_at_ms)))
            .retry(store_retry())
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, count = ids.len(), "releasing deliveries failed; their leases will expire");
        }
    }

    /// Renews the leases when a third of the lease has passed since `renewed_at`, the last
    /// renewal that succeeded (a failed one is tried again on the next turn).
    async fn renew_if_due(&self, renewed_at: &mut i64, lease_ms: i64) {
        let now = self.now();
        if now >= renewal_due(*renewed_at, lease_ms)
            && self.renew_leases(now.saturating_add(lease_ms)).await
        {
            *renewed_at = now;
        }
    }

    /// How long until the next renewal is due (at least 100 ms, so that renewals that keep
    /// failing do not turn the loop into a busy one).
    fn until_renewal(&self, renewed_at: i64, lease_ms: i64) -> Duration {
        let due = renewal_due(renewed_at, lease_ms);
        let ms = u64::try_from(due.saturating_sub(self.now())).unwrap_or(0);
        Duration::from_millis(ms.max(100))
    }

    /// Extends the leases of every delivery this worker holds (running, or waiting in a batch)
    /// to `lease_until_ms`; false when the store could not be reached.
    async fn renew_leases(&self, lease_until_ms: i64) -> bool {
        let ids: Vec<DeliveryId> = match self.in_flight.lock() {
            Ok(in_flight) => in_flight.held.iter().copied().collect(),
            Err(_) => return false,
        };
        if ids.is_empty() {
            return true;
        }
        let backend = self.inbox.backend().clone();
        let owner = self.owner.clone();
        let limit = self.inbox.commit_timeout();
        let result = (|| bounded(limit, backend.extend_leases(&owner, &ids, lease_until_ms)))
            .retry(store_retry())
            .await;
        match result {
            // Fewer is normal: runs that finished meanwhile are no longer processing.
            Ok(held) => {
                tracing::trace!(held, asked = ids.len(), "renewed webhook leases");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, count = ids.len(), "renewing leases failed; long runs may be claimed again when their leases expire");
                false
            }
        }
    }

    /// Applies the [`Unhandled`] policy: done or dead, with nothing run and no attempt logged.
    async fn finish_unhandled(&self, items: Vec<RunItem>) {
        let now = self.now();
        let dead = self.config.unhandled == Unhandled::DeadLetter;
        let label = if dead { "dead" } else { "completed" };
        let outcomes: Vec<Outcome> = items
            .iter()
            .map(|item| {
                let event_type = item.event_type.as_deref().unwrap_or("");
                if self.first_unhandled(event_type) {
                    tracing::warn!(
                        webhook.event_type = event_type,
                        outcome = label,
                        "no worker has a handler for event type {event_type:?}: its deliveries are {label} without running (the worker's `unhandled` policy). Register a handler for it, check the patterns for a typo, or filter the type out before the inbox (logged once per type)"
                    );
                }
                tracing::debug!(
                    webhook.delivery = item.id.0,
                    webhook.event_type = event_type,
                    outcome = label,
                    "no handler for delivery"
                );
                m::unhandled(item.event_type.as_deref(), label);
                Outcome::new(
                    item.id,
                    item.event_type.clone(),
                    self.owner.clone(),
                    now,
                    0,
                    OutcomeResult::Unhandled {
                        // The type named: the operator reading the dead letter sees which
                        // handler is missing.
                        error: dead.then(|| match item.event_type.as_deref() {
                            Some(t) => format!("no handler is registered for event type `{t}`"),
                            None => "no handler is registered for deliveries without an event type"
                                .to_owned(),
                        }),
                    },
                )
            })
            .collect();
        self.record(&outcomes).await;
    }

    /// Turns a run's result into stored outcomes, feeds the breaker and the metrics.
    async fn finish(
        &self,
        route: Option<(&Route, bool)>,
        items: Vec<RunItem>,
        result: HandlerResult,
        took: Duration,
    ) {
        let now = self.now();
        let verdict = match &result {
            Ok(()) => Verdict::Success,
            Err(e) if e.is_permanent() => Verdict::Neutral,
            Err(_) => Verdict::Failure,
        };
        if let Some((route, trial)) = route
            && route.breaker.record(verdict, trial, now)
        {
            tracing::warn!(pattern = %route.pattern, "circuit opened: handler failed repeatedly; its deliveries wait");
        }
        let policy = self.inbox.retry_policy();
        let duration_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
        let outcomes: Vec<Outcome> = items
            .iter()
            .map(|item| {
                let result = match &result {
                    Ok(()) => OutcomeResult::Done,
                    Err(e) if e.is_permanent() => OutcomeResult::Dead { error: e.message().to_owned() },
                    Err(e) => match policy.delay_after(item.attempts) {
                        Some(delay) => OutcomeResult::Retry {
                            error: e.message().to_owned(),
                            at_ms: now.saturating_add(crate::clock::duration_ms(delay)),
                        },
                        None => OutcomeResult::Dead {
                            error: format!(
                                "{} (gave up after {} attempt{})",
                                e.message(),
                                item.attempts,
                                if item.attempts == 1 { "" } else { "s" }
                            ),
                        },
                    },
                };
                let label = match result {
                    OutcomeResult::Done => "processed",
                    OutcomeResult::Retry { .. } => "failed",
                    OutcomeResult::Dead { .. } | OutcomeResult::Unhandled { .. } => "dead",
                };
                m::processed(item.event_type.as_deref(), label, took);
                match &result {
                    OutcomeResult::Done | OutcomeResult::Unhandled { .. } => {}
                    OutcomeResult::Retry { error, at_ms } => tracing::warn!(
                        webhook.delivery = item.id.0, webhook.event_type = item.event_type.as_deref().unwrap_or(""),
                        webhook.attempt = item.attempts, retry_in_ms = at_ms - now, error = %error,
                        "webhook handler failed; will retry"),
                    OutcomeResult::Dead { error } => tracing::error!(
                        webhook.delivery = item.id.0, webhook.event_type = item.event_type.as_deref().unwrap_or(""),
                        webhook.attempt = item.attempts, error = %error,
                        "webhook handler failed; delivery is dead"),
                }
                Outcome {
                    id: item.id,
                    event_type: item.event_type.clone(),
                    owner: self.owner.clone(),
                    finished_at_ms: now,
                    duration_ms,
                    result,
                }
            })
            .collect();
        self.record(&outcomes).await;
    }

    /// Stores outcomes (retrying while the store fails), then settles their deliveries.
    async fn record(&self, outcomes: &[Outcome]) {
        let backend = self.inbox.backend().clone();
        let limit = self.inbox.commit_timeout();
        let recorded = (|| bounded(limit, backend.record(outcomes)))
            .retry(store_retry())
            .await;
        match recorded {
            Ok(applied) if applied < outcomes.len() as u64 => tracing::warn!(
                lost = outcomes.len() as u64 - applied,
                "lease lost before the outcome was recorded; another worker runs the delivery again"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "recording outcomes failed; the deliveries run again after the lease")
            }
        }
        let ids: Vec<DeliveryId> = outcomes.iter().map(|o| o.id).collect();
        self.settle(&ids).await;
    }
}

/// When leases last renewed at `renewed_at` are due again: a third of the lease later.
fn renewal_due(renewed_at: i64, lease_ms: i64) -> i64 {
    renewed_at.saturating_add((lease_ms / 3).max(1))
}

fn store_retry() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_secs(2))
        .with_max_times(6)
        .with_jitter()
}

/// Starts a handler and runs its future: a panic in either (a raw handler's synchronous part, a
/// typed handler's `Deserialize`, or the future) becomes a failure, a run over the threshold
/// is logged, and one over the timeout is cancelled as a failure.
async fn guarded(
    start: impl FnOnce() -> BoxFuture<'static, HandlerResult>,
    config: &WorkerConfig,
    what: &str,
) -> HandlerResult {
    let slow = config.slow_threshold;
    let fut = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(fut) => fut,
        Err(panic) => return Err(panicked(panic)),
    };
    let mut fut = AssertUnwindSafe(fut).catch_unwind();
    let timer = tokio::time::sleep(slow);
    tokio::pin!(timer);
    let limit = config.run_timeout;
    let deadline = async move {
        match limit {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut warned = false;
    let result = loop {
        tokio::select! {
            r = &mut fut => break r,
            () = &mut timer, if !warned => {
                warned = true;
                tracing::warn!(handler = what, threshold_ms = slow.as_millis() as u64, "webhook handler is running longer than the threshold");
            }
            () = &mut deadline => {
                let ms = limit.map_or(0, |l| l.as_millis());
                break Ok(Err(HandlerError::new(format!("handler timed out after {ms} ms; cancelled"))));
            }
        }
    };
    result.unwrap_or_else(|panic| Err(panicked(panic)))
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> HandlerError {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    HandlerError::new(format!("handler panicked: {msg}"))
}

async fn run_one(
    shared: Arc<Shared>,
    route: usize,
    trial: bool,
    d: StoredDelivery,
    _permit: OwnedSemaphorePermit,
) {
    let Some(r) = shared.routes.get(route) else {
        return;
    };
    let Kind::Single(handler) = &r.kind else {
        return;
    };
    let item = RunItem::of(&d);
    let what = d.event_type_str().to_owned();
    let started = Instant::now();
    let result = guarded(|| handler(d), &shared.config, &what).await;
    shared
        .finish(Some((r, trial)), vec![item], result, started.elapsed())
        .await;
}

async fn run_batch(
    shared: Arc<Shared>,
    route: usize,
    trial: bool,
    items: Vec<StoredDelivery>,
    _permit: OwnedSemaphorePermit,
) {
    let Some(r) = shared.routes.get(route) else {
        return;
    };
    let Kind::Batch(handler, _) = &r.kind else {
        return;
    };
    let run_items: Vec<RunItem> = items.iter().map(RunItem::of).collect();
    let what = format!(
        "batch of {} {}",
        items.len(),
        items
            .first()
            .map(StoredDelivery::event_type_str)
            .unwrap_or("")
    );
    let started = Instant::now();
    let result = guarded(|| handler(items), &shared.config, &what).await;
    shared
        .finish(Some((r, trial)), run_items, result, started.elapsed())
        .await;
}

/// Claims past the last allowed attempt that may record nothing before a delivery is taken for
/// one that kills its process.
const UNFINISHED_CLAIMS: u32 = 3;

struct Loop {
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    tasks: JoinSet<()>,
    buffers: HashMap<(usize, String), Buffer>,
}

impl Loop {
    fn buffered(&self) -> usize {
        self.buffers.values().map(|b| b.items.len()).sum()
    }

    /// Routes claimed deliveries (as [`Shared::track_claimed`] returned them): spawn runs, fill
    /// batches, hold those behind an open circuit.
    async fn dispatch(&mut self, claimed: Vec<StoredDelivery>) {
        let now = self.shared.now();
        // Claimed more than `UNFINISHED_CLAIMS` times past its last allowed attempt: none of
        // those runs recorded an outcome, so they died with their process (an abort on panic,
        // an OOM kill, a crash in native code). Running it again may take the process down
        // again, once per lease, forever: it is dead instead, and a redrive runs it when it is
        // safe. The margin keeps claims that record nothing for other reasons (a lease lost in
        // a store outage, a claim whose answer timed out) from costing a delivery its run.
        let (spent, claimed): (Vec<_>, Vec<_>) =
            if claimed.iter().any(|d| d.attempts > UNFINISHED_CLAIMS + 1) {
                let limit = self
                    .shared
                    .inbox
                    .retry_policy()
                    .max_attempts()
                    .saturating_add(UNFINISHED_CLAIMS);
                claimed.into_iter().partition(|d| d.attempts > limit)
            } else {
                (Vec::new(), claimed)
            };
        let max = self.shared.inbox.retry_policy().max_attempts();
        for d in &spent {
            let last = d.last_error.as_deref().unwrap_or("none recorded");
            let error = HandlerError::permanent(format!(
                "out of attempts: claimed {} times, more than {UNFINISHED_CLAIMS} past the retry policy's {max} (runs that stopped with their process, or a policy shortened since); last error: {last}",
                d.attempts
            ));
            self.shared
                .finish(None, vec![RunItem::of(d)], Err(error), Duration::ZERO)
                .await;
        }
        let mut held: HashMap<i64, Vec<DeliveryId>> = HashMap::new();
        let mut unhandled: Vec<RunItem> = Vec::new();
        let known = self.shared.inbox.known_patterns().0;
        for d in claimed {
            let Some(index) = self.shared.route_for(d.event_type_str()) else {
                if known.iter().any(|p| p.matches(d.event_type_str())) {
                    // A worker that handles it started since the claim: it is that one's.
                    held.entry(now).or_default().push(d.id);
                } else {
                    unhandled.push(RunItem::of(&d));
                }
                continue;
            };
            let route = &self.shared.routes[index];
            match &route.kind {
                Kind::Single(_) => {
                    let admit = route.breaker.admit(now);
                    if let Admit::Hold(until) = admit {
                        m::deferred(d.event_type.as_deref());
                        held.entry(until).or_default().push(d.id);
                        continue;
                    }
                    let trial = admit == Admit::Trial;
                    match self.permit(route, trial) {
                        Some(permit) => {
                            self.tasks
                                .spawn(run_one(self.shared.clone(), index, trial, d, permit));
                        }
                        None => held.entry(now).or_default().push(d.id),
                    }
                }
                Kind::Batch(_, options) => {
                    let key = (index, d.event_type_str().to_owned());
                    let buffer = self.buffers.entry(key.clone()).or_insert_with(|| Buffer {
                        items: Vec::new(),
                        since: Instant::now(),
                    });
                    buffer.items.push(d);
                    if buffer.items.len() >= options.max_batch {
                        self.flush(&key, now, &mut held);
                    }
                }
            }
        }
        if !unhandled.is_empty() {
            self.shared.finish_unhandled(unhandled).await;
        }
        for (until, ids) in held {
            self.shared.release(&ids, until).await;
        }
    }

    /// A run permit if one is free; when none is, a trial the breaker admitted is given back.
    fn permit(&self, route: &Route, trial: bool) -> Option<OwnedSemaphorePermit> {
        let permit = self.permits.clone().try_acquire_owned().ok();
        if permit.is_none() && trial {
            route.breaker.cancel_trial();
        }
        permit
    }

    /// Starts a batch run if a permit is free (else it waits in its buffer).
    fn flush(&mut self, key: &(usize, String), now: i64, held: &mut HashMap<i64, Vec<DeliveryId>>) {
        let route = &self.shared.routes[key.0];
        let admit = route.breaker.admit(now);
        if let Admit::Hold(until) = admit {
            if let Some(buffer) = self.buffers.remove(key) {
                for d in &buffer.items {
                    m::deferred(d.event_type.as_deref());
                }
                held.entry(until)
                    .or_default()
                    .extend(buffer.items.iter().map(|d| d.id));
            }
            return;
        }
        let trial = admit == Admit::Trial;
        let Some(permit) = self.permit(route, trial) else {
            return;
        };
        match self.buffers.remove(key) {
            Some(buffer) => {
                self.tasks.spawn(run_batch(
                    self.shared.clone(),
                    key.0,
                    trial,
                    buffer.items,
                    permit,
                ));
            }
            None if trial => route.breaker.cancel_trial(),
            None => {}
        }
    }

    /// Flushes full batches and batches that waited long enough; returns how long until the
    /// next one is due.
    async fn flush_due(&mut self) -> Option<Duration> {
        let now = self.shared.now();
        let mut held = HashMap::new();
        let mut next: Option<Duration> = None;
        let keys: Vec<(usize, String)> = self.buffers.keys().cloned().collect();
        for key in keys {
            let Some(buffer) = self.buffers.get(&key) else {
                continue;
            };
            let Kind::Batch(_, options) = self.shared.routes[key.0].kind else {
                continue;
            };
            let waited = buffer.since.elapsed();
            let due = waited >= options.max_wait || buffer.items.len() >= options.max_batch;
            if due {
                self.flush(&key, now, &mut held);
            }
            // A due batch still buffered waits for a permit: the end of a run wakes the loop.
            if !due && self.buffers.contains_key(&key) {
                let left = options
                    .max_wait
                    .saturating_sub(waited)
                    .max(Duration::from_millis(1));
                next = Some(next.map_or(left, |n| n.min(left)));
            }
        }
        for (until, ids) in held {
            self.shared.release(&ids, until).await;
        }
        next
    }

    fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next() {
            log_join(done);
        }
    }
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && !e.is_cancelled()
    {
        tracing::error!(error = %e, "webhook worker run task failed");
    }
}

/// The longest a prune may run before it is given up (to be tried again at the next interval).
const PRUNE_TIMEOUT: Duration = Duration::from_secs(600);

/// Prunes (when due) and refreshes the gauges in a task of its own. Both calls are bounded: one
/// stuck on a silent connection would otherwise hold a pooled connection for good, one more
/// every interval.
fn housekeeping(inbox: &Inbox, prune: bool) {
    let inbox = inbox.clone();
    tokio::spawn(async move {
        if prune {
            match bounded(PRUNE_TIMEOUT, inbox.prune()).await {
                Ok(report) => tracing::debug!(?report, "pruned webhook inbox"),
                Err(e) => tracing::warn!(error = %e, "pruning the webhook inbox failed"),
            }
        }
        if let Err(e) = bounded(inbox.commit_timeout(), inbox.counts()).await {
            tracing::debug!(error = %e, "reading inbox counts failed");
        }
    });
}

pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let config = shared.config.clone();
    let mut l = Loop {
        permits: Arc::new(Semaphore::new(config.concurrency)),
        shared,
        tasks: JoinSet::new(),
        buffers: HashMap::new(),
    };
    let inbox = l.shared.inbox.clone();
    let new_work = inbox.new_work().clone();
    let mut last_gauges: Option<Instant> = None;
    let mut last_prune = Instant::now();
    housekeeping(&inbox, config.prune_interval.is_some());
    let claim_batch = u32::try_from(config.concurrency.saturating_mul(2)).unwrap_or(u32::MAX);
    let mut backoff = Duration::ZERO;
    let lease_ms = duration_ms(config.lease);
    let mut renewed_at = l.shared.now();
    let mut stop_open = true;
    let mut noted_at: Option<i64> = None;

    loop {
        l.reap();
        if *stop.borrow() {
            break;
        }
        // Long runs keep their deliveries: leases are renewed every third of the lease.
        l.shared.renew_if_due(&mut renewed_at, lease_ms).await;
        l.shared.note_if_due(&mut noted_at).await;
        if last_gauges.is_none_or(|t| t.elapsed() >= config.gauge_interval) {
            let prune = config
                .prune_interval
                .is_some_and(|i| last_prune.elapsed() >= i);
            if prune {
                last_prune = Instant::now();
            }
            if last_gauges.is_some() {
                housekeeping(&inbox, prune);
            }
            last_gauges = Some(Instant::now());
        }
        let notified = new_work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let next_batch = l.flush_due().await;
        let free = l.permits.available_permits();
        let room = MAX_BUFFERED.saturating_sub(l.buffered());
        let want = u32::try_from(free.min(room))
            .unwrap_or(u32::MAX)
            .min(claim_batch);
        let mut full = false;
        if want > 0 && backoff.is_zero() {
            let now = l.shared.now();
            let lease_until = now.saturating_add(duration_ms(config.lease));
            l.shared.claim_started();
            let filter = l.shared.claim_filter(now);
            let claimed = bounded(
                inbox.commit_timeout(),
                inbox
                    .backend()
                    .claim_matching(&l.shared.owner, want, now, lease_until, &filter),
            )
            .await;
            match claimed {
                Ok(claimed) => {
                    full = claimed.len() as u32 == want;
                    let claimed = l.shared.track_claimed(claimed);
                    l.shared.give_back(&claimed.stale, now).await;
                    if !claimed.start.is_empty() {
                        l.dispatch(claimed.start).await;
                    }
                }
                Err(e) => {
                    l.shared.track_claimed(Vec::new());
                    tracing::warn!(error = %e, "claiming webhook deliveries failed; backing off");
                    backoff = config.poll_interval.max(Duration::from_millis(100));
                }
            }
        }
        if full {
            continue;
        }
        // Wake for the next renewal too: a poll interval longer than a third of the lease must
        // not let held leases run out.
        // And for the next note: a long poll interval must not let it lapse.
        let until_note = noted_at.map_or(Duration::MAX, |at| {
            let left = NOTE_EVERY_MS.saturating_sub(l.shared.now().saturating_sub(at));
            Duration::from_millis(u64::try_from(left).unwrap_or(0))
        });
        let wait = next_batch
            .map_or(config.poll_interval, |n| n.min(config.poll_interval))
            .max(backoff)
            .min(l.shared.until_renewal(renewed_at, lease_ms))
            .min(until_note.max(Duration::from_millis(100)));
        backoff = Duration::ZERO;
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(wait) => {}
            // An error: the handle was dropped without `shutdown()`, and the worker runs on.
            // Without the guard, the closed channel would end every wait at once.
            changed = stop.changed(), if stop_open => stop_open = changed.is_ok(),
            Some(done) = l.tasks.join_next(), if !l.tasks.is_empty() => log_join(done),
        }
    }

    // Shutdown: give back what waits in batches, let runs finish, release the rest.
    let now = l.shared.now();
    let waiting: Vec<DeliveryId> = l
        .buffers
        .drain()
        .flat_map(|(_, b)| b.items.into_iter().map(|d| d.id))
        .collect();
    l.shared.release(&waiting, now).await;
    // Runs still going keep their leases while they finish.
    let drained = tokio::time::timeout(config.shutdown_timeout, async {
        loop {
            // On every turn: runs finishing more often than the poll interval must not starve
            // the renewal.
            l.shared.renew_if_due(&mut renewed_at, lease_ms).await;
            tokio::select! {
                done = l.tasks.join_next() => match done {
                    Some(done) => log_join(done),
                    None => break,
                },
                () = tokio::time::sleep(
                    config.poll_interval.min(l.shared.until_renewal(renewed_at, lease_ms)),
                ) => {}
            }
        }
    })
    .await;
    if drained.is_err() {
        l.tasks.abort_all();
        while l.tasks.join_next().await.is_some() {}
        let left = l.shared.held();
        tracing::warn!(
            count = left.len(),
            "shutdown timeout: releasing unfinished webhook runs"
        );
        let now = l.shared.now();
        l.shared.release(&left, now).await;
    }
}
