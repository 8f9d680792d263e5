-- 130_rpc_discovery_queue: lease / ack / fail / release on marketplace_discovery_queue,
-- the queue kernel's (125) RPCs for this queue.
--
--   lease_discovery_items(p_limit integer default 10, p_ttl_seconds integer default 120)
--       -> table(id bigint, interest_id uuid, category_id uuid, reason text, user_id uuid,
--                attempts integer, lease_token uuid, lease_expires_at timestamptz)
--   ack_discovery_item(p_id bigint, p_token uuid) -> boolean
--       true = done; false = the lease was lost (expired, re-leased or wrong token): a no-op.
--   fail_discovery_item(p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default NULL)
--       -> text: 'queued' (retry after the backoff, or after p_retry_in_seconds), 'error' (the
--          failure the policy gives up on: dead-lettered, visible in vw_dead_letter_queue), or
--          NULL when the lease was lost (no-op). Policy: queue_policy (125).
--   release_discovery_item(p_id bigint, p_token uuid) -> boolean
--       true = back to queued at once, no attempt counted (a worker stopping gives back the
--       rest of its batch); false = the lease was already lost (no-op).
-- Status while leased is 'processing' (seed 000's word; queue_policy.leased_status). All VOLATILE,
-- service_role only.

create or replace function public.lease_discovery_items(p_limit integer default 10, p_ttl_seconds integer default 120)
returns table (id bigint, interest_id uuid, category_id uuid, reason text, user_id uuid, attempts integer,
               lease_token uuid, lease_expires_at timestamptz)
language sql volatile
set search_path = public, pg_temp
as $$
    select q.id, q.interest_id, q.category_id, q.reason, q.user_id, q.attempts, q.lease_token, q.lease_expires_at
      from public._queue_lease(null::public.marketplace_discovery_queue, p_limit, p_ttl_seconds) q
$$;

create or replace function public.ack_discovery_item(p_id bigint, p_token uuid) returns boolean
language sql volatile
set search_path = public, pg_temp
as $$
    select public._queue_ack('public.marketplace_discovery_queue', p_id, p_token)
$$;

create or replace function public.fail_discovery_item(
    p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default null)
returns text
language sql volatile
set search_path = public, pg_temp
as $$
    select public._queue_fail('public.marketplace_discovery_queue', p_id, p_token, p_error, p_retry_in_seconds)
$$;

create or replace function public.release_discovery_item(p_id bigint, p_token uuid) returns boolean
language sql volatile
set search_path = public, pg_temp
as $$
    select public._queue_release('public.marketplace_discovery_queue', p_id, p_token)
$$;

revoke all on function public.lease_discovery_items(integer, integer), public.ack_discovery_item(bigint, uuid),
    public.fail_discovery_item(bigint, uuid, text, integer), public.release_discovery_item(bigint, uuid) from public;
grant execute on function public.lease_discovery_items(integer, integer), public.ack_discovery_item(bigint, uuid),
    public.fail_discovery_item(bigint, uuid, text, integer), public.release_discovery_item(bigint, uuid)
    to service_role;
