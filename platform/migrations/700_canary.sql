-- 700_canary: what `gauntlet gate canary` reads and the one switch it may flip.
--
-- The seeds' auto-rollback gate (evidence pack, "Auto-Rollback Gates"):
--   error_rate > 2 %  or  burn_rate > 2.0  or  |exploration_rate - epsilon| > 50 % of epsilon
--   => set global.safe_mode on (exploration off, popular/recent/global slates).
--
-- vw_canary_metrics: RPC traffic over the last 5 minutes (the short window the seeds' burn
--   ratio uses too): requests, errors (ok = false, i.e. 5xx as the API records them), error_rate.
-- set_feature_flag(p_key text, p_value jsonb, p_reason text) -> jsonb (the previous value):
--   service_role only; every change is written to ai_action_ledger (agent 'gauntlet-canary'),
--   which the cutover guide reads under "View recent actions".

create or replace view public.vw_canary_metrics as
select count(*)::bigint as requests,
       count(*) filter (where not m.ok)::bigint as errors,
       coalesce(avg(case when m.ok then 0.0 else 1.0 end), 0)::double precision as error_rate,
       now() - interval '5 minutes' as window_start,
       now() as calculated_at
  from public.rpc_metrics m
 where m.ts > now() - interval '5 minutes';

revoke all on public.vw_canary_metrics from public, anon, authenticated;
grant select on public.vw_canary_metrics to service_role;

create or replace function public.set_feature_flag(p_key text, p_value jsonb, p_reason text default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = public
as $$
declare
    previous jsonb;
begin
    if p_value is null or jsonb_typeof(p_value) <> 'object' then
        raise exception 'p_value must be a JSON object, e.g. {"enabled": true}' using errcode = '22023';
    end if;
    select value into previous from public.feature_flags where key = p_key for update;
    if not found then
        raise exception 'unknown feature flag %', p_key using errcode = 'P0002';
    end if;
    update public.feature_flags set value = p_value where key = p_key;
    insert into public.ai_action_ledger (agent, action, input, output, result)
    values ('gauntlet-canary', 'set_feature_flag',
            jsonb_build_object('key', p_key, 'value', p_value, 'reason', p_reason),
            jsonb_build_object('previous', previous), 'success');
    return previous;
end;
$$;

revoke all on function public.set_feature_flag(text, jsonb, text) from public, anon, authenticated;
grant execute on function public.set_feature_flag(text, jsonb, text) to service_role;
