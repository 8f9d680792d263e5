-- name: insert_rpc_metrics
-- Write a batch of RPC samples; a 4xx is the caller's mistake (ok, with its code in `error`),
-- a 5xx is ours (not ok). `role` is accepted for symmetry with the Prometheus series, not stored.
-- params: $1 names text[], $2 roles text[], $3 durations_ms float8[], $4 statuses int[], $5 error codes text[],
--         $6 user ids text[], $7 epoch seconds float8[]
INSERT INTO public.rpc_metrics (name, duration_ms, ok, error, user_id, ts)
SELECT s.name,
       greatest(s.duration_ms, 0),
       s.status < 500,
       CASE WHEN s.status >= 400 THEN s.status::text || ' ' || coalesce(s.error_code, '') END,
       s.user_id::uuid,
       to_timestamp(s.at)
FROM unnest($1::text[], $2::text[], $3::float8[], $4::int[], $5::text[], $6::text[], $7::float8[])
     AS s(name, role, duration_ms, status, error_code, user_id, at);
