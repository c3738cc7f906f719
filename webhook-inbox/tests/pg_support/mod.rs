//! Helpers for the PostgreSQL tests: the server comes from `DATABASE_URL` (set by
//! `scripts/with-postgres.sh`), and each test gets its own schema so tests run in parallel.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `DATABASE_URL`, or a panic telling how to run the PostgreSQL tests.
pub fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DATABASE_URL is not set: the PostgreSQL tests need a server. Run them through \
             scripts/with-postgres.sh, e.g. `scripts/with-postgres.sh cargo test -p webhook-inbox --all-features` \
             (it starts a throwaway cluster and sets DATABASE_URL)"
        ),
    }
}

/// A schema name no other test uses.
pub fn unique_schema(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t_{tag}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with `schema` first in the search path (the backend creates it if missing).
pub fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options[search_path]={schema}")
}

/// A URL on the `DATABASE_URL` server with a fresh schema.
pub fn fresh_url(tag: &str) -> String {
    with_schema(&database_url(), &unique_schema(tag))
}
