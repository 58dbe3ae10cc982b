-- Accounts. Emails are stored lowercased, so the unique index compares them case-insensitively.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(email)),
    password_hash text NOT NULL,
    name          text,
    phone         text,
    role          text NOT NULL CHECK (role IN ('traveller', 'manager', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Refresh tokens: only the SHA-256 of the opaque token is kept. A login starts a family;
-- each refresh marks the presented token rotated and adds its successor to the same family.
-- Revoking the family (logout, or a rotated token presented again) ends every token in it.
-- The family row is what refresh and logout lock, so they serialise per login session.
CREATE TABLE refresh_token_families (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text CHECK (revoked_reason IN ('logout', 'reuse_detected')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX refresh_token_families_user_idx ON refresh_token_families (user_id);

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    replaced_by uuid REFERENCES refresh_tokens (id)
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Ed25519 keys that sign access tokens. `retired_at IS NULL` marks the one active (signing)
-- key; a rotated-out key gets a future `retired_at` and is published in the JWKS until then,
-- so tokens it signed keep verifying until they expire.
CREATE TABLE signing_keys (
    kid        text PRIMARY KEY,
    secret     bytea NOT NULL CHECK (octet_length(secret) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
-- At most one active key, even when two replicas start at once.
CREATE UNIQUE INDEX signing_keys_single_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
