-- 180_rpc_queue_gc: forget finished queue work after a retention period.
--
--   gc_finished_queue_items(p_keep_days integer default 7) -> integer (rows deleted)
--       VOLATILE, service_role. Deletes discovery items in 'done', events in
--       'done' and worker jobs in 'completed' whose last update is older than
--       p_keep_days. Dead-lettered work ('error', 'dlq', dead_letter_queue) is
--       kept for people to look at.
-- Why: finished rows would otherwise pile up in the hot queues for ever, and
-- because enqueueing is idempotent on (interest_id, category_id, reason) and
-- (topic, key), deleting a finished row is also what lets the same discovery
-- run again later (a weekly refresh instead of never).

create or replace function public.gc_finished_queue_items(p_keep_days integer default 7) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_cutoff timestamptz;
    v_discovery integer;
    v_events integer;
    v_jobs integer;
begin
    if p_keep_days is null or p_keep_days < 1 then
        raise exception 'p_keep_days must be >= 1 (got %)', p_keep_days using errcode = '22023';
    end if;
    v_cutoff := now() - make_interval(days => p_keep_days);
    delete from public.marketplace_discovery_queue where status = 'done' and updated_at < v_cutoff;
    get diagnostics v_discovery = row_count;
    delete from public.events_queue where status = 'done' and updated_at < v_cutoff;
    get diagnostics v_events = row_count;
    -- A dead letter keeps its job_id (on delete set null only applies to deleted jobs; completed ones have none).
    delete from public.worker_jobs where status = 'completed' and updated_at < v_cutoff;
    get diagnostics v_jobs = row_count;
    return v_discovery + v_events + v_jobs;
end
$$;

revoke all on function public.gc_finished_queue_items(integer) from public;
grant execute on function public.gc_finished_queue_items(integer) to service_role;
