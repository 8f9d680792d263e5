-- 220_notifications: notifications (partitioned by month), consent, the outbox.
--
-- Tables
--   notifications(id, user_id, channel, kind, title, body, payload, sender_id, created_at, read_at, delivered_at)
--       One message to one user on one channel: snackbar (in-app toast), dm,
--       email or push. Range-partitioned by month on created_at (210); the
--       primary key is (id, created_at) as partitioning requires, ids come from
--       one identity sequence so they are unique and increasing anyway.
--   ai_consent(user_id, quiet_hours_start, quiet_hours_end, timezone, daily_cap, channels)
--       What a user agreed to receive. No row = the defaults: no quiet hours,
--       UTC, a daily cap of 20, every channel on.
--
-- The rules notif_send applies, in this order (the first that refuses wins):
--   1. channel_off  the channel is not in ai_consent.channels;
--   2. quiet_hours  the user's local time (ai_consent.timezone) is in
--                   [quiet_hours_start, quiet_hours_end); a start after the
--                   end wraps midnight (22:00-07:00); every channel is held,
--                   a snackbar included (seed: "quiet hours block sends");
--   3. daily_cap    the user already has daily_cap notifications (all
--                   channels) since local midnight: the N+1th of a day is refused.
-- A refused send writes nothing and returns the reason. Sends to one user are
-- serialised on its ai_consent row, so concurrent sends cannot overshoot the cap.
--
-- Outbox: a sent notification is published to DB's events_queue as topic
-- 'notifications.deliver', key = notification id (UNIQUE (topic, key): one
-- outbox row per notification however often it is published). The
-- notifications worker drains it with notif_outbox_drain, which sets
-- delivered_at only where it is NULL and acks in the same transaction, so a
-- redelivered or replayed outbox item never delivers twice. A worker that
-- performs real I/O can instead lease_events / notif_mark_delivered / ack_event.
-- Every insert and read-state change also does pg_notify('notifications',
-- '{"user_id": ..., "event": "created"|"read", "id": ...}') for a live badge.
--
-- RPCs (caller = auth.uid(); trusted = service_role or a direct session)
--   notif_send(p_user_id uuid, p_channel text, p_title text, p_body text default NULL,
--              p_kind text default 'general', p_payload jsonb default '{}',
--              p_idempotency_key text default NULL)
--       -> jsonb {"sent": bool, "reason": null|"channel_off"|"quiet_hours"|"daily_cap"|"duplicate",
--                 "notification_id": bigint|null, "sent_today": int, "daily_cap": int}
--       VOLATILE, SECURITY DEFINER. A client may send only to itself; trusted callers to anyone.
--       A repeated p_idempotency_key (24 h) returns the first result with reason "duplicate".
--   notif_list(p_limit integer default 20, p_before_id bigint default NULL)
--       -> setof (id bigint, channel text, kind text, title text, body text, payload jsonb,
--                 sender_id uuid, created_at timestamptz, read_at timestamptz)   newest first; STABLE
--   notif_unread_count() -> integer                                  STABLE
--   notif_mark_read(p_id bigint) -> boolean (false: not yours, unknown or already read)   VOLATILE
--   notif_mark_all_read() -> integer (how many were unread)          VOLATILE
--   ai_consent_get() -> jsonb {user_id, quiet_hours_start, quiet_hours_end, timezone, daily_cap, channels}   STABLE
--   ai_consent_set(p_quiet_hours_start time default NULL, p_quiet_hours_end time default NULL,
--                  p_timezone text default NULL, p_daily_cap integer default NULL,
--                  p_channels text[] default NULL, p_clear_quiet_hours boolean default false) -> jsonb
--       NULL = unchanged; quiet hours are set as a pair. VOLATILE.
--   The list/count/mark/consent RPCs are SECURITY INVOKER: RLS (own rows) is the guard.
--   notif_outbox_drain(p_limit integer default 100, p_ttl_seconds integer default 60)
--       -> setof (notification_id bigint, user_id uuid, channel text, delivered boolean)   service_role
--   notif_mark_delivered(p_notification_id bigint) -> boolean (true the first time)          service_role

create table if not exists public.notifications (
    id bigint generated always as identity,
    user_id uuid not null references auth.users (id) on delete cascade,
    channel text not null check (channel in ('snackbar', 'dm', 'email', 'push')),
    kind text not null default 'general' check (kind ~ '^[a-z0-9_.:-]{1,64}$'),
    title text not null check (length(title) between 1 and 200),
    body text check (length(body) <= 2000),
    payload jsonb not null default '{}'::jsonb check (jsonb_typeof(payload) = 'object'),
    sender_id uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    read_at timestamptz,
    delivered_at timestamptz,
    primary key (id, created_at)
) partition by range (created_at);
select public.ensure_monthly_partitions('public.notifications', 2);
create index if not exists idx_notifications_user_id on public.notifications (user_id, id desc);
create index if not exists idx_notifications_user_created on public.notifications (user_id, created_at);
create index if not exists idx_notifications_unread on public.notifications (user_id) where read_at is null;

