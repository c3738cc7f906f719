//! Replay and duplicate protection: remember which deliveries were already handled.
//!
//! Senders retry, and a signed request captured inside the timestamp tolerance can be replayed.
//! A [`DedupeStore`] remembers the deliveries a receiver answered with success so that a repeat
//! is acknowledged without running the handler again, refuses a concurrent duplicate while the
//! first attempt is still running, and lets a delivery whose first attempt failed through again.
//!
//! ```
//! use webhook_core::dedupe::{Claim, DedupeStore, MemoryDedupe};
//!
//! let store = MemoryDedupe::new();
//! let now = 1_700_000_000;
//! assert_eq!(store.claim("standard:msg_1", now), Claim::New);
//! assert_eq!(store.claim("standard:msg_1", now), Claim::InFlight); // still running
//! store.complete("standard:msg_1", true, now + 1);
//! assert_eq!(store.claim("standard:msg_1", now + 2), Claim::Duplicate); // answer 200, skip
//!
//! assert_eq!(store.claim("standard:msg_2", now), Claim::New);
//! store.complete("standard:msg_2", false, now); // the handler failed
//! assert_eq!(store.claim("standard:msg_2", now + 5), Claim::New); // the retry runs again
//! ```
//!
//! The keys are [`Delivery::dedupe_key`](crate::Delivery::dedupe_key) strings. The store is
//! synchronous: every call is a short critical section, cheap enough to run inline on an async
//! executor.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The default number of keys a [`MemoryDedupe`] remembers.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The default time a successfully handled key is remembered: 600 s, twice the default
/// timestamp tolerance. A delivery stamped `t` is accepted while the receiver's clock is within
/// `t ± tolerance`, so a replay can arrive up to `2 × tolerance` after the first acceptance.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// The default time after which a key still marked in flight is considered abandoned (the
/// handler hung or the process lost track of it) and a new attempt may claim it: 60 s, longer
/// than the time senders wait for an answer (Svix and Scalekit: 15 s).
pub const DEFAULT_IN_FLIGHT_TIMEOUT: Duration = Duration::from_secs(60);

/// The answer to [`DedupeStore::claim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Claim {
    /// First time seen (or seen before but failed, expired or abandoned): run the handler, then
    /// call [`DedupeStore::complete`].
    New,
    /// Already handled successfully: answer 200 without running the handler.
    Duplicate,
    /// Another attempt with this key is running now: answer 409 so the sender retries later.
    InFlight,
}

/// A replay/duplicate store, shared by every request of a receiver.
///
/// Implement it over a shared store (Redis, a database) to deduplicate across processes; the
/// in-memory [`MemoryDedupe`] covers a single process. Times are Unix seconds, passed in by the
/// caller so that tests and replays control the clock.
///
/// Contract: a [`Claim::New`] answer marks the key in flight; the caller must later call
/// [`complete`](DedupeStore::complete) with the outcome (the tower layer does so even when the
/// request is dropped half-way).
pub trait DedupeStore: Send + Sync + Debug {
    /// Claims `key` for processing at time `now`.
    fn claim(&self, key: &str, now: i64) -> Claim;

    /// Records the outcome of a [`Claim::New`] attempt: with `success` the key is remembered as
    /// done (later claims are [`Claim::Duplicate`]); without, it is forgotten so that a retry is
    /// processed again.
    fn complete(&self, key: &str, success: bool, now: i64);
}

impl<T: DedupeStore + ?Sized> DedupeStore for Arc<T> {
    fn claim(&self, key: &str, now: i64) -> Claim {
        (**self).claim(key, now)
    }
    fn complete(&self, key: &str, success: bool, now: i64) {
        (**self).complete(key, success, now)
    }
}

/// A bounded in-memory [`DedupeStore`] for one process.
///
/// It holds at most `capacity` keys (default [`DEFAULT_CAPACITY`]); when full, expired keys go
/// first, then the oldest claims. Memory therefore never grows past the bound, whatever the
/// senders (or an attacker with a valid secret) send. Done keys are kept for the TTL (default
/// [`DEFAULT_TTL`]), in-flight keys for the in-flight timeout (default
/// [`DEFAULT_IN_FLIGHT_TIMEOUT`]).
///
/// ```
/// use std::time::Duration;
/// use webhook_core::dedupe::MemoryDedupe;
///
/// let store = MemoryDedupe::with_capacity(10_000).ttl(Duration::from_secs(900));
/// assert_eq!(store.capacity(), 10_000);
/// ```
///
/// Keys are stored as 128-bit keyed hashes (SipHash with two random keys per store), so each
/// entry costs about 80 bytes whatever the key's length and no allocation per key: the default
/// 100 000 keys take about 8 MB. An accidental collision (a new delivery taken for a duplicate)
/// has a probability around 10⁻²⁸ per window, and the random keys keep senders from aiming for
/// one. Keep the capacity above the number of deliveries you receive per TTL, or older keys are forgotten early (counted by [`evictions`](MemoryDedupe::evictions)).
#[derive(Debug)]
pub struct MemoryDedupe {
    inner: Mutex<Inner>,
    hashers: (RandomState, RandomState),
    capacity: usize,
    ttl: i64,
    in_flight_timeout: i64,
    evictions: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, Entry, PreHashed>,
    /// Keys in claim order, with the generation of the claim; records whose generation no longer
    /// matches the entry are stale and skipped.
    order: VecDeque<(Key, u64)>,
    next_generation: u64,
}

