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
//! store.complete("standard:msg_1", now, true, now + 1); // claimed at `now`, succeeded
//! assert_eq!(store.claim("standard:msg_1", now + 2), Claim::Duplicate); // answer 200, skip
//!
//! assert_eq!(store.claim("standard:msg_2", now), Claim::New);
//! store.complete("standard:msg_2", now, false, now); // the handler failed
//! assert_eq!(store.claim("standard:msg_2", now + 5), Claim::New); // the retry runs again
//! ```
//!
//! The keys are [`Delivery::dedupe_key`](crate::Delivery::dedupe_key) strings. The store is
//! synchronous: every call is a short critical section, cheap enough to run inline on an async
//! executor.

use std::fmt::Debug;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::Verifier;

mod table;

use table::{Slot, Table};

/// The default number of keys a [`MemoryDedupe`] remembers.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The default time a successfully handled key is remembered: 601 s, the replay window of the
/// default timestamp tolerance (300 s). A delivery stamped `t` is accepted while the receiver's
/// clock reads any second from `t - tolerance` to `t + tolerance`, both included, so a replay can
/// arrive `2 × tolerance` seconds after the first acceptance, and the key must still be
/// remembered then: `2 × tolerance + 1` seconds.
pub const DEFAULT_TTL: Duration = Duration::from_secs(601);

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
/// The in-memory [`MemoryDedupe`] covers a single process. Times are Unix seconds, passed in by
/// the caller so that tests and replays control the clock.
///
/// The methods are synchronous and called from the request's future (and `complete` from a
/// `Drop`): a store must answer from memory, without a network round-trip, which would stall
/// the async runtime's thread (and `block_on` inside it panics). To deduplicate across
/// processes, deduplicate where the delivery is stored: `webhook-inbox` accepts each id once in
/// SQLite or PostgreSQL, behind a layer built `without_dedupe()`.
///
/// Keys are [`Delivery::dedupe_key`](crate::Delivery::dedupe_key): the scheme and the sender's
/// id, without the endpoint or the secret. One store shared by the endpoints of several senders
/// lets one sender's id mark another's delivery as done: give each endpoint its own store.
///
/// Contract: a [`Claim::New`] answer marks the key in flight; the caller must later call
/// [`complete`](DedupeStore::complete) with the outcome (the tower layer does so even when the
/// request is dropped half-way).
///
/// A minimal store (no TTLs, unbounded: a real one expires done keys after its TTL, and in-flight
/// keys after a timeout, as [`MemoryDedupe`] does):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use webhook_core::dedupe::{Claim, DedupeStore};
///
/// #[derive(Debug, Default)]
/// struct MapDedupe(Mutex<HashMap<String, bool>>); // key -> done
///
/// impl DedupeStore for MapDedupe {
///     fn claim(&self, key: &str, _now: i64) -> Claim {
///         let mut keys = self.0.lock().unwrap();
///         match keys.get(key) {
///             Some(true) => Claim::Duplicate,
///             Some(false) => Claim::InFlight,
///             None => {
///                 keys.insert(key.to_owned(), false);
///                 Claim::New
///             }
///         }
///     }
///
///     fn complete(&self, key: &str, _claimed_at: i64, success: bool, _now: i64) {
///         let mut keys = self.0.lock().unwrap();
///         if success {
///             keys.insert(key.to_owned(), true);
///         } else {
///             keys.remove(key); // a failed attempt is processed again on retry
///         }
///     }
/// }
///
/// let store = MapDedupe::default();
/// assert_eq!(store.claim("standard:msg_1", 0), Claim::New);
/// assert_eq!(store.claim("standard:msg_1", 0), Claim::InFlight);
/// store.complete("standard:msg_1", 0, true, 0);
/// assert_eq!(store.claim("standard:msg_1", 0), Claim::Duplicate);
/// ```
///
/// Give it to the tower layer with `WebhookVerify::dedupe(store)`, or to actix-web with
/// `WebhookDedupe::new(store)`.
pub trait DedupeStore: Send + Sync + Debug {
    /// Claims `key` for processing at time `now`.
    fn claim(&self, key: &str, now: i64) -> Claim;

