-- Looking a delivery up by its body's event id (`webhook inbox show evt_...`, `ListFilter::key`).
-- Message ids and dedupe keys are found through inbox_dedupe's unique index.
CREATE INDEX IF NOT EXISTS inbox_deliveries_event_id ON inbox_deliveries (event_id)
    WHERE event_id IS NOT NULL;
