-- 130_rpc_discovery_queue: lease / ack / fail on marketplace_discovery_queue.
--
--   lease_discovery_items(p_limit integer default 10, p_ttl_seconds integer default 120)
--       -> table(id bigint, interest_id uuid, category_id uuid, reason text, user_id uuid,
--                attempts integer, lease_token uuid, lease_expires_at timestamptz)
--   ack_discovery_item(p_id bigint, p_token uuid) -> boolean
--       true = done; false = the lease was lost (expired, re-leased or wrong token): a no-op.
--   fail_discovery_item(p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default NULL)
--       -> text: 'queued' (retry after backoff), 'error' (5th failure: dead-lettered,
--          visible in vw_dead_letter_queue), or NULL when the lease was lost (no-op).
--       Default backoff 2^attempts * 5 s, at most 300 s (10, 20, 40, 80 s).
-- All VOLATILE, service_role only.
--
-- Leasing is one statement per step, FOR UPDATE SKIP LOCKED, so concurrent
-- workers never lease the same item. An expired lease (a worker that died
-- mid-batch) is re-leasable and counts as a failed attempt, so a poison item
-- that kills its worker still reaches the DLQ after 5 attempts.

create or replace function public.lease_discovery_items(p_limit integer default 10, p_ttl_seconds integer default 120)
returns table (id bigint, interest_id uuid, category_id uuid, reason text, user_id uuid, attempts integer,
               lease_token uuid, lease_expires_at timestamptz)
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    if p_limit is null or p_limit not between 1 and 1000 then
        raise exception 'p_limit must be between 1 and 1000 (got %)', p_limit using errcode = '22023';
    end if;
    if p_ttl_seconds is null or p_ttl_seconds not between 1 and 3600 then
        raise exception 'p_ttl_seconds must be between 1 and 3600 (got %)', p_ttl_seconds using errcode = '22023';
    end if;

    -- Expired leases on their last attempt go to the DLQ instead of back to work.
    with dead as (
        select q.id from public.marketplace_discovery_queue q
         where q.status = 'processing' and q.lease_expires_at < now() and q.attempts + 1 >= 5
         for update skip locked
    )
    update public.marketplace_discovery_queue q
       set status = 'error', attempts = q.attempts + 1, last_error = 'lease expired (worker lost)',
           lease_token = null, lease_expires_at = null
      from dead where q.id = dead.id;

    return query
    with picked as (
        select q.id from public.marketplace_discovery_queue q
         where (q.status = 'queued' and q.available_at <= now())
            or (q.status = 'processing' and q.lease_expires_at < now())
         order by q.priority desc, q.available_at, q.id
         limit p_limit
         for update skip locked
    )
    update public.marketplace_discovery_queue q
       set attempts = q.attempts + case when q.status = 'processing' then 1 else 0 end,
           last_error = case when q.status = 'processing' then 'lease expired (worker lost)' else q.last_error end,
           status = 'processing',
           lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => p_ttl_seconds)
      from picked
     where q.id = picked.id
    returning q.id, q.interest_id, q.category_id, q.reason, q.user_id, q.attempts, q.lease_token, q.lease_expires_at;
end
$$;

create or replace function public.ack_discovery_item(p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    update public.marketplace_discovery_queue q
       set status = 'done', lease_token = null, lease_expires_at = null, last_error = null
     where q.id = p_id and q.status = 'processing' and q.lease_token = p_token and q.lease_expires_at >= now();
    return found;
end
$$;

create or replace function public.fail_discovery_item(
    p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default null)
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
    update public.marketplace_discovery_queue q
       set attempts = q.attempts + 1,
           status = case when q.attempts + 1 >= 5 then 'error' else 'queued' end,
           last_error = left(coalesce(nullif(p_error, ''), 'unknown error'), 2000),
           available_at = case when q.attempts + 1 >= 5 then q.available_at
                               else now() + make_interval(secs => coalesce(
                                   p_retry_in_seconds, least(power(2, q.attempts + 1) * 5, 300)))
                          end,
           lease_token = null,
           lease_expires_at = null
     where q.id = p_id and q.status = 'processing' and q.lease_token = p_token and q.lease_expires_at >= now()
    returning q.status into v_status;
    return v_status;
end
$$;

revoke all on function public.lease_discovery_items(integer, integer), public.ack_discovery_item(bigint, uuid),
    public.fail_discovery_item(bigint, uuid, text, integer) from public;
grant execute on function public.lease_discovery_items(integer, integer), public.ack_discovery_item(bigint, uuid),
    public.fail_discovery_item(bigint, uuid, text, integer) to service_role;
