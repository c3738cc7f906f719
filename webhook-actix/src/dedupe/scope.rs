use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use metrics::SharedString;
use webhook_core::Clock;
use webhook_core::dedupe::{Claim, DedupeStore};

/// One request's access to the dedupe store, shared between the middleware's future and the
/// request extensions (where the extractor finds it).
#[derive(Clone)]
pub(crate) struct DedupeScope(Rc<Inner>);

struct Inner {
    store: Arc<dyn DedupeStore>,
    claimed: RefCell<Option<Claimed>>,
}

/// The claimed key, when it was claimed, and the clock and source name of the configuration
/// that claimed it.
type Claimed = (String, i64, Arc<dyn Clock>, Option<SharedString>);

impl fmt::Debug for DedupeScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DedupeScope")
            .field(
                "claimed",
                &self.0.claimed.borrow().as_ref().map(|(key, ..)| key),
            )
            .finish_non_exhaustive()
    }
}

impl DedupeScope {
    pub(crate) fn new(store: Arc<dyn DedupeStore>) -> Self {
        DedupeScope(Rc::new(Inner {
            store,
            claimed: RefCell::new(None),
        }))
    }

    /// The store.
    pub(crate) fn store(&self) -> &dyn DedupeStore {
        &*self.0.store
    }

    /// Claims `key` at the time `clock` (the verifier's: one clock drives the timestamp check
    /// and the dedupe window) tells; on [`Claim::New`] remembers it so that the response
    /// completes it, reading `clock` again then, and counts its outcome under `source` (the
    /// name of the configuration that verified the delivery).
    pub(crate) fn claim(
        &self,
        key: String,
        clock: &Arc<dyn Clock>,
        source: Option<&SharedString>,
    ) -> Claim {
        let now = clock.now_unix();
        let claim = self.0.store.claim(&key, now);
        if claim == Claim::New {
            // A request claims at most one key; a second extractor on the same request cannot
            // read the (already consumed) body, but release a previous claim rather than leak it.
            let previous = self
                .0
                .claimed
                .replace(Some((key, now, clock.clone(), source.cloned())));
            if let Some((previous, claimed_at, clock, _)) = previous {
                self.0
                    .store
                    .complete(&previous, claimed_at, false, clock.now_unix());
            }
        }
        claim
    }

    /// Records the outcome of the claimed key, if any (at most once); when there was one, the
    /// source name of the configuration that claimed it, to count the outcome under.
    pub(crate) fn complete(&self, success: bool) -> Option<Option<SharedString>> {
        let claimed = self.0.claimed.borrow_mut().take();
        let (key, claimed_at, clock, source) = claimed?;
        self.0
            .store
            .complete(&key, claimed_at, success, clock.now_unix());
        Some(source)
    }
}

#[cfg(test)]
mod tests {
    use webhook_core::FixedClock;
    use webhook_core::dedupe::MemoryDedupe;

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn clock() -> Arc<dyn Clock> {
        Arc::new(FixedClock(NOW))
    }

    #[test]
    fn completes_once_and_only_what_it_claimed() {
        let store = Arc::new(MemoryDedupe::new());
        let scope = DedupeScope::new(store.clone());
        scope.complete(true); // nothing claimed: no-op
        assert!(store.is_empty());
        assert_eq!(scope.claim("k".into(), &clock(), None), Claim::New);
        assert_eq!(scope.claim("k".into(), &clock(), None), Claim::InFlight);
        scope.complete(true);
        scope.complete(false); // already completed: no-op
        assert_eq!(store.claim("k", NOW + 1), Claim::Duplicate);
    }

    #[test]
    fn a_dropped_request_releases_its_claim() {
        let store = Arc::new(MemoryDedupe::new());
        let scope = DedupeScope::new(store.clone());
        let fut = super::super::DedupeFuture::new(
            std::future::pending::<()>(),
            scope.clone(),
            tracing::Span::none(),
        );
        assert_eq!(scope.claim("k".into(), &clock(), None), Claim::New);
        drop(fut);
        assert!(
            store.is_empty(),
            "the failed attempt is forgotten so the retry runs"
        );
    }
}
