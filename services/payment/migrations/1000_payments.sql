-- One row per booking: the outcome of its payment. UNIQUE(booking_id) is what makes
-- booking.created idempotent per booking, whatever the event id. Only the payment method's
-- token name is kept; there is no card data anywhere.
CREATE TABLE payments (
    payment_id      uuid        PRIMARY KEY,
    booking_id      uuid        NOT NULL UNIQUE,
    status          text        NOT NULL CHECK (status IN ('captured', 'failed', 'refunded', 'voided')),
    amount_cents    bigint      NOT NULL CHECK (amount_cents >= 0),
    currency        text        NOT NULL,
    payment_method  text,
    capture_id      text,
    failure_reason  text,
    failure_message text,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    refund_id       text,
    refunded_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_capture_matches_status CHECK ((status IN ('captured', 'refunded')) = (capture_id IS NOT NULL)),
    CONSTRAINT payments_refund_matches_status CHECK ((status = 'refunded') = (refund_id IS NOT NULL)),
    CONSTRAINT payments_failure_has_reason CHECK ((status = 'failed') = (failure_reason IS NOT NULL))
);

-- The sandbox provider's ledger: it plays the card network, which lives outside our
-- transactions. A charge is keyed by its idempotency key, so a retry after a crash returns
-- the original capture instead of charging again.
CREATE TABLE sandbox_charges (
    idempotency_key text        PRIMARY KEY,
    capture_id      text        NOT NULL UNIQUE,
    payment_method  text        NOT NULL,
    amount_cents    bigint      NOT NULL,
    currency        text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Every charge call the sandbox received, per idempotency key (drives pm_card_flaky and lets
-- tests count retries).
CREATE TABLE sandbox_charge_attempts (
    idempotency_key text        PRIMARY KEY,
    attempts        integer     NOT NULL,
    last_attempt_at timestamptz NOT NULL DEFAULT now()
);

-- Refunds in the sandbox ledger: at most one (full) refund per capture.
CREATE TABLE sandbox_refunds (
    idempotency_key text        PRIMARY KEY,
    refund_id       text        NOT NULL UNIQUE,
    capture_id      text        NOT NULL UNIQUE REFERENCES sandbox_charges (capture_id),
    amount_cents    bigint      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
