-- Looking a delivery up by its sender's message id when its dedupe key is not built from it
-- (the timestamped scheme keys on the signed body, not on the unsigned `webhook-id`).
CREATE INDEX IF NOT EXISTS inbox_deliveries_message_id ON inbox_deliveries (message_id)
    WHERE message_id IS NOT NULL;
