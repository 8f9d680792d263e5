-- A deliberately broken build for tests only: ack_event ignores the lease guard (token and expiry),
-- so a worker whose lease expired can still complete the item. The lease-expiry drill must fail.
-- Restored by re-applying migration 140.

create or replace function public.ack_event(p_id bigint, p_token uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    update public.events_queue e
       set status = 'done', lease_token = null, lease_expires_at = null, last_error = null
     where e.id = p_id and e.status = 'leased';
    return found;
end
$$;
