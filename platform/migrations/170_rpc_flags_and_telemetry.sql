-- 170_rpc_flags_and_telemetry: feature flags, signals, RPC metrics, learning
-- events and garbage collection.
--
--   flags_for(p_user_id uuid default NULL) -> jsonb {"<key>": <value object>, ...}
--       STABLE, anon+. p_user_id defaults to the caller. A flag with
--       rollout_pct < 100 whose value has "enabled" is reported {"enabled": false}
--       for users outside its bucket (hash of key and user id), and for anonymous callers.
--   emit_signal(p_name text, p_metadata jsonb default '{}', p_user_id uuid default NULL) -> bigint
--       VOLATILE, authenticated (own signals) and service_role (any user).
--   _log_rpc(p_name text, p_duration_ms double precision, p_ok boolean default true,
--            p_error text default NULL) -> void
--       VOLATILE, SECURITY DEFINER, anon+authenticated+service_role. Writes
--       rpc_metrics(name, duration_ms, ok, error, user_id = auth.uid(), ts = now()).
--       Call it in its own transaction: a row written inside a transaction that
--       rolls back (the failing RPC's) is lost with it.
--   record_learning_event(p_surface text, p_candidate_id text, p_policy text, p_propensity double precision,
--                         p_score double precision default NULL, p_explored boolean default false,
--                         p_context jsonb default '{}', p_user_id uuid default NULL) -> bigint
--   record_learning_reward(p_event_id bigint, p_reward double precision) -> boolean
--       service_role only (learning events are server-written).
--   gc_learning_events(p_keep_days integer default 90) -> integer
--   gc_intent_signals(p_keep_days integer default 30) -> integer
--   gc_rpc_metrics(p_keep_days integer default 14) -> integer
--       service_role only; each returns the rows deleted.

create or replace function public.flags_for(p_user_id uuid default null) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_object_agg(f.key,
        case
            when f.rollout_pct >= 100 or not (f.value ? 'enabled') then f.value
            when coalesce(p_user_id, auth.uid()) is not null
                 and mod(abs(hashtextextended(f.key || ':' || coalesce(p_user_id, auth.uid())::text, 0)), 100)
                     < f.rollout_pct
                then f.value
            else f.value || '{"enabled": false}'::jsonb
        end order by f.key), '{}'::jsonb)
      from public.feature_flags f
$$;

create or replace function public.emit_signal(
    p_name text, p_metadata jsonb default '{}'::jsonb, p_user_id uuid default null) returns bigint
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_self_or_trusted(p_user_id);
    v_id bigint;
begin
    if p_name is null or p_name !~ '^[a-z0-9_.:-]{1,64}$' then
        raise exception 'signal name must be 1-64 of a-z 0-9 _ . : - (got "%")', p_name using errcode = '22023';
    end if;
    if p_metadata is not null and jsonb_typeof(p_metadata) <> 'object' then
        raise exception 'signal metadata must be a JSON object' using errcode = '22023';
    end if;
    if pg_column_size(p_metadata) > 8192 then
        raise exception 'signal metadata is too large (at most 8 kB)' using errcode = '22023';
    end if;
    insert into public.intent_signals (user_id, name, metadata)
    values (v_uid, p_name, coalesce(p_metadata, '{}'::jsonb))
    returning id into v_id;
    return v_id;
end
$$;

create or replace function public._log_rpc(
    p_name text, p_duration_ms double precision, p_ok boolean default true, p_error text default null)
returns void
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
begin
    if p_name is null or length(p_name) not between 1 and 128 then
        raise exception 'metric name must be 1-128 characters' using errcode = '22023';
    end if;
    if p_duration_ms is null or p_duration_ms < 0 or p_duration_ms = 'NaN'::double precision then
        raise exception 'duration_ms must be >= 0 (got %)', p_duration_ms using errcode = '22023';
    end if;
    insert into public.rpc_metrics (name, duration_ms, ok, error, user_id)
    values (p_name, p_duration_ms, coalesce(p_ok, true), left(p_error, 2000), auth.uid());
end
$$;

create or replace function public.record_learning_event(
    p_surface text, p_candidate_id text, p_policy text, p_propensity double precision,
    p_score double precision default null, p_explored boolean default false,
    p_context jsonb default '{}'::jsonb, p_user_id uuid default null)
returns bigint
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_id bigint;
begin
    if p_propensity is null or p_propensity = 'NaN'::double precision or p_propensity not between 0 and 1 then
        raise exception 'propensity (p_exp) must be between 0 and 1 (got %)', p_propensity using errcode = '22023';
    end if;
    insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp, score, explored, context)
    values (p_user_id, p_surface, p_candidate_id, p_policy, p_propensity, p_score, coalesce(p_explored, false),
            coalesce(p_context, '{}'::jsonb))
    returning id into v_id;
    return v_id;
end
$$;

create or replace function public.record_learning_reward(p_event_id bigint, p_reward double precision)
returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    if p_reward is null or p_reward = 'NaN'::double precision or p_reward not between 0 and 1 then
        raise exception 'reward must be between 0 and 1 (got %)', p_reward using errcode = '22023';
    end if;
    update public.learning_events set reward = p_reward where id = p_event_id;
    return found;
end
$$;

create or replace function public.gc_learning_events(p_keep_days integer default 90) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_count integer;
begin
    if p_keep_days is null or p_keep_days < 1 then
        raise exception 'p_keep_days must be >= 1 (got %)', p_keep_days using errcode = '22023';
    end if;
    delete from public.learning_events where ts < now() - make_interval(days => p_keep_days);
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

create or replace function public.gc_intent_signals(p_keep_days integer default 30) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_count integer;
begin
    if p_keep_days is null or p_keep_days < 1 then
        raise exception 'p_keep_days must be >= 1 (got %)', p_keep_days using errcode = '22023';
    end if;
    delete from public.intent_signals where ts < now() - make_interval(days => p_keep_days);
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

create or replace function public.gc_rpc_metrics(p_keep_days integer default 14) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_count integer;
begin
    if p_keep_days is null or p_keep_days < 1 then
        raise exception 'p_keep_days must be >= 1 (got %)', p_keep_days using errcode = '22023';
    end if;
    delete from public.rpc_metrics where ts < now() - make_interval(days => p_keep_days);
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

revoke all on function public.flags_for(uuid), public.emit_signal(text, jsonb, uuid),
    public._log_rpc(text, double precision, boolean, text),
    public.record_learning_event(text, text, text, double precision, double precision, boolean, jsonb, uuid),
    public.record_learning_reward(bigint, double precision), public.gc_learning_events(integer),
    public.gc_intent_signals(integer), public.gc_rpc_metrics(integer) from public;
grant execute on function public.flags_for(uuid), public._log_rpc(text, double precision, boolean, text)
    to anon, authenticated, service_role;
grant execute on function public.emit_signal(text, jsonb, uuid) to authenticated, service_role;
grant execute on function
    public.record_learning_event(text, text, text, double precision, double precision, boolean, jsonb, uuid),
    public.record_learning_reward(bigint, double precision), public.gc_learning_events(integer),
    public.gc_intent_signals(integer), public.gc_rpc_metrics(integer) to service_role;
