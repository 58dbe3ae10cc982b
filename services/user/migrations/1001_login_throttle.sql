-- Failed-login budgets (GCRA): `tat` is the theoretical arrival time, the moment the key's
-- budget is full again. Keys are `acct:<email>` (every source together) and
-- `acct-ip:<email>|<address>` (one source). A row whose `tat` has passed is the same as no row;
-- the sweeper deletes those.
CREATE TABLE login_throttle (
    key text PRIMARY KEY,
    tat timestamptz NOT NULL
);
CREATE INDEX login_throttle_tat_idx ON login_throttle (tat);
