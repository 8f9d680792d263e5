-- name: unsettled_events
-- Events of a drill (key prefix) not yet done or dead-lettered: queued, or leased.
-- params: $1 key prefix
SELECT count(*)::integer FROM public.events_queue WHERE key LIKE $1 || '%' AND status NOT IN ('done', 'error');

-- name: unsettled_discovery_items
-- Discovery items of a drill (reason) not yet done or dead-lettered.
-- params: $1 reason
SELECT count(*)::integer
FROM public.marketplace_discovery_queue
WHERE reason = $1 AND status NOT IN ('done', 'error');

-- name: event_outcomes
-- How a drill's events ended, per status: how many, and how many were re-leased or retried (attempts > 0).
-- params: $1 key prefix
SELECT status, count(*)::integer AS items, count(*) FILTER (WHERE attempts > 0)::integer AS retried
FROM public.events_queue
WHERE key LIKE $1 || '%'
GROUP BY status
ORDER BY status;

-- name: discovery_outcomes
-- How a drill's discovery items ended, per status (retried: re-leased after a lost lease, or failed).
-- params: $1 reason
SELECT status, count(*)::integer AS items, count(*) FILTER (WHERE attempts > 0)::integer AS retried
FROM public.marketplace_discovery_queue
WHERE reason = $1
GROUP BY status
ORDER BY status;

-- name: signal_effects
-- Effects of a drill's telemetry.signal events: per event sequence number, how many intent signals exist
-- and the status of the event that should have written it (NULL: a signal with no event).
-- params: $1 signal name, $2 run id, $3 key prefix
WITH effects AS (
    SELECT (s.metadata ->> 'seq')::integer AS seq, count(*)::integer AS signals
    FROM public.intent_signals s
    WHERE s.name = $1 AND s.metadata ->> 'chaos_run' = $2
    GROUP BY 1
), events AS (
    SELECT substr(e.key, length($3) + 1)::integer AS seq, e.status
    FROM public.events_queue e
    WHERE e.key LIKE $3 || '%'
)
SELECT coalesce(ev.seq, ef.seq) AS seq, ev.status, coalesce(ef.signals, 0) AS signals
FROM events ev
FULL JOIN effects ef ON ef.seq = ev.seq
ORDER BY 1;

-- name: signals_by_seq
-- The intent signals the background load wrote in a run, counted per sequence number.
-- params: $1 signal name, $2 run id
SELECT (metadata ->> 'seq')::integer AS seq, count(*)::integer AS signals
FROM public.intent_signals
WHERE name = $1 AND metadata ->> 'chaos_run' = $2
GROUP BY 1;

-- name: duplicate_gaps
-- Categories with more than one marketplace_gaps row (the discovery step must upsert, never add).
-- params: none
SELECT count(*)::integer FROM (
    SELECT category_id FROM public.marketplace_gaps GROUP BY category_id HAVING count(*) > 1
) AS d;

-- name: jobs_for_run
-- The worker jobs carrying a run's marker in their payload.
-- params: $1 run id
SELECT id, status, attempts, idempotency_key FROM public.worker_jobs WHERE payload ->> 'chaos_run' = $1 ORDER BY id;

-- name: events_for_run
-- The events carrying a run's delivery marker in their payload.
-- params: $1 run id
SELECT id, key, status FROM public.events_queue WHERE payload ->> 'chaos_delivery' = $1 ORDER BY id;

-- name: dead_letters_for_job
-- The dead-letter rows of one job.
-- params: $1 job id
SELECT reason, attempts FROM public.dead_letter_queue WHERE job_id = $1 ORDER BY id;

-- name: table_exists
-- Whether a table exists (Platform II tables are checked only once they do).
-- params: $1 qualified table name
SELECT to_regclass($1) IS NOT NULL;

-- name: duplicate_notifications
-- Notifications written since $1 identical to another one apart from id and timestamps (same user,
-- channel, kind, title, body, payload and sender): an effect written twice.
-- params: $1 since
SELECT count(*)::integer FROM (
    SELECT to_jsonb(n) - 'id' - 'created_at' - 'read_at' - 'delivered_at' AS body
    FROM public.notifications n
    WHERE n.created_at >= $1
    GROUP BY 1
    HAVING count(*) > 1
) AS d;

-- name: ledger_mismatches
-- Users whose earnings ledger row disagrees with their earnings events (total, captured, count).
-- params: none
SELECT count(*)::integer FROM (
    SELECT coalesce(l.user_id, e.user_id) AS user_id
    FROM public.earnings_ledger l
    FULL JOIN (
        SELECT user_id, sum(amount_cents) AS total_cents, sum(captured_cents) AS captured_cents, count(*) AS events
        FROM public.earnings_events
        GROUP BY user_id
    ) AS e ON e.user_id = l.user_id
    WHERE coalesce(l.total_cents, 0) <> coalesce(e.total_cents, 0)
       OR coalesce(l.captured_cents, 0) <> coalesce(e.captured_cents, 0)
       OR coalesce(l.events_count, 0) <> coalesce(e.events, 0)
) AS m;

-- name: unsettled_delivered_events
-- Events carrying a run's delivery marker that are neither done nor dead-lettered.
-- params: $1 run id
SELECT count(*)::integer
FROM public.events_queue
WHERE payload ->> 'chaos_delivery' = $1 AND status NOT IN ('done', 'error');

-- name: signals_for_run
-- How many intent signals named $1 carry the run id $2 in their metadata.
-- params: $1 signal name, $2 run id
SELECT count(*)::integer FROM public.intent_signals WHERE name = $1 AND metadata ->> 'chaos_run' = $2;

-- name: earnings_events_for_key
-- How many earnings events carry one idempotency key.
-- params: $1 idempotency key
SELECT count(*)::integer FROM public.earnings_events WHERE idempotency_key = $1;

-- name: ledger_writes
-- How many times a user's earnings ledger row was written (0: no row yet).
-- params: $1 user_id
SELECT coalesce((SELECT writes FROM public.earnings_ledger WHERE user_id = $1), 0)::bigint;
