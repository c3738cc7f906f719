//! "No allocation per check": verifying a delivery allocates nothing, counted by dhat's global
//! allocator (this test binary's only test, as dhat allows one profiler per process).

use webhook_core::{Scheme, Signer, Verifier};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;

#[test]
fn verifying_allocates_nothing() {
    let body = vec![b'x'; 4096];
    let rotated = Verifier::standard(SECRET)
        .unwrap()
        .add_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .unwrap();
    let signed = Signer::standard(SECRET)
        .unwrap()
        .sign("msg_p5jXN8AQM9LWM0D4loKWxJek", NOW, &body);
    let decoy = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    let mut map = http::HeaderMap::new();
    for (name, value) in signed.iter() {
        let value = if name == "webhook-signature" {
            format!("{decoy} {value}")
        } else {
            value.to_owned()
        };
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let others: Vec<(Verifier, http::HeaderMap)> = [
        (Scheme::Stripe, "whsec_stripe"),
        (Scheme::GitHub, "gh"),
        (Scheme::Slack, "slack"),
        (Scheme::Shopify, "shop"),
        (Scheme::Paddle, "pdl"),
        (Scheme::Timestamped, "ts"),
    ]
    .into_iter()
    .map(|(scheme, secret)| {
        let headers = Signer::new(scheme, secret).unwrap().sign(
            "6e7d2a30-0000-4000-8000-000000000000",
            NOW,
            &body,
        );
        (Verifier::new(scheme, secret).unwrap(), headers.into())
    })
    .collect();

    let _profiler = dhat::Profiler::builder().testing().build();
    // dhat counts every thread of the process: on a loaded machine the test harness's own
    // threads have been seen to allocate a few blocks meanwhile. An allocation per check shows
    // in every measurement (80 checks each); a stray one does not, so one clean measurement of
    // three passes.
    let mut measured = Vec::new();
    for _ in 0..3 {
        let before = dhat::HeapStats::get();
        for _ in 0..10 {
            let verified = rotated.verify_at(&map, &body, NOW).unwrap();
            assert_eq!(verified.id(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
            for (verifier, headers) in &others {
                verifier.verify_at(headers, &body, NOW).unwrap();
            }
            // Failures do not allocate either.
            assert!(rotated.verify_at(&map, b"tampered", NOW).is_err());
        }
        let after = dhat::HeapStats::get();
        measured.push(after.total_blocks - before.total_blocks);
        if measured.last() == Some(&0) {
            break;
        }
    }
    dhat::assert!(
        measured.contains(&0),
        "blocks allocated per measurement: {measured:?}"
    );
}
