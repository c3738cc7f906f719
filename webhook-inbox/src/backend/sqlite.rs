//! The SQLite backend: one file in WAL mode, schema from embedded migrations.
//!
//! All writes go through a single connection, so they queue in order instead of spinning on
//! SQLite's busy handler; reads use a small pool of read-only connections (WAL readers never
//! block the writer). Accepts arrive in batches from the inbox's group-commit writer, so one
//! transaction and one fsync cover many deliveries.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection as _, QueryBuilder, Row, Sqlite};

/// sqlx's SQLite connection settings, which [`SqliteBackend::open_with`] takes (re-exported so
/// that a receiver needs no sqlx dependency of its own).
pub use sqlx::sqlite::SqliteConnectOptions;

use super::{
    Backend, BackendResult, BoxFuture, Durability, SchemaSetup, WORKER_ROWS_KEPT_MS, read,
};
use crate::{
    Accepted, ClaimFilter, DeliveryId, EventTypeStats, InboxError, ListFilter, NewDelivery,
    Outcome, OutcomeResult, PruneReport, StatusCounts, StoredDelivery,
};

const COLUMNS: &str = "id, dedupe_key, scheme, message_id, event_id, event_type, body, headers, client_addr, \
                       user_agent, received_at_ms, status, attempts, next_attempt_at_ms, last_error, processing_ms, \
                       finished_at_ms";

/// Deliveries per multi-row INSERT, well under SQLite's 32766 bound parameters.
const INSERT_CHUNK: usize = 500;

/// Rows a prune deletes, or a re-drive of every dead letter re-queues, per statement (see
/// `delete_in_chunks`).
const PRUNE_CHUNK: i64 = 2_000;

/// Ids per lease update (one bound parameter each; a worker can hold more than SQLite's 32766).
const ID_CHUNK: usize = 10_000;

/// The SQLite backend. Build it with [`SqliteBackend::connect`], or let
/// [`Inbox::connect`](crate::Inbox::connect) pick it for `sqlite://` URLs.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    write: SqlitePool,
    read: SqlitePool,
    /// The database lives in the write connection, which must never be closed.
    in_memory: bool,
    /// The file as opened, to notice it deleted or replaced under the open connections.
    file: Option<FileIdentity>,
}

/// A file's path and, on Unix, its device and inode numbers.
#[derive(Debug, Clone)]
struct FileIdentity {
    path: std::path::PathBuf,
    id: (u64, u64),
}

impl FileIdentity {
    fn of(path: &std::path::Path) -> Option<FileIdentity> {
        // Absolute: the process may change its working directory later.
        let path = std::fs::canonicalize(path).ok()?;
        let id = file_id(&std::fs::metadata(&path).ok()?)?;
        Some(FileIdentity { path, id })
    }

    /// Fails when the path no longer leads to the file that was opened.
    fn check(&self) -> BackendResult<()> {
        match std::fs::metadata(&self.path)
            .ok()
            .as_ref()
            .and_then(file_id)
        {
            Some(id) if id == self.id => Ok(()),
            _ => Err(InboxError::FileChanged(self.path.clone())),
        }
    }
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Creates the database file readable and writable by its owner only, when it does not exist
/// yet: it holds webhook bodies, often personal data, and SQLite gives the `-wal` and `-shm`
/// files the same permissions. An existing file keeps its own.
/// Whether it created it.
fn create_private(file: &std::path::Path) -> BackendResult<bool> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(file) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(InboxError::Config(format!(
            "cannot create the inbox database {}: {e}",
            file.display()
        ))),
    }
}

