-- 400_performance: vector and JSONB indexes, hot-queue autovacuum (seed 000, Phase 6).
--
-- Vector indexes are HNSW, not the seeds' ivfflat (lists = 200): an ivfflat
-- index built over fewer rows than lists (our catalog has ~130 interests and
-- ~100 candidates) leaves most lists empty, and with the default probes = 1 an
-- index scan then returns a handful of rows or none -- the similarity leg of
-- the suggestions would silently vanish. HNSW needs no training, keeps high
-- recall at any size and is what pgvector >= 0.5 recommends. profiles has no
-- vector index: nothing searches profiles by similarity, and each profile
-- write would pay for it.
--
-- The (user_id, ts) b-tree indexes live with their tables (060, 070).

create index if not exists idx_interest_catalog_embedding_hnsw
    on public.interest_catalog using hnsw (embedding vector_cosine_ops);
create index if not exists idx_marketplace_candidates_embedding_hnsw
    on public.marketplace_candidates using hnsw (embedding vector_cosine_ops);

create index if not exists idx_intent_signals_metadata_gin
    on public.intent_signals using gin (metadata jsonb_path_ops);
create index if not exists idx_marketplace_listings_metadata_gin
    on public.marketplace_listings using gin (metadata jsonb_path_ops);
create index if not exists idx_entities_metadata_gin
    on public.entities using gin (metadata jsonb_path_ops);
create index if not exists idx_learning_events_context_gin
    on public.learning_events using gin (context jsonb_path_ops);

-- Hot queues churn (every item is updated 2-3 times): vacuum and analyze at 2 %
-- of the table instead of the default 20 % / 10 %.
alter table public.marketplace_discovery_queue set (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
alter table public.events_queue set (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
alter table public.worker_jobs set (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
alter table public.rate_limits set (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
alter table public.rate_limit_counters set (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
alter table public.idempotency_registry set (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
