-- A deliberately broken build for tests only: the lease kernels forget expired leases.
-- Items a crashed worker held stay `leased`/`processing` forever instead of being re-leased,
-- so the worker-crash drill must fail. Restored by re-applying migrations 130 and 140 (which wrap the queue kernel, 125).

create or replace function public.lease_events(p_topic text, p_limit integer default 10, p_ttl_seconds integer default 120)
returns table (id bigint, topic text, key text, payload jsonb, attempts integer, lease_token uuid,
               lease_expires_at timestamptz)
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    return query
    with picked as (
        select e.id from public.events_queue e
         where (p_topic is null or e.topic = p_topic)
           and e.status = 'queued' and e.available_at <= now()
         order by e.available_at, e.id
         limit p_limit
         for update skip locked
    )
    update public.events_queue e
       set status = 'leased',
           lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => p_ttl_seconds)
      from picked
     where e.id = picked.id
    returning e.id, e.topic, e.key, e.payload, e.attempts, e.lease_token, e.lease_expires_at;
end
$$;

create or replace function public.lease_discovery_items(p_limit integer default 10, p_ttl_seconds integer default 120)
returns table (id bigint, interest_id uuid, category_id uuid, reason text, user_id uuid, attempts integer,
               lease_token uuid, lease_expires_at timestamptz)
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    return query
    with picked as (
        select q.id from public.marketplace_discovery_queue q
         where q.status = 'queued' and q.available_at <= now()
         order by q.priority desc, q.available_at, q.id
         limit p_limit
         for update skip locked
    )
    update public.marketplace_discovery_queue q
       set status = 'processing',
           lease_token = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => p_ttl_seconds)
      from picked
     where q.id = picked.id
    returning q.id, q.interest_id, q.category_id, q.reason, q.user_id, q.attempts, q.lease_token, q.lease_expires_at;
end
$$;
