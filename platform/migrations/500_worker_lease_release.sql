-- 500_worker_lease_release: give a leased item back without counting an attempt.
--
-- Owned by the API/workers side (5xx). A worker stopping on SIGTERM finishes
-- the item in hand and releases the rest of its batch, so they are picked up
-- by another worker at once instead of after the lease TTL, and a clean
-- shutdown never pushes an item towards the DLQ.
--
--   release_discovery_item(p_id bigint, p_token uuid) -> boolean
--   release_event(p_id bigint, p_token uuid) -> boolean
--       true = back to queued; false = the lease was already lost (no-op).
-- Same lease guard as ack/fail (130, 140). VOLATILE, service_role only.

create or replace function public.release_discovery_item(p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    update public.marketplace_discovery_queue q
       set status = 'queued', lease_token = null, lease_expires_at = null, available_at = now()
     where q.id = p_id and q.status = 'processing' and q.lease_token = p_token and q.lease_expires_at >= now();
    return found;
end
$$;

create or replace function public.release_event(p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    update public.events_queue e
       set status = 'queued', lease_token = null, lease_expires_at = null, available_at = now()
     where e.id = p_id and e.status = 'leased' and e.lease_token = p_token and e.lease_expires_at >= now();
    return found;
end
$$;

revoke all on function public.release_discovery_item(bigint, uuid), public.release_event(bigint, uuid) from public;
grant execute on function public.release_discovery_item(bigint, uuid), public.release_event(bigint, uuid)
    to service_role;
