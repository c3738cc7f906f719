//! `MemoryDedupe` against a plain model (a map of key → state), on random sequences of claims and
//! completions that follow the store's contract (only a `New` claim is completed, once),
//! including attempts that outlive the in-flight timeout and are taken over.

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use webhook_core::dedupe::{Claim, DedupeStore, MemoryDedupe};

const TTL: i64 = 10;
const IN_FLIGHT: i64 = 8;

#[derive(Clone, Debug)]
enum Op {
    /// Advance the clock, then claim key `k`.
    Claim { k: u8, dt: u8 },
    /// Advance the clock, then complete the `i`-th outstanding claim.
    Complete { i: usize, success: bool, dt: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..12, 0u8..6).prop_map(|(k, dt)| Op::Claim { k, dt }),
        (0usize..8, any::<bool>(), 0u8..6).prop_map(|(i, success, dt)| Op::Complete {
            i,
            success,
            dt
        }),
    ]
}

#[derive(Clone, Copy, PartialEq)]
enum Model {
    InFlight { claimed_at: i64 },
    Done { until: i64 },
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn behaves_like_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        // Sized far above the 12 keys used: the store never has to forget a live key, so it
        // must agree with the model exactly.
        let store = MemoryDedupe::with_capacity(1000)
            .ttl(Duration::from_secs(TTL as u64))
            .in_flight_timeout(Duration::from_secs(IN_FLIGHT as u64));
        let mut model: HashMap<u8, Model> = HashMap::new();
        let mut outstanding: Vec<(u8, i64)> = Vec::new();
        let mut now = 1_700_000_000i64;
        for op in ops {
            match op {
                Op::Claim { k, dt } => {
                    now += i64::from(dt);
                    let expected = match model.get(&k) {
                        Some(Model::InFlight { claimed_at }) if now < claimed_at + IN_FLIGHT => {
                            Claim::InFlight
                        }
                        Some(Model::Done { until }) if now < *until => Claim::Duplicate,
                        _ => Claim::New,
                    };
                    let got = store.claim(&format!("standard:msg_{k}"), now);
                    prop_assert_eq!(got, expected, "claim {} at {}", k, now);
                    if got == Claim::New {
                        model.insert(k, Model::InFlight { claimed_at: now });
                        outstanding.push((k, now));
                    }
                }
                Op::Complete { i, success, dt } => {
                    if outstanding.is_empty() {
                        continue;
                    }
                    now += i64::from(dt);
                    let (k, claimed_at) = outstanding.remove(i % outstanding.len());
                    store.complete(&format!("standard:msg_{k}"), claimed_at, success, now);
                    if success {
                        model.insert(k, Model::Done { until: now + TTL });
                    } else if model.get(&k) == Some(&Model::InFlight { claimed_at }) {
                        // Only this attempt's own claim is released, not a takeover's.
                        model.remove(&k);
                    }
                }
            }
        }
        prop_assert_eq!(store.evictions(), 0);
    }
}