create table if not exists public.ai_consent (
    user_id uuid primary key references auth.users (id) on delete cascade,
    quiet_hours_start time,
    quiet_hours_end time,
    timezone text not null default 'UTC' check (length(timezone) between 1 and 64),
    daily_cap integer not null default 20 check (daily_cap between 0 and 1000),
    channels text[] not null default array['snackbar', 'dm', 'email', 'push']
        check (channels <@ array['snackbar', 'dm', 'email', 'push']),
    updated_at timestamptz not null default now(),
    constraint ai_consent_quiet_hours_pair check ((quiet_hours_start is null) = (quiet_hours_end is null))
);

-- A timezone Postgres does not know would break every later send: refuse it on write.
create or replace function public._ai_consent_check_timezone() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    begin
        perform now() at time zone new.timezone;
    exception when invalid_parameter_value then
        raise exception 'unknown time zone "%": use an IANA name such as Europe/Paris or UTC', new.timezone
            using errcode = '22023';
    end;
    return new;
end
$$;

create or replace trigger ai_consent_check_timezone
    before insert or update of timezone on public.ai_consent
    for each row execute function public._ai_consent_check_timezone();
create or replace trigger ai_consent_touch_updated_at
    before update on public.ai_consent
    for each row execute function public._touch_updated_at();

alter table public.notifications enable row level security;
alter table public.ai_consent enable row level security;

grant select, update (read_at) on public.notifications to authenticated;
drop policy if exists notifications_own on public.notifications;
create policy notifications_own on public.notifications for select to authenticated
    using (user_id = (select auth.uid()));
drop policy if exists notifications_mark_own on public.notifications;
create policy notifications_mark_own on public.notifications for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

grant select, insert (user_id, quiet_hours_start, quiet_hours_end, timezone, daily_cap, channels),
      update (quiet_hours_start, quiet_hours_end, timezone, daily_cap, channels)
    on public.ai_consent to authenticated;
drop policy if exists ai_consent_own on public.ai_consent;
create policy ai_consent_own on public.ai_consent for all to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

grant select, insert, update, delete on public.notifications, public.ai_consent to service_role;

create or replace function public._consent_json(c public.ai_consent) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'user_id', c.user_id, 'quiet_hours_start', c.quiet_hours_start, 'quiet_hours_end', c.quiet_hours_end,
        'timezone', c.timezone, 'daily_cap', c.daily_cap, 'channels', to_jsonb(c.channels))
$$;

-- True when p_at (a local time of day) falls in [p_start, p_end); a start after the end wraps midnight.
create or replace function public._in_quiet_hours(p_at time, p_start time, p_end time) returns boolean
language sql immutable
set search_path = public, pg_temp
as $$
    select case
        when p_start is null or p_end is null or p_start = p_end then false
        when p_start < p_end then p_at >= p_start and p_at < p_end
        else p_at >= p_start or p_at < p_end
    end
$$;

create or replace function public.notif_send(
    p_user_id uuid, p_channel text, p_title text, p_body text default null, p_kind text default 'general',
    p_payload jsonb default '{}'::jsonb, p_idempotency_key text default null)
returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_self_or_trusted(p_user_id);
    v_consent public.ai_consent;
    v_local timestamp;
    v_day_start timestamptz;
    v_sent_today integer;
    v_scope text;
    v_prior jsonb;
    v_id bigint;
    v_created_at timestamptz;
    v_result jsonb;
