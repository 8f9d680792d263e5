-- 610_web_admin_workers: what the admin workers page (/admin/workers) reads.
-- Owned by the web pages (600-649).
--
--   worker_jobs_overview()
--       -> table(kind text, status text, ct bigint, oldest_run_at timestamptz, last_activity timestamptz)
--       worker jobs per kind and status (vw_worker_jobs_health, which is service_role only).
--   worker_dead_letters(p_limit integer default 50)
--       -> table(id bigint, job_id bigint, kind text, attempts integer, reason text,
--                failed_at timestamptz, payload jsonb)
--       open (unresolved) dead letters, newest first; retry with worker_retry_dead_letter (150).
-- Both STABLE and SECURITY INVOKER: the admin read policies of 050 decide what a
-- client sees. A client that is not an admin gets 42501 (-> 403) instead of an
-- empty table, so the page can say why it shows nothing. service_role sees all.

create or replace function public._require_admin_client() returns void
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if auth.is_client() then
        if auth.uid() is null then
            raise exception 'not signed in' using errcode = '28000';
        end if;
        if not public.has_role(auth.uid(), 'admin') then
            raise exception 'only admins may see the worker jobs' using errcode = '42501';
        end if;
    end if;
end
$$;

create or replace function public.worker_jobs_overview()
returns table (kind text, status text, ct bigint, oldest_run_at timestamptz, last_activity timestamptz)
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    perform public._require_admin_client();
    return query
    select j.kind, j.status, count(*)::bigint, min(j.run_at), max(j.updated_at)
      from public.worker_jobs j
     group by j.kind, j.status
     order by j.kind, j.status;
end
$$;

create or replace function public.worker_dead_letters(p_limit integer default 50)
returns table (id bigint, job_id bigint, kind text, attempts integer, reason text, failed_at timestamptz,
               payload jsonb)
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    perform public._require_admin_client();
    if p_limit is null or p_limit not between 1 and 500 then
        raise exception 'p_limit must be between 1 and 500 (got %)', p_limit using errcode = '22023';
    end if;
    return query
    select d.id, d.job_id, d.kind, d.attempts, d.reason, d.created_at, d.payload
      from public.dead_letter_queue d
     where d.resolved_at is null
     order by d.created_at desc, d.id desc
     limit p_limit;
end
$$;

revoke all on function public._require_admin_client(), public.worker_jobs_overview(),
    public.worker_dead_letters(integer) from public;
grant execute on function public._require_admin_client(), public.worker_jobs_overview(),
    public.worker_dead_letters(integer) to authenticated, service_role;