    /// Records the outcome of the [`Claim::New`] made at `claimed_at`: with `success` the key is
    /// remembered as done (later claims are [`Claim::Duplicate`]); without, it is forgotten so
    /// that a retry is processed again, unless another attempt has taken the key over since
    /// (this one outlived the in-flight timeout): that attempt's claim stays.
    fn complete(&self, key: &str, claimed_at: i64, success: bool, now: i64);

    /// How long a successful key is remembered, when the store knows (the integrations warn
    /// when it is shorter than the window in which a replay would verify).
    fn remembers_for(&self) -> Option<Duration> {
        None
    }
}

impl<T: DedupeStore + ?Sized> DedupeStore for Arc<T> {
    fn claim(&self, key: &str, now: i64) -> Claim {
        (**self).claim(key, now)
    }
    fn complete(&self, key: &str, claimed_at: i64, success: bool, now: i64) {
        (**self).complete(key, claimed_at, success, now)
    }
    fn remembers_for(&self) -> Option<Duration> {
        (**self).remembers_for()
    }
}

/// How long `store` remembers successful keys and how long `verifier`'s [`replay_window`] is,
/// when the store forgets them sooner (a replay in between would run the handler again). The
/// integrations log it as a warning.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::Verifier;
/// use webhook_core::dedupe::{MemoryDedupe, forgets_too_soon};
///
/// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
///     .tolerance(Duration::from_secs(3600));
/// assert_eq!(
///     forgets_too_soon(&MemoryDedupe::new(), &verifier),
///     Some((Duration::from_secs(601), Duration::from_secs(7201)))
/// );
/// # Ok::<(), webhook_core::SecretError>(())
/// ```
pub fn forgets_too_soon(
    store: &dyn DedupeStore,
    verifier: &Verifier,
) -> Option<(Duration, Duration)> {
    let window = replay_window(verifier);
    store
        .remembers_for()
        .filter(|&ttl| ttl < window)
        .map(|ttl| (ttl, window))
}

/// How long a delivery verified by `verifier` must be remembered to catch every replay of it:
/// twice its tolerance plus one second (a timestamp may be that far ahead, then as far behind,
/// both ends included), at least [`DEFAULT_TTL`]. With the timestamp check off this is [`DEFAULT_TTL`]. Without a signed
/// timestamp (GitHub, Shopify) a captured request verifies forever and no window is long enough:
/// the window then covers the sender's own retries.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::Verifier;
/// use webhook_core::dedupe::{DEFAULT_TTL, replay_window};
///
/// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// assert_eq!(replay_window(&verifier), DEFAULT_TTL);
/// let verifier = verifier.tolerance(Duration::from_secs(3600));
/// assert_eq!(replay_window(&verifier), Duration::from_secs(7201));
/// # Ok::<(), webhook_core::SecretError>(())
/// ```
pub fn replay_window(verifier: &Verifier) -> Duration {
    verifier.tolerance_secs().map_or(DEFAULT_TTL, |t| {
        DEFAULT_TTL.max(Duration::from_secs(t.saturating_mul(2).saturating_add(1)))
    })
}

