-- 070_telemetry_and_rate_limits: intent signals, RPC metrics, the AI action
-- ledger and the two rate-limit tables.
--
-- intent_signals(user_id, name, metadata, ts): client telemetry, written
--   through emit_signal(); users insert and read only their own rows.
-- rpc_metrics(id, name, duration_ms, ok, error, user_id, ts): one row per RPC
--   or kernel path, written through _log_rpc() (170). Names are the RPC name
--   ('marketplace_suggestions_for_user') or a dotted kernel path
--   ('auth.login', 'onboarding.submit'); vw_kernel_slos reports p95 per name.
-- ai_action_ledger: what the AI assistant did for a user (column "timestamp",
--   as the cutover guide queries it). Users read their own; server writes.
-- rate_limits(bucket, count, expires_at): fixed windows for bump_rate().
-- rate_limit_counters(scope, subject, tokens, ...): token buckets for
--   check_rate_limit(). Both are closed to clients (no grants, no policies).

create table if not exists public.intent_signals (
    id bigint generated always as identity primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    name text not null check (name ~ '^[a-z0-9_.:-]{1,64}$'),
    metadata jsonb not null default '{}'::jsonb check (pg_column_size(metadata) <= 8192),
    ts timestamptz not null default now()
);
create index if not exists idx_intent_signals_user_ts on public.intent_signals (user_id, ts);
create index if not exists idx_intent_signals_ts on public.intent_signals (ts);

create table if not exists public.rpc_metrics (
    id bigint generated always as identity primary key,
    name text not null check (length(name) between 1 and 128),
    duration_ms double precision not null check (duration_ms >= 0),
    ok boolean not null default true,
    error text,
    user_id uuid,
    ts timestamptz not null default now()
);
create index if not exists idx_rpc_metrics_name_ts on public.rpc_metrics (name, ts);
create index if not exists idx_rpc_metrics_ts on public.rpc_metrics (ts);

create table if not exists public.ai_action_ledger (
    id bigint generated always as identity primary key,
    user_id uuid references auth.users (id) on delete cascade,
    agent text not null default 'rocker',
    action text not null check (length(action) between 1 and 128),
    input jsonb not null default '{}'::jsonb,
    output jsonb not null default '{}'::jsonb,
    result text not null default 'success' check (result in ('success', 'failure', 'skipped')),
    correlation_id text,
    "timestamp" timestamptz not null default now()
);
create index if not exists idx_ai_action_ledger_user_ts on public.ai_action_ledger (user_id, "timestamp");
create index if not exists idx_ai_action_ledger_ts on public.ai_action_ledger ("timestamp");

create table if not exists public.rate_limits (
    bucket text primary key check (length(bucket) between 1 and 200),
    count integer not null default 0 check (count >= 0),
    expires_at timestamptz not null
);
create index if not exists idx_rate_limits_expires on public.rate_limits (expires_at);

create table if not exists public.rate_limit_counters (
    scope text not null check (length(scope) between 1 and 64),
    subject text not null check (length(subject) between 1 and 200),
    tokens double precision not null check (tokens >= 0),
    capacity integer not null check (capacity > 0),
    refill_per_second double precision not null check (refill_per_second > 0),
    updated_at timestamptz not null default now(),
    primary key (scope, subject)
);
create index if not exists idx_rate_limit_counters_updated on public.rate_limit_counters (updated_at);

alter table public.intent_signals enable row level security;
alter table public.rpc_metrics enable row level security;
alter table public.ai_action_ledger enable row level security;
alter table public.rate_limits enable row level security;
alter table public.rate_limit_counters enable row level security;

revoke all on public.rate_limits, public.rate_limit_counters, public.rpc_metrics from anon, authenticated;

grant select, insert (user_id, name, metadata) on public.intent_signals to authenticated;
drop policy if exists intent_signals_read_own on public.intent_signals;
create policy intent_signals_read_own on public.intent_signals for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));
drop policy if exists intent_signals_insert_own on public.intent_signals;
create policy intent_signals_insert_own on public.intent_signals for insert to authenticated
    with check (user_id = (select auth.uid()));

grant select on public.ai_action_ledger to authenticated;
drop policy if exists ai_action_ledger_read_own on public.ai_action_ledger;
create policy ai_action_ledger_read_own on public.ai_action_ledger for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));

-- Explicit (restrictive) deny policies: RLS without policies already denies,
-- but a named policy states the intent and survives someone adding a
-- permissive policy later.
drop policy if exists rate_limits_no_client_access on public.rate_limits;
create policy rate_limits_no_client_access on public.rate_limits as restrictive for all to anon, authenticated
    using (false) with check (false);
drop policy if exists rate_limit_counters_no_client_access on public.rate_limit_counters;
create policy rate_limit_counters_no_client_access on public.rate_limit_counters as restrictive
    for all to anon, authenticated using (false) with check (false);
drop policy if exists rpc_metrics_no_client_access on public.rpc_metrics;
create policy rpc_metrics_no_client_access on public.rpc_metrics as restrictive for all to anon, authenticated
    using (false) with check (false);
