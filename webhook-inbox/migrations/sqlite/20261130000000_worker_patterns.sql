-- The handler patterns of running workers, on every instance sharing the store: a worker leaves
-- to others the deliveries their patterns match, instead of taking them as unhandled.
CREATE TABLE IF NOT EXISTS inbox_worker_patterns (
    owner    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    literal  TEXT NOT NULL,
    seen_ms  INTEGER NOT NULL,
    PRIMARY KEY (owner, kind, literal)
);
