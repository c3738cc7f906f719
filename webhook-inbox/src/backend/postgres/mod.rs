//! The PostgreSQL backend, for several receiver instances sharing one database.
//!
//! Same tables and meaning as the SQLite backend (BIGINT millisecond times, BYTEA bodies,
//! JSONB headers), applied by embedded migrations recorded in `_webhook_inbox_migrations` (so
//! they never mix with the application's own sqlx migrations). What changes with several
//! instances:
//!
//! - **Dedupe across instances**: the `UNIQUE` dedupe key decides. Two instances accepting the
//!   same delivery at the same moment block on the same index entry; one commits "new", the
//!   other sees the committed key and answers "duplicate". Keys are inserted in sorted order so
//!   concurrent group commits cannot deadlock.
//! - **Claims** use `FOR UPDATE SKIP LOCKED` with a lease: instances never wait on each other's
//!   claims, and a crashed instance's deliveries are claimed again once its lease expires.
//! - **Wake-ups**: every commit of new deliveries sends a `NOTIFY` (a statement trigger) on a
//!   channel named after the schema; each process `LISTEN`s and wakes its idle workers at once,
//!   with polling kept as the fallback.
//! - **Outages**: statements fail fast (the pool gives up acquiring after
//!   [`PostgresBackend::DEFAULT_ACQUIRE_TIMEOUT`]), so accepts answer 503 with `Retry-After`;
//!   the pool and the listener reconnect by themselves when the server is back.
//!
//! Use a dedicated schema by naming it first in the search path, e.g.
//! `postgres://user@db/app?options[search_path]=webhooks`; a missing schema is created.

mod listen;

/// sqlx's connection and pool settings, which [`PostgresBackend::connect_with`] takes
/// (re-exported so that a receiver needs no sqlx dependency of its own).
pub use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// `options` without TLS unless the URL (or `PGSSLMODE`) asks for it: `sslmode`, or a
/// certificate to use (`sslrootcert`, `sslcert`, `sslkey`, and sqlx's other spellings).
///
/// sqlx's default, `prefer`, would use TLS whenever the server offers it. Over TLS, sqlx
/// closes a connection by waiting for the server's answer: a server gone silent (a failover
/// behind a virtual IP, a host that died without a reset) then holds the connection's pool
/// slot until the kernel gives up on it, about 15 minutes, and a few of them leave no
/// connection for accepts. A plain connection is closed at once. Ask for TLS where the network
/// needs it (`sslmode=require`, `verify-full`), knowing this.
fn plain_unless_asked(url: &str, options: PgConnectOptions) -> PgConnectOptions {
    // The parameters sqlx reads (decoded, as it does): a mode, or a certificate to use.
    const TLS_KEYS: [&str; 9] = [
        "sslmode",
        "ssl-mode",
        "sslrootcert",
        "ssl-root-cert",
        "ssl-ca",
        "sslcert",
        "ssl-cert",
        "sslkey",
        "ssl-key",
    ];
    let asked = std::env::var_os("PGSSLMODE").is_some()
        || url::Url::parse(url).is_ok_and(|url| {
            url.query_pairs()
                .any(|(key, _)| TLS_KEYS.contains(&key.as_ref()))
        });
    if asked {
        options
    } else {
        options.ssl_mode(sqlx::postgres::PgSslMode::Disable)
    }
}

/// How long a connection handed back to the pool may take to answer a ping before it is
/// closed rather than kept.
const RELEASE_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The default [`PostgresBackend::transaction_timeouts`]: a lock wait of 10 s, 30 s idle.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest an accept waits for a dedupe key another transaction holds. Another instance's
/// accept of the same delivery commits within milliseconds; a key held longer belongs to a
/// transaction that is stuck (its receiver gone), and the writer then stores the batch's other
/// deliveries one by one, so that only this one is answered 503.
const KEY_WAIT: Duration = Duration::from_secs(2);

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::{Postgres, Row};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Backend, BackendResult, BoxFuture, Durability, SchemaSetup, read};
use crate::{
    Accepted, ClaimFilter, DeliveryId, DeliveryStatus, EventTypeStats, InboxError, ListFilter,
    NewDelivery, Outcome, OutcomeResult, PruneReport, StatusCounts, StoredDelivery,
};

/// The columns of a stored delivery, qualified with `d.`.
const COLUMNS: &str = "d.id, d.dedupe_key, d.scheme, d.message_id, d.event_id, d.event_type, d.body, \
                       d.headers::text AS headers, d.client_addr, d.user_agent, d.received_at_ms, d.status, \
                       d.attempts, d.next_attempt_at_ms, d.last_error, d.processing_ms, d.finished_at_ms";

/// The table that records applied migrations (not sqlx's default, which the application may use).
const MIGRATIONS_TABLE: &str = "_webhook_inbox_migrations";

/// The PostgreSQL backend. Build it with [`PostgresBackend::connect`], or let
/// [`Inbox::connect`](crate::Inbox::connect) pick it for `postgres://` and `postgresql://` URLs.
///
/// ```no_run
/// # async fn demo() -> Result<(), webhook_inbox::InboxError> {
/// use webhook_inbox::Inbox;
///
/// // Every instance behind the load balancer opens the same database.
/// let inbox = Inbox::connect("postgres://app@db.internal/app?options[search_path]=webhooks").await?;
/// # let _ = inbox; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresBackend {
    pool: PgPool,
    options: PgConnectOptions,
    channel: String,
    listeners: Arc<Listeners>,
    /// The settings no server, database or role configuration sets (`lock_timeout`,
    /// `idle_in_transaction_session_timeout`): the defaults apply to those only.
    unset: Vec<String>,
    /// `BEGIN` and the `SET LOCAL`s of the transaction timeouts.
    begin: Arc<str>,
    /// `begin`, with the lock wait of accepts cut to [`KEY_WAIT`].
    begin_accept: Arc<str>,
    /// The server's own `lock_timeout` in ms (0: none).
    server_lock_ms: u64,
}

