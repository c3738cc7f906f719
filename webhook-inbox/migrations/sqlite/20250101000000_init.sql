-- Dedupe keys outlive the deliveries they name (retention), so a late retry is still recognised.
-- A delivery's id is its key's id.
CREATE TABLE IF NOT EXISTS inbox_dedupe (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key    TEXT    NOT NULL UNIQUE,
    first_seen_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_dedupe_seen ON inbox_dedupe (first_seen_ms);

CREATE TABLE IF NOT EXISTS inbox_deliveries (
    id                 INTEGER PRIMARY KEY,
    dedupe_key         TEXT    NOT NULL,
    scheme             TEXT    NOT NULL,
    message_id         TEXT,
    event_id           TEXT,
    event_type         TEXT,
    body               BLOB    NOT NULL,
    headers            TEXT    NOT NULL,
    client_addr        TEXT,
    user_agent         TEXT,
    received_at_ms     INTEGER NOT NULL,
    -- pending | processing | done | retrying | dead
    status             TEXT    NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    -- When the delivery is due; while processing, when its lease expires.
    next_attempt_at_ms INTEGER NOT NULL,
    lease_owner        TEXT,
    last_error         TEXT,
    processing_ms      INTEGER,
    finished_at_ms     INTEGER
);
CREATE INDEX IF NOT EXISTS inbox_deliveries_due ON inbox_deliveries (status, next_attempt_at_ms);
CREATE INDEX IF NOT EXISTS inbox_deliveries_received ON inbox_deliveries (received_at_ms);

-- One row per finished handler run: stats, health and forensics.
CREATE TABLE IF NOT EXISTS inbox_attempts (
    delivery_id    INTEGER NOT NULL,
    event_type     TEXT,
    finished_at_ms INTEGER NOT NULL,
    -- ok | failed | dead
    outcome        TEXT    NOT NULL,
    duration_ms    INTEGER NOT NULL,
    error          TEXT
);
CREATE INDEX IF NOT EXISTS inbox_attempts_finished ON inbox_attempts (finished_at_ms);
