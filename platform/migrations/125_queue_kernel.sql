-- 125_queue_kernel: the one queue kernel -- retry policy, lease / ack / fail / release / dead-letter.
--
-- Vocabulary. A queue is a table, named by its table (regclass). Its items are
--   queued -> leased -> done, or -> dead (dead-lettered, shown in vw_dead_letter_queue).
-- The seeds name the stored words per queue: the discovery queue stores leased as 'processing'
-- (seed 000's runbook), the events queue 'leased' (seed 002's), worker jobs
-- pending / running / completed / dlq (seed 003's), and jobs keep their ready time in run_at
-- (the others in available_at). queue_policy holds those words and column names, once per
-- queue; every rule is the kernel's.
-- lease: hand out ready items for a TTL, FOR UPDATE SKIP LOCKED, so concurrent leasers never
--        share an item. Items whose lease expired (their worker was lost) are failed first:
--        the lost lease counts as a failed attempt, so a poison item that kills its worker
--        still reaches the dead letters; the policy says when such an item is retried
--        (lost_lease_retry_s: 0 = at once, keeping its place; NULL = after the backoff).
-- ack: the holder marks it done. fail: the holder reports a failure (retry after a backoff, or
--        dead-letter). release: the holder gives it back unprocessed (no attempt counted).
-- An ack, fail or release with an expired lease or a stale token is a no-op (false / NULL).
-- attempts counts the failures (lost leases included), the one that dead-letters too.
--
--   queue_policy(queue regclass, max_retries integer, backoff_first_s integer, backoff_cap_s integer,
--                max_lease_s integer, lost_lease_retry_s integer, queued_status, leased_status,
--                done_status, dead_status text, ready_at_column, topic_column,
--                item_max_retries_column name)
--       one row per queue; each limit and each stored word is written here, once. service_role
--       reads it (platform/workers/retry.py), admins may read it.
--   queue_retry_delay(p_queue regclass, p_failures integer, p_max_retries integer default NULL) -> integer
--       THE retry decision: seconds to wait after the p_failures-th failure (1-based),
--       backoff_first_s * 2^(failures - 1) capped at backoff_cap_s (NULL = uncapped), or NULL
--       = give up (failures > max_retries; p_max_retries overrides the policy, e.g. per job).
--   queue_retry_schedule(p_queue regclass) -> table(failure integer, retry_in_s integer)
--       the whole schedule, one row per failure up to the one that dead-letters (retry_in_s NULL).
--   _queue_policy_for(p_queue regclass) -> queue_policy   STABLE; refuses a table without a policy row.
--   _queue_lease(p_item anyelement, p_limit, p_ttl_seconds, p_topics text[] default NULL) -> setof anyelement
--       p_topics: only items whose topic_column is one of them (NULL = any).
--   _queue_ack(p_queue regclass, p_id, p_token) -> boolean
--   _queue_fail(p_queue regclass, p_id, p_token, p_error, p_retry_in_seconds default NULL)
--       -> text: the stored queued word (retry) | the dead word (dead-lettered) | NULL (lease lost)
--   _queue_release(p_queue regclass, p_id, p_token) -> boolean
--   _queue_revive(p_queue regclass, p_id) -> boolean
--       a dead-lettered item queued again now, its count of failures back to 0 (false = not dead).
--   _queue_failed(p_queue regclass, p_ids bigint[], p_error, p_retry_in_seconds, p_lost boolean)
--       -> table(id, status): the failure rule (count it, then retry or dead-letter) applied
--          to items the caller holds; fail and lease (lost leases) both go through it.
-- The kernel functions serve every queue with the shape (id, status, attempts, last_error,
-- lease_token, lease_expires_at, <ready_at_column>, priority): marketplace_discovery_queue (130),
-- events_queue (140) and worker_jobs (150) wrap them in their public RPCs; `p_item` is a NULL of
-- the queue's row type (`null::public.events_queue`), so a lease returns whole rows of that
-- table. A queue with a dead-letter table of its own fills it from its dead word (worker_jobs:
-- dead_letter_queue, by a trigger in 150). All VOLATILE unless noted, service_role only.

create table if not exists public.queue_policy (
    queue regclass primary key,
    max_retries integer not null check (max_retries between 0 and 25),
    backoff_first_s integer not null check (backoff_first_s >= 0),
    backoff_cap_s integer check (backoff_cap_s >= backoff_first_s),
    leased_status text not null default 'leased' check (leased_status in ('leased', 'processing', 'running')),
    updated_at timestamptz not null default now()
);
alter table public.queue_policy
    add column if not exists max_lease_s integer not null default 3600 check (max_lease_s between 1 and 86400),
    add column if not exists lost_lease_retry_s integer default 0 check (lost_lease_retry_s >= 0),
    add column if not exists queued_status text not null default 'queued' check (queued_status in ('queued', 'pending')),
    add column if not exists done_status text not null default 'done' check (done_status in ('done', 'completed')),
    add column if not exists dead_status text not null default 'error' check (dead_status in ('error', 'dlq')),
    add column if not exists ready_at_column name not null default 'available_at'
        check (ready_at_column in ('available_at', 'run_at')),
    add column if not exists topic_column name check (topic_column in ('topic', 'kind')),
    add column if not exists item_max_retries_column name check (item_max_retries_column in ('max_attempts'));

-- discovery and events: retried after 10, 20, 40, 80 s; the 5th failure dead-letters; a lost
-- lease is retried at once (the worker was lost, not the item); leases of up to an hour.
-- worker_jobs: 3 retries after 60, 120, 240 s (a job's own max_attempts overrides the 3), a lost
-- lease waits the backoff like any failure; leases of up to a day.
insert into public.queue_policy as p (queue, max_retries, backoff_first_s, backoff_cap_s, max_lease_s, lost_lease_retry_s,
                                      queued_status, leased_status, done_status, dead_status,
                                      ready_at_column, topic_column, item_max_retries_column) values
    ('public.marketplace_discovery_queue', 4, 10, 300, 3600, 0, 'queued', 'processing', 'done', 'error',
     'available_at', null, null),
    ('public.events_queue', 4, 10, 300, 3600, 0, 'queued', 'leased', 'done', 'error', 'available_at', 'topic', null),
    ('public.worker_jobs', 3, 60, null, 86400, null, 'pending', 'running', 'completed', 'dlq',
     'run_at', 'kind', 'max_attempts')
on conflict (queue) do update
    set max_retries = excluded.max_retries, backoff_first_s = excluded.backoff_first_s,
        backoff_cap_s = excluded.backoff_cap_s, max_lease_s = excluded.max_lease_s,
        lost_lease_retry_s = excluded.lost_lease_retry_s, queued_status = excluded.queued_status,
        leased_status = excluded.leased_status, done_status = excluded.done_status,
        dead_status = excluded.dead_status, ready_at_column = excluded.ready_at_column,
        topic_column = excluded.topic_column, item_max_retries_column = excluded.item_max_retries_column,
        updated_at = now();

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

drop function if exists public._queue_leased_status(regclass);
drop function if exists public._queue_lease(anyelement, integer, integer, text);

create or replace function public._queue_policy_for(p_queue regclass) returns public.queue_policy
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_policy public.queue_policy;
begin
    select * into v_policy from public.queue_policy p where p.queue = p_queue;
    if not found then
        raise exception 'no queue_policy row for queue % (add one in 125_queue_kernel)', p_queue using errcode = '22023';
    end if;
    return v_policy;
end
$$;

create or replace function public._queue_failed(
    p_queue regclass, p_ids bigint[], p_error text, p_retry_in_seconds integer, p_lost boolean)
returns table (id bigint, status text)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_policy public.queue_policy := public._queue_policy_for(p_queue);
begin
    -- The retry decision is the policy's (queue_retry_delay, with the item's own limit where the
    -- queue has one); the wait is the caller's, or for a lost lease the policy's, when given.
    return query execute format($sql$
        with decided as (
            select q.id, public.queue_retry_delay($1, q.attempts + 1, %4$s) as delay_s from %1$s q
             where q.id = any ($2)
        ), waits as (
            select d.id, d.delay_s,
                   case when $5 then coalesce(%5$L::integer, d.delay_s) else coalesce($4, d.delay_s) end as wait_s
              from decided d
        )
        update %1$s q
           set attempts = q.attempts + 1,
               status = case when w.delay_s is null then %3$L else %2$L end,
               last_error = left(coalesce(nullif($3, ''), 'unknown error'), 2000),
               %6$I = case when w.delay_s is null or ($5 and w.wait_s = 0) then q.%6$I
                           else now() + make_interval(secs => w.wait_s) end,
               lease_token = null,
               lease_expires_at = null
          from waits w
         where q.id = w.id
        returning q.id, q.status
        $sql$, p_queue, v_policy.queued_status, v_policy.dead_status,
        coalesce('q.' || quote_ident(v_policy.item_max_retries_column), 'null'), v_policy.lost_lease_retry_s,
        v_policy.ready_at_column)
        using p_queue, p_ids, p_error, p_retry_in_seconds, p_lost;
end
$$;

create or replace function public._queue_lease(
    p_item anyelement, p_limit integer, p_ttl_seconds integer, p_topics text[] default null)
returns setof anyelement
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_queue regclass := pg_typeof(p_item)::text::regclass;
    v_policy public.queue_policy := public._queue_policy_for(v_queue);
    v_topic text := case when p_topics is null then '' else format('and q.%I = any ($2)', v_policy.topic_column) end;
    v_lost bigint[];
begin
    if p_limit is null or p_limit not between 1 and 1000 then
        raise exception 'p_limit must be between 1 and 1000 (got %)', p_limit using errcode = '22023';
    end if;
    if p_ttl_seconds is null or p_ttl_seconds not between 1 and v_policy.max_lease_s then
        raise exception 'the lease TTL must be between 1 and % seconds (got %)', v_policy.max_lease_s, p_ttl_seconds
            using errcode = '22023';
    end if;

    -- Expired leases (their worker was lost) are failures: retried or dead-lettered by the rule.
    execute format($sql$
        select array_agg(lost.id) from (
            select q.id from %1$s q
             where q.status = %3$L and q.lease_expires_at < now() %2$s
             for update skip locked
        ) lost
        $sql$, v_queue, v_topic, v_policy.leased_status)
        into v_lost using v_queue, p_topics;
    if v_lost is not null then
        perform public._queue_failed(v_queue, v_lost, 'lease expired (worker lost)', null, true);
    end if;

    return query execute format($sql$
        with picked as (
            select q.id from %1$s q
             where q.status = %4$L and q.%5$I <= now() %2$s
             order by q.priority desc, q.%5$I, q.id
             limit $3
             for update skip locked
        )
        update %1$s q
           set status = %3$L,
               lease_token = gen_random_uuid(),
               lease_expires_at = now() + make_interval(secs => $4)
          from picked
         where q.id = picked.id
        returning q.*
        $sql$, v_queue, v_topic, v_policy.leased_status, v_policy.queued_status, v_policy.ready_at_column)
        using v_queue, p_topics, p_limit, p_ttl_seconds;
end
$$;

create or replace function public._queue_ack(p_queue regclass, p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_policy public.queue_policy := public._queue_policy_for(p_queue);
    v_acked bigint;
begin
    execute format($sql$
        update %s q
           set status = %L, lease_token = null, lease_expires_at = null, last_error = null
         where q.id = $1 and q.status = %L and q.lease_token = $2 and q.lease_expires_at >= now()
        returning q.id
        $sql$, p_queue, v_policy.done_status, v_policy.leased_status)
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
    v_held bigint;
    v_status text;
begin
    if p_retry_in_seconds is not null and p_retry_in_seconds not between 0 and 86400 then
        raise exception 'p_retry_in_seconds must be between 0 and 86400 (got %)', p_retry_in_seconds
            using errcode = '22023';
    end if;
    execute format($sql$
        select q.id from %s q
         where q.id = $1 and q.status = %L and q.lease_token = $2 and q.lease_expires_at >= now()
           for update
        $sql$, p_queue, (public._queue_policy_for(p_queue)).leased_status)
        into v_held using p_id, p_token;
    if v_held is null then
        return null;
    end if;
    select f.status into v_status from public._queue_failed(p_queue, array[v_held], p_error, p_retry_in_seconds, false) f;
    return v_status;
end
$$;

create or replace function public._queue_release(p_queue regclass, p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_policy public.queue_policy := public._queue_policy_for(p_queue);
    v_released bigint;
begin
    execute format($sql$
        update %1$s q
           set status = %2$L, lease_token = null, lease_expires_at = null, %4$I = now()
         where q.id = $1 and q.status = %3$L and q.lease_token = $2 and q.lease_expires_at >= now()
        returning q.id
        $sql$, p_queue, v_policy.queued_status, v_policy.leased_status, v_policy.ready_at_column)
        into v_released using p_id, p_token;
    return v_released is not null;
end
$$;

create or replace function public._queue_revive(p_queue regclass, p_id bigint) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_policy public.queue_policy := public._queue_policy_for(p_queue);
    v_revived bigint;
begin
    execute format($sql$
        update %1$s q
           set status = %2$L, attempts = 0, last_error = null, %4$I = now()
         where q.id = $1 and q.status = %3$L
        returning q.id
        $sql$, p_queue, v_policy.queued_status, v_policy.dead_status, v_policy.ready_at_column)
        into v_revived using p_id;
    return v_revived is not null;
end
$$;

revoke all on function public.queue_retry_delay(regclass, integer, integer), public.queue_retry_schedule(regclass),
    public._queue_policy_for(regclass), public._queue_failed(regclass, bigint[], text, integer, boolean),
    public._queue_lease(anyelement, integer, integer, text[]), public._queue_ack(regclass, bigint, uuid),
    public._queue_fail(regclass, bigint, uuid, text, integer), public._queue_release(regclass, bigint, uuid),
    public._queue_revive(regclass, bigint)
    from public;
grant execute on function public.queue_retry_delay(regclass, integer, integer), public.queue_retry_schedule(regclass),
    public._queue_policy_for(regclass), public._queue_failed(regclass, bigint[], text, integer, boolean),
    public._queue_lease(anyelement, integer, integer, text[]), public._queue_ack(regclass, bigint, uuid),
    public._queue_fail(regclass, bigint, uuid, text, integer), public._queue_release(regclass, bigint, uuid),
    public._queue_revive(regclass, bigint)
    to service_role;
