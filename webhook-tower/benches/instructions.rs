//! Instructions per request through `oneshot`, counted by callgrind: repeatable on a shared VM
//! where timings are not, so a change to the layer's path can be judged by its count.
//!
//! ```text
//! cargo bench -p webhook-tower --bench instructions --no-run   # prints the executable
//! valgrind --tool=callgrind --toggle-collect='*instructions*counted*' \
//!     target/release/deps/instructions-HASH route=layer size=1024
//! ```
//!
//! `route=` is one of the routers in `common` (bare, layer, layer-nodedupe, layer-dedupe1k,
//! svix), `size=` the body size; divide callgrind's "Collected" by the request count printed.
//! SHA-256 runs in software under valgrind (it hides the SHA extensions), so subtract
//! `sha2::sha256::soft` (`callgrind_annotate`) to see what the rest of the layer costs.
//! Without valgrind it is a plain run that checks every answer is 204.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use http::Request;
use tower::ServiceExt;
use webhook_axum::Signer;

const WARM_UP: usize = 200;
const MEASURED: usize = 400;

/// Every request through a fresh clone of the router, one at a time.
fn run(rt: &tokio::runtime::Runtime, router: &axum::Router, requests: Vec<Request<Body>>) {
    for req in requests {
        let res = rt.block_on(router.clone().oneshot(req)).unwrap();
        assert_eq!(res.status(), 204);
    }
}

fn arg<'a>(args: &'a [String], key: &str) -> Option<&'a str> {
    args.iter().find_map(|a| a.strip_prefix(key))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` without a route runs every bench binary with `--bench`: nothing to count.
    let Some(route) = arg(&args, "route=") else {
        return;
    };
    let size = arg(&args, "size=").map_or(1024, |s| s.parse().unwrap());
    let router = common::routers()
        .into_iter()
        .find(|(name, _)| *name == route)
        .unwrap_or_else(|| panic!("no route {route}"))
        .1;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let signer = Signer::standard(common::SECRET).unwrap();
    let body = bytes::Bytes::from(common::body(size));
    let counter = AtomicU64::new(0);
    let signed = |n: usize| -> Vec<Request<Body>> {
        (0..n)
            .map(|_| {
                let id = format!("msg_{}", counter.fetch_add(1, Ordering::Relaxed));
                let mut req = Request::post("/").body(Body::from(body.clone())).unwrap();
                *req.headers_mut() = common::signed_headers(&signer, &id, &body);
                req.headers_mut()
                    .insert("content-length", body.len().into());
                req
            })
            .collect()
    };
    run(&rt, &router, signed(WARM_UP));
    let requests = signed(MEASURED);
    counted(&rt, &router, requests);
    println!("{route} {size} B: {MEASURED} requests counted");
}

/// The part callgrind counts (`--toggle-collect`): the requests after the warm-up.
#[inline(never)]
fn counted(rt: &tokio::runtime::Runtime, router: &axum::Router, requests: Vec<Request<Body>>) {
    run(rt, router, requests)
}
