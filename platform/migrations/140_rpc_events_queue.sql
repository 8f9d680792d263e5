-- 140_rpc_events_queue: publish / lease / ack / fail on events_queue.
--
--   enqueue_event(p_topic text, p_key text, p_payload jsonb default '{}')
--       -> table(id bigint, created boolean)   created = false: (topic, key) already queued
--   lease_events(p_topic text, p_limit integer default 10, p_ttl_seconds integer default 120)
--       -> table(id bigint, topic text, key text, payload jsonb, attempts integer,
--                lease_token uuid, lease_expires_at timestamptz)   (NULL topic = any topic)
--   ack_event(p_id bigint, p_token uuid) -> boolean        (false = lease lost, no-op)
--   fail_event(p_id bigint, p_token uuid, p_error text, p_retry_in_seconds integer default NULL)
--       -> text 'queued' | 'error' (5th failure) | NULL (lease lost, no-op)
-- Same lease semantics as the discovery queue (130); status while leased is 'leased'.
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

    with dead as (
        select e.id from public.events_queue e
         where e.status = 'leased' and e.lease_expires_at < now() and e.attempts + 1 >= 5
           and (p_topic is null or e.topic = p_topic)
         for update skip locked
    )
    update public.events_queue e
       set status = 'error', attempts = e.attempts + 1, last_error = 'lease expired (worker lost)',
           lease_token = null, lease_expires_at = null
      from dead where e.id = dead.id;

    return query
    with picked as (
        select e.id from public.events_queue e
         where (p_topic is null or e.topic = p_topic)
           and ((e.status = 'queued' and e.available_at <= now())
                or (e.status = 'leased' and e.lease_expires_at < now()))
         order by e.available_at, e.id
         limit p_limit
         for update skip locked
    )
    update public.events_queue e
       set attempts = e.attempts + case when e.status = 'leased' then 1 else 0 end,
           last_error = case when e.status = 'leased' then 'lease expired (worker lost)' else e.last_error end,
           status = 'leased',
           lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => p_ttl_seconds)
      from picked
     where e.id = picked.id
    returning e.id, e.topic, e.key, e.payload, e.attempts, e.lease_token, e.lease_expires_at;
end
$$;

create or replace function public.ack_event(p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    update public.events_queue e
       set status = 'done', lease_token = null, lease_expires_at = null, last_error = null
     where e.id = p_id and e.status = 'leased' and e.lease_token = p_token and e.lease_expires_at >= now();
    return found;
end
$$;

create or replace function public.fail_event(
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
    update public.events_queue e
       set attempts = e.attempts + 1,
           status = case when e.attempts + 1 >= 5 then 'error' else 'queued' end,
           last_error = left(coalesce(nullif(p_error, ''), 'unknown error'), 2000),
           available_at = case when e.attempts + 1 >= 5 then e.available_at
                               else now() + make_interval(secs => coalesce(
                                   p_retry_in_seconds, least(power(2, e.attempts + 1) * 5, 300)))
                          end,
           lease_token = null,
           lease_expires_at = null
     where e.id = p_id and e.status = 'leased' and e.lease_token = p_token and e.lease_expires_at >= now()
    returning e.status into v_status;
    return v_status;
end
$$;

revoke all on function public.enqueue_event(text, text, jsonb), public.lease_events(text, integer, integer),
    public.ack_event(bigint, uuid), public.fail_event(bigint, uuid, text, integer) from public;
grant execute on function public.enqueue_event(text, text, jsonb), public.lease_events(text, integer, integer),
    public.ack_event(bigint, uuid), public.fail_event(bigint, uuid, text, integer) to service_role;