/// Where it connects, never the password (sqlx's `PgConnectOptions` shows it).
impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("host", &self.options.get_host())
            .field("port", &self.options.get_port())
            .field("database", &self.options.get_database())
            .field("username", &self.options.get_username())
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The `LISTEN` tasks; aborted on close or when the last clone is dropped.
#[derive(Debug, Default)]
struct Listeners(Mutex<Vec<JoinHandle<()>>>);

impl Listeners {
    fn abort_all(&self) {
        if let Ok(mut tasks) = self.0.lock() {
            for task in tasks.drain(..) {
                task.abort();
            }
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// How many times an accept runs again after a concurrent prune took a key it had seen.
const ACCEPT_ATTEMPTS: usize = 3;

impl PostgresBackend {
    /// How long a statement waits for a pooled connection (or for the server to accept a new
    /// one) before failing, so accepts answer 503 quickly while the server is down.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

    /// The default pool size per process.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

    /// Connects to `url` (`postgres://user:pass@host:5432/db`, any libpq-style parameter sqlx
    /// accepts), creates the first schema of the search path if it is missing, and applies the
    /// embedded migrations.
    ///
    /// With [`Durability::Full`] a 2xx waits for the server's commit as configured
    /// (`synchronous_commit`, `on` by default: flushed to the WAL on disk). With
    /// [`Durability::Process`] sessions use `synchronous_commit=off`: an acknowledged delivery
    /// survives a crash of the receiver, but a crash of the database server may lose the last
    /// few hundred milliseconds of commits.
    pub async fn connect(url: &str, durability: Durability) -> BackendResult<Self> {
        Self::open(url, durability, SchemaSetup::Migrate).await
    }

    /// [`connect`](Self::connect), or with [`SchemaSetup::Existing`] an inbox that must already
    /// be in the first schema of the search path: no schema is created and no migration runs.
    pub async fn open(
        url: &str,
        durability: Durability,
        setup: SchemaSetup,
    ) -> BackendResult<Self> {
        let options = plain_unless_asked(url, PgConnectOptions::from_str(url)?);
        let pool = PgPoolOptions::new()
            .max_connections(Self::DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(Self::DEFAULT_ACQUIRE_TIMEOUT);
        Self::open_with(options, pool, durability, setup).await
    }

    /// [`connect`](Self::connect) with your own connection and pool settings (TLS, pool size,
    /// timeouts). Keep the acquire timeout short: it bounds how long a sender waits for its 503
    /// while the database is unreachable. The backend sets the pool's `after_release` hook (a
    /// ping bounded to 2 s, so that a connection whose server went silent is closed, not kept),
    /// replacing one set in `pool`. The options are used as given: sqlx's default `sslmode` is
    /// `prefer` (TLS whenever the server offers it), where [`connect`](Self::connect) connects
    /// plain unless the URL asks for TLS (see the crate's PostgreSQL notes on why).
    pub async fn connect_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
        durability: Durability,
    ) -> BackendResult<Self> {
        Self::open_with(options, pool, durability, SchemaSetup::Migrate).await
    }

    /// [`connect_with`](Self::connect_with), choosing whether the schema may be created and
    /// migrated.
    pub async fn open_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
        durability: Durability,
        setup: SchemaSetup,
    ) -> BackendResult<Self> {
        let options = match durability {
            Durability::Full => options,
            Durability::Process => options.options([("synchronous_commit", "off")]),
        };
        // sqlx pings every connection it takes back, with no time limit. A call the inbox gave up
        // on (a server gone silent) hands back a connection whose ping never answers, holding
        // its pool slot until the kernel gives up on the socket (about 15 minutes): a few such
        // calls would leave no connection for accepts. A connection that does not answer a
        // ping within RELEASE_PING_TIMEOUT is closed instead.
        let pool = pool.after_release(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Connection as _;
                Ok(matches!(
                    tokio::time::timeout(RELEASE_PING_TIMEOUT, conn.ping()).await,
                    Ok(Ok(()))
                ))
            })
        });
        let pool = match pool.connect_with(options.clone()).await {
            Ok(pool) => pool,
            Err(sqlx::Error::PoolTimedOut) => return Err(first_connect_error(&options).await),
            Err(e) => return Err(e.into()),
        };
        match setup {
            SchemaSetup::Migrate => {
                ensure_schema(&pool).await?;
                let mut migrator = super::migrator(sqlx::migrate!("./migrations/postgres"));
                migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
                migrator.run(&pool).await?;
            }
            SchemaSetup::Existing => {
                // In the current schema, where the inbox lives and which names its NOTIFY
                // channel; not in a later schema of the search path.
                let found: bool = sqlx::query_scalar(
                    "SELECT to_regclass(quote_ident(current_schema()) || '.inbox_deliveries') IS NOT NULL",
                )
                .fetch_one(&pool)
                .await?;
                if !found {
                    pool.close().await;
                    return Err(InboxError::NoInbox);
                }
            }
        }
        let channel: String =
            sqlx::query_scalar("SELECT 'webhook_inbox_' || md5(current_schema())")
                .fetch_one(&pool)
                .await?;
        let unset: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM pg_settings \
             WHERE name IN ('lock_timeout', 'idle_in_transaction_session_timeout') \
             AND source = 'default'",
        )
        .fetch_all(&pool)
        .await?;
        let server_lock_ms: i64 = sqlx::query_scalar(
            "SELECT setting::bigint FROM pg_settings WHERE name = 'lock_timeout'",
        )
        .fetch_one(&pool)
        .await?;
        let server_lock_ms = u64::try_from(server_lock_ms).unwrap_or(0);
        let begin = begin_sql(&unset, DEFAULT_LOCK_TIMEOUT, DEFAULT_IDLE_TIMEOUT);
        let begin_accept = accept_begin_sql(&begin, &unset, DEFAULT_LOCK_TIMEOUT, server_lock_ms);
        Ok(PostgresBackend {
            pool,
            options,
            channel,
            listeners: Arc::default(),
            unset,
            begin,
            begin_accept,
            server_lock_ms,
        })
    }

    /// How long the inbox's own transactions wait for a lock (`lock_timeout`) and may stay idle
    /// (`idle_in_transaction_session_timeout`) before the server ends them: by default 10 s and
    /// 30 s, each only where the server, the database, the role or the connection options set
    /// none (a setting of yours is kept), and with this call in any case.
    ///
    /// A receiver that stops answering in the middle of an accept (a host gone without a reset)
    /// leaves its transaction open, holding the dedupe keys it inserted, until the server's TCP
    /// keepalive notices (about two hours by default). The idle timeout ends it and frees the
    /// keys; the lock timeout makes another instance's accept of one of them give up on the
    /// server too, rather than wait there holding the keys it inserted (an accept waits at most
    /// 2 s for a held key, or this lock timeout if shorter: then only that delivery is
    /// refused, the rest of its group commit is stored one by one). The settings are
    /// `SET LOCAL` in each transaction: nothing else on the connection (a pooler's other
    /// clients, your own queries) sees them.
    pub fn transaction_timeouts(mut self, lock: Duration, idle: Duration) -> Self {
        self.unset = vec![
            "lock_timeout".to_owned(),
            "idle_in_transaction_session_timeout".to_owned(),
        ];
        self.begin = begin_sql(&self.unset, lock, idle);
        self.begin_accept = accept_begin_sql(&self.begin, &self.unset, lock, self.server_lock_ms);
        self
    }

    /// A transaction on the inbox's pool with its [transaction
    /// timeouts](Self::transaction_timeouts), as the inbox's own writes use.
    pub async fn begin(&self) -> BackendResult<sqlx::Transaction<'static, Postgres>> {
        Ok(self
            .pool
            .begin_with(sqlx::AssertSqlSafe(self.begin.clone()))
            .await?)
    }

    /// The pool, e.g. to run the application's own queries next to the inbox.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The `NOTIFY` channel that announces new work in this schema.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    async fn notify(&self, tx: &mut sqlx::Transaction<'static, Postgres>) -> BackendResult<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(&self.channel)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn accept(&self, batch: &[NewDelivery]) -> BackendResult<Vec<Accepted>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // A key another transaction holds can vanish between our insert, which saw it, and our
        // read of its id: a prune of keys past retention. The key is then free, and the next
        // attempt stores the delivery under it as new (its first-seen time is now, so no prune
        // takes it again).
        for _ in 0..ACCEPT_ATTEMPTS {
            if let Some(accepted) = self.accept_once(batch).await? {
                return Ok(accepted);
            }
        }
        Err(InboxError::Corrupt(format!(
            "dedupe keys vanished during {ACCEPT_ATTEMPTS} accepts in a row"
        )))
    }

    /// One accept in one transaction; `None`, with nothing stored, when a key the insert found
    /// taken was gone by the time its id was read.
    async fn accept_once(&self, batch: &[NewDelivery]) -> BackendResult<Option<Vec<Accepted>>> {
        // The first occurrence of each key is the one stored. Keys go in sorted, so concurrent
        // batches from several instances take their index locks in the same order.
        let mut first: HashMap<&str, &NewDelivery> = HashMap::with_capacity(batch.len());
        for d in batch {
            first.entry(d.dedupe_key.as_str()).or_insert(d);
        }
        let mut keys: Vec<&str> = first.keys().copied().collect();
        keys.sort_unstable();
        let seen: Vec<i64> = keys.iter().map(|k| first[k].received_at_ms).collect();

        let mut tx = self
            .pool
            .begin_with(sqlx::AssertSqlSafe(self.begin_accept.clone()))
            .await?;
        let rows = sqlx::query(
            "INSERT INTO inbox_dedupe (dedupe_key, first_seen_ms) \
             SELECT k, s FROM UNNEST($1::text[], $2::bigint[]) WITH ORDINALITY AS t(k, s, n) ORDER BY n \
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key",
        )
        .bind(&keys)
        .bind(&seen)
        .fetch_all(&mut *tx)
        .await?;
        let mut new_ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        for row in rows {
            new_ids.insert(row.try_get(1)?, row.try_get(0)?);
        }

        if !new_ids.is_empty() {
            let fresh: Vec<(i64, &NewDelivery)> = keys
                .iter()
                .filter_map(|k| new_ids.get(*k).map(|&id| (id, first[k])))
                .collect();
            sqlx::query(
                "INSERT INTO inbox_deliveries (id, dedupe_key, scheme, message_id, event_id, event_type, body, \
                 headers, client_addr, user_agent, received_at_ms, status, attempts, next_attempt_at_ms) \
                 SELECT id, k, sc, mi, ei, et, b, h::jsonb, ca, ua, r, 'pending', 0, r \
                 FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                             $7::bytea[], $8::text[], $9::text[], $10::text[], $11::bigint[]) \
                      AS t(id, k, sc, mi, ei, et, b, h, ca, ua, r)",
            )
            .bind(fresh.iter().map(|(id, _)| *id).collect::<Vec<i64>>())
            .bind(fresh.iter().map(|(_, d)| d.dedupe_key.as_str()).collect::<Vec<&str>>())
            .bind(fresh.iter().map(|(_, d)| d.scheme).collect::<Vec<&str>>())
            .bind(fresh.iter().map(|(_, d)| d.message_id.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(fresh.iter().map(|(_, d)| d.event_id.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(fresh.iter().map(|(_, d)| d.event_type.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(fresh.iter().map(|(_, d)| &d.body[..]).collect::<Vec<&[u8]>>())
            .bind(fresh.iter().map(|(_, d)| d.headers_json.as_str()).collect::<Vec<&str>>())
            .bind(fresh.iter().map(|(_, d)| d.meta.client_addr.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(fresh.iter().map(|(_, d)| d.meta.user_agent.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(fresh.iter().map(|(_, d)| d.received_at_ms).collect::<Vec<i64>>())
            .execute(&mut *tx)
            .await?;
        }

        // Keys already stored, by this or another instance (committed before our insert
        // returned: a concurrent insert of the same key waits for the other transaction).
        let missing: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !new_ids.contains_key(*k))
            .collect();
        let mut existing: HashMap<String, i64> = HashMap::with_capacity(missing.len());
        if !missing.is_empty() {
            let rows = sqlx::query(
                "SELECT id, dedupe_key FROM inbox_dedupe WHERE dedupe_key = ANY($1::text[])",
            )
            .bind(&missing)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                existing.insert(row.try_get(1)?, row.try_get(0)?);
            }
        }
        if existing.len() < missing.len() {
            // Rolled back on drop: nothing of this attempt is kept, so the next one sees the
            // batch's other keys as new again.
            return Ok(None);
        }
        tx.commit().await?;

        let mut stored: HashSet<&str> = HashSet::with_capacity(batch.len());
        batch
            .iter()
            .map(|d| {
                let key = d.dedupe_key.as_str();
                if let Some(&id) = new_ids.get(key) {
                    Ok(if stored.insert(key) {
                        Accepted::New(DeliveryId(id))
                    } else {
                        Accepted::Duplicate(DeliveryId(id))
                    })
                } else {
                    let id = existing.get(key).ok_or_else(|| {
                        InboxError::Corrupt(format!("no id for the dedupe key {key}"))
                    })?;
                    Ok(Accepted::Duplicate(DeliveryId(*id)))
                }
            })
            .collect::<BackendResult<_>>()
            .map(Some)
    }

    async fn claim_due(
        &self,
        owner: &str,
        limit: u32,
        now_ms: i64,
        lease_until_ms: i64,
        filter: &ClaimFilter,
    ) -> BackendResult<Vec<StoredDelivery>> {
        let (known, unhandled_due_by) = if filter.claims_all() {
            (Vec::new(), None)
        } else {
            super::known_for_claim(filter, async {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT DISTINCT kind, literal FROM inbox_worker_patterns WHERE seen_ms >= $1",
                )
                .bind(filter.live_since_ms)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows)
            })
            .await
        };
        let known_any = known.iter().any(webhook_core::EventPattern::is_any);
        let matching = if filter.claims_all() {
            String::new()
        } else {
            // $5: unhandled deliveries are claimed once due since this time (NULL: none);
            // $6-$9: the worker's and the known (the inbox's and the noted) exact types and
            // prefixes. With `*` among the known patterns nothing is unhandled, and $8-$9 are
            // neither used nor bound.
            let unhandled = if known_any {
                "FALSE".to_owned()
            } else {
                format!("NOT {}", pattern_match(&known, 8))
            };
            format!(
                "AND ({} OR (next_attempt_at_ms <= $5::bigint AND {unhandled})) ",
                pattern_match(&filter.handled, 6),
            )
        };
        let sql = format!(
            "WITH due AS (SELECT id FROM inbox_deliveries \
                          WHERE status IN ('pending', 'retrying', 'processing') AND next_attempt_at_ms <= $3 \
                          {matching}ORDER BY next_attempt_at_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             UPDATE inbox_deliveries d SET status = 'processing', lease_owner = $1, next_attempt_at_ms = $2, \
                    attempts = d.attempts + 1 \
             FROM due WHERE d.id = due.id \
             RETURNING {COLUMNS}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until_ms)
            .bind(now_ms)
            .bind(i64::from(limit));
        if !filter.claims_all() {
            query = query.bind(unhandled_due_by);
            for patterns in [&filter.handled, &known] {
                let (exact, prefixes, any) = ClaimFilter::split(patterns);
                // With `*`, the clause is a constant and takes no arrays.
                if !any {
                    query = query.bind(exact).bind(prefixes);
                }
            }
        }
        let rows = query.fetch_all(&self.pool).await?;
        let (claimed, unreadable) = read::claimed(&rows, owner, now_ms);
        read::dead_letter_unreadable(self, &unreadable).await;
        Ok(claimed)
    }

    async fn record_outcomes(&self, outcomes: &[Outcome]) -> BackendResult<u64> {
        // One statement: apply each outcome whose lease is still held, and log an attempt for
        // each one applied (an unhandled delivery ran nothing: no attempt, its claim given
        // back). A repeated id applies once (the first), as it would one by one.
        let mut seen = HashSet::with_capacity(outcomes.len());
        let mut sorted: Vec<&Outcome> = outcomes.iter().filter(|o| seen.insert(o.id)).collect();
        if sorted.is_empty() {
            return Ok(0);
        }
        sorted.sort_by_key(|o| o.id);
        let mut ids = Vec::with_capacity(sorted.len());
        let mut owners = Vec::with_capacity(sorted.len());
        let mut statuses = Vec::with_capacity(sorted.len());
        let mut next_at = Vec::with_capacity(sorted.len());
        let mut errors = Vec::with_capacity(sorted.len());
        let mut processing = Vec::with_capacity(sorted.len());
        let mut finished = Vec::with_capacity(sorted.len());
        let mut labels = Vec::with_capacity(sorted.len());
        let mut durations = Vec::with_capacity(sorted.len());
        let mut event_types = Vec::with_capacity(sorted.len());
        let mut run_finished = Vec::with_capacity(sorted.len());
        for o in &sorted {
            let (status, next, error, label) = o.result.columns();
            ids.push(o.id.0);
            owners.push(o.owner.as_str());
            statuses.push(status);
            next_at.push(next);
            errors.push(error.map(without_nul));
            processing.push(matches!(o.result, OutcomeResult::Done).then_some(o.duration_ms));
            finished.push(o.result.is_final().then_some(o.finished_at_ms));
            labels.push(label);
            durations.push(o.duration_ms);
            event_types.push(o.event_type.as_deref());
            run_finished.push(o.finished_at_ms);
        }
        let applied: i64 = sqlx::query_scalar(
            "WITH o AS (SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], \
                                              $6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $10::text[], \
                                              $11::bigint[]) \
                        AS o(id, owner, status, next_at, error, processing_ms, finished, outcome, duration_ms, \
                             event_type, run_finished)), \
                  applied AS (UPDATE inbox_deliveries d SET status = o.status, lease_owner = NULL, \
                                     next_attempt_at_ms = COALESCE(o.next_at, d.next_attempt_at_ms), \
                                     last_error = o.error, \
                                     processing_ms = COALESCE(o.processing_ms, d.processing_ms), \
                                     finished_at_ms = o.finished, \
                                     attempts = CASE WHEN o.outcome IS NULL \
                                                     THEN GREATEST(d.attempts - 1, 0) ELSE d.attempts END \
                              FROM o WHERE d.id = o.id AND d.status = 'processing' AND d.lease_owner = o.owner \
                              RETURNING d.id), \
                  logged AS (INSERT INTO inbox_attempts (delivery_id, event_type, finished_at_ms, outcome, \
                                                         duration_ms, error) \
                             SELECT o.id, o.event_type, o.run_finished, o.outcome, o.duration_ms, o.error \
                             FROM o JOIN applied ON applied.id = o.id WHERE o.outcome IS NOT NULL) \
             SELECT count(*) FROM applied",
        )
        .bind(&ids)
        .bind(&owners)
        .bind(&statuses)
        .bind(&next_at)
        .bind(&errors)
        .bind(&processing)
        .bind(&finished)
        .bind(&labels)
        .bind(&durations)
        .bind(&event_types)
        .bind(&run_finished)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(applied).unwrap_or(0))
    }

    async fn release_ids(
        &self,
        owner: &str,
        ids: &[DeliveryId],
        due_at_ms: i64,
    ) -> BackendResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let mut tx = self.begin().await?;
        let released = sqlx::query(
            "UPDATE inbox_deliveries SET status = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END, \
             attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, next_attempt_at_ms = $1 \
             WHERE status = 'processing' AND lease_owner = $2 AND id = ANY($3::bigint[])",
        )
        .bind(due_at_ms)
        .bind(owner)
        .bind(&ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if released > 0 {
            self.notify(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(released)
    }

    async fn extend_ids(
        &self,
        owner: &str,
        ids: &[DeliveryId],
        lease_until_ms: i64,
    ) -> BackendResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        Ok(sqlx::query(
            "UPDATE inbox_deliveries SET next_attempt_at_ms = GREATEST(next_attempt_at_ms, $1) \
             WHERE status = 'processing' AND lease_owner = $2 AND id = ANY($3::bigint[])",
        )
        .bind(lease_until_ms)
        .bind(owner)
        .bind(&ids)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn requeue(
        &self,
        id: DeliveryId,
        now_ms: i64,
        operation: &'static str,
    ) -> BackendResult<()> {
        let mut tx = self.begin().await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT status, next_attempt_at_ms FROM inbox_deliveries WHERE id = $1 FOR UPDATE",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, lease_until_ms) = row.ok_or(InboxError::NotFound(id))?;
        super::check_requeue(id, status.parse()?, lease_until_ms, now_ms, operation)?;
        sqlx::query(
            "UPDATE inbox_deliveries SET status = 'pending', attempts = 0, next_attempt_at_ms = $1, \
             lease_owner = NULL, last_error = NULL, finished_at_ms = NULL WHERE id = $2",
        )
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        self.notify(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn redrive_dead(&self, now_ms: i64) -> BackendResult<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE inbox_deliveries SET status = 'pending', attempts = 0, next_attempt_at_ms = $1, \
             lease_owner = NULL, last_error = NULL, finished_at_ms = NULL WHERE status = 'dead'",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            self.notify(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn list_filtered(&self, filter: &ListFilter) -> BackendResult<Vec<StoredDelivery>> {
        // A key lookup is its own statement, and a UNION of two index lookups: an `OR` would let
        // a generic plan scan the whole table.
        let by_key = if filter.key.is_some() {
            "AND d.id IN (SELECT id FROM inbox_dedupe WHERE dedupe_key = ANY($5) \
                          UNION SELECT id FROM inbox_deliveries WHERE event_id = $6 \
                          UNION SELECT id FROM inbox_deliveries WHERE message_id = $6)"
        } else {
            "AND ($5::text[] IS NULL) AND ($6::text IS NULL)"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM inbox_deliveries d \
             WHERE ($1::text IS NULL OR d.status = $1) AND ($2::text IS NULL OR d.event_type = $2) \
               AND ($3::bigint IS NULL OR d.id < $3) {by_key} \
             ORDER BY d.id DESC LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.status.map(DeliveryStatus::as_str))
            .bind(filter.event_type.as_deref())
            .bind(filter.before.map(|id| id.0))
            .bind(i64::from(filter.limit.min(1000)))
            .bind(filter.key.as_deref().map(ListFilter::dedupe_keys))
            .bind(filter.key.as_deref())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read::delivery).collect()
    }

    async fn stats_since(&self, since_ms: i64) -> BackendResult<Vec<EventTypeStats>> {
        let mut stats = read::StatsByType::default();
        // One snapshot for both queries, so a delivery's status and its attempts agree.
        let mut tx = self.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT COALESCE(event_type, ''), COUNT(*), COUNT(*) FILTER (WHERE status = 'done'), \
                    COUNT(*) FILTER (WHERE status = 'dead'), \
                    COUNT(*) FILTER (WHERE status IN ('pending', 'processing', 'retrying')) \
             FROM inbox_deliveries WHERE received_at_ms >= $1 GROUP BY 1",
        )
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            stats.add_deliveries(row)?;
        }
        let rows = sqlx::query(
            "SELECT COALESCE(event_type, ''), COUNT(*) FILTER (WHERE outcome <> 'ok'), AVG(duration_ms)::float8, \
                    MIN(duration_ms), MAX(duration_ms) \
             FROM inbox_attempts WHERE finished_at_ms >= $1 GROUP BY 1",
        )
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            stats.add_attempts(row)?;
        }
        tx.commit().await?;
        Ok(stats.into_sorted())
    }

    async fn prune_old(
        &self,
        done_before_ms: i64,
        keys_before_ms: i64,
    ) -> BackendResult<PruneReport> {
        let mut tx = self.begin().await?;
        let deliveries = sqlx::query(
            "DELETE FROM inbox_deliveries WHERE status = 'done' AND finished_at_ms < $1",
        )
        .bind(done_before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let dedupe_keys = sqlx::query(
            "DELETE FROM inbox_dedupe k WHERE k.first_seen_ms < $1 \
             AND NOT EXISTS (SELECT 1 FROM inbox_deliveries d WHERE d.id = k.id)",
        )
        .bind(keys_before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let attempts = sqlx::query("DELETE FROM inbox_attempts WHERE finished_at_ms < $1")
            .bind(done_before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(PruneReport {
            deliveries,
            dedupe_keys,
            attempts,
        })
    }
}

/// `text` as PostgreSQL's `TEXT` can hold it: a NUL (which a handler's error may carry, quoting
/// what it read) becomes U+FFFD. Refused, it would fail the whole record of the run's outcomes,
/// and the delivery would run again only once its lease ran out, its error never stored.
fn without_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}").into()
    } else {
        text.into()
    }
}

/// `BEGIN`, then a `SET LOCAL` for each of the `unset` settings.
fn begin_sql(unset: &[String], lock: Duration, idle: Duration) -> Arc<str> {
    let mut sql = String::from("BEGIN");
    for name in unset {
        let ms = match name.as_str() {
            "lock_timeout" => lock,
            _ => idle,
        }
        .as_millis();
        sql.push_str(&format!("; SET LOCAL {name} = {ms}"));
    }
    sql.into()
}

/// `begin` with the accept's lock wait: [`KEY_WAIT`], or the lock timeout in force when that is
/// shorter (the one set for the inbox's transactions, else the server's; 0 is none).
fn accept_begin_sql(
    begin: &str,
    unset: &[String],
    lock: Duration,
    server_lock_ms: u64,
) -> Arc<str> {
    let in_force = if unset.iter().any(|n| n == "lock_timeout") {
        u64::try_from(lock.as_millis()).unwrap_or(u64::MAX)
    } else {
        server_lock_ms
    };
    let key_wait = u64::try_from(KEY_WAIT.as_millis()).unwrap_or(u64::MAX);
    let ms = if in_force == 0 {
        key_wait
    } else {
        in_force.min(key_wait)
    };
    format!("{begin}; SET LOCAL lock_timeout = {ms}").into()
}

/// Creates the schema the search path names first when it does not exist yet (a fresh
/// `options[search_path]=webhooks`), under an advisory lock so instances starting together do
/// not race.
async fn ensure_schema(pool: &PgPool) -> BackendResult<()> {
    let path: String = sqlx::query_scalar("SELECT current_setting('search_path')")
        .fetch_one(pool)
        .await?;
    // The inbox lives in the first schema of the search path. `current_schema()` would name the
    // first one that exists: with `webhooks, public` and no `webhooks` yet, the tables would go
    // to `public`, and an instance started after `webhooks` appeared would use another inbox.
    let Some(first) = first_schema(&path) else {
        let current: Option<String> = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(pool)
            .await?;
        return match current {
            Some(_) => Ok(()),
            None => Err(InboxError::Config(format!(
                "the search_path `{path}` names no schema to create the inbox in"
            ))),
        };
    };
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&first)
            .fetch_one(pool)
            .await?;
    if exists {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('webhook_inbox.create_schema'))")
        .execute(&mut *tx)
        .await?;
    let sql = format!(
        "CREATE SCHEMA IF NOT EXISTS \"{}\"",
        first.replace('"', "\"\"")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The first schema of a `search_path` setting, unquoted (`"$user"` does not count).
fn first_schema(path: &str) -> Option<String> {
    let first = path.split(',').map(str::trim).find(|s| !s.is_empty())?;
    let name = match first.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        // PostgreSQL folds only ASCII letters of an unquoted name (`Äpfel` is `Äpfel`).
        None => first.to_ascii_lowercase(),
    };
    (name != "$user" && !name.is_empty()).then_some(name)
}

impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn accept_batch<'a>(
        &'a self,
        batch: &'a [NewDelivery],
    ) -> BoxFuture<'a, BackendResult<Vec<Accepted>>> {
        Box::pin(self.accept(batch))
    }

    fn claim_matching<'a>(
        &'a self,
        owner: &'a str,
        limit: u32,
        now_ms: i64,
        lease_until_ms: i64,
        filter: &'a ClaimFilter,
    ) -> BoxFuture<'a, BackendResult<Vec<StoredDelivery>>> {
        Box::pin(self.claim_due(owner, limit, now_ms, lease_until_ms, filter))
    }

    fn note_worker<'a>(
        &'a self,
        owner: &'a str,
        patterns: &'a [webhook_core::EventPattern],
        now_ms: i64,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let (kinds, literals): (Vec<&str>, Vec<&str>) =
                super::pattern_rows(patterns).into_iter().unzip();
            let mut tx = self.begin().await?;
            // Also the rows of workers gone without a word (a crash) for a day.
            sqlx::query("DELETE FROM inbox_worker_patterns WHERE owner = $1 OR seen_ms < $2")
                .bind(owner)
                .bind(now_ms.saturating_sub(super::WORKER_ROWS_KEPT_MS))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO inbox_worker_patterns (owner, kind, literal, seen_ms) \
                 SELECT $1, k, l, $4 FROM UNNEST($2::text[], $3::text[]) AS p(k, l) \
                 ON CONFLICT (owner, kind, literal) DO UPDATE SET seen_ms = EXCLUDED.seen_ms",
            )
            .bind(owner)
            .bind(&kinds)
            .bind(&literals)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn record<'a>(&'a self, outcomes: &'a [Outcome]) -> BoxFuture<'a, BackendResult<u64>> {
        Box::pin(self.record_outcomes(outcomes))
    }

    fn release<'a>(
        &'a self,
        owner: &'a str,
        ids: &'a [DeliveryId],
        due_at_ms: i64,
    ) -> BoxFuture<'a, BackendResult<u64>> {
        Box::pin(self.release_ids(owner, ids, due_at_ms))
    }

    fn extend_leases<'a>(
        &'a self,
        owner: &'a str,
        ids: &'a [DeliveryId],
        lease_until_ms: i64,
    ) -> BoxFuture<'a, BackendResult<u64>> {
        Box::pin(self.extend_ids(owner, ids, lease_until_ms))
    }

    fn replay(&self, id: DeliveryId, now_ms: i64) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.requeue(id, now_ms, "replay"))
    }

    fn redrive(&self, id: DeliveryId, now_ms: i64) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.requeue(id, now_ms, "redrive"))
    }

    fn redrive_all_dead(&self, now_ms: i64) -> BoxFuture<'_, BackendResult<u64>> {
        Box::pin(self.redrive_dead(now_ms))
    }

    fn get(&self, id: DeliveryId) -> BoxFuture<'_, BackendResult<Option<StoredDelivery>>> {
        Box::pin(async move {
            let sql = format!("SELECT {COLUMNS} FROM inbox_deliveries d WHERE d.id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(read::delivery).transpose()
        })
    }

    fn list<'a>(
        &'a self,
        filter: &'a ListFilter,
    ) -> BoxFuture<'a, BackendResult<Vec<StoredDelivery>>> {
        Box::pin(self.list_filtered(filter))
    }

    fn stats(&self, since_ms: i64) -> BoxFuture<'_, BackendResult<Vec<EventTypeStats>>> {
        Box::pin(self.stats_since(since_ms))
    }

    fn failures_since(&self, since_ms: i64) -> BoxFuture<'_, BackendResult<u64>> {
        Box::pin(async move {
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM inbox_attempts WHERE outcome <> 'ok' AND finished_at_ms >= $1")
                    .bind(since_ms)
                    .fetch_one(&self.pool)
                    .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn counts(&self) -> BoxFuture<'_, BackendResult<StatusCounts>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT status, COUNT(*) FROM inbox_deliveries GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
            let mut counts = StatusCounts::default();
            for row in &rows {
                read::add_status_count(&mut counts, row)?;
            }
            Ok(counts)
        })
    }

    fn prune(
        &self,
        done_before_ms: i64,
        keys_before_ms: i64,
    ) -> BoxFuture<'_, BackendResult<PruneReport>> {
        Box::pin(self.prune_old(done_before_ms, keys_before_ms))
    }

    fn wake_on_new_work(&self, wake: Arc<Notify>) {
        let task = listen::spawn(self.options.clone(), self.channel.clone(), wake);
        if let Ok(mut tasks) = self.listeners.0.lock() {
            tasks.push(task);
        }
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.listeners.abort_all();
            self.pool.close().await;
        })
    }
}

