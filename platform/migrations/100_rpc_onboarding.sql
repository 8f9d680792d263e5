-- 100_rpc_onboarding: handles, profile edits and the onboarding gates.
--
-- Error convention of every RPC in these migrations (the API maps SQLSTATE to HTTP):
--   28000  not signed in                                   -> 401
--   42501  not allowed (another user's data, not admin)    -> 403
--   22023  invalid argument; message names it              -> 400 / 422
--   23505  already taken (handle)                          -> 409
--   23514  refused by a rule (reserved handle, CHECK)      -> 422
--   P0002  unknown id (interest, category, job)            -> 404
-- Messages are written for a person; DETAIL, when present, is JSON.
--
-- Functions (caller = auth.uid(); trusted = service_role or a direct session):
--   check_handle_available(p_handle text) -> boolean                       STABLE, anon+
--   get_my_profile() -> jsonb                                               STABLE, authenticated
--   update_profile(p_handle, p_display_name, p_avatar_url, p_bio,
--                  p_acquisition_source text, all default NULL = unchanged) -> jsonb   VOLATILE
--   set_onboarding_step(p_step text) -> jsonb                               VOLATILE
--   complete_onboarding(p_user_id uuid default NULL) -> jsonb               VOLATILE
--       gates: handle + display_name (profile), acquisition_source, >= 3 interests;
--       one 22023 error listing every missing gate, DETAIL {"missing": [...], "interests": n}.
--       On success: onboarding_complete, discovery enqueued for the user's
--       interests, and event ('discovery.user-signup', <user id>) published.

create or replace function public.check_handle_available(p_handle text) returns boolean
language sql stable security definer
set search_path = public, pg_temp
as $$
    select coalesce(
        p_handle ~ '^[A-Za-z0-9_]{3,30}$'
        and not exists (select 1 from public.reserved_handles r where r.handle = lower(p_handle))
        and not exists (select 1 from public.profiles p
                         where lower(p.handle) = lower(p_handle) and p.user_id is distinct from auth.uid())
        and not exists (select 1 from public.entities e where lower(e.handle) = lower(p_handle)),
        false)
$$;

-- The profile as the API shows it (no embedding: it is large and internal).
create or replace function public._profile_json(p public.profiles) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'user_id', p.user_id, 'handle', p.handle, 'display_name', p.display_name,
        'avatar_url', p.avatar_url, 'bio', p.bio, 'acquisition_source', p.acquisition_source,
        'onboarding_complete', p.onboarding_complete, 'onboarding_completed_at', p.onboarding_completed_at,
        'has_interests_embedding', p.interests_embedding is not null,
        'last_active_at', p.last_active_at, 'created_at', p.created_at, 'updated_at', p.updated_at)
$$;

create or replace function public.get_my_profile() returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_profile public.profiles;
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    select * into v_profile from public.profiles where user_id = auth.uid();
    if not found then
        raise exception 'no profile for this user' using errcode = 'P0002';
    end if;
    return public._profile_json(v_profile);
end
$$;

-- Runs as the caller: RLS and the column grants on profiles apply.
create or replace function public.update_profile(
    p_handle text default null,
    p_display_name text default null,
    p_avatar_url text default null,
    p_bio text default null,
    p_acquisition_source text default null
) returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := auth.uid();
    v_profile public.profiles;
begin
    if v_uid is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if p_handle is not null then
        if p_handle !~ '^[A-Za-z0-9_]{3,30}$' then
            raise exception 'handle must be 3-30 letters, digits or underscores (got "%")', p_handle
                using errcode = '22023';
        end if;
        if exists (select 1 from public.reserved_handles r where r.handle = lower(p_handle)) then
            raise exception 'handle "%" is reserved', p_handle using errcode = '23514';
        end if;
        if not public.check_handle_available(p_handle) then
            raise exception 'handle "%" is already taken', p_handle using errcode = '23505';
        end if;
    end if;
    if p_display_name is not null and length(btrim(p_display_name)) not between 1 and 80 then
        raise exception 'display_name must be 1-80 characters' using errcode = '22023';
    end if;
    if p_avatar_url is not null and p_avatar_url !~ '^https?://' then
        raise exception 'avatar_url must be an http(s) URL' using errcode = '22023';
    end if;
    if p_bio is not null and length(p_bio) > 500 then
        raise exception 'bio must be at most 500 characters' using errcode = '22023';
    end if;
    if p_acquisition_source is not null and length(btrim(p_acquisition_source)) not between 1 and 64 then
        raise exception 'acquisition_source must be 1-64 characters' using errcode = '22023';
    end if;
    begin
        update public.profiles
           set handle = coalesce(p_handle, handle),
               display_name = coalesce(btrim(p_display_name), display_name),
               avatar_url = coalesce(p_avatar_url, avatar_url),
               bio = coalesce(p_bio, bio),
               acquisition_source = coalesce(btrim(p_acquisition_source), acquisition_source),
               last_active_at = now()
         where user_id = v_uid
        returning * into v_profile;
    exception when unique_violation then
        -- Lost a race for the handle with a concurrent signup.
        raise exception 'handle "%" is already taken', p_handle using errcode = '23505';
    end;
    if not found then
        raise exception 'no profile for this user' using errcode = 'P0002';
    end if;
    return public._profile_json(v_profile);
