-- Idempotent consumers: the id of every event a consumer has applied, written in the same
-- transaction as the effect, so a redelivered event changes nothing.
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