/// A 128-bit keyed hash of a dedupe key.
type Key = u128;

/// The map's keys are already random hashes: use their low bits instead of hashing again.
#[derive(Clone, Copy, Debug, Default)]
struct PreHashed;

impl BuildHasher for PreHashed {
    type Hasher = PreHashedHasher;
    fn build_hasher(&self) -> PreHashedHasher {
        PreHashedHasher(0)
    }
}

#[derive(Debug)]
struct PreHashedHasher(u64);

impl Hasher for PreHashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    state: State,
    generation: u64,
}

#[derive(Clone, Copy, Debug)]
enum State {
    InFlight { since: i64 },
    Done { until: i64 },
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        MemoryDedupe::new()
    }
}

impl MemoryDedupe {
    /// A store with the default capacity, TTL and in-flight timeout.
    pub fn new() -> Self {
        MemoryDedupe::with_capacity(DEFAULT_CAPACITY)
    }

    /// A store that remembers at most `capacity` keys (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryDedupe {
            inner: Mutex::new(Inner::default()),
            hashers: (RandomState::new(), RandomState::new()),
            capacity: capacity.max(1),
            ttl: secs(DEFAULT_TTL),
            in_flight_timeout: secs(DEFAULT_IN_FLIGHT_TIMEOUT),
            evictions: AtomicU64::new(0),
        }
    }

    /// How long a successfully handled key is remembered. Keep it at least twice the verifier's
    /// timestamp tolerance to cover the whole replay window.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = secs(ttl);
        self
    }

    /// How long a key may stay in flight before another attempt may take it over.
    pub fn in_flight_timeout(mut self, timeout: Duration) -> Self {
        self.in_flight_timeout = secs(timeout);
        self
    }

    /// The maximum number of keys held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The TTL of done keys.
    pub fn ttl_duration(&self) -> Duration {
        Duration::from_secs(self.ttl.unsigned_abs())
    }

    /// The number of keys held now (in flight or done, expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many unexpired keys were dropped because the store was full. A growing count means
    /// the capacity is too small for the traffic.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    fn key(&self, key: &str) -> Key {
        let hash = |state: &RandomState| {
            let mut h = state.build_hasher();
            h.write(key.as_bytes());
            h.finish()
        };
        (u128::from(hash(&self.hashers.0)) << 64) | u128::from(hash(&self.hashers.1))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that matters
        // more than losing dedupe for a few keys, so keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, entry: &Entry, now: i64) -> bool {
        match entry.state {
            State::InFlight { since } => now >= since.saturating_add(self.in_flight_timeout),
            State::Done { until } => now >= until,
        }
    }
}