/// Removes the file a failed start created, with its WAL and shared memory, when nothing was
/// written to them: not an empty file that looks like an inbox left behind, but never a file
/// that another receiver, started at the same moment, has opened and migrated meanwhile.
fn remove_if_untouched(file: &std::path::Path) {
    let len = |suffix: &str| {
        std::fs::metadata(format!("{}{suffix}", file.display()))
            .map(|m| m.len())
            .ok()
    };
    if len("") == Some(0) && len("-wal").unwrap_or(0) == 0 {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}

impl SqliteBackend {
    /// Opens (creating if missing) the database at `url` (`sqlite://path.db`,
    /// `sqlite:path.db` or `sqlite::memory:`), switches it to WAL, sets `synchronous` from
    /// `durability` and applies the embedded migrations.
    pub async fn connect(url: &str, durability: Durability) -> BackendResult<Self> {
        Self::open(url, durability, SchemaSetup::Migrate).await
    }

    /// [`connect`](Self::connect), or with [`SchemaSetup::Existing`] an inbox that must already
    /// be there: no file is created and no migration runs.
    pub async fn open(
        url: &str,
        durability: Durability,
        setup: SchemaSetup,
    ) -> BackendResult<Self> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::open_options(
            SqliteConnectOptions::from_str(url)?,
            in_memory,
            durability,
            setup,
        )
        .await
    }

    /// [`open`](Self::open) with your own connection settings, e.g. a `pragma` (on macOS,
    /// `fullfsync` makes `synchronous=FULL` flush the drive's cache too). The backend sets the
    /// synchronous level from `durability`, WAL, a 10 s busy timeout, whether the file may be
    /// created, `temp_store=memory` and `journal_size_limit` (64 MiB), over yours.
    pub async fn open_with(
        options: SqliteConnectOptions,
        durability: Durability,
        setup: SchemaSetup,
    ) -> BackendResult<Self> {
        Self::open_options(options, false, durability, setup).await
    }

    async fn open_options(
        options: SqliteConnectOptions,
        in_memory: bool,
        durability: Durability,
        setup: SchemaSetup,
    ) -> BackendResult<Self> {
        let synchronous = match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Process => SqliteSynchronous::Normal,
        };
        let file = options.get_filename().to_owned();
        let name = file.to_string_lossy();
        // `SqliteConnectOptions::new()` and `from_str("sqlite::memory:")` name their in-memory
        // databases so.
        let in_memory = in_memory || name == ":memory:" || name.starts_with("file:sqlx-in-memory-");
        if !in_memory && file.as_os_str().is_empty() {
            // SQLite would open a private temporary database, gone with its connection.
            return Err(InboxError::Config(
                "the SQLite URL names no file: write `sqlite://path/to/inbox.db` (an unset variable in `sqlite://$DB`?)".to_owned(),
            ));
        }
        // A plain path is the file SQLite opens; an SQLite URI (`file:…`) is read by SQLite
        // itself, so it is neither created here nor watched.
        let plain_file = !in_memory && !name.starts_with("file:");
        if plain_file && setup == SchemaSetup::Existing && !file.exists() {
            return Err(InboxError::NoInbox);
        }
        let created = plain_file && setup == SchemaSetup::Migrate && create_private(&file)?;
        let opened = Self::open_pools(options, in_memory, synchronous, setup).await;
        if opened.is_err() && created {
            remove_if_untouched(&file);
        }
        let (write, read) = opened?;
        // A receiver that cannot tell its file deleted or replaced must not acknowledge into it.
        let file = if plain_file {
            Some(FileIdentity::of(&file).ok_or_else(|| InboxError::FileChanged(file.clone()))?)
        } else {
            None
        };
        Ok(SqliteBackend {
            write,
            read,
            in_memory,
            file,
        })
    }

    /// The write pool (one connection) and the read pool, the schema migrated or checked.
    async fn open_pools(
        options: SqliteConnectOptions,
        in_memory: bool,
        synchronous: SqliteSynchronous,
        setup: SchemaSetup,
    ) -> BackendResult<(SqlitePool, SqlitePool)> {
        let mut options = options
            .create_if_missing(setup == SchemaSetup::Migrate)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            // The WAL is cut back to 64 MiB after a checkpoint, not kept at its largest.
            .pragma("journal_size_limit", "67108864");
        if setup == SchemaSetup::Migrate {
            // Stored in the file: an existing inbox is in WAL already, and a file that is not
            // one is left unwritten.
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        let write = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        match setup {
            SchemaSetup::Migrate => {
                super::migrator(sqlx::migrate!("./migrations/sqlite"))
                    .run(&write)
                    .await?;
            }
            SchemaSetup::Existing => {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inbox_deliveries'",
                )
                .fetch_optional(&write)
                .await?;
                if found.is_none() {
                    return Err(InboxError::NoInbox);
                }
            }
        }
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options.read_only(true))
                .await?
        };
        Ok((write, read))
    }

    /// Runs one write transaction on the write connection. When it fails in the database, the
    /// connection is closed instead of returned to the pool. On some errors (a full disk, an
    /// I/O error) SQLite rolls the whole transaction back by itself, which sqlx does not notice:
    /// its next `begin` on that connection opens a savepoint instead of a transaction, and after
    /// a second such failure the connection stays inside a transaction that never commits,
    /// while every later commit only releases a savepoint and reports success. A fresh
    /// connection has no such state. (An in-memory database lives in its connection: kept.)
    async fn in_write_transaction<T>(
        &self,
        transaction: impl AsyncFnOnce(&mut SqliteConnection) -> BackendResult<T>,
    ) -> BackendResult<T> {
        let mut conn = self.write.acquire().await?;
        let result = transaction(&mut conn).await;
        if matches!(result, Err(InboxError::Store(_))) && !self.in_memory {
            conn.close_on_drop();
        }
        result
    }

    async fn accept(&self, batch: &[NewDelivery]) -> BackendResult<Vec<Accepted>> {
        // One `stat` per group commit: a file deleted or replaced under the open connections
        // (a cleaner of temporary files, a restore over a running receiver) would take the
        // commits with it.
        if let Some(file) = &self.file {
            file.check()?;
        }
        self.in_write_transaction(async |conn| Self::accept_on(conn, batch).await)
            .await
    }

    async fn accept_on(
        conn: &mut SqliteConnection,
        batch: &[NewDelivery],
    ) -> BackendResult<Vec<Accepted>> {
        let mut tx = conn.begin().await?;
        let mut new_ids: HashMap<String, i64> = HashMap::with_capacity(batch.len());
        for chunk in batch.chunks(INSERT_CHUNK) {
            let mut keys = QueryBuilder::<Sqlite>::new(
                "INSERT INTO inbox_dedupe (dedupe_key, first_seen_ms) ",
            );
            keys.push_values(chunk, |mut row, d| {
                row.push_bind(d.dedupe_key.clone())
                    .push_bind(d.received_at_ms);
            });
            keys.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key");
            for row in keys.build().fetch_all(&mut *tx).await? {
                let id: i64 = row.try_get(0)?;
                new_ids.insert(row.try_get(1)?, id);
            }
        }

        // The first occurrence of each new key is stored; everything else is a duplicate.
        let mut stored: HashSet<&str> = HashSet::with_capacity(new_ids.len());
        let mut fresh: Vec<(i64, &NewDelivery)> = Vec::with_capacity(new_ids.len());
        for d in batch {
            if let Some(&id) = new_ids.get(d.dedupe_key.as_str())
                && stored.insert(d.dedupe_key.as_str())
            {
                fresh.push((id, d));
            }
        }
        for chunk in fresh.chunks(INSERT_CHUNK) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO inbox_deliveries (id, dedupe_key, scheme, message_id, event_id, event_type, body, headers, \
                 client_addr, user_agent, received_at_ms, status, attempts, next_attempt_at_ms) ",
            );
            insert.push_values(chunk, |mut row, (id, d)| {
                row.push_bind(*id)
                    .push_bind(d.dedupe_key.clone())
                    .push_bind(d.scheme)
                    .push_bind(d.message_id.clone())
                    .push_bind(d.event_id.clone())
                    .push_bind(d.event_type.clone())
                    .push_bind(d.body.to_vec())
                    .push_bind(d.headers_json.clone())
                    .push_bind(d.meta.client_addr.clone())
                    .push_bind(d.meta.user_agent.clone())
                    .push_bind(d.received_at_ms)
                    .push_bind("pending")
                    .push_bind(0_i64)
                    .push_bind(d.received_at_ms);
            });
            insert.build().execute(&mut *tx).await?;
        }

        let missing: Vec<&str> = {
            let mut seen = HashSet::new();
            batch
                .iter()
                .map(|d| d.dedupe_key.as_str())
                .filter(|k| !new_ids.contains_key(*k) && seen.insert(*k))
                .collect()
        };
        let mut existing: HashMap<String, i64> = HashMap::with_capacity(missing.len());
        for chunk in missing.chunks(INSERT_CHUNK) {
            let mut select = QueryBuilder::<Sqlite>::new(
                "SELECT id, dedupe_key FROM inbox_dedupe WHERE dedupe_key IN (",
            );
            let mut list = select.separated(", ");
            for key in chunk {
                list.push_bind(key.to_string());
            }
            select.push(")");
            for row in select.build().fetch_all(&mut *tx).await? {
                existing.insert(row.try_get(1)?, row.try_get(0)?);
            }
        }
        tx.commit().await?;

        let mut first: HashSet<&str> = HashSet::with_capacity(batch.len());
        batch
            .iter()
            .map(|d| {
                let key = d.dedupe_key.as_str();
                if let Some(&id) = new_ids.get(key) {
                    Ok(if first.insert(key) {
                        Accepted::New(DeliveryId(id))
                    } else {
                        Accepted::Duplicate(DeliveryId(id))
                    })
                } else {
                    existing
                        .get(key)
                        .map(|&id| Accepted::Duplicate(DeliveryId(id)))
                        .ok_or_else(|| {
                            InboxError::Corrupt(format!("dedupe key vanished during accept: {key}"))
                        })
                }
            })
            .collect()
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
                    "SELECT DISTINCT kind, literal FROM inbox_worker_patterns WHERE seen_ms >= ?1",
                )
                .bind(filter.live_since_ms)
                .fetch_all(&self.read)
                .await?;
                Ok(rows)
            })
            .await
        };
        let matching = if filter.claims_all() {
            String::new()
        } else {
            // ?5: unhandled deliveries are claimed once due since this time (NULL: none);
            // ?6-?9: the worker's and the known (the inbox's and the noted) exact types and
            // prefixes, as JSON arrays.
            format!(
                "AND ({} OR (next_attempt_at_ms <= ?5 AND NOT {})) ",
                pattern_match(&filter.handled, 6),
                pattern_match(&known, 8)
            )
        };
        let sql = format!(
            "UPDATE inbox_deliveries SET status = 'processing', lease_owner = ?1, next_attempt_at_ms = ?2, \
             attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM inbox_deliveries \
                          WHERE status IN ('pending', 'retrying', 'processing') AND next_attempt_at_ms <= ?3 \
                          {matching}ORDER BY next_attempt_at_ms, id LIMIT ?4) \
             RETURNING {COLUMNS}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner.to_owned())
            .bind(lease_until_ms)
            .bind(now_ms)
            .bind(i64::from(limit));
        if !filter.claims_all() {
            query = query.bind(unhandled_due_by);
            for patterns in [&filter.handled, &known] {
                let (exact, prefixes, _) = ClaimFilter::split(patterns);
                query = query
                    .bind(serde_json::to_string(&exact).unwrap_or_default())
                    .bind(serde_json::to_string(&prefixes).unwrap_or_default());
            }
        }
        let rows = query.fetch_all(&self.write).await?;
        let (claimed, unreadable) = read::claimed(&rows, owner, now_ms);
        read::dead_letter_unreadable(self, &unreadable).await;
        Ok(claimed)
    }

    async fn record_outcomes(&self, outcomes: &[Outcome]) -> BackendResult<u64> {
        self.in_write_transaction(async |conn| Self::record_outcomes_on(conn, outcomes).await)
            .await
    }

    async fn record_outcomes_on(
        conn: &mut SqliteConnection,
        outcomes: &[Outcome],
    ) -> BackendResult<u64> {
        let mut tx = conn.begin().await?;
        let mut applied = 0;
        for o in outcomes {
            let (status, next_at, error, outcome) = o.result.columns();
            let finished = o.result.is_final().then_some(o.finished_at_ms);
            let processing_ms = matches!(o.result, OutcomeResult::Done).then_some(o.duration_ms);
            // An unhandled delivery (no attempt to log) ran nothing: its claim is given back.
            let done = sqlx::query(
                "UPDATE inbox_deliveries SET status = ?1, lease_owner = NULL, \
                 next_attempt_at_ms = COALESCE(?2, next_attempt_at_ms), last_error = ?3, \
                 processing_ms = COALESCE(?4, processing_ms), finished_at_ms = ?5, \
                 attempts = CASE WHEN ?8 THEN MAX(attempts - 1, 0) ELSE attempts END \
                 WHERE id = ?6 AND status = 'processing' AND lease_owner = ?7",
            )
            .bind(status)
            .bind(next_at)
            .bind(error.map(str::to_owned))
            .bind(processing_ms)
            .bind(finished)
            .bind(o.id.0)
            .bind(o.owner.clone())
            .bind(outcome.is_none())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                continue;
            }
            applied += done;
            // Nothing ran for an unhandled delivery: no attempt to log.
            let Some(outcome) = outcome else {
                continue;
            };
            sqlx::query(
                "INSERT INTO inbox_attempts (delivery_id, event_type, finished_at_ms, outcome, duration_ms, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(o.id.0)
            .bind(o.event_type.clone())
            .bind(o.finished_at_ms)
            .bind(outcome)
            .bind(o.duration_ms)
            .bind(error.map(str::to_owned))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(applied)
    }

    async fn release_ids(
        &self,
        owner: &str,
        ids: &[DeliveryId],
        due_at_ms: i64,
    ) -> BackendResult<u64> {
        self.update_held(
            "UPDATE inbox_deliveries SET status = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END, \
             attempts = MAX(attempts - 1, 0), lease_owner = NULL, next_attempt_at_ms = ",
            due_at_ms,
            "",
            owner,
            ids,
        )
        .await
    }

    async fn extend_ids(
        &self,
        owner: &str,
        ids: &[DeliveryId],
        lease_until_ms: i64,
    ) -> BackendResult<u64> {
        self.update_held(
            "UPDATE inbox_deliveries SET next_attempt_at_ms = MAX(next_attempt_at_ms, ",
            lease_until_ms,
            ")",
            owner,
            ids,
        )
        .await
    }

    /// Runs `sql` (a `DELETE` of at most `?2` rows older than `?1`) until it deletes fewer than
    /// [`PRUNE_CHUNK`] rows; returns how many it deleted. Each statement is its own short
    /// transaction, so group commits take the one write connection between them instead of
    /// waiting for a whole prune (seconds on millions of rows: long enough for accepts to time
    /// out with a 503).
    async fn delete_in_chunks(&self, sql: &'static str, before_ms: i64) -> BackendResult<u64> {
        let mut deleted = 0;
        loop {
            let n = sqlx::query(sql)
                .bind(before_ms)
                .bind(PRUNE_CHUNK)
                .execute(&self.write)
                .await?
                .rows_affected();
            deleted += n;
            if n < PRUNE_CHUNK as u64 {
                return Ok(deleted);
            }
        }
    }

    /// Deletes the dedupe keys first seen before `before_ms` whose delivery is gone. Old keys
    /// whose delivery stays (dead ones, done ones kept longer) come first in the `first_seen_ms`
    /// index, so a `LIMIT`ed delete would read past all of them again for every chunk: the
    /// candidates are read once on a read connection (no write lock), then deleted by id in
    /// chunks, each checked again.
    async fn prune_keys(&self, before_ms: i64) -> BackendResult<u64> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM inbox_dedupe WHERE first_seen_ms < ?1 \
             AND NOT EXISTS (SELECT 1 FROM inbox_deliveries d WHERE d.id = inbox_dedupe.id)",
        )
        .bind(before_ms)
        .fetch_all(&self.read)
        .await?;
        let mut deleted = 0;
        for chunk in ids.chunks(PRUNE_CHUNK as usize) {
            let mut q =
                QueryBuilder::<Sqlite>::new("DELETE FROM inbox_dedupe WHERE first_seen_ms < ");
            q.push_bind(before_ms);
            q.push(
                " AND NOT EXISTS (SELECT 1 FROM inbox_deliveries d WHERE d.id = inbox_dedupe.id) \
                 AND id IN ",
            );
            push_ids(&mut q, chunk.iter().copied());
            deleted += q.build().execute(&self.write).await?.rows_affected();
        }
        Ok(deleted)
    }

    /// Runs `{set}{value}{close}` on those of `ids` that `owner` holds, [`ID_CHUNK`] ids per
    /// statement; returns how many rows changed.
    async fn update_held(
        &self,
        set: &'static str,
        value: i64,
        close: &'static str,
        owner: &str,
        ids: &[DeliveryId],
    ) -> BackendResult<u64> {
        let mut changed = 0;
        for chunk in ids.chunks(ID_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(set);
            q.push_bind(value).push(close);
            held_by(&mut q, owner, chunk);
            changed += q.build().execute(&self.write).await?.rows_affected();
        }
        Ok(changed)
    }

    async fn requeue(
        &self,
        id: DeliveryId,
        now_ms: i64,
        operation: &'static str,
    ) -> BackendResult<()> {
        self.in_write_transaction(async |conn| Self::requeue_on(conn, id, now_ms, operation).await)
            .await
    }

    async fn requeue_on(
        conn: &mut SqliteConnection,
        id: DeliveryId,
        now_ms: i64,
        operation: &'static str,
    ) -> BackendResult<()> {
        // Reads, then writes: take the write lock first, or another process committing in
        // between (the receiver, while the CLI replays) fails the write at once (a stale
        // snapshot is not retried by the busy timeout).
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT status, next_attempt_at_ms FROM inbox_deliveries WHERE id = ?1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let (status, lease_until_ms) = row.ok_or(InboxError::NotFound(id))?;
        super::check_requeue(id, status.parse()?, lease_until_ms, now_ms, operation)?;
        sqlx::query(
            "UPDATE inbox_deliveries SET status = 'pending', attempts = 0, next_attempt_at_ms = ?1, \
             lease_owner = NULL, last_error = NULL, finished_at_ms = NULL WHERE id = ?2",
        )
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_filtered(&self, filter: &ListFilter) -> BackendResult<Vec<StoredDelivery>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {COLUMNS} FROM inbox_deliveries WHERE 1 = 1"
        ));
        if let Some(status) = filter.status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(event_type) = &filter.event_type {
            q.push(" AND event_type = ").push_bind(event_type.clone());
        }
        if let Some(before) = filter.before {
            q.push(" AND id < ").push_bind(before.0);
        }
        if let Some(key) = &filter.key {
            // Index lookups: dedupe keys (message ids under every scheme), body event ids, and
            // message ids a key is not built from.
            q.push(" AND id IN (SELECT id FROM inbox_dedupe WHERE dedupe_key IN (");
            let mut keys = q.separated(", ");
            for k in ListFilter::dedupe_keys(key) {
                keys.push_bind(k);
            }
            q.push(") UNION SELECT id FROM inbox_deliveries WHERE event_id = ")
                .push_bind(key.clone())
                .push(" UNION SELECT id FROM inbox_deliveries WHERE message_id = ")
                .push_bind(key.clone())
                .push(")");
        }
        q.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(filter.limit.min(1000)));
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(read::delivery).collect()
    }

    async fn stats_since(&self, since_ms: i64) -> BackendResult<Vec<EventTypeStats>> {
        let mut stats = read::StatsByType::default();
        // One read transaction: both queries see the same snapshot (WAL), so a delivery's
        // status and its attempts agree.
        let mut tx = self.read.begin().await?;
        let rows = sqlx::query(
            "SELECT COALESCE(event_type, ''), COUNT(*), \
                    SUM(status = 'done'), SUM(status = 'dead'), SUM(status IN ('pending', 'processing', 'retrying')) \
             FROM inbox_deliveries WHERE received_at_ms >= ?1 GROUP BY 1",
        )
        .bind(since_ms)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            stats.add_deliveries(row)?;
        }
        let rows = sqlx::query(
            "SELECT COALESCE(event_type, ''), SUM(outcome != 'ok'), AVG(duration_ms), MIN(duration_ms), MAX(duration_ms) \
             FROM inbox_attempts WHERE finished_at_ms >= ?1 GROUP BY 1",
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
}

