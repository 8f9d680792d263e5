-- Queries of the realtime change feed (platform/api/realtime_feed.py).

-- name: published_tables
-- The tables of realtime.publication (migration 810) with their columns and which API roles may select them.
-- params: none
SELECT p.schema_name, p.table_name, p.pk_columns, p.owner_column,
       coalesce((SELECT jsonb_agg(jsonb_build_object('name', a.attname, 'type', t.typname) ORDER BY a.attnum)
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::jsonb)::text AS columns,
       array_remove(ARRAY[
           CASE WHEN has_table_privilege('anon', c.oid, 'SELECT') THEN 'anon' END,
           CASE WHEN has_table_privilege('authenticated', c.oid, 'SELECT') THEN 'authenticated' END,
           CASE WHEN has_table_privilege('service_role', c.oid, 'SELECT') THEN 'service_role' END], NULL) AS readers
  FROM realtime.publication p
  JOIN pg_namespace n ON n.nspname = p.schema_name
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.table_name
 ORDER BY p.schema_name, p.table_name;

-- name: visible_rows
-- A published row (by its key) as each of the callers may select it (810's realtime.visible_rows).
-- params: $1 schema, $2 table, $3 primary key jsonb, $4 callers jsonb [{"role", "claims"}]
SELECT caller, row_json FROM realtime.visible_rows($1, $2, $3, $4);