impl DedupeStore for MemoryDedupe {
    fn claim(&self, key: &str, now: i64) -> Claim {
        let key = self.key(key);
        let mut inner = self.lock();
        if let Some(entry) = inner.entries.get(&key) {
            if !self.expired(entry, now) {
                return match entry.state {
                    State::InFlight { .. } => Claim::InFlight,
                    State::Done { .. } => Claim::Duplicate,
                };
            }
            inner.entries.remove(&key);
        }
        inner.sweep(now, self);
        while inner.entries.len() >= self.capacity {
            if inner.evict_oldest() {
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        let generation = inner.next_generation;
        inner.next_generation += 1;
        inner.entries.insert(
            key,
            Entry {
                state: State::InFlight { since: now },
                generation,
            },
        );
        inner.order.push_back((key, generation));
        inner.compact(self.capacity);
        Claim::New
    }

    fn complete(&self, key: &str, success: bool, now: i64) {
        let key = self.key(key);
        let mut inner = self.lock();
        if success {
            if let Some(entry) = inner.entries.get_mut(&key) {
                entry.state = State::Done {
                    until: now.saturating_add(self.ttl),
                };
            }
        } else if inner
            .entries
            .get(&key)
            .is_some_and(|e| matches!(e.state, State::InFlight { .. }))
        {
            inner.entries.remove(&key);
        }
    }
}

impl Inner {
    /// Drops expired keys from the front of the claim order (the oldest claims).
    fn sweep(&mut self, now: i64, store: &MemoryDedupe) {
        while let Some((key, generation)) = self.order.front() {
            match self.entries.get(key) {
                Some(entry) if entry.generation == *generation => {
                    if !store.expired(entry, now) {
                        break;
                    }
                    self.entries.remove(key);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Removes the oldest live key. Returns whether one was removed (an unexpired key evicted).
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, generation)) = self.order.pop_front() {
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.generation == generation)
            {
                self.entries.remove(&key);
                return true;
            }
        }
        // The order queue always holds a record for every live key, so this is only reached
        // with an empty map; clear defensively so the caller's loop ends.
        self.entries.clear();
        false
    }

    /// Keeps the order queue within twice the capacity by dropping stale records (left behind
    /// by failed attempts and takeovers), so memory stays bounded under any sequence of calls.
    fn compact(&mut self, capacity: usize) {
        if self.order.len() > capacity.saturating_mul(2) {
            let entries = &self.entries;
            self.order.retain(|(key, generation)| {
                entries
                    .get(key)
                    .is_some_and(|e| e.generation == *generation)
            });
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000;

    #[test]
    fn new_then_in_flight_then_duplicate() {
        let s = MemoryDedupe::new();
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("a", T), Claim::InFlight);
        s.complete("a", true, T + 1);
        assert_eq!(s.claim("a", T + 2), Claim::Duplicate);
        assert_eq!(s.claim("a", T + 500), Claim::Duplicate);
        assert_eq!(s.claim("b", T), Claim::New);
    }

    #[test]
    fn failure_lets_the_retry_through() {
        let s = MemoryDedupe::new();
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", false, T);
        assert!(s.is_empty());
        assert_eq!(s.claim("a", T + 1), Claim::New);
        s.complete("a", true, T + 1);
        assert_eq!(s.claim("a", T + 2), Claim::Duplicate);
    }

    #[test]
    fn late_failure_does_not_forget_a_success() {
        let s = MemoryDedupe::new();
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", true, T);
        s.complete("a", false, T);
        assert_eq!(s.claim("a", T + 1), Claim::Duplicate);
    }

    #[test]
    fn done_keys_expire_after_the_ttl() {
        let s = MemoryDedupe::new().ttl(Duration::from_secs(600));
        assert_eq!(s.ttl_duration(), Duration::from_secs(600));
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", true, T + 10);
        assert_eq!(s.claim("a", T + 609), Claim::Duplicate);
        assert_eq!(s.claim("a", T + 610), Claim::New);
    }

    #[test]
    fn abandoned_in_flight_keys_can_be_taken_over() {
        let s = MemoryDedupe::new().in_flight_timeout(Duration::from_secs(30));
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("a", T + 29), Claim::InFlight);
        assert_eq!(s.claim("a", T + 30), Claim::New);
        assert_eq!(s.claim("a", T + 31), Claim::InFlight);
    }

    #[test]
    fn expired_keys_are_swept_on_claim() {
        let s = MemoryDedupe::new().ttl(Duration::from_secs(10));
        for i in 0..100 {
            let key = format!("k{i}");
            assert_eq!(s.claim(&key, T), Claim::New);
            s.complete(&key, true, T);
        }
        assert_eq!(s.len(), 100);
        assert_eq!(s.claim("fresh", T + 10), Claim::New);
        assert_eq!(s.len(), 1);
        assert_eq!(s.evictions(), 0);
    }

    #[test]
    fn full_store_evicts_the_oldest_and_stays_bounded() {
        let s = MemoryDedupe::with_capacity(3);
        for key in ["a", "b", "c"] {
            assert_eq!(s.claim(key, T), Claim::New);
            s.complete(key, true, T);
        }
        assert_eq!(s.claim("d", T), Claim::New);
        assert_eq!(s.len(), 3);
        assert_eq!(s.evictions(), 1);
        // "a" was the oldest: forgotten, so it is new again (and evicts "b").
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("c", T), Claim::Duplicate);
        assert_eq!(s.claim("b", T), Claim::New);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn expired_keys_go_before_live_ones_when_full() {
        let s = MemoryDedupe::with_capacity(2).ttl(Duration::from_secs(10));
        assert_eq!(s.claim("old", T), Claim::New);
        s.complete("old", true, T);
        assert_eq!(s.claim("live", T + 5), Claim::New);
        s.complete("live", true, T + 5);
        assert_eq!(s.claim("new", T + 10), Claim::New);
        assert_eq!(s.evictions(), 0);
        assert_eq!(s.claim("live", T + 11), Claim::Duplicate);
    }

    #[test]
    fn order_queue_stays_bounded_under_fail_retry_cycles() {
        let s = MemoryDedupe::with_capacity(4);
        for i in 0..10_000 {
            assert_eq!(s.claim("flaky", T + i), Claim::New);
            s.complete("flaky", false, T + i);
        }
        assert!(s.lock().order.len() <= 8 + 1);
        assert!(s.is_empty());
    }

    #[test]
    fn capacity_zero_means_one() {
        let s = MemoryDedupe::with_capacity(0);
        assert_eq!(s.capacity(), 1);
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("b", T), Claim::New);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn works_behind_arc_dyn() {
        let s: Arc<dyn DedupeStore> = Arc::new(MemoryDedupe::new());
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", true, T);
        assert_eq!(s.claim("a", T), Claim::Duplicate);
    }

    #[test]
    fn concurrent_claims_admit_exactly_one() {
        let s2 = MemoryDedupe::new();
        let results: Vec<Claim> = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| s2.claim("same", T)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|c| **c == Claim::New).count(), 1);
        assert_eq!(results.iter().filter(|c| **c == Claim::InFlight).count(), 7);
    }
}
