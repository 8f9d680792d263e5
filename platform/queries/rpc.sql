-- name: function_signatures
-- Every overload of one public function: input arguments (name, type, category), how many
-- trailing inputs have defaults, and the shape of the result (a json/jsonb result is passed on as text).
-- params: $1 function_name
SELECT p.oid,
       p.pronargdefaults AS n_defaults,
       p.proretset AS returns_set,
       p.provolatile::text AS volatility,  -- "char" would arrive as bytes
       p.prorettype = 'pg_catalog.void'::regtype AS returns_void,
       (rt.typtype = 'c' OR p.prorettype = 'pg_catalog.record'::regtype) AS returns_row,
       p.prorettype IN ('pg_catalog.json'::regtype, 'pg_catalog.jsonb'::regtype) AS returns_json,
       coalesce((
           SELECT json_agg(json_build_object(
                      'name', a.name,
                      'type', format_type(a.type_oid, NULL),
                      'category', coalesce(bt.typcategory, t.typcategory),
                      'element_type', CASE WHEN et.oid IS NULL THEN NULL ELSE format_type(et.oid, NULL) END,
                      'element_category', et.typcategory)
                  ORDER BY a.ord)
           FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                       coalesce(p.proargnames, '{}'::text[]),
                       coalesce(p.proargmodes::text[], '{}'::text[])) WITH ORDINALITY AS a(type_oid, name, mode, ord)
           JOIN pg_catalog.pg_type t ON t.oid = a.type_oid
           LEFT JOIN pg_catalog.pg_type bt ON bt.oid = nullif(t.typbasetype, 0)
           LEFT JOIN pg_catalog.pg_type et ON et.oid = nullif(coalesce(bt.typelem, t.typelem), 0)
                                          AND coalesce(bt.typcategory, t.typcategory) = 'A'
           WHERE coalesce(a.mode, 'i') IN ('i', 'b', 'v')
       ), '[]'::json) AS args
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_type rt ON rt.oid = p.prorettype
WHERE n.nspname = 'public' AND p.proname = $1 AND p.prokind = 'f'
ORDER BY p.oid;

-- name: begin_as_caller
-- Open a request's transaction as its caller: switch to the caller's role and expose the JWT
-- claims to auth.uid() and RLS, in one simple-protocol round trip (two statements, so the values
-- are quoted literals filled in by platform/api/caller.py, not parameters).
-- params: {access} READ ONLY or READ WRITE, {role} and {claims} quoted literals (role: anon|authenticated|service_role; claims: JSON)
BEGIN {access}; SELECT set_config('role', {role}, true), set_config('request.jwt.claims', {claims}, true);