/// Appends the condition "still processing, leased by `owner`, one of `ids`".
fn held_by(q: &mut QueryBuilder<Sqlite>, owner: &str, ids: &[DeliveryId]) {
    q.push(" WHERE status = 'processing' AND lease_owner = ");
    q.push_bind(owner.to_owned());
    q.push(" AND id IN ");
    push_ids(q, ids.iter().map(|id| id.0));
}

/// Pushes `(?, ?, …)`, binding each of `ids`: the list of an `IN`.
fn push_ids(q: &mut QueryBuilder<Sqlite>, ids: impl IntoIterator<Item = i64>) {
    q.push("(");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    q.push(")");
}

impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
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
        Box::pin(self.in_write_transaction(async move |conn| {
            let mut tx = conn.begin().await?;
            // Also the rows of workers gone without a word (a crash) for a day.
            sqlx::query("DELETE FROM inbox_worker_patterns WHERE owner = ?1 OR seen_ms < ?2")
                .bind(owner.to_owned())
                .bind(now_ms.saturating_sub(WORKER_ROWS_KEPT_MS))
                .execute(&mut *tx)
                .await?;
            for (kind, literal) in super::pattern_rows(patterns) {
                sqlx::query(
                    "INSERT OR REPLACE INTO inbox_worker_patterns (owner, kind, literal, seen_ms) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .bind(owner.to_owned())
                .bind(kind)
                .bind(literal.to_owned())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }))
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

    /// The dead letters are read once on a read connection (no write lock), then re-queued by
    /// id in chunks, each its own short transaction, as a prune deletes: one statement over a
    /// million dead rows held the one write connection for seconds, and accepts waiting behind
    /// it timed out with a 503. Reading the ids first also means a delivery that dies again
    /// while the re-drive runs is not re-driven a second time.
    fn redrive_all_dead(&self, now_ms: i64) -> BoxFuture<'_, BackendResult<u64>> {
        Box::pin(async move {
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM inbox_deliveries WHERE status = 'dead'")
                    .fetch_all(&self.read)
                    .await?;
            let mut redriven = 0;
            for chunk in ids.chunks(PRUNE_CHUNK as usize) {
                let mut q = QueryBuilder::<Sqlite>::new(
                    "UPDATE inbox_deliveries SET status = 'pending', attempts = 0, \
                     last_error = NULL, finished_at_ms = NULL, next_attempt_at_ms = ",
                );
                q.push_bind(now_ms);
                q.push(" WHERE status = 'dead' AND id IN ");
                push_ids(&mut q, chunk.iter().copied());
                redriven += q.build().execute(&self.write).await?.rows_affected();
            }
            Ok(redriven)
        })
    }

    fn get(&self, id: DeliveryId) -> BoxFuture<'_, BackendResult<Option<StoredDelivery>>> {
        Box::pin(async move {
            let sql = format!("SELECT {COLUMNS} FROM inbox_deliveries WHERE id = ?1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .fetch_optional(&self.read)
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
            if let Some(file) = &self.file {
                file.check()?;
            }
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM inbox_attempts WHERE outcome != 'ok' AND finished_at_ms >= ?1")
                    .bind(since_ms)
                    .fetch_one(&self.read)
                    .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn counts(&self) -> BoxFuture<'_, BackendResult<StatusCounts>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT status, COUNT(*) FROM inbox_deliveries GROUP BY status")
                .fetch_all(&self.read)
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
        Box::pin(async move {
            // Deliveries first: a key goes only once its delivery is gone.
            let deliveries = self
                .delete_in_chunks(
                    "DELETE FROM inbox_deliveries WHERE id IN (SELECT id FROM inbox_deliveries \
                     WHERE status = 'done' AND finished_at_ms < ?1 LIMIT ?2)",
                    done_before_ms,
                )
                .await?;
            let dedupe_keys = self.prune_keys(keys_before_ms).await?;
            let attempts = self
                .delete_in_chunks(
                    "DELETE FROM inbox_attempts WHERE rowid IN (SELECT rowid FROM inbox_attempts \
                     WHERE finished_at_ms < ?1 LIMIT ?2)",
                    done_before_ms,
                )
                .await?;
            Ok(PruneReport {
                deliveries,
                dedupe_keys,
                attempts,
            })
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.read.close().await;
            self.write.close().await;
        })
    }
}

/// SQL true when the delivery's event type matches one of `patterns`: `?{first}` holds the exact
/// types and `?{first + 1}` the prefixes (separator included), as JSON arrays. A prefix matches
/// longer types only, as [`EventPattern::matches`](webhook_core::EventPattern::matches) does,
/// compared as bytes (SQLite's text `length` stops at a NUL); a delivery without an event type
/// matches only `*`.
fn pattern_match(patterns: &[webhook_core::EventPattern], first: usize) -> String {
    if patterns.iter().any(webhook_core::EventPattern::is_any) {
        return "1".to_owned();
    }
    let prefixes = first + 1;
    format!(
        "(COALESCE(event_type, '') IN (SELECT value FROM json_each(?{first})) \
          OR EXISTS (SELECT 1 FROM json_each(?{prefixes}) p \
                     WHERE length(CAST(event_type AS BLOB)) > length(CAST(p.value AS BLOB)) \
                       AND substr(CAST(event_type AS BLOB), 1, length(CAST(p.value AS BLOB))) \
                           = CAST(p.value AS BLOB)))"
    )
}

#[cfg(test)]
mod tests {
    use super::remove_if_untouched;

    /// A failed start removes the empty file it created, but not one another receiver started
    /// at the same moment has written (migrated) meanwhile: that receiver would be answering
    /// 201 into a deleted file.
    #[test]
    fn a_failed_start_removes_only_an_untouched_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inbox.db");
        std::fs::write(&file, b"").unwrap();
        remove_if_untouched(&file);
        assert!(!file.exists());

        std::fs::write(&file, b"").unwrap();
        std::fs::write(dir.path().join("inbox.db-wal"), b"frames").unwrap();
        remove_if_untouched(&file);
        assert!(file.exists(), "another receiver's WAL");

        std::fs::write(&file, b"SQLite format 3\0").unwrap();
        std::fs::remove_file(dir.path().join("inbox.db-wal")).unwrap();
        remove_if_untouched(&file);
        assert!(file.exists(), "another receiver's pages");
    }
}
