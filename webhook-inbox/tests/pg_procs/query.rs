//! One-line reads of the shared database, for the assertions.

use std::collections::HashSet;

use sqlx::postgres::PgPool;

/// The single integer `sql` selects (a `COUNT(*)`).
pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// The text column `sql` selects, as a set.
pub async fn string_set(pool: &PgPool, sql: &'static str) -> HashSet<String> {
    sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}
