-- 150_rpc_worker_jobs: background jobs with backoff and a dead letter queue,
-- and the idempotency registry.
--
--   worker_enqueue_job(p_kind text, p_payload jsonb default '{}', p_idempotency_key text default NULL,
--                      p_run_at timestamptz default NULL, p_max_attempts integer default NULL,
--                      p_priority integer default 0)
--       -> table(id bigint, created boolean)   created = false: same idempotency key already enqueued
--   worker_claim_job(p_worker_id text, p_kinds text[] default NULL, p_lease_seconds integer default 300)
--       -> table(id bigint, kind text, payload jsonb, attempts integer, max_attempts integer,
--                idempotency_key text, lease_token uuid, lease_expires_at timestamptz)   0 or 1 row
--   worker_complete_job(p_id bigint, p_token uuid, p_result jsonb default NULL) -> boolean (false = lease lost)
--   worker_fail_job(p_id bigint, p_token uuid, p_error text) -> text 'pending' | 'dlq' | NULL (lease lost)
--   worker_retry_dead_letter(p_dead_letter_id bigint) -> bigint (job id, pending again)   admin or service_role
--   check_idempotency(p_key text, p_scope text default 'global') -> boolean (seen within TTL)   STABLE
--   record_idempotency(p_key text, p_result jsonb default NULL, p_ttl_seconds integer default 86400,
--                      p_scope text default 'global') -> boolean
--       true = recorded now (the caller owns the effect); false = already recorded
--       and not expired. Use it as the atomic claim: do the effect only on true.
--   gc_idempotency_registry() -> integer (expired keys deleted)
-- service_role only unless noted.
--
-- The queue kernel's (125) lease / ack / fail on worker_jobs, in the seeds' words (003):
-- claim = lease (one job, p_kinds = the topics), complete = ack (plus the result), fail = fail.
-- Policy: queue_policy's worker_jobs row -- attempts counts the failures, max_attempts the
-- retries allowed (NULL = the policy's 3). A failure with retries left reschedules at now() +
-- the backoff -- 60, 120, 240 s -- and the failure after the last retry moves the job to 'dlq';
-- the trigger worker_jobs_dead_letter then writes dead_letter_queue(job_id, kind, payload,
-- reason, attempts = the retries spent, 3). A job whose lease expired (worker lost) is a failure
-- too (the next claim of its kind fails it: backoff, or the DLQ), so a job that kills its worker
-- still ends in the DLQ.

drop function if exists public._worker_job_failed(bigint, text);

create or replace function public._worker_job_dead_lettered() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    insert into public.dead_letter_queue (job_id, kind, payload, reason, attempts)
    values (new.id, new.kind, new.payload,
            format('gave up after %s retries: %s', new.attempts - 1, new.last_error), new.attempts - 1);
    return null;
end
$$;

create or replace trigger worker_jobs_dead_letter
    after update of status on public.worker_jobs
    for each row when (new.status = 'dlq' and old.status is distinct from 'dlq')
    execute function public._worker_job_dead_lettered();

create or replace function public.worker_enqueue_job(
    p_kind text, p_payload jsonb default '{}'::jsonb, p_idempotency_key text default null,
    p_run_at timestamptz default null, p_max_attempts integer default null, p_priority integer default 0)
returns table (id bigint, created boolean)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_id bigint;
begin
    if p_kind is null or p_kind !~ '^[a-z0-9_.:-]{1,64}$' then
        raise exception 'job kind must be 1-64 of a-z 0-9 _ . : - (got "%")', p_kind using errcode = '22023';
    end if;
    if p_max_attempts not between 0 and 25 then
        raise exception 'p_max_attempts must be between 0 and 25 (got %)', p_max_attempts using errcode = '22023';
    end if;
    insert into public.worker_jobs (kind, payload, idempotency_key, run_at, max_attempts, priority)
    values (p_kind, coalesce(p_payload, '{}'::jsonb), p_idempotency_key, coalesce(p_run_at, now()),
            p_max_attempts, coalesce(p_priority, 0))
    on conflict (idempotency_key) do nothing
    returning worker_jobs.id into v_id;
    if v_id is not null then
        return query select v_id, true;
    else
        return query select j.id, false from public.worker_jobs j where j.idempotency_key = p_idempotency_key;
    end if;
end
$$;

create or replace function public.worker_claim_job(
    p_worker_id text, p_kinds text[] default null, p_lease_seconds integer default 300)
returns table (id bigint, kind text, payload jsonb, attempts integer, max_attempts integer,
               idempotency_key text, lease_token uuid, lease_expires_at timestamptz)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_job public.worker_jobs;
begin
    if p_worker_id is null or length(p_worker_id) not between 1 and 200 then
        raise exception 'p_worker_id is required (1-200 characters)' using errcode = '22023';
    end if;
    select * into v_job from public._queue_lease(null::public.worker_jobs, 1, p_lease_seconds, p_kinds);
    if v_job.id is null then
        return;
    end if;
    update public.worker_jobs j set locked_by = p_worker_id where j.id = v_job.id;
    return query select v_job.id, v_job.kind, v_job.payload, v_job.attempts,
                        coalesce(v_job.max_attempts, (public._queue_policy_for('public.worker_jobs')).max_retries),
                        v_job.idempotency_key, v_job.lease_token, v_job.lease_expires_at;
end
$$;

create or replace function public.worker_complete_job(p_id bigint, p_token uuid, p_result jsonb default null)
returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    if not public._queue_ack('public.worker_jobs', p_id, p_token) then
        return false;
    end if;
    update public.worker_jobs j set result = p_result, completed_at = now() where j.id = p_id;
    return true;
end
$$;

create or replace function public.worker_fail_job(p_id bigint, p_token uuid, p_error text) returns text
language sql volatile
set search_path = public, pg_temp
as $$
    select public._queue_fail('public.worker_jobs', p_id, p_token, p_error)
$$;

-- Admins retry from the admin workers page (as authenticated), workers as service_role.
create or replace function public.worker_retry_dead_letter(p_dead_letter_id bigint) returns bigint
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_dlq public.dead_letter_queue;
begin
    if auth.is_client() and not public.has_role(auth.uid(), 'admin') then
        raise exception 'only admins may retry dead-lettered jobs' using errcode = '42501';
    end if;
    select * into v_dlq from public.dead_letter_queue where id = p_dead_letter_id for update;
    if not found then
        raise exception 'unknown dead letter %', p_dead_letter_id using errcode = 'P0002';
    end if;
    if v_dlq.resolved_at is not null then
        raise exception 'dead letter % was already %', p_dead_letter_id, v_dlq.resolution using errcode = '22023';
    end if;
    if v_dlq.job_id is null then
        raise exception 'dead letter % has no job left to retry', p_dead_letter_id using errcode = 'P0002';
    end if;
    perform public._queue_revive('public.worker_jobs', v_dlq.job_id);
    update public.dead_letter_queue set resolved_at = now(), resolution = 'retried' where id = p_dead_letter_id;
    return v_dlq.job_id;
end
$$;

create or replace function public.check_idempotency(p_key text, p_scope text default 'global') returns boolean
language sql stable
set search_path = public, pg_temp
as $$
    select exists (
        select 1 from public.idempotency_registry r
         where r.scope = coalesce(p_scope, 'global') and r.key = p_key and r.expires_at > now())
$$;

create or replace function public.record_idempotency(
    p_key text, p_result jsonb default null, p_ttl_seconds integer default 86400, p_scope text default 'global')
returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_recorded boolean;
begin
    if p_key is null or length(p_key) not between 1 and 200 then
        raise exception 'idempotency key must be 1-200 characters' using errcode = '22023';
    end if;
    if p_ttl_seconds is null or p_ttl_seconds not between 1 and 2592000 then
        raise exception 'p_ttl_seconds must be between 1 and 2592000 (got %)', p_ttl_seconds using errcode = '22023';
    end if;
    insert into public.idempotency_registry as r (scope, key, result, created_at, expires_at)
    values (coalesce(p_scope, 'global'), p_key, p_result, now(), now() + make_interval(secs => p_ttl_seconds))
    on conflict (scope, key) do update
        set result = excluded.result, created_at = excluded.created_at, expires_at = excluded.expires_at
        where r.expires_at <= now()
    returning true into v_recorded;
    return coalesce(v_recorded, false);
end
$$;

create or replace function public.gc_idempotency_registry() returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_count integer;
begin
    delete from public.idempotency_registry where expires_at <= now();
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

revoke all on function public._worker_job_dead_lettered(),
    public.worker_enqueue_job(text, jsonb, text, timestamptz, integer, integer),
    public.worker_claim_job(text, text[], integer), public.worker_complete_job(bigint, uuid, jsonb),
    public.worker_fail_job(bigint, uuid, text), public.worker_retry_dead_letter(bigint),
    public.check_idempotency(text, text), public.record_idempotency(text, jsonb, integer, text),
    public.gc_idempotency_registry() from public;
grant execute on function public.worker_enqueue_job(text, jsonb, text, timestamptz, integer, integer),
    public.worker_claim_job(text, text[], integer), public.worker_complete_job(bigint, uuid, jsonb),
    public.worker_fail_job(bigint, uuid, text), public.worker_retry_dead_letter(bigint),
    public.check_idempotency(text, text), public.record_idempotency(text, jsonb, integer, text),
    public.gc_idempotency_registry() to service_role;
grant execute on function public.worker_retry_dead_letter(bigint) to authenticated;