begin
    if p_channel is null or p_channel not in ('snackbar', 'dm', 'email', 'push') then
        raise exception 'p_channel must be one of snackbar, dm, email, push (got "%")', p_channel using errcode = '22023';
    end if;
    if p_title is null or length(p_title) not between 1 and 200 then
        raise exception 'p_title must be 1-200 characters' using errcode = '22023';
    end if;
    if p_body is not null and length(p_body) > 2000 then
        raise exception 'p_body must be at most 2000 characters' using errcode = '22023';
    end if;
    if p_kind is null or p_kind !~ '^[a-z0-9_.:-]{1,64}$' then
        raise exception 'p_kind must be 1-64 of a-z 0-9 _ . : - (got "%")', p_kind using errcode = '22023';
    end if;
    if p_payload is not null and jsonb_typeof(p_payload) <> 'object' then
        raise exception 'p_payload must be a JSON object' using errcode = '22023';
    end if;
    if not exists (select 1 from auth.users u where u.id = v_uid) then
        raise exception 'unknown user %', v_uid using errcode = 'P0002';
    end if;

    -- The consent row is the per-user lock: sends to one user run one at a time.
    insert into public.ai_consent (user_id) values (v_uid) on conflict (user_id) do nothing;
    select * into v_consent from public.ai_consent where user_id = v_uid for update;

    if p_idempotency_key is not null then
        v_scope := 'notif_send:' || v_uid;
        select r.result into v_prior from public.idempotency_registry r
         where r.scope = v_scope and r.key = p_idempotency_key and r.expires_at > now();
        if found then
            return coalesce(v_prior, '{}'::jsonb) || jsonb_build_object('sent', false, 'reason', 'duplicate');
        end if;
    end if;

    v_local := now() at time zone v_consent.timezone;
    v_day_start := date_trunc('day', v_local) at time zone v_consent.timezone;
    select count(*) into v_sent_today
      from public.notifications n
     where n.user_id = v_uid and n.created_at >= v_day_start;

    if not p_channel = any (v_consent.channels) then
        return jsonb_build_object('sent', false, 'reason', 'channel_off', 'notification_id', null,
                                  'sent_today', v_sent_today, 'daily_cap', v_consent.daily_cap);
    end if;
    if public._in_quiet_hours(v_local::time, v_consent.quiet_hours_start, v_consent.quiet_hours_end) then
        return jsonb_build_object('sent', false, 'reason', 'quiet_hours', 'notification_id', null,
                                  'sent_today', v_sent_today, 'daily_cap', v_consent.daily_cap);
    end if;
    if v_sent_today >= v_consent.daily_cap then
        return jsonb_build_object('sent', false, 'reason', 'daily_cap', 'notification_id', null,
                                  'sent_today', v_sent_today, 'daily_cap', v_consent.daily_cap);
    end if;

    insert into public.notifications (user_id, channel, kind, title, body, payload, sender_id)
    values (v_uid, p_channel, p_kind, p_title, p_body, coalesce(p_payload, '{}'::jsonb),
            case when auth.uid() is distinct from v_uid then auth.uid() end)
    returning id, created_at into v_id, v_created_at;
    perform public.enqueue_event('notifications.deliver', v_id::text,
                                 jsonb_build_object('notification_id', v_id, 'created_at', v_created_at,
                                                    'user_id', v_uid, 'channel', p_channel));
    perform pg_notify('notifications', jsonb_build_object('user_id', v_uid, 'event', 'created', 'id', v_id)::text);

    v_result := jsonb_build_object('sent', true, 'reason', null, 'notification_id', v_id,
                                   'sent_today', v_sent_today + 1, 'daily_cap', v_consent.daily_cap);
    if p_idempotency_key is not null then
        perform public.record_idempotency(p_idempotency_key, v_result, 86400, v_scope);
    end if;
    return v_result;
end
$$;

create or replace function public.notif_list(p_limit integer default 20, p_before_id bigint default null)
returns table (id bigint, channel text, kind text, title text, body text, payload jsonb, sender_id uuid,
               created_at timestamptz, read_at timestamptz)
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if p_limit is null or p_limit not between 1 and 100 then
        raise exception 'p_limit must be between 1 and 100 (got %)', p_limit using errcode = '22023';
    end if;
    return query
    select n.id, n.channel, n.kind, n.title, n.body, n.payload, n.sender_id, n.created_at, n.read_at
      from public.notifications n
     where n.user_id = auth.uid() and (p_before_id is null or n.id < p_before_id)
     order by n.id desc
     limit p_limit;
end
$$;

create or replace function public.notif_unread_count() returns integer
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    return (select count(*) from public.notifications n where n.user_id = auth.uid() and n.read_at is null);
end
$$;

create or replace function public.notif_mark_read(p_id bigint) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    update public.notifications n set read_at = now()
     where n.id = p_id and n.user_id = auth.uid() and n.read_at is null;
    if found then
        perform pg_notify('notifications', jsonb_build_object('user_id', auth.uid(), 'event', 'read', 'id', p_id)::text);
    end if;
    return found;
end
$$;

create or replace function public.notif_mark_all_read() returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_count integer;
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    update public.notifications n set read_at = now() where n.user_id = auth.uid() and n.read_at is null;
    get diagnostics v_count = row_count;
    if v_count > 0 then
        perform pg_notify('notifications', jsonb_build_object('user_id', auth.uid(), 'event', 'read', 'id', null)::text);
    end if;
    return v_count;
