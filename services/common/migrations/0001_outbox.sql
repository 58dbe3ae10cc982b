-- Transactional outbox: a service inserts its event here in the same transaction as the state
-- change; the relay publishes rows in `seq` order and deletes them once Kafka acknowledged.
CREATE TABLE IF NOT EXISTS outbox (
    seq         bigserial PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    payload     jsonb       NOT NULL,
    traceparent text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
