-- Pruning finds done deliveries past the retention through this index instead of reading every
-- done row. Both columns are in it so that SQLite's planner, which keeps no statistics here,
-- prefers it to the due index for `status = 'done' AND finished_at_ms < ?`.
CREATE INDEX IF NOT EXISTS inbox_deliveries_finished ON inbox_deliveries (status, finished_at_ms)
    WHERE status = 'done';