end
$$;

create or replace function public.set_onboarding_step(p_step text) returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := auth.uid();
    v_row public.profiles_onboarding_progress;
begin
    if v_uid is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if p_step is null or p_step not in ('welcome', 'handle', 'profile', 'acquisition', 'interests') then
        raise exception 'unknown onboarding step "%": expected welcome, handle, profile, acquisition or interests', p_step
            using errcode = '22023';
    end if;
    insert into public.profiles_onboarding_progress as o (user_id, step, completed_steps)
    values (v_uid, p_step, '{}')
    on conflict (user_id) do update
        set completed_steps = case when o.step = excluded.step or o.step = any (o.completed_steps)
                                   then o.completed_steps else o.completed_steps || o.step end,
            step = excluded.step
    returning * into v_row;
    return jsonb_build_object('step', v_row.step, 'completed_steps', to_jsonb(v_row.completed_steps));
end
$$;

-- SECURITY DEFINER: clients may not set onboarding_complete themselves; this
-- is the only path that does, and only once every gate holds.
create or replace function public.complete_onboarding(p_user_id uuid default null) returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_self_or_trusted(p_user_id);
    v_profile public.profiles;
    v_interests integer;
    v_missing text[] := '{}';
    v_enqueued integer;
begin
    select * into v_profile from public.profiles where user_id = v_uid for update;
    if not found then
        raise exception 'onboarding cannot complete: no profile for user %', v_uid using errcode = 'P0002';
    end if;
    select count(*) into v_interests from public.user_interests where user_id = v_uid;

    if v_profile.handle is null then
        v_missing := v_missing || 'handle'::text;
    end if;
    if v_profile.display_name is null then
        v_missing := v_missing || 'display_name'::text;
    end if;
    if v_profile.acquisition_source is null then
        v_missing := v_missing || 'acquisition_source'::text;
    end if;
    if v_interests < 3 then
        v_missing := v_missing || 'interests'::text;
    end if;
    if cardinality(v_missing) > 0 then
        raise exception 'onboarding cannot complete: %',
            array_to_string(array(
                select case m
                    when 'handle' then 'choose a handle'
                    when 'display_name' then 'set a display name'
                    when 'acquisition_source' then 'tell us how you heard about us (acquisition_source)'
                    when 'interests' then format('pick at least 3 interests (you have %s)', v_interests)
                end from unnest(v_missing) m), '; ')
            using errcode = '22023',
                  detail = jsonb_build_object('missing', to_jsonb(v_missing), 'interests', v_interests)::text;
    end if;

    update public.profiles
       set onboarding_complete = true,
           onboarding_completed_at = coalesce(onboarding_completed_at, now()),
           last_active_at = now()
     where user_id = v_uid
    returning * into v_profile;
    insert into public.profiles_onboarding_progress as o (user_id, step, completed_steps)
    values (v_uid, 'done', array['welcome', 'handle', 'profile', 'acquisition', 'interests'])
    on conflict (user_id) do update set step = 'done', completed_steps = excluded.completed_steps;

    v_enqueued := public.enqueue_discovery_for_user(v_uid);
    insert into public.events_queue (topic, key, payload)
    values ('discovery.user-signup', v_uid::text, jsonb_build_object('user_id', v_uid))
    on conflict on constraint events_queue_topic_key do nothing;

    return jsonb_build_object(
        'user_id', v_uid, 'onboarding_complete', true,
        'completed_at', v_profile.onboarding_completed_at,
        'interests', v_interests, 'discovery_enqueued', v_enqueued);
end
$$;

revoke all on function public.check_handle_available(text), public._profile_json(public.profiles),
    public.get_my_profile(), public.update_profile(text, text, text, text, text),
    public.set_onboarding_step(text), public.complete_onboarding(uuid) from public;
grant execute on function public.check_handle_available(text) to anon, authenticated, service_role;
grant execute on function public._profile_json(public.profiles) to authenticated, service_role;
grant execute on function public.get_my_profile(), public.update_profile(text, text, text, text, text),
    public.set_onboarding_step(text) to authenticated, service_role;
grant execute on function public.complete_onboarding(uuid) to authenticated, service_role;
