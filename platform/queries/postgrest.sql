-- Queries of the PostgREST surface (platform/api/postgrest_catalog.py, routes/rest.py).
-- Identifiers of the table grammar are resolved against these rows, never taken from the request.

-- name: relations
-- Every table, view and materialized view of `public` (partitions excluded: they are read
-- through their parent): kind, columns (name, type, category, nullable, default, generated),
-- primary key, and foreign keys (to and from other public relations).
-- params: none
SELECT c.oid,
       c.relname AS name,
       c.relkind::text AS kind,
       coalesce((
           SELECT json_agg(json_build_object(
                      'name', a.attname,
                      'type', format_type(a.atttypid, NULL),
                      'element_type', CASE WHEN t.typcategory = 'A' THEN format_type(t.typelem, NULL) END,
                      'category', coalesce(bt.typcategory, t.typcategory)::text,
                      'nullable', NOT a.attnotnull,
                      'has_default', a.atthasdef OR a.attidentity <> '',
                      'generated', a.attgenerated <> '' OR a.attidentity = 'a')
                  ORDER BY a.attnum)
           FROM pg_catalog.pg_attribute a
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_catalog.pg_type bt ON bt.oid = nullif(t.typbasetype, 0)
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       ), '[]'::json) AS columns,
       coalesce((
           SELECT json_agg(a.attname ORDER BY k.ord)
           FROM pg_catalog.pg_constraint pk
           CROSS JOIN LATERAL unnest(pk.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
           WHERE pk.conrelid = c.oid AND pk.contype = 'p'
       ), '[]'::json) AS primary_key,
       coalesce((
           SELECT json_agg(json_build_object(
                      'name', fk.conname,
                      'target', fc.relname,
                      'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
                                  FROM unnest(fk.conkey) WITH ORDINALITY AS k(attnum, ord)
                                  JOIN pg_catalog.pg_attribute a ON a.attrelid = fk.conrelid AND a.attnum = k.attnum),
                      'target_columns', (SELECT json_agg(a.attname ORDER BY k.ord)
                                         FROM unnest(fk.confkey) WITH ORDINALITY AS k(attnum, ord)
                                         JOIN pg_catalog.pg_attribute a
                                           ON a.attrelid = fk.confrelid AND a.attnum = k.attnum)))
           FROM pg_catalog.pg_constraint fk
           JOIN pg_catalog.pg_class fc ON fc.oid = fk.confrelid
           JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace AND fn.nspname = 'public'
           WHERE fk.conrelid = c.oid AND fk.contype = 'f' AND fk.conparentid = 0
       ), '[]'::json) AS foreign_keys,
       coalesce(c.reltuples, -1)::bigint AS estimated_rows
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
ORDER BY c.relname;

-- name: function_columns
-- The result columns of one overload of a public function that returns rows (RETURNS TABLE,
-- OUT parameters, or a composite type), picked by name and its input argument types.
-- params: $1 function name, $2 oidvectortypes(proargtypes) of the overload
SELECT o.name, format_type(o.type_oid, NULL) AS type,
       CASE WHEN t.typcategory = 'A' THEN format_type(t.typelem, NULL) END AS element_type,
       coalesce(bt.typcategory, t.typcategory)::text AS category
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
CROSS JOIN LATERAL (
    SELECT a.name, a.type_oid, a.ord
    FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), coalesce(p.proargnames, '{}'::text[]),
                coalesce(p.proargmodes::text[], '{}'::text[])) WITH ORDINALITY AS a(type_oid, name, mode, ord)
    WHERE a.mode IN ('o', 't', 'b')
    UNION ALL
    SELECT att.attname::text, att.atttypid, att.attnum
    FROM pg_catalog.pg_type rt
    JOIN pg_catalog.pg_attribute att ON att.attrelid = rt.typrelid AND att.attnum > 0 AND NOT att.attisdropped
    WHERE rt.oid = p.prorettype AND rt.typtype = 'c' AND p.proallargtypes IS NULL
) o
JOIN pg_catalog.pg_type t ON t.oid = o.type_oid
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = nullif(t.typbasetype, 0)
WHERE p.proname = $1 AND oidvectortypes(p.proargtypes) = $2
ORDER BY o.ord;
