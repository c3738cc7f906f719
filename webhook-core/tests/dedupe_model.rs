//! `MemoryDedupe` against a plain model (a map of key → state), on random sequences of claims and
//! completions that follow the store's contract (only a `New` claim is completed, once).

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use webhook_core::dedupe::{Claim, DedupeStore, MemoryDedupe};

const TTL: i64 = 10;

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

#[derive(Clone, Copy)]
enum Model {
    InFlight,
    Done { until: i64 },
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn behaves_like_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        // Sized far above the 12 keys used, and in-flight keys never time out during a case:
        // the store never has to forget a live key, so it must agree with the model exactly.
        let store = MemoryDedupe::with_capacity(1000)
            .ttl(Duration::from_secs(TTL as u64))
            .in_flight_timeout(Duration::from_secs(1_000_000));
        let mut model: HashMap<u8, Model> = HashMap::new();
        let mut outstanding: Vec<u8> = Vec::new();
        let mut now = 1_700_000_000i64;
        for op in ops {
            match op {
                Op::Claim { k, dt } => {
                    now += i64::from(dt);
                    let expected = match model.get(&k) {
                        Some(Model::InFlight) => Claim::InFlight,
                        Some(Model::Done { until }) if now < *until => Claim::Duplicate,
                        _ => Claim::New,
                    };
                    let got = store.claim(&format!("standard:msg_{k}"), now);
                    prop_assert_eq!(got, expected, "claim {} at {}", k, now);
                    if got == Claim::New {
                        model.insert(k, Model::InFlight);
                        outstanding.push(k);
                    }
                }
                Op::Complete { i, success, dt } => {
                    if outstanding.is_empty() {
                        continue;
                    }
                    now += i64::from(dt);
                    let k = outstanding.remove(i % outstanding.len());
                    store.complete(&format!("standard:msg_{k}"), success, now);
                    if success {
                        model.insert(k, Model::Done { until: now + TTL });
                    } else {
                        model.remove(&k);
                    }
                }
            }
        }
        prop_assert_eq!(store.evictions(), 0);
    }
}
