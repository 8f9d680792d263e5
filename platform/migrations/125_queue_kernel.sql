-- 125_queue_kernel: the one queue kernel -- retry policy, lease / ack / fail / release / dead-letter.
--
-- Vocabulary. A queue is a table, named by its table (regclass). Its items are
--   queued -> leased -> done, or -> error (dead-lettered, shown in vw_dead_letter_queue).
-- The seeds name the stored leased status per queue ('processing' in the discovery queue,
-- seed 000's runbook; 'leased' in the events queue, seed 002's), so queue_policy.leased_status
-- holds that one word; every other word, and every rule, is the kernel's.
-- lease: hand out ready items (and items whose lease expired: their worker was lost) for a TTL,
--        FOR UPDATE SKIP LOCKED, so concurrent leasers never share an item.
-- ack: the holder marks it done. fail: the holder reports a failure (retry after a backoff, or
--        dead-letter). release: the holder gives it back unprocessed (no attempt counted).
-- An ack, fail or release with an expired lease or a stale token is a no-op (false / NULL).
-- An expired lease counts as a failed attempt: a poison item that kills its worker still
-- reaches the dead letters.
--
--   queue_policy(queue regclass, max_retries integer, backoff_first_s integer, backoff_cap_s integer,
--                leased_status text)
--       one row per queue; each limit is written here, once. service_role reads it
--       (platform/workers/retry.py), admins may read it.
--   queue_retry_delay(p_queue regclass, p_failures integer, p_max_retries integer default NULL) -> integer
--       THE retry decision: seconds to wait after the p_failures-th failure (1-based),
--       backoff_first_s * 2^(failures - 1) capped at backoff_cap_s (NULL = uncapped), or NULL
--       = give up (failures > max_retries; p_max_retries overrides the policy, e.g. per job).
--   queue_retry_schedule(p_queue regclass) -> table(failure integer, retry_in_s integer)
--       the whole schedule, one row per failure up to the one that dead-letters (retry_in_s NULL).
--   _queue_lease(p_item anyelement, p_limit, p_ttl_seconds, p_topic text default NULL) -> setof anyelement
--   _queue_ack(p_queue regclass, p_id, p_token) -> boolean
--   _queue_fail(p_queue regclass, p_id, p_token, p_error, p_retry_in_seconds default NULL)
--       -> text 'queued' | 'error' (dead-lettered) | NULL (lease lost)
--   _queue_release(p_queue regclass, p_id, p_token) -> boolean
-- The kernel functions serve every queue with the shape (id, status, attempts, last_error,
-- lease_token, lease_expires_at, available_at, priority): marketplace_discovery_queue (130)
-- and events_queue (140) wrap them in their public RPCs; `p_item` is a NULL of the queue's row
-- type (`null::public.events_queue`), so a lease returns whole rows of that table. worker_jobs
-- (150) keeps its own claim/complete/fail and dead-letter table but takes its retry decision
-- from queue_retry_delay. All VOLATILE unless noted, service_role only.

create table if not exists public.queue_policy (
    queue regclass primary key,
    max_retries integer not null check (max_retries between 0 and 25),
    backoff_first_s integer not null check (backoff_first_s >= 0),
    backoff_cap_s integer check (backoff_cap_s >= backoff_first_s),
    leased_status text not null default 'leased' check (leased_status in ('leased', 'processing', 'running')),
    updated_at timestamptz not null default now()
);

