-- A deliberately broken build for tests only: publishing and enqueueing drop their idempotency keys.
-- enqueue_event makes every delivery's key unique and worker_enqueue_job forgets the job's key,
-- so replayed deliveries each become new work. The duplicate-delivery drill must fail.
-- Restored by re-applying migrations 140 and 150.

create or replace function public.enqueue_event(p_topic text, p_key text, p_payload jsonb default '{}'::jsonb)
returns table (id bigint, created boolean)
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    return query
    insert into public.events_queue (topic, key, payload)
    values (p_topic, p_key || ':' || gen_random_uuid(), coalesce(p_payload, '{}'::jsonb))
    returning events_queue.id, true;
end
$$;

create or replace function public.worker_enqueue_job(
    p_kind text, p_payload jsonb default '{}'::jsonb, p_idempotency_key text default null,
    p_run_at timestamptz default null, p_max_attempts integer default null, p_priority integer default 0)
returns table (id bigint, created boolean)
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    return query
    insert into public.worker_jobs (kind, payload, run_at, max_attempts, priority)
    values (p_kind, coalesce(p_payload, '{}'::jsonb), coalesce(p_run_at, now()), p_max_attempts,
            coalesce(p_priority, 0))
    returning worker_jobs.id, true;
end
$$;