/// Why the first connection failed. The pool reports only that it timed out waiting (sqlx keeps
/// retrying a refused or failed connection until the acquire timeout), so one direct attempt
/// names the cause: connection refused, an unknown host, a password refused.
async fn first_connect_error(options: &PgConnectOptions) -> InboxError {
    use sqlx::Connection as _;
    match tokio::time::timeout(
        FIRST_CONNECT_TIMEOUT,
        sqlx::PgConnection::connect_with(options),
    )
    .await
    {
        Ok(Err(e)) => e.into(),
        Ok(Ok(conn)) => {
            // It answers now: the pool's attempt was unlucky. Report what the pool said.
            let _ = conn.close().await;
            sqlx::Error::PoolTimedOut.into()
        }
        Err(_) => InboxError::Timeout(FIRST_CONNECT_TIMEOUT),
    }
}

/// How long [`first_connect_error`]'s direct attempt may take.
const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// SQL true when the delivery's event type matches one of `patterns`: `${first}` holds the exact
/// types and `${first + 1}` the prefixes (separator included). A prefix matches longer types
/// only, as [`EventPattern::matches`](webhook_core::EventPattern::matches) does; a delivery
/// without an event type matches only `*`. With `*` the clause is `TRUE` and binds nothing:
/// PostgreSQL refuses parameters a statement does not use, so `first` must then not be bound.
fn pattern_match(patterns: &[webhook_core::EventPattern], first: usize) -> String {
    if patterns.iter().any(webhook_core::EventPattern::is_any) {
        return "TRUE".to_owned();
    }
    let prefixes = first + 1;
    format!(
        "(COALESCE(event_type, '') = ANY(${first}::text[]) \
          OR EXISTS (SELECT 1 FROM unnest(${prefixes}::text[]) AS p(prefix) \
                     WHERE length(COALESCE(event_type, '')) > length(p.prefix) \
                       AND left(COALESCE(event_type, ''), length(p.prefix)) = p.prefix))"
    )
}

