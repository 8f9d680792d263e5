-- 060_learning_and_flags: learning events (bandit impressions/rewards) and feature flags.
--
-- learning_events: one row per ranked impression: policy, p_exp (propensity
--   of the shown item, the epsilon when explored), explored, score, later the
--   reward. CHECKs: p_exp in [0, 1], reward NULL or in [0, 1]. Written only by
--   the server (service_role); users read their own. Indexes (user_id, ts),
--   (surface, ts), (policy, ts). gc_learning_events() keeps 90 days.
-- feature_flags: key -> value (always a JSON object, e.g. {"enabled": false}
--   or {"version": "epsilon_greedy_v1", "epsilon": 0.08}); rollout_pct lets
--   flags_for() (170) switch an {"enabled": true} flag off for users outside
--   the rollout bucket. Public read; admins write.

create table if not exists public.learning_events (
    id bigint generated always as identity primary key,
    user_id uuid references auth.users (id) on delete cascade,
    surface text not null check (length(surface) between 1 and 64),
    candidate_id text not null check (length(candidate_id) between 1 and 200),
    policy text not null check (length(policy) between 1 and 64),
    p_exp double precision not null check (p_exp between 0 and 1),
    score double precision,
    explored boolean not null default false,
    reward double precision check (reward is null or reward between 0 and 1),
    context jsonb not null default '{}'::jsonb,
    ts timestamptz not null default now()
);
create index if not exists idx_learning_events_user_ts on public.learning_events (user_id, ts);
create index if not exists idx_learning_events_surface_ts on public.learning_events (surface, ts);
create index if not exists idx_learning_events_policy_ts on public.learning_events (policy, ts);

create table if not exists public.feature_flags (
    key text primary key check (key ~ '^[a-z0-9_.-]{1,64}$'),
    value jsonb not null default '{"enabled": false}'::jsonb check (jsonb_typeof(value) = 'object'),
    description text,
    rollout_pct integer not null default 100 check (rollout_pct between 0 and 100),
    updated_at timestamptz not null default now(),
    updated_by uuid
);

create or replace trigger feature_flags_touch_updated_at
    before update on public.feature_flags
    for each row execute function public._touch_updated_at();

alter table public.learning_events enable row level security;
alter table public.feature_flags enable row level security;

revoke all on public.learning_events from anon, authenticated;
grant select on public.learning_events to authenticated;
drop policy if exists learning_events_read_own on public.learning_events;
create policy learning_events_read_own on public.learning_events for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));

grant select on public.feature_flags to anon, authenticated;
grant insert, update, delete on public.feature_flags to authenticated;
drop policy if exists feature_flags_public_read on public.feature_flags;
create policy feature_flags_public_read on public.feature_flags for select to anon, authenticated using (true);
drop policy if exists feature_flags_admin_write on public.feature_flags;
create policy feature_flags_admin_write on public.feature_flags for all to authenticated
    using ((select public.has_role(auth.uid(), 'admin')))
    with check ((select public.has_role(auth.uid(), 'admin')));

-- Learning events are written by the server only (restrictive deny for clients).
drop policy if exists learning_events_no_client_writes on public.learning_events;
create policy learning_events_no_client_writes on public.learning_events as restrictive for insert
    to anon, authenticated with check (false);