-- discovery and events: retried after 10, 20, 40, 80 s; the 5th failure dead-letters.
-- worker_jobs: 3 retries after 60, 120, 240 s (a job's own max_attempts overrides the 3).
insert into public.queue_policy (queue, max_retries, backoff_first_s, backoff_cap_s, leased_status) values
    ('public.marketplace_discovery_queue', 4, 10, 300, 'processing'),
    ('public.events_queue', 4, 10, 300, 'leased'),
    ('public.worker_jobs', 3, 60, null, 'running')
on conflict (queue) do update
    set max_retries = excluded.max_retries, backoff_first_s = excluded.backoff_first_s,
        backoff_cap_s = excluded.backoff_cap_s, leased_status = excluded.leased_status, updated_at = now();

alter table public.queue_policy enable row level security;
revoke all on public.queue_policy from anon, authenticated;
grant select on public.queue_policy to authenticated;
drop policy if exists queue_policy_admin_read on public.queue_policy;
create policy queue_policy_admin_read on public.queue_policy for select to authenticated
    using ((select public.has_role(auth.uid(), 'admin')));

create or replace function public.queue_retry_delay(p_queue regclass, p_failures integer, p_max_retries integer default null)
returns integer
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_policy public.queue_policy;
begin
    select * into v_policy from public.queue_policy where queue = p_queue;
    if not found then
        raise exception 'no queue_policy row for queue % (add one in 125_queue_kernel)', p_queue using errcode = '22023';
    end if;
    if p_failures is null or p_failures < 1 then
        raise exception 'p_failures must be >= 1 (got %)', p_failures using errcode = '22023';
    end if;
    if p_failures > coalesce(p_max_retries, v_policy.max_retries) then
        return null;
    end if;
    return least(v_policy.backoff_first_s * power(2, p_failures - 1), v_policy.backoff_cap_s)::integer;
end
$$;

create or replace function public.queue_retry_schedule(p_queue regclass)
returns table (failure integer, retry_in_s integer)
language sql stable
set search_path = public, pg_temp
as $$
    select f, public.queue_retry_delay(p_queue, f)
      from public.queue_policy p, generate_series(1, p.max_retries + 1) f
     where p.queue = p_queue
     order by f
$$;

create or replace function public._queue_leased_status(p_queue regclass) returns text
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_status text;
begin
    select p.leased_status into v_status from public.queue_policy p where p.queue = p_queue;
    if v_status is null then
        raise exception 'no queue_policy row for queue % (add one in 125_queue_kernel)', p_queue using errcode = '22023';
    end if;
    return v_status;
end
$$;

create or replace function public._queue_lease(
    p_item anyelement, p_limit integer, p_ttl_seconds integer, p_topic text default null)
returns setof anyelement
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_queue regclass := pg_typeof(p_item)::text::regclass;
    v_leased text := public._queue_leased_status(v_queue);
    v_topic text := case when p_topic is null then '' else 'and q.topic = $2' end;
begin
    if p_limit is null or p_limit not between 1 and 1000 then
        raise exception 'p_limit must be between 1 and 1000 (got %)', p_limit using errcode = '22023';
    end if;
    if p_ttl_seconds is null or p_ttl_seconds not between 1 and 3600 then
        raise exception 'p_ttl_seconds must be between 1 and 3600 (got %)', p_ttl_seconds using errcode = '22023';
    end if;

    -- Expired leases on their last attempt go to the dead letters instead of back to work.
    execute format($sql$
        with dead as (
            select q.id from %1$s q
             where q.status = %3$L and q.lease_expires_at < now() %2$s
               and public.queue_retry_delay($1, q.attempts + 1) is null
             for update skip locked
        )
        update %1$s q
           set status = 'error', attempts = q.attempts + 1, last_error = 'lease expired (worker lost)',
               lease_token = null, lease_expires_at = null
          from dead where q.id = dead.id
        $sql$, v_queue, v_topic, v_leased)
        using v_queue, p_topic;

    return query execute format($sql$
        with picked as (
            select q.id from %1$s q
             where ((q.status = 'queued' and q.available_at <= now())
                    or (q.status = %3$L and q.lease_expires_at < now())) %2$s
             order by q.priority desc, q.available_at, q.id
             limit $3
             for update skip locked
        )
        update %1$s q
           set attempts = q.attempts + case when q.status = %3$L then 1 else 0 end,
               last_error = case when q.status = %3$L then 'lease expired (worker lost)' else q.last_error end,
               status = %3$L,
               lease_token = gen_random_uuid(),
               lease_expires_at = now() + make_interval(secs => $4)
          from picked
         where q.id = picked.id
        returning q.*
        $sql$, v_queue, v_topic, v_leased)
        using v_queue, p_topic, p_limit, p_ttl_seconds;
end
$$;

create or replace function public._queue_ack(p_queue regclass, p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_acked bigint;
begin
    execute format($sql$
        update %s q
           set status = 'done', lease_token = null, lease_expires_at = null, last_error = null
         where q.id = $1 and q.status = %L and q.lease_token = $2 and q.lease_expires_at >= now()
        returning q.id
        $sql$, p_queue, public._queue_leased_status(p_queue))
        into v_acked using p_id, p_token;
    return v_acked is not null;
end
$$;

create or replace function public._queue_fail(
    p_queue regclass, p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default null)
returns text
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_status text;
begin
    if p_retry_in_seconds is not null and p_retry_in_seconds not between 0 and 86400 then
        raise exception 'p_retry_in_seconds must be between 0 and 86400 (got %)', p_retry_in_seconds
            using errcode = '22023';
    end if;
    -- The retry decision is the policy's (queue_retry_delay); p_retry_in_seconds only overrides the wait.
    execute format($sql$
        with decided as (
            select q.id, public.queue_retry_delay($1, q.attempts + 1) as delay_s from %s q
             where q.id = $2 and q.status = %L and q.lease_token = $3 and q.lease_expires_at >= now()
               for update
        )
        update %s q
           set attempts = q.attempts + 1,
               status = case when d.delay_s is null then 'error' else 'queued' end,
               last_error = left(coalesce(nullif($4, ''), 'unknown error'), 2000),
               available_at = case when d.delay_s is null then q.available_at
                                   else now() + make_interval(secs => coalesce($5, d.delay_s)) end,
               lease_token = null,
               lease_expires_at = null
          from decided d
         where q.id = d.id
        returning q.status
        $sql$, p_queue, public._queue_leased_status(p_queue), p_queue)
        into v_status using p_queue, p_id, p_token, p_error, p_retry_in_seconds;
    return v_status;
end
$$;

create or replace function public._queue_release(p_queue regclass, p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_released bigint;
begin
    execute format($sql$
        update %s q
           set status = 'queued', lease_token = null, lease_expires_at = null, available_at = now()
         where q.id = $1 and q.status = %L and q.lease_token = $2 and q.lease_expires_at >= now()
        returning q.id
        $sql$, p_queue, public._queue_leased_status(p_queue))
        into v_released using p_id, p_token;
    return v_released is not null;
end
$$;

revoke all on function public.queue_retry_delay(regclass, integer, integer), public.queue_retry_schedule(regclass),
    public._queue_leased_status(regclass), public._queue_lease(anyelement, integer, integer, text), public._queue_ack(regclass, bigint, uuid),
    public._queue_fail(regclass, bigint, uuid, text, integer), public._queue_release(regclass, bigint, uuid)
    from public;
grant execute on function public.queue_retry_delay(regclass, integer, integer), public.queue_retry_schedule(regclass),
    public._queue_leased_status(regclass), public._queue_lease(anyelement, integer, integer, text), public._queue_ack(regclass, bigint, uuid),
    public._queue_fail(regclass, bigint, uuid, text, integer), public._queue_release(regclass, bigint, uuid)
    to service_role;
