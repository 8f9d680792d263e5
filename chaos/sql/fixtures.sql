-- name: ensure_drill_user
-- The id of the drill user with this e-mail, created if missing (a password hash nobody can log in with).
-- params: $1 email, $2 raw_user_meta_data jsonb
WITH created AS (
    INSERT INTO auth.users (email, encrypted_password, raw_user_meta_data)
    VALUES ($1, '!chaos-drill-user-no-password-login', $2)
    ON CONFLICT (email) DO NOTHING
    RETURNING id
)
SELECT id FROM created
UNION ALL
SELECT id FROM auth.users WHERE email = $1
LIMIT 1;

-- name: enqueue_signal_events
-- Publish $3 telemetry.signal events for user $2, keyed $1 || n; each one's effect is one intent signal
-- named $4 whose metadata carries the run id and n (so every effect can be counted per event).
-- params: $1 key prefix, $2 user_id, $3 count, $4 signal name, $5 run id
SELECT e.id, e.created
FROM generate_series(1, $3::integer) AS s(n)
CROSS JOIN LATERAL public.enqueue_event(
    p_topic => 'telemetry.signal',
    p_key => $1 || s.n,
    p_payload => jsonb_build_object(
        'user_id', $2::text,
        'name', $4::text,
        'metadata', jsonb_build_object('chaos_run', $5::text, 'seq', s.n)
    )
) AS e;

-- name: enqueue_event
-- Publish one event (what a webhook receiver or a kernel does); created = false when (topic, key) exists.
-- params: $1 topic, $2 key, $3 payload jsonb
SELECT id, created FROM public.enqueue_event(p_topic => $1, p_key => $2, p_payload => $3);

-- name: enqueue_discovery_items
-- Queue discovery for up to $2 mapped (interest, category) pairs, with reason $1 marking the run.
-- params: $1 reason, $2 count
INSERT INTO public.marketplace_discovery_queue (interest_id, category_id, reason)
SELECT m.interest_id, m.category_id, $1
FROM public.marketplace_interest_map m
ORDER BY m.interest_id, m.category_id
LIMIT $2
ON CONFLICT ON CONSTRAINT marketplace_discovery_queue_idempotency DO NOTHING
RETURNING id, category_id;

-- name: lock_user_row
-- Hold the user's row lock (in the caller's transaction): inserts of rows referencing the user wait on it.
-- params: $1 user_id
SELECT id FROM auth.users WHERE id = $1 FOR UPDATE;

-- name: backends_waiting_on_locks
-- How many connections of one application (e.g. gauntlet-worker_queue_1) are waiting on a lock now.
-- params: $1 application_name
SELECT count(*)::integer
FROM pg_catalog.pg_stat_activity
WHERE application_name = $1 AND wait_event_type = 'Lock';

-- name: leased_events
-- How many events with this key prefix are leased right now.
-- params: $1 key prefix
SELECT count(*)::integer FROM public.events_queue WHERE key LIKE $1 || '%' AND status = 'leased';

-- name: event_state
-- One event's queue state; delay_s is the backoff its last failure scheduled (available_at - updated_at).
-- params: $1 event id
SELECT status, attempts, last_error, lease_token,
       lease_expires_at < now() AS lease_expired,
       EXTRACT(EPOCH FROM available_at - updated_at)::float8 AS delay_s
FROM public.events_queue
WHERE id = $1;

-- name: fast_forward_event
-- Skip the wait of a scheduled retry (the drill observes the backoff, it does not sit it out).
-- params: $1 event id, $2 attempts it must still have
UPDATE public.events_queue SET available_at = now()
WHERE id = $1 AND status = 'queued' AND attempts = $2 AND available_at > now()
RETURNING id;

-- name: retry_schedule
-- A queue's retry policy as the platform publishes it: the wait after each failure, NULL on the
-- failure that dead-letters the item.
-- params: $1 queue (its table: events_queue, worker_jobs, marketplace_discovery_queue)
SELECT failure, retry_in_s FROM public.queue_retry_schedule(p_queue => $1::regclass) ORDER BY failure;

-- name: job_state
-- One worker job's state; delay_s is the backoff its last failure scheduled (run_at - updated_at).
-- params: $1 job id
SELECT status, attempts, last_error, EXTRACT(EPOCH FROM run_at - updated_at)::float8 AS delay_s
FROM public.worker_jobs
WHERE id = $1;

-- name: fast_forward_job
-- Make a pending job claimable now (skips its backoff wait, once observed).
-- params: $1 job id
UPDATE public.worker_jobs SET run_at = now() WHERE id = $1 AND status = 'pending' AND run_at > now()
RETURNING id;

-- name: delete_drill_jobs
-- Remove the jobs (and their dead letters) a drill created: nothing processes them afterwards.
-- params: $1 run id
WITH letters AS (
    DELETE FROM public.dead_letter_queue WHERE payload ->> 'chaos_run' = $1 RETURNING id
), jobs AS (
    DELETE FROM public.worker_jobs WHERE payload ->> 'chaos_run' = $1 RETURNING id
)
SELECT (SELECT count(*) FROM jobs)::integer AS jobs, (SELECT count(*) FROM letters)::integer AS letters;

-- name: user_table_scans
-- Run on a replica: table scans it has served since it started (RPC reads; catalog lookups are not counted).
-- The counters reach this view when a backend flushes its statistics, at most about a second late.
-- params: none
SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::bigint FROM pg_catalog.pg_stat_user_tables;

-- name: replication_state
-- Run on the primary: one replica's streaming state and replay lag in bytes (NULL row: not connected).
-- params: $1 replica application_name
SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag_bytes
FROM pg_catalog.pg_stat_replication
WHERE application_name = $1;
