use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use webhook_core::Clock;
use webhook_core::dedupe::{Claim, DedupeStore};

/// One request's access to the dedupe store, shared between the middleware's future and the
/// request extensions (where the extractor finds it).
#[derive(Clone)]
pub(crate) struct DedupeScope(Rc<Inner>);

struct Inner {
    store: Arc<dyn DedupeStore>,
    clock: Arc<dyn Clock>,
    claimed: RefCell<Option<String>>,
}

impl fmt::Debug for DedupeScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DedupeScope")
            .field("claimed", &self.0.claimed.borrow())
            .finish_non_exhaustive()
    }
}

impl DedupeScope {
    pub(crate) fn new(store: Arc<dyn DedupeStore>, clock: Arc<dyn Clock>) -> Self {
        DedupeScope(Rc::new(Inner {
            store,
            clock,
            claimed: RefCell::new(None),
        }))
    }

    /// Claims `key`; on [`Claim::New`] remembers it so that the response completes it.
    pub(crate) fn claim(&self, key: String) -> Claim {
        let claim = self.0.store.claim(&key, self.0.clock.now_unix());
        if claim == Claim::New {
            // A request claims at most one key; a second extractor on the same request cannot
            // read the (already consumed) body, but release a previous claim rather than leak it.
            if let Some(previous) = self.0.claimed.replace(Some(key)) {
                self.0
                    .store
                    .complete(&previous, false, self.0.clock.now_unix());
            }
        }
        claim
    }

    /// Records the outcome of the claimed key, if any (at most once).
    pub(crate) fn complete(&self, success: bool) {
        let claimed = self.0.claimed.borrow_mut().take();
        if let Some(key) = claimed {
            self.0
                .store
                .complete(&key, success, self.0.clock.now_unix());
        }
    }
}

#[cfg(test)]
mod tests {
    use webhook_core::FixedClock;
    use webhook_core::dedupe::MemoryDedupe;

    use super::*;

    #[test]
    fn completes_once_and_only_what_it_claimed() {
        let store = Arc::new(MemoryDedupe::new());
        let scope = DedupeScope::new(store.clone(), Arc::new(FixedClock(1_700_000_000)));
        scope.complete(true); // nothing claimed: no-op
        assert!(store.is_empty());
        assert_eq!(scope.claim("k".into()), Claim::New);
        assert_eq!(scope.claim("k".into()), Claim::InFlight);
        scope.complete(true);
        scope.complete(false); // already completed: no-op
        assert_eq!(store.claim("k", 1_700_000_001), Claim::Duplicate);
    }

    #[test]
    fn a_dropped_request_releases_its_claim() {
        let store = Arc::new(MemoryDedupe::new());
        let scope = DedupeScope::new(store.clone(), Arc::new(FixedClock(1_700_000_000)));
        let fut = super::super::DedupeFuture::new(std::future::pending::<()>(), scope.clone());
        assert_eq!(scope.claim("k".into()), Claim::New);
        drop(fut);
        assert!(
            store.is_empty(),
            "the failed attempt is forgotten so the retry runs"
        );
    }
}