/// A bounded in-memory [`DedupeStore`] for one process.
///
/// Its memory is fixed when it is built and never grows, whatever the senders (or an attacker
/// with a valid secret) send: a table sized for `capacity` keys (default [`DEFAULT_CAPACITY`]).
/// Done keys are kept for the TTL (default [`DEFAULT_TTL`]), in-flight keys for the in-flight
/// timeout (default [`DEFAULT_IN_FLIGHT_TIMEOUT`]).
///
/// ```
/// use std::time::Duration;
/// use webhook_core::dedupe::MemoryDedupe;
///
/// let store = MemoryDedupe::with_capacity(10_000).ttl(Duration::from_secs(900));
/// assert_eq!(store.capacity(), 10_000);
/// ```
///
/// # How it stores keys
/// The table is set-associative, like a CPU cache: a key's 64-bit keyed hash (SipHash with a
/// random key per store) picks a set of 8 slots of 16 bytes (two cache lines), and the key is
/// stored there as its hash and a deadline. A claim or completion therefore touches one set,
/// takes one short lock and allocates nothing. The table has between 4 and 8 slots per key of
/// capacity, so a set holds 1 to 2 keys on average when the store is full (the default
/// 100 000 keys take 8 MiB, paged in as used). On Linux a table of 2 MiB or more asks for
/// transparent huge pages: a check then misses the TLB far less often (it takes a quarter of
/// the time when the rest of the server keeps evicting the TLB), and the table becomes resident
/// in 2 MiB steps.
///
/// A new key reuses an expired slot of its set; when all 8 slots hold live keys (a few sets in
/// a store at full capacity, counted by [`evictions`](MemoryDedupe::evictions)), a done key
/// closest to its deadline is forgotten, and an in-flight one only if the set holds nothing
/// else. Keep the capacity above the number of deliveries you receive per TTL.
/// Two distinct keys are taken for one only if their hashes agree on 63 bits and a set: about
/// 10⁻¹⁸ per claim, and the random hash key keeps senders from aiming for it.
pub struct MemoryDedupe {
    slots: Mutex<Table>,
    hasher: RandomState,
    /// `sets - 1`; the number of sets is a power of two.
    set_mask: usize,
    capacity: usize,
    ttl: i64,
    in_flight_timeout: i64,
    evictions: AtomicU64,
}

/// The largest capacity a [`MemoryDedupe`] takes: 16 777 216 keys (a 1 GiB table). Larger
/// requests are clamped to it.
pub const MAX_CAPACITY: usize = 1 << 24;

/// Slots per set: 8 × 16 bytes, two cache lines.
const WAYS: usize = 8;

/// Deadlines are stored in 63 bits.
const MAX_DEADLINE: i64 = i64::MAX >> 1;

/// The capacity actually used and the number of sets: 4 to 8 slots per key, a power of two.
fn table_size(capacity: usize) -> (usize, usize) {
    let capacity = capacity.clamp(1, MAX_CAPACITY);
    (capacity, (capacity * 4).div_ceil(WAYS).next_power_of_two())
}

fn slot(tag: u64, deadline: i64, done: bool) -> Slot {
    let deadline = deadline.clamp(0, MAX_DEADLINE) as u64;
    [tag, (deadline << 1) | u64::from(done)]
}

fn deadline(slot: &Slot) -> i64 {
    (slot[1] >> 1) as i64
}

fn is_done(slot: &Slot) -> bool {
    slot[1] & 1 == 1
}

