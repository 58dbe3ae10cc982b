-- The PostgreSQL side of the local FerretDB (dev/components/ferretdb.sh runs this, idempotently,
-- in database `ferretdb` before FerretDB starts).
--
-- FerretDB v1 pushes a `find` filter down as jsonb containment, `_jsonb->'_id' @> '"k"'`, which
-- the btree index it makes on `(_jsonb->'_id')` cannot serve: every lookup by `_id` read the
-- whole collection table (seen in pg_stat_user_tables: millions of rows read by sequential
-- scans, no index scan, on the read models' tables). A GIN index on the same expression serves
-- `@>`, and custom plans let the planner see the literal key FerretDB binds as a parameter.
-- Updates and deletes by `_id` use `=` and FerretDB's own index.

SET client_min_messages = warning;

ALTER DATABASE ferretdb SET plan_cache_mode = force_custom_plan;

CREATE OR REPLACE FUNCTION tripnest_id_index(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = '_jsonb' AND NOT attisdropped)
     AND NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
                     WHERE i.indrelid = tbl AND a.amname = 'gin') THEN
    EXECUTE format('CREATE INDEX ON %s USING gin ((_jsonb -> %L))', tbl, '_id');
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
