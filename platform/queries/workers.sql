-- name: gc_functions
-- The GC functions the gc worker runs: public gc_* functions callable with no arguments.
-- params: none
SELECT p.proname AS name
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.proname LIKE 'gc\_%' AND p.prokind = 'f'
  AND p.pronargs = p.pronargdefaults
ORDER BY p.proname;

-- name: lease_discovery_items
-- Lease ready discovery items (expired leases included) for this worker.
-- params: $1 limit, $2 ttl_seconds
SELECT id, interest_id, category_id, reason, user_id, attempts, lease_token, lease_expires_at
FROM public.lease_discovery_items(p_limit => $1, p_ttl_seconds => $2);

-- name: ack_discovery_item
-- Mark a leased discovery item done; false when the lease was lost (then the caller rolls back).
-- params: $1 id, $2 lease_token
SELECT public.ack_discovery_item(p_id => $1, p_token => $2);

-- name: fail_discovery_item
-- Record a failed attempt: 'queued' (retry after the policy's wait, or $4 s when not NULL), 'error'
-- (dead-lettered) or NULL (lease lost).
-- params: $1 id, $2 lease_token, $3 error text, $4 retry_in_seconds (NULL = the queue policy's)
SELECT public.fail_discovery_item(p_id => $1, p_token => $2, p_error => $3, p_retry_in_seconds => $4);

-- name: release_discovery_item
-- Give an unprocessed leased item back (shutdown), without counting an attempt.
-- params: $1 id, $2 lease_token
SELECT public.release_discovery_item(p_id => $1, p_token => $2);

-- name: lease_events
-- Lease ready events of one topic.
-- params: $1 topic, $2 limit, $3 ttl_seconds
SELECT id, topic, key, payload, attempts, lease_token, lease_expires_at
FROM public.lease_events(p_topic => $1, p_limit => $2, p_ttl_seconds => $3);

-- name: ack_event
-- Mark a leased event done; false when the lease was lost.
-- params: $1 id, $2 lease_token
SELECT public.ack_event(p_id => $1, p_token => $2);

-- name: fail_event
-- Record a failed attempt of an event: 'queued', 'error' (dead-lettered) or NULL (lease lost).
-- params: $1 id, $2 lease_token, $3 error text, $4 retry_in_seconds (NULL = the queue policy's)
SELECT public.fail_event(p_id => $1, p_token => $2, p_error => $3, p_retry_in_seconds => $4);

-- name: release_event
-- Give an unprocessed leased event back (shutdown), without counting an attempt.
-- params: $1 id, $2 lease_token
SELECT public.release_event(p_id => $1, p_token => $2);

-- name: queue_retry_schedule
-- A queue's retry policy as a schedule: the wait after each failure, NULL on the one that dead-letters.
-- params: $1 queue (its table, e.g. events_queue)
SELECT failure, retry_in_s FROM public.queue_retry_schedule(p_queue => $1::regclass);

-- name: upsert_marketplace_gap
-- The discovery step for one category: inventory -> gap level -> marketplace_gaps (idempotent).
-- params: $1 category_id, $2 interest_id (nullable)
SELECT category_id, gap_level, inventory_count, demand_count
FROM public.upsert_marketplace_gap(p_category_id => $1, p_interest_id => $2);

-- name: categories_after
-- A page of category ids for the full discovery run (keyset pagination).
-- params: $1 after id (nullable), $2 page size
SELECT id FROM public.marketplace_categories
WHERE $1::uuid IS NULL OR id > $1::uuid
ORDER BY id
LIMIT $2;

-- name: enqueue_discovery_for_user
-- Effect of a discovery.user-signup event: queue discovery for the user's interests (idempotent).
-- params: $1 user_id
SELECT public.enqueue_discovery_for_user(p_user_id => $1);

-- name: insert_intent_signal
-- Effect of a telemetry.signal event; runs in the same transaction as the event's ack, so a
-- redelivered event can never write twice.
-- params: $1 user_id, $2 name, $3 metadata jsonb
INSERT INTO public.intent_signals (user_id, name, metadata) VALUES ($1, $2, $3);

-- name: notif_outbox_drain
-- Deliver up to $1 outbox items (lease TTL $2 s); each is marked delivered and acked in one step.
-- params: $1 limit integer, $2 ttl_seconds integer
SELECT notification_id, user_id, channel, delivered
  FROM public.notif_outbox_drain($1, $2);

-- name: claim_job
-- Claim one ready job of the given kinds (0 or 1 row); jobs of other kinds are left to other workers.
-- params: $1 worker id, $2 kinds text[], $3 lease seconds
SELECT id, kind, payload, attempts, max_attempts, lease_token
FROM public.worker_claim_job(p_worker_id => $1, p_kinds => $2::text[], p_lease_seconds => $3);

-- name: complete_job
-- Mark a claimed job completed; false when the lease was lost (then the caller rolls back).
-- params: $1 id, $2 lease_token
SELECT public.worker_complete_job(p_id => $1, p_token => $2);

-- name: record_job_result
-- The result of a job completed in this transaction (complete_job runs first: it holds the row).
-- params: $1 id, $2 result jsonb
UPDATE public.worker_jobs SET result = $2::jsonb WHERE id = $1;

-- name: fail_job
-- Record a failed attempt of a job: 'pending' (retried after the policy's backoff), 'dlq'
-- (dead-lettered) or NULL (lease lost).
-- params: $1 id, $2 lease_token, $3 error text
SELECT public.worker_fail_job(p_id => $1, p_token => $2, p_error => $3);

-- name: act_as_service_role
-- The rest of this transaction runs as the service role (a trusted caller, as the API's service key):
-- a job's effect calls the platform's RPCs the way the service key would.
-- params: none
SELECT set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role": "service_role"}', true);

-- name: job_earnings_recompute
-- Effect of an earnings.recompute job: the user's ledger rewritten from its events when they differ.
-- params: $1 user_id
SELECT public.earnings_recompute(p_user_id => $1, p_preview => false);

-- name: job_notif_send
-- Effect of a notifications.send job: notif_send for the user (consent, quiet hours, daily cap apply).
-- NULL kind, payload: notif_send's defaults.
-- params: $1 user_id, $2 channel, $3 title, $4 body, $5 kind, $6 payload jsonb, $7 idempotency_key
SELECT public.notif_send(
    p_user_id => $1, p_channel => $2, p_title => $3, p_body => $4, p_kind => coalesce($5, 'general'),
    p_payload => coalesce($6::jsonb, '{}'::jsonb), p_idempotency_key => $7);
