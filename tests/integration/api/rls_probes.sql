-- RLS probes for test_rls_through_rpc.py: functions that run as the caller and filter nothing,
-- so only the row-level security policies stand between one user and another's rows.

CREATE OR REPLACE FUNCTION public.rls_probe_read_interests()
RETURNS TABLE (user_id uuid, interest_id uuid) LANGUAGE sql STABLE SECURITY INVOKER
AS $$ SELECT ui.user_id, ui.interest_id FROM public.user_interests ui $$;

CREATE OR REPLACE FUNCTION public.rls_probe_write_interest(p_user_id uuid, p_interest_id uuid)
RETURNS void LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
    INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES (p_user_id, p_interest_id, 0.5)
$$;

CREATE OR REPLACE FUNCTION public.rls_probe_read_profiles()
RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY INVOKER
AS $$ SELECT p.user_id FROM public.profiles p $$;

GRANT EXECUTE ON FUNCTION public.rls_probe_read_interests(), public.rls_probe_write_interest(uuid, uuid),
    public.rls_probe_read_profiles() TO anon, authenticated;