/// The settings and the eviction count, not the table (megabytes, behind the lock).
impl Debug for MemoryDedupe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDedupe")
            .field("capacity", &self.capacity)
            .field("ttl_secs", &self.ttl)
            .field("in_flight_timeout_secs", &self.in_flight_timeout)
            .field("evictions", &self.evictions())
            .finish_non_exhaustive()
    }
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

    /// A store with the default capacity that remembers handled deliveries for `verifier`'s
    /// [`replay_window`]: the whole time a replay of one would still verify.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::Verifier;
    /// use webhook_core::dedupe::MemoryDedupe;
    ///
    /// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .tolerance(Duration::from_secs(3600));
    /// let store = MemoryDedupe::for_verifier(&verifier);
    /// assert_eq!(store.ttl_duration(), Duration::from_secs(7201));
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn for_verifier(verifier: &Verifier) -> Self {
        MemoryDedupe::new().ttl(replay_window(verifier))
    }

    /// A store sized for `capacity` keys (at least 1, at most [`MAX_CAPACITY`]).
    ///
    /// ```
    /// use webhook_core::dedupe::{DedupeStore, MemoryDedupe};
    ///
    /// let store = MemoryDedupe::with_capacity(1_000);
    /// assert!(store.is_empty());
    /// store.claim("standard:msg_1", 1_700_000_000);
    /// assert_eq!((store.len(), store.evictions()), (1, 0));
    /// assert_eq!(MemoryDedupe::with_capacity(0).capacity(), 1); // clamped
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        let (capacity, sets) = table_size(capacity);
        MemoryDedupe {
            // All-zero slots are empty; the zeroed memory is paged in as it is used.
            slots: Mutex::new(Table::zeroed(sets * WAYS)),
            hasher: RandomState::new(),
            set_mask: sets - 1,
            capacity,
            ttl: secs(DEFAULT_TTL),
            in_flight_timeout: secs(DEFAULT_IN_FLIGHT_TIMEOUT),
            evictions: AtomicU64::new(0),
        }
    }

    /// How long a successfully handled key is remembered (default [`DEFAULT_TTL`], 601 s;
    /// whole seconds, a fraction rounds up). Keep it at least the verifier's
    /// [`replay_window`]: twice its timestamp tolerance plus one second.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::dedupe::{Claim, DedupeStore, MemoryDedupe};
    ///
    /// let store = MemoryDedupe::new().ttl(Duration::from_secs(900));
    /// assert_eq!(store.ttl_duration(), Duration::from_secs(900));
    /// let t = 1_700_000_000;
    /// assert_eq!(store.claim("stripe:evt_1", t), Claim::New);
    /// store.complete("stripe:evt_1", t, true, t);
    /// assert_eq!(store.claim("stripe:evt_1", t + 899), Claim::Duplicate);
    /// assert_eq!(store.claim("stripe:evt_1", t + 900), Claim::New); // forgotten
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = secs(ttl);
        self
    }

    /// How long a key may stay in flight before another attempt may take it over (default
    /// [`DEFAULT_IN_FLIGHT_TIMEOUT`], 60 s). Raise it for handlers that may run longer: a retry
    /// after the timeout runs the handler beside the first attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::dedupe::{Claim, DedupeStore, MemoryDedupe};
    ///
    /// let store = MemoryDedupe::new().in_flight_timeout(Duration::from_secs(300));
    /// let t = 1_700_000_000;
    /// assert_eq!(store.claim("standard:msg_1", t), Claim::New); // the handler starts…
    /// assert_eq!(store.claim("standard:msg_1", t + 120), Claim::InFlight); // …still running
    /// assert_eq!(store.claim("standard:msg_1", t + 300), Claim::New); // abandoned: taken over
    /// ```
    pub fn in_flight_timeout(mut self, timeout: Duration) -> Self {
        self.in_flight_timeout = secs(timeout);
        self
    }

    /// The number of keys the store is sized for.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The TTL of done keys.
    pub fn ttl_duration(&self) -> Duration {
        Duration::from_secs(self.ttl.unsigned_abs())
    }

    /// The number of keys held now (expired ones not yet reused included). Walks the whole
    /// table: for diagnostics and tests, not for every request.
    pub fn len(&self) -> usize {
        self.lock().slots().iter().filter(|s| s[0] != 0).count()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many unexpired keys were forgotten early because their set was full. A growing count
    /// means the capacity is too small for the traffic.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// The key's tag and the index of its set's first slot.
    fn locate(&self, key: &str) -> (u64, usize) {
        let mut h = self.hasher.build_hasher();
        h.write(key.as_bytes());
        let hash = h.finish();
        let set = (hash >> 32) as usize & self.set_mask;
        (hash | 1, set * WAYS)
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table inconsistent in a way that
        // matters more than losing dedupe for a few keys, so keep serving.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DedupeStore for MemoryDedupe {
    fn claim(&self, key: &str, now: i64) -> Claim {
        let (tag, first) = self.locate(key);
        let in_flight = slot(tag, now.saturating_add(self.in_flight_timeout), false);
        let mut slots = self.lock();
        let set = &mut slots.slots_mut()[first..first + WAYS];
        if let Some(s) = set.iter_mut().find(|s| s[0] == tag) {
            if now >= deadline(s) {
                // Expired (done past its TTL, or an abandoned attempt): take it over.
                *s = in_flight;
                return Claim::New;
            }
            return if is_done(s) {
                Claim::Duplicate
            } else {
                Claim::InFlight
            };
        }
        let i = self.room(set, now);
        set[i] = in_flight;
        Claim::New
    }

    fn remembers_for(&self) -> Option<Duration> {
        Some(self.ttl_duration())
    }

    fn complete(&self, key: &str, claimed_at: i64, success: bool, now: i64) {
        let (tag, first) = self.locate(key);
        // The slot this attempt's claim wrote; a takeover wrote a later deadline.
        let claimed = slot(
            tag,
            claimed_at.saturating_add(self.in_flight_timeout),
            false,
        );
        let mut slots = self.lock();
        let set = &mut slots.slots_mut()[first..first + WAYS];
        let found = set.iter().position(|s| s[0] == tag);
        if success {
            // Remembered even when the claim was given up and its slot reused meanwhile, in a
            // free slot: never at the cost of another key's live entry.
            // From the claim's time when the clock has since stepped back: a key is never
            // remembered for less than the TTL from its claim.
            let from = now.max(claimed_at);
            if let Some(i) = found.or_else(|| free(set, from)) {
                set[i] = slot(tag, from.saturating_add(self.ttl), true);
            }
        } else if let Some(i) = found
            && set[i] == claimed
        {
            set[i] = [0, 0];
        }
    }
}

impl MemoryDedupe {
    /// A slot of `set` for a new key: a free or expired one, else the live one to forget first
    /// (done keys before in-flight ones, then the earliest deadline).
    fn room(&self, set: &[Slot], now: i64) -> usize {
        if let Some(i) = free(set, now) {
            return i;
        }
        self.evictions.fetch_add(1, Ordering::Relaxed);
        let rank = |s: &Slot| (!is_done(s), deadline(s));
        (0..set.len()).min_by_key(|&i| rank(&set[i])).unwrap_or(0)
    }
}

/// The first slot of `set` that is empty or expired at `now`.
fn free(set: &[Slot], now: i64) -> Option<usize> {
    set.iter().position(|s| s[0] == 0 || now >= deadline(s))
}

/// Whole seconds, a fraction rounded up: `ttl(900 ms)` remembers for 1 s, not for none.
fn secs(d: Duration) -> i64 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000;

    #[test]
    fn debug_shows_the_settings_not_the_table() {
        let shown = format!("{:?}", MemoryDedupe::new());
        assert!(
            shown.starts_with("MemoryDedupe { capacity: 100000, ttl_secs: 601"),
            "{shown}"
        );
        assert!(shown.len() < 200, "{shown}");
    }

    #[test]
    fn new_then_in_flight_then_duplicate() {
        let s = MemoryDedupe::new();
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("a", T), Claim::InFlight);
        s.complete("a", T, true, T + 1);
        assert_eq!(s.claim("a", T + 2), Claim::Duplicate);
        assert_eq!(s.claim("a", T + 500), Claim::Duplicate);
        assert_eq!(s.claim("b", T), Claim::New);
    }

    #[test]
    fn failure_lets_the_retry_through() {
        let s = MemoryDedupe::new();
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", T, false, T);
        assert!(s.is_empty());
        assert_eq!(s.claim("a", T + 1), Claim::New);
        s.complete("a", T + 1, true, T + 1);
        assert_eq!(s.claim("a", T + 2), Claim::Duplicate);
    }

    #[test]
    fn late_failure_does_not_forget_a_success() {
        let s = MemoryDedupe::new();
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", T, true, T);
        s.complete("a", T, false, T);
        assert_eq!(s.claim("a", T + 1), Claim::Duplicate);
    }

    #[test]
    fn done_keys_expire_after_the_ttl() {
        let s = MemoryDedupe::new().ttl(Duration::from_secs(600));
        assert_eq!(s.ttl_duration(), Duration::from_secs(600));
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", T, true, T + 10);
        assert_eq!(s.claim("a", T + 609), Claim::Duplicate);
        assert_eq!(s.claim("a", T + 610), Claim::New);
    }

    /// Tolerance includes both ends: a delivery stamped `t` first accepted at `t - 300` is
    /// still remembered when a replay arrives at `t + 300`, the last second it verifies.
    #[test]
    fn the_default_store_covers_the_whole_replay_window() {
        let t = T;
        let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let s = MemoryDedupe::new();
        assert_eq!(forgets_too_soon(&s, &verifier), None);
        let signed = crate::Signer::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap()
            .sign("msg_1", t, b"{}");
        for now in [t - 300, t + 300] {
            assert!(verifier.verify_at(&signed, b"{}", now).is_ok(), "{now}");
        }
        assert_eq!(s.claim("standard:msg_1", t - 300), Claim::New);
        s.complete("standard:msg_1", t - 300, true, t - 300);
        assert_eq!(s.claim("standard:msg_1", t + 300), Claim::Duplicate);
    }

    #[test]
    fn abandoned_in_flight_keys_can_be_taken_over() {
        let s = MemoryDedupe::new().in_flight_timeout(Duration::from_secs(30));
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("a", T + 29), Claim::InFlight);
        assert_eq!(s.claim("a", T + 30), Claim::New);
        assert_eq!(s.claim("a", T + 31), Claim::InFlight);
    }

    /// An attempt that outlived the in-flight timeout and then fails does not release the claim
    /// of the attempt that took the key over (a third one would run beside it).
    #[test]
    fn a_stale_failure_keeps_the_newer_claim() {
        let s = MemoryDedupe::new().in_flight_timeout(Duration::from_secs(60));
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("a", T + 61), Claim::New);
        s.complete("a", T, false, T + 62);
        assert_eq!(s.claim("a", T + 63), Claim::InFlight);
        // The newer attempt's own failure releases it.
        s.complete("a", T + 61, false, T + 64);
        assert_eq!(s.claim("a", T + 65), Claim::New);
    }

    #[test]
    fn expired_keys_are_reused() {
        // Capacity 1: one set of 8 slots, filled with done keys.
        let s = MemoryDedupe::with_capacity(1).ttl(Duration::from_secs(10));
        for i in 0..8 {
            let key = format!("k{i}");
            assert_eq!(s.claim(&key, T), Claim::New);
            s.complete(&key, T, true, T);
        }
        assert_eq!(s.len(), 8);
        assert_eq!(s.claim("k7", T + 9), Claim::Duplicate);
        // Once they expire, eight new keys take their slots without evicting a live one.
        for i in 0..8 {
            assert_eq!(s.claim(&format!("fresh{i}"), T + 10), Claim::New);
        }
        assert_eq!((s.len(), s.evictions()), (8, 0));
        for i in 0..8 {
            assert_eq!(s.claim(&format!("fresh{i}"), T + 10), Claim::InFlight);
        }
    }

    #[test]
    fn a_done_key_is_remembered_for_the_ttl_from_its_claim_when_the_clock_steps_back() {
        let s = MemoryDedupe::new().ttl(Duration::from_secs(600));
        assert_eq!(s.claim("a", T), Claim::New);
        // The clock stepped back an hour between the claim and the answer.
        s.complete("a", T, true, T - 3600);
        assert_eq!(s.claim("a", T + 1), Claim::Duplicate);
        assert_eq!(s.claim("a", T + 599), Claim::Duplicate);
        assert_eq!(s.claim("a", T + 600), Claim::New);
    }

    #[test]
    fn sub_second_durations_round_up() {
        let s = MemoryDedupe::new()
            .ttl(Duration::from_millis(900))
            .in_flight_timeout(Duration::from_millis(500));
        assert_eq!(s.remembers_for(), Some(Duration::from_secs(1)));
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("a", T), Claim::InFlight);
        s.complete("a", T, true, T);
        assert_eq!(s.claim("a", T), Claim::Duplicate);
        assert_eq!(s.claim("a", T + 1), Claim::New);
    }

    #[test]
    fn a_full_set_forgets_the_key_closest_to_its_deadline() {
        // Capacity 1: one set of 8 slots.
        let s = MemoryDedupe::with_capacity(1);
        for i in 0..8 {
            let key = format!("k{i}");
            assert_eq!(s.claim(&key, T + i), Claim::New);
            s.complete(&key, T + i, true, T + i);
        }
        assert_eq!(s.claim("new", T + 8), Claim::New);
        assert_eq!(s.evictions(), 1);
        assert_eq!(s.len(), 8);
        // "k0" had the earliest deadline: forgotten, so it is new again, and evicts "k1" (done
        // keys go before the in-flight "new").
        assert_eq!(s.claim("k0", T + 9), Claim::New);
        assert_eq!(s.claim("k7", T + 9), Claim::Duplicate);
        assert_eq!(s.claim("new", T + 9), Claim::InFlight);
        assert_eq!(s.claim("k1", T + 9), Claim::New);
        assert_eq!(s.evictions(), 3);
        assert_eq!(s.len(), 8);
    }

    #[test]
    fn expired_keys_go_before_live_ones_when_full() {
        let s = MemoryDedupe::with_capacity(1).ttl(Duration::from_secs(10));
        assert_eq!(s.claim("old", T), Claim::New);
        s.complete("old", T, true, T);
        for i in 0..7 {
            let key = format!("live{i}");
            assert_eq!(s.claim(&key, T + 5), Claim::New);
            s.complete(&key, T + 5, true, T + 5);
        }
        assert_eq!(s.claim("new", T + 10), Claim::New);
        assert_eq!(s.evictions(), 0);
        for i in 0..7 {
            assert_eq!(s.claim(&format!("live{i}"), T + 11), Claim::Duplicate);
        }
    }

    #[test]
    fn memory_is_fixed_under_fail_retry_cycles() {
        let s = MemoryDedupe::with_capacity(4);
        let slots = s.lock().slots().len();
        for i in 0..10_000 {
            assert_eq!(s.claim("flaky", T + i), Claim::New);
            s.complete("flaky", T + i, false, T + i);
            assert_eq!(s.claim(&format!("other{i}"), T + i), Claim::New);
        }
        assert_eq!(s.lock().slots().len(), slots);
        // Each failure freed its slot: the failed key is not remembered.
        assert_eq!(s.claim("flaky", T + 10_000), Claim::New);
    }

    #[test]
    fn capacity_zero_means_one() {
        let s = MemoryDedupe::with_capacity(0);
        assert_eq!(s.capacity(), 1);
        assert_eq!(s.claim("a", T), Claim::New);
        assert_eq!(s.claim("b", T), Claim::New);
        assert_eq!(s.claim("a", T), Claim::InFlight);
    }

    #[test]
    fn huge_capacities_are_clamped() {
        let (capacity, sets) = table_size(usize::MAX);
        assert_eq!(capacity, MAX_CAPACITY);
        assert_eq!(sets * WAYS * std::mem::size_of::<Slot>(), 1 << 30);
        assert_eq!(table_size(0), (1, 1));
    }

    #[test]
    fn the_table_is_sized_from_the_capacity() {
        assert_eq!(MemoryDedupe::with_capacity(1).lock().slots().len(), 8);
        let s = MemoryDedupe::new();
        let slots = s.lock().slots().len();
        assert!((4 * DEFAULT_CAPACITY..=8 * DEFAULT_CAPACITY).contains(&slots));
        assert_eq!(slots % WAYS, 0);
        assert!((slots / WAYS).is_power_of_two());
    }

    #[test]
    fn works_behind_arc_dyn() {
        let s: Arc<dyn DedupeStore> = Arc::new(MemoryDedupe::new());
        assert_eq!(s.claim("a", T), Claim::New);
        s.complete("a", T, true, T);
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
