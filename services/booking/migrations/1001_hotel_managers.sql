-- Who manages each hotel (lower-cased emails from the Hotel resource's spec.managers), for
-- the manager-scoped occupancy API.
ALTER TABLE hotels ADD COLUMN managers text[] NOT NULL DEFAULT '{}';
CREATE INDEX hotels_managers ON hotels USING gin (managers);
