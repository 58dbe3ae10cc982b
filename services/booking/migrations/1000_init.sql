-- Catalog: hotels and room types, upserted by the operator through the internal API.
CREATE TABLE hotels (
    id          text PRIMARY KEY,
    name        text        NOT NULL,
    city        text        NOT NULL,
    country     text        NOT NULL,
    address     text        NOT NULL DEFAULT '',
    lat         double precision,
    lon         double precision,
    stars       smallint    NOT NULL CHECK (stars BETWEEN 1 AND 5),
    amenities   text[]      NOT NULL DEFAULT '{}',
    currency    char(3)     NOT NULL,
    description text        NOT NULL DEFAULT '',
    on_sale     boolean     NOT NULL DEFAULT true,
    spec_hash   text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE room_types (
    hotel_id        text    NOT NULL REFERENCES hotels (id),
    name            text    NOT NULL,
    capacity        integer NOT NULL CHECK (capacity > 0),
    base_rate_cents bigint  NOT NULL CHECK (base_rate_cents >= 0),
    amenities       text[]  NOT NULL DEFAULT '{}',
    on_sale         boolean NOT NULL DEFAULT true,
    PRIMARY KEY (hotel_id, name)
);

-- The inventory spec last applied per room type; the roll re-applies it as days pass.
CREATE TABLE inventory_specs (
    hotel_id          text        NOT NULL,
    room_type         text        NOT NULL,
    spec              jsonb       NOT NULL,
    generated_through date,
    last_run_at       timestamptz,
    PRIMARY KEY (hotel_id, room_type),
    FOREIGN KEY (hotel_id, room_type) REFERENCES room_types (hotel_id, name)
);

-- The calendar: one row per room type per night. `booked` counts held + confirmed rooms;
-- `available` = max(total - booked, 0), decremented atomically by holds and never negative.
CREATE TABLE availability (
    hotel_id    text    NOT NULL,
    room_type   text    NOT NULL,
    night       date    NOT NULL,
    total       integer NOT NULL CHECK (total >= 0),
    booked      integer NOT NULL DEFAULT 0 CHECK (booked >= 0),
    available   integer NOT NULL CHECK (available >= 0),
    price_cents bigint  NOT NULL CHECK (price_cents >= 0),
    closed      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (hotel_id, room_type, night),
    FOREIGN KEY (hotel_id, room_type) REFERENCES room_types (hotel_id, name)
);

CREATE TABLE bookings (
    id              uuid PRIMARY KEY,
    user_id         uuid        NOT NULL,
    hotel_id        text        NOT NULL REFERENCES hotels (id),
    room_type       text        NOT NULL,
    check_in        date        NOT NULL,
    check_out       date        NOT NULL CHECK (check_out > check_in),
    guests          integer     NOT NULL CHECK (guests > 0),
    rooms           integer     NOT NULL CHECK (rooms > 0),
    amount_cents    bigint      NOT NULL CHECK (amount_cents >= 0),
    currency        char(3)     NOT NULL,
    status          text        NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
    cancel_reason   text,
    payment_failure text,
    payment_method  text        NOT NULL,
    payment_id      uuid,
    contact         jsonb       NOT NULL,
    hold_expires_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookings_user ON bookings (user_id, created_at DESC);
CREATE INDEX bookings_pending_expiry ON bookings (hold_expires_at) WHERE status = 'PENDING';

-- Idempotency-Key: one row per (user, key). `in_flight` while the first request runs, then
-- `done` with the response that every retry with the same body gets back.
CREATE TABLE idempotency_keys (
    user_id         uuid        NOT NULL,
    key             text        NOT NULL,
    request_hash    text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('in_flight', 'done')),
    response_status integer,
    response_body   jsonb,
    started_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