#[cfg(test)]
mod tests {
    use super::first_schema;

    #[test]
    fn first_schema_of_a_search_path() {
        assert_eq!(
            first_schema("webhooks, public").as_deref(),
            Some("webhooks")
        );
        assert_eq!(first_schema("  Hooks ").as_deref(), Some("hooks"));
        // Only ASCII is folded, as PostgreSQL folds unquoted names.
        assert_eq!(first_schema("Äpfel_X").as_deref(), Some("Äpfel_x"));
        assert_eq!(
            first_schema(r#""My ""Hooks""", public"#).as_deref(),
            Some(r#"My "Hooks""#)
        );
        assert_eq!(first_schema(r#""$user", public"#), None);
        assert_eq!(first_schema(""), None);
    }

    #[test]
    fn accepts_wait_for_a_key_at_most_the_key_wait_or_a_shorter_timeout_in_force() {
        use super::accept_begin_sql;
        use std::time::Duration;
        let lock = ["lock_timeout".to_owned()];
        let ten = Duration::from_secs(10);
        let half = Duration::from_millis(500);
        let cases = [
            (&lock[..], ten, 0, "B; SET LOCAL lock_timeout = 2000"),
            (&lock[..], half, 0, "B; SET LOCAL lock_timeout = 500"),
            (&[][..], ten, 0, "B; SET LOCAL lock_timeout = 2000"),
            (&[][..], ten, 300, "B; SET LOCAL lock_timeout = 300"),
            (&[][..], ten, 60_000, "B; SET LOCAL lock_timeout = 2000"),
        ];
        for (unset, lock, server, want) in cases {
            assert_eq!(&*accept_begin_sql("B", unset, lock, server), want);
        }
    }

    #[test]
    fn the_begin_statement_sets_only_the_unset_timeouts() {
        use super::begin_sql;
        use std::time::Duration;
        let (lock, idle) = (Duration::from_secs(10), Duration::from_millis(2_500));
        assert_eq!(&*begin_sql(&[], lock, idle), "BEGIN");
        let both = [
            "lock_timeout".to_owned(),
            "idle_in_transaction_session_timeout".to_owned(),
        ];
        assert_eq!(
            &*begin_sql(&both, lock, idle),
            "BEGIN; SET LOCAL lock_timeout = 10000; SET LOCAL idle_in_transaction_session_timeout = 2500"
        );
    }
}
