-- name: critical_tables
-- 2A: the kernel tables the cutover guide requires (expect all 5).
-- params: none
SELECT table_name::text AS table_name FROM information_schema.tables
WHERE table_schema = 'public'
  AND table_name IN ('learning_events', 'rate_limits', 'marketplace_discovery_queue', 'events_queue', 'feature_flags')
ORDER BY table_name;

-- name: rls_policies
-- 2A: RLS policies on the personal and system tables (expect at least one per table).
-- params: none
SELECT tablename::text AS relname, policyname::text AS polname FROM pg_policies
WHERE schemaname = 'public'
  AND tablename IN ('user_interests', 'intent_signals', 'marketplace_discovery_queue', 'learning_events', 'rate_limits')
ORDER BY tablename, policyname;

-- name: discovery_queue_health
-- 2B/2G: discovery queue by status.
-- params: none
SELECT * FROM public.vw_discovery_queue_health;

-- name: dead_letter_queue
-- 2B: dead-lettered items (should be empty on a fresh stack).
-- params: none
SELECT * FROM public.vw_dead_letter_queue LIMIT 5;

-- name: events_queue_health
-- 2B: events queue by topic and status.
-- params: none
SELECT * FROM public.vw_events_queue_health;

-- name: policy_health
-- 2C/2H: bandit policy health over the last 24 h.
-- params: none
SELECT * FROM public.vw_policy_health;

-- name: slo_burnrate
-- 2C: 5-minute vs 24-hour p95 per surface.
-- params: none
SELECT * FROM public.vw_slo_burnrate;

-- name: kernel_slos
-- 2C: p95 per kernel path over the last hour.
-- params: none
SELECT * FROM public.vw_kernel_slos;

-- name: seed_counts
-- 2D: seeded catalog sizes (the guide expects at least 6 of each).
-- params: none
SELECT (SELECT count(*) FROM public.interest_catalog) AS interest_count,
       (SELECT count(*) FROM public.marketplace_categories) AS category_count,
       (SELECT count(*) FROM public.marketplace_interest_map) AS mapping_count,
       (SELECT count(*) FROM public.marketplace_candidates) AS candidate_count;

-- name: journey_interests
-- 2E: the guide's three interests when seeded, else the three most popular active ones.
-- params: none
SELECT id FROM public.interest_catalog
WHERE is_active
ORDER BY id IN ('11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222',
                '33333333-3333-3333-3333-333333333333') DESC,
         popularity DESC, id
LIMIT 3;

-- name: set_user_interest
-- 2E: the guide's direct insert of a user interest (upsert).
-- params: $1 user_id, $2 interest_id, $3 affinity
INSERT INTO public.user_interests (user_id, interest_id, affinity)
VALUES ($1, $2, $3)
ON CONFLICT (user_id, interest_id) DO UPDATE SET affinity = EXCLUDED.affinity;

-- name: ensure_category_for_interest
-- 2E: make sure the interest has a category (and queue its discovery).
-- params: $1 interest_id
SELECT public.ensure_category_for_interest($1);

-- name: enqueue_discovery_for_user
-- 2E: queue discovery for every interest of the user.
-- params: $1 user_id
SELECT public.enqueue_discovery_for_user($1);

-- name: queue_items_for_interests
-- 2E/2G: the discovery queue rows of the journey's interests.
-- params: $1 interest ids uuid[]
SELECT id, interest_id, status, attempts FROM public.marketplace_discovery_queue
WHERE interest_id = ANY($1::uuid[])
ORDER BY id;

-- name: gaps
-- 2G: a few supply gaps (may be empty, depends on discovery).
-- params: none
SELECT * FROM public.marketplace_gaps ORDER BY updated_at DESC LIMIT 10;

-- name: suggestions
-- 2G: the suggestions smoke test in SQL.
-- params: $1 user_id
SELECT * FROM public.marketplace_suggestions_for_user($1, 12);

-- name: insert_learning_event
-- 2H: the guide's learning heartbeat.
-- params: $1 user_id
INSERT INTO public.learning_events (user_id, surface, candidate_id, policy, p_exp, score, explored, reward, context)
VALUES ($1, 'feed', 'post_abc', 'epsilon_greedy_v1', 0.08, 0.42, false, 0.6, '{"source": "gauntlet smoke"}'::jsonb)
RETURNING id;
