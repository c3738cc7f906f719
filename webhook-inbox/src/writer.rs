//! Group commit: one task owns the write path and stores every accept that queued up while
//! the previous transaction was committing in a single transaction (one fsync), then answers
//! each caller. Nobody waits for a timer: a lone delivery is committed at once, and under load
//! batches grow by themselves.
//!
//! When a commit fails (or does not finish within the commit timeout), the accepts queued behind
//! it are answered with the same error at once instead of each waiting for a failing store: a
//! sender hears 503 within about one commit attempt, and the next accept tries the store again.
//! Except when a dedupe key was locked past the wait (PostgreSQL: a transaction of another
//! instance that does not end): then the batch is stored one delivery at a time, so that only
//! the delivery whose key is held is refused, for at most the commit timeout; what is left of
//! the batch then goes in one more group commit, answered 503 if a key of it is held too (a
//! locked table refuses every delivery).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, oneshot};

use crate::backend::Backend;
use crate::error::bounded;
use crate::metrics as m;
use crate::{Accepted, InboxError, NewDelivery};

/// The last group commit's failure and when it happened, unless one succeeded since: the store
/// may answer reads (health's queries) while it cannot commit (a full disk).
#[derive(Debug, Default)]
pub(crate) struct CommitHealth(std::sync::Mutex<Option<(String, Instant)>>);

impl CommitHealth {
    fn set(&self, failure: Option<String>) {
        if let Ok(mut last) = self.0.lock() {
            *last = failure.map(|e| (e, Instant::now()));
        }
    }

    /// The error of a commit that failed less than `recent` ago with none succeeding since.
    /// Older, it no longer counts: an inbox taken out of service for it would receive no accept
    /// to show that the store has recovered.
    pub(crate) fn failing(&self, recent: Duration) -> Option<String> {
        let last = self.0.lock().ok()?;
        let (error, at) = last.as_ref()?;
        (at.elapsed() < recent).then(|| error.clone())
    }
}

pub(crate) struct AcceptRequest {
    pub(crate) delivery: NewDelivery,
    pub(crate) reply: oneshot::Sender<Result<Accepted, InboxError>>,
}

pub(crate) async fn run(
    backend: Arc<dyn Backend>,
    mut rx: mpsc::Receiver<AcceptRequest>,
    max_batch: usize,
    new_work: Arc<Notify>,
    commit_timeout: Duration,
    health: Arc<CommitHealth>,
) {
    let mut requests: Vec<AcceptRequest> = Vec::with_capacity(max_batch);
    let mut batch: Vec<NewDelivery> = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut requests, max_batch).await > 0 {
        let (deliveries, replies): (Vec<_>, Vec<_>) =
            requests.drain(..).map(|r| (r.delivery, r.reply)).unzip();
        batch.extend(deliveries);
        let result = commit(&*backend, &batch, commit_timeout, &health).await;
        if batch.len() > 1 && matches!(&result, Err(e) if e.is_lock_timeout()) {
            // One key is held by a transaction that does not end (an instance gone mid-commit):
            // stored one by one, the others go through and only that delivery waits again.
            tracing::warn!(
                batch = batch.len(),
                "a dedupe key is held by another transaction; storing the batch one by one"
            );
            // Each refused delivery costs a lock wait (2 s). Past the commit timeout, more than
            // one key is held, or the table itself is locked (an index being built, an
            // `ALTER TABLE`): the rest of the batch goes in one more group commit, instead of
            // keeping every sender waiting a lock wait per delivery ahead of it. Stored if none
            // of its keys is held (the held ones were those already tried), else answered 503
            // together, as a failed commit is.
            let deadline = Instant::now() + commit_timeout;
            let mut any_new = false;
            let mut rest = Vec::new();
            for (reply, d) in replies.into_iter().zip(batch.drain(..)) {
                if Instant::now() >= deadline {
                    rest.push((reply, d));
                    continue;
                }
                let one = std::slice::from_ref(&d);
                let result = commit(&*backend, one, commit_timeout, &health)
                    .await
                    .and_then(|mut accepted| match accepted.len() {
                        1 => Ok(accepted.remove(0)),
                        _ => Err(wrong_count()),
                    });
                any_new |= answer(reply, &d, result);
            }
            if !rest.is_empty() {
                let (replies, rest): (Vec<_>, Vec<_>) = rest.into_iter().unzip();
                match commit(&*backend, &rest, commit_timeout, &health).await {
                    Ok(accepted) if accepted.len() == rest.len() => {
                        for ((reply, outcome), d) in replies.into_iter().zip(accepted).zip(&rest) {
                            any_new |= answer(reply, d, Ok(outcome));
                        }
                    }
                    result => {
                        let e = result.err().unwrap_or_else(wrong_count);
                        tracing::error!(error = %e, batch = rest.len(), "the rest of a batch stored one by one failed; answering 503");
                        for reply in replies {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
            if any_new {
                new_work.notify_waiters();
            }
            continue;
        }
        match result {
            Ok(accepted) if accepted.len() == batch.len() => {
                let mut any_new = false;
                for ((reply, outcome), d) in replies.into_iter().zip(accepted).zip(&batch) {
                    any_new |= answer(reply, d, Ok(outcome));
                }
                if any_new {
                    new_work.notify_waiters();
                }
            }
            Ok(_) => {
                let e = wrong_count();
                tracing::error!(error = %e, "group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                let mut waiting = 0usize;
                // A held key is that delivery's trouble, not the store's: the queue goes on.
                while !e.is_lock_timeout()
                    && let Ok(queued) = rx.try_recv()
                {
                    let _ = queued.reply.send(Err(e.clone()));
                    waiting += 1;
                }
                tracing::error!(error = %e, batch = batch.len(), waiting, "group commit failed; answering 503");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
        batch.clear();
    }
}

/// One group commit, bounded by the commit timeout, timed, and noted for health (a held key
/// is not the store's failure).
async fn commit(
    backend: &dyn Backend,
    batch: &[NewDelivery],
    commit_timeout: Duration,
    health: &CommitHealth,
) -> Result<Vec<Accepted>, InboxError> {
    let started = Instant::now();
    let result = bounded(commit_timeout, backend.accept_batch(batch)).await;
    m::commit(batch.len(), started.elapsed());
    match &result {
        Ok(_) => health.set(None),
        Err(e) if !e.is_lock_timeout() => health.set(Some(e.to_string())),
        Err(_) => {}
    }
    result
}

/// A backend that answered a batch with another number of results than deliveries.
fn wrong_count() -> InboxError {
    InboxError::Corrupt("the backend answered a batch with the wrong number of results".into())
}

/// Answers the caller that queued `delivery`, counting a stored one; whether it was new.
fn answer(
    reply: oneshot::Sender<Result<Accepted, InboxError>>,
    delivery: &NewDelivery,
    result: Result<Accepted, InboxError>,
) -> bool {
    let new = match &result {
        Ok(outcome) => {
            m::accepted(delivery.event_type.as_deref(), outcome.is_duplicate());
            !outcome.is_duplicate()
        }
        Err(_) => false,
    };
    let _ = reply.send(result);
    new
}
