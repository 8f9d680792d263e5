-- 140_rpc_events_queue: publish, and the queue kernel's (125) lease / ack / fail / release on events_queue.
--
--   enqueue_event(p_topic text, p_key text, p_payload jsonb default '{}')
--       -> table(id bigint, created boolean)   created = false: (topic, key) already queued
--   lease_events(p_topic text, p_limit integer default 10, p_ttl_seconds integer default 120)
--       -> table(id bigint, topic text, key text, payload jsonb, attempts integer,
--                lease_token uuid, lease_expires_at timestamptz)   (NULL topic = any topic)
--   ack_event(p_id bigint, p_token uuid) -> boolean        (false = lease lost, no-op)
--   fail_event(p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default NULL)
--       -> text 'queued' | 'error' (dead-lettered: the failure the policy gives up on) | NULL (lease lost, no-op)
--   release_event(p_id bigint, p_token uuid) -> boolean   (back to queued, no attempt counted; false = lease lost)
-- The same kernel as the discovery queue (130); policy in queue_policy (125).
-- Topics published by the database: 'discovery.user-signup' (key = user id),
-- from complete_onboarding. All VOLATILE, service_role only.

create or replace function public.enqueue_event(p_topic text, p_key text, p_payload jsonb default '{}'::jsonb)
returns table (id bigint, created boolean)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_id bigint;
begin
    if p_topic is null or p_topic !~ '^[a-z0-9_.:-]{1,64}$' then
        raise exception 'topic must be 1-64 of a-z 0-9 _ . : - (got "%")', p_topic using errcode = '22023';
    end if;
    if p_key is null or length(p_key) not between 1 and 200 then
        raise exception 'key must be 1-200 characters' using errcode = '22023';
    end if;
    insert into public.events_queue (topic, key, payload)
    values (p_topic, p_key, coalesce(p_payload, '{}'::jsonb))
    on conflict on constraint events_queue_topic_key do nothing
    returning events_queue.id into v_id;
    if v_id is not null then
        return query select v_id, true;
    else
        return query select e.id, false from public.events_queue e where e.topic = p_topic and e.key = p_key;
    end if;
end
$$;

create or replace function public.lease_events(p_topic text, p_limit integer default 10, p_ttl_seconds integer default 120)
returns table (id bigint, topic text, key text, payload jsonb, attempts integer, lease_token uuid,
               lease_expires_at timestamptz)
language sql volatile
set search_path = public, pg_temp
as $$
    select e.id, e.topic, e.key, e.payload, e.attempts, e.lease_token, e.lease_expires_at
      from public._queue_lease(null::public.events_queue, p_limit, p_ttl_seconds,
                                case when p_topic is not null then array[p_topic] end) e
$$;

create or replace function public.ack_event(p_id bigint, p_token uuid) returns boolean
language sql volatile
set search_path = public, pg_temp
as $$
    select public._queue_ack('public.events_queue', p_id, p_token)
$$;

create or replace function public.fail_event(
    p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default null)
returns text
language sql volatile
set search_path = public, pg_temp
as $$
    select public._queue_fail('public.events_queue', p_id, p_token, p_error, p_retry_in_seconds)
$$;

create or replace function public.release_event(p_id bigint, p_token uuid) returns boolean
language sql volatile
set search_path = public, pg_temp
as $$
    select public._queue_release('public.events_queue', p_id, p_token)
$$;

revoke all on function public.enqueue_event(text, text, jsonb), public.lease_events(text, integer, integer),
    public.ack_event(bigint, uuid), public.fail_event(bigint, uuid, text, integer), public.release_event(bigint, uuid)
    from public;
grant execute on function public.enqueue_event(text, text, jsonb), public.lease_events(text, integer, integer),
    public.ack_event(bigint, uuid), public.fail_event(bigint, uuid, text, integer), public.release_event(bigint, uuid)
    to service_role;