end
$$;

create or replace function public.ai_consent_get() returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_consent public.ai_consent;
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    select * into v_consent from public.ai_consent where user_id = auth.uid();
    if not found then
        v_consent.user_id := auth.uid();
        v_consent.timezone := 'UTC';
        v_consent.daily_cap := 20;
        v_consent.channels := array['snackbar', 'dm', 'email', 'push'];
    end if;
    return public._consent_json(v_consent);
end
$$;

create or replace function public.ai_consent_set(
    p_quiet_hours_start time default null, p_quiet_hours_end time default null, p_timezone text default null,
    p_daily_cap integer default null, p_channels text[] default null, p_clear_quiet_hours boolean default false)
returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_consent public.ai_consent;
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if (p_quiet_hours_start is null) <> (p_quiet_hours_end is null) then
        raise exception 'quiet hours need both p_quiet_hours_start and p_quiet_hours_end' using errcode = '22023';
    end if;
    if p_daily_cap is not null and p_daily_cap not between 0 and 1000 then
        raise exception 'p_daily_cap must be between 0 and 1000 (got %)', p_daily_cap using errcode = '22023';
    end if;
    if p_channels is not null and not p_channels <@ array['snackbar', 'dm', 'email', 'push'] then
        raise exception 'p_channels may contain only snackbar, dm, email, push' using errcode = '22023';
    end if;
    insert into public.ai_consent (user_id) values (auth.uid()) on conflict (user_id) do nothing;
    update public.ai_consent c
       set quiet_hours_start = case when coalesce(p_clear_quiet_hours, false) then null
                                    else coalesce(p_quiet_hours_start, c.quiet_hours_start) end,
           quiet_hours_end = case when coalesce(p_clear_quiet_hours, false) then null
                                  else coalesce(p_quiet_hours_end, c.quiet_hours_end) end,
           timezone = coalesce(p_timezone, c.timezone),
           daily_cap = coalesce(p_daily_cap, c.daily_cap),
           channels = case when p_channels is null then c.channels
                           else array(select distinct ch from unnest(p_channels) ch order by ch) end
     where c.user_id = auth.uid()
    returning * into v_consent;
    return public._consent_json(v_consent);
end
$$;

create or replace function public.notif_mark_delivered(p_notification_id bigint) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    update public.notifications n set delivered_at = now()
     where n.id = p_notification_id and n.delivered_at is null;
    return found;
end
$$;

create or replace function public.notif_outbox_drain(p_limit integer default 100, p_ttl_seconds integer default 60)
returns table (notification_id bigint, user_id uuid, channel text, delivered boolean)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_item record;
    v_id bigint;
    v_created_at timestamptz;
    v_user uuid;
    v_channel text;
begin
    for v_item in select * from public.lease_events('notifications.deliver', p_limit, p_ttl_seconds) loop
        v_id := (v_item.payload ->> 'notification_id')::bigint;
        v_created_at := (v_item.payload ->> 'created_at')::timestamptz;
        v_user := null;
        -- created_at narrows the update to one partition.
        update public.notifications n set delivered_at = now()
         where n.id = v_id and n.created_at = v_created_at and n.delivered_at is null
        returning n.user_id, n.channel into v_user, v_channel;
        notification_id := v_id;
        user_id := coalesce(v_user, (v_item.payload ->> 'user_id')::uuid);
        channel := coalesce(v_channel, v_item.payload ->> 'channel');
        delivered := v_user is not null;
        perform public.ack_event(v_item.id, v_item.lease_token);
        return next;
    end loop;
end
$$;

revoke all on function public._consent_json(public.ai_consent), public._in_quiet_hours(time, time, time),
    public.notif_send(uuid, text, text, text, text, jsonb, text), public.notif_list(integer, bigint),
    public.notif_unread_count(), public.notif_mark_read(bigint), public.notif_mark_all_read(),
    public.ai_consent_get(), public.ai_consent_set(time, time, text, integer, text[], boolean),
    public.notif_mark_delivered(bigint), public.notif_outbox_drain(integer, integer) from public;
grant execute on function public._consent_json(public.ai_consent), public._in_quiet_hours(time, time, time)
    to authenticated, service_role;
grant execute on function public.notif_send(uuid, text, text, text, text, jsonb, text),
    public.notif_list(integer, bigint), public.notif_unread_count(), public.notif_mark_read(bigint),
    public.notif_mark_all_read(), public.ai_consent_get(),
    public.ai_consent_set(time, time, text, integer, text[], boolean) to authenticated, service_role;
grant execute on function public.notif_mark_delivered(bigint), public.notif_outbox_drain(integer, integer)
    to service_role;
