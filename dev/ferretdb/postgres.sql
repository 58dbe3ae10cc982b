-- The PostgreSQL side of the local FerretDB (dev/components/ferretdb.sh runs this, idempotently,
-- in database `ferretdb` before FerretDB starts).
--
-- FerretDB v1 pushes a `find` filter down as jsonb containment, `_jsonb->'_id' @> '"k"'`, which
-- the btree index it makes on `(_jsonb->'_id')` cannot serve: every lookup by `_id` read the
-- whole collection table (seen in pg_stat_user_tables: millions of rows read by sequential
-- scans, no index scan, on the read models' tables). A GIN index on the same expression serves
-- `@>`, and custom plans let the planner see the literal key FerretDB binds as a parameter.
-- Updates and deletes by `_id` use `=` and FerretDB's own index.
--
-- The GIN index is built without a pending list (`fastupdate = off`). With one, each insert
-- appended its key to an unsorted list that every lookup reads in full until autovacuum
-- merges it (up to 4 MB): under a stream of inserts, a lookup by `_id` in recommendation's
-- `bookings` averaged 0.76 ms in pg_stat_statements (a btree probe takes ~0.03 ms), and the
-- read models' lookups were half of all PostgreSQL time in the bench's read-model-lag run.

SET client_min_messages = warning;

ALTER DATABASE ferretdb SET plan_cache_mode = force_custom_plan;

CREATE OR REPLACE FUNCTION tripnest_id_index(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE idx regclass;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = '_jsonb' AND NOT attisdropped) THEN
    RETURN;
  END IF;
  SELECT i.indexrelid INTO idx FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
   WHERE i.indrelid = tbl AND a.amname = 'gin' LIMIT 1;
  IF idx IS NULL THEN
    EXECUTE format('CREATE INDEX ON %s USING gin ((_jsonb -> %L)) WITH (fastupdate = off)', tbl, '_id');
  ELSIF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = idx AND 'fastupdate=off' = ANY (coalesce(reloptions, '{}'))) THEN
    -- Made by an older version of this file: stop the pending list and merge what it holds.
    EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', idx);
    PERFORM gin_clean_pending_list(idx);
  END IF;
END $$;

-- Every collection table FerretDB creates from now on.
CREATE OR REPLACE FUNCTION tripnest_id_index_on_create() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_type = 'table' LOOP
    PERFORM tripnest_id_index(r.objid::regclass);
  END LOOP;
END $$;
DROP EVENT TRIGGER IF EXISTS tripnest_id_index;
CREATE EVENT TRIGGER tripnest_id_index ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION tripnest_id_index_on_create();

-- And those it made before (a stack started by an older dev/components/ferretdb.sh).
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
    PERFORM tripnest_id_index(r.oid::regclass);
  END LOOP;
END $$;
