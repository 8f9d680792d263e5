-- 050_queues: events queue, worker jobs, dead letter queue, idempotency registry.
--
-- events_queue: a queue of the queue kernel (125; RPCs in 140), like the
--   discovery queue, keyed UNIQUE (topic, key) so publishing the same event
--   twice is a no-op. status queued -> leased -> done, or -> error when
--   queue_policy gives up.
-- worker_jobs: background jobs, a queue of the queue kernel (125; RPCs in 150)
--   in seed 003's words: status pending -> running -> completed; a failure
--   reschedules (run_at) with the backoff of queue_policy and, once the retries
--   are spent (max_attempts, NULL = the policy's), moves the job to 'dlq', and
--   a trigger (150) writes a dead_letter_queue row with the reason.
--   idempotency_key (optional, unique) makes enqueueing a job idempotent.
-- idempotency_registry: keys with a 24 h TTL (expires_at); an expired key
--   counts as absent and is overwritten on the next record.
-- All four are system tables: no client grants (admins may read jobs/DLQ).

create table if not exists public.events_queue (
    id bigint generated always as identity primary key,
    topic text not null check (topic ~ '^[a-z0-9_.:-]{1,64}$'),
    key text not null check (length(key) between 1 and 200),
    payload jsonb not null default '{}'::jsonb,
    priority integer not null default 0,
    status text not null default 'queued' check (status in ('queued', 'leased', 'done', 'error')),
    attempts integer not null default 0 check (attempts >= 0),
    last_error text,
    lease_token uuid,
    lease_expires_at timestamptz,
    available_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint events_queue_topic_key unique (topic, key),
    constraint events_queue_lease_shape
        check ((status = 'leased') = (lease_token is not null and lease_expires_at is not null))
);
create index if not exists idx_events_queue_ready
    on public.events_queue (topic, priority desc, available_at, id) where status = 'queued';
create index if not exists idx_events_queue_leases
    on public.events_queue (topic, lease_expires_at) where status = 'leased';

create table if not exists public.worker_jobs (
    id bigint generated always as identity primary key,
    kind text not null check (kind ~ '^[a-z0-9_.:-]{1,64}$'),
    payload jsonb not null default '{}'::jsonb,
    status text not null default 'pending'
        check (status in ('pending', 'running', 'completed', 'failed', 'dlq')),
    priority integer not null default 0,
    attempts integer not null default 0 check (attempts >= 0),
    max_attempts integer check (max_attempts between 0 and 25),  -- retries; NULL = queue_policy's
    run_at timestamptz not null default now(),
    idempotency_key text unique check (length(idempotency_key) between 1 and 200),
    locked_by text,
    lease_token uuid,
    lease_expires_at timestamptz,
    last_error text,
    result jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    completed_at timestamptz,
    constraint worker_jobs_lease_shape
        check ((status = 'running') = (lease_token is not null and lease_expires_at is not null))
);
create index if not exists idx_worker_jobs_ready
    on public.worker_jobs (priority desc, run_at, id) where status = 'pending';
create index if not exists idx_worker_jobs_leases
    on public.worker_jobs (lease_expires_at) where status = 'running';

create table if not exists public.dead_letter_queue (
    id bigint generated always as identity primary key,
    job_id bigint references public.worker_jobs (id) on delete set null,
    kind text not null,
    payload jsonb not null default '{}'::jsonb,
    reason text not null check (length(reason) >= 1),
    attempts integer not null,
    created_at timestamptz not null default now(),
    resolved_at timestamptz,
    resolution text check (resolution in ('retried', 'discarded'))
);
create index if not exists idx_dead_letter_queue_open on public.dead_letter_queue (created_at) where resolved_at is null;
create index if not exists idx_dead_letter_queue_job on public.dead_letter_queue (job_id);

create table if not exists public.idempotency_registry (
    key text not null check (length(key) between 1 and 200),
    scope text not null default 'global' check (length(scope) between 1 and 64),
    result jsonb,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null default now() + interval '24 hours',
    primary key (scope, key)
);
create index if not exists idx_idempotency_registry_expires on public.idempotency_registry (expires_at);

create or replace trigger events_queue_touch_updated_at
    before update on public.events_queue
    for each row execute function public._touch_updated_at();
create or replace trigger worker_jobs_touch_updated_at
    before update on public.worker_jobs
    for each row execute function public._touch_updated_at();

alter table public.events_queue enable row level security;
alter table public.worker_jobs enable row level security;
alter table public.dead_letter_queue enable row level security;
alter table public.idempotency_registry enable row level security;

revoke all on public.events_queue, public.worker_jobs, public.dead_letter_queue, public.idempotency_registry
    from anon, authenticated;
grant select on public.events_queue, public.worker_jobs, public.dead_letter_queue to authenticated;

drop policy if exists events_queue_admin_read on public.events_queue;
create policy events_queue_admin_read on public.events_queue for select to authenticated
    using ((select public.has_role(auth.uid(), 'admin')));
drop policy if exists worker_jobs_admin_read on public.worker_jobs;
create policy worker_jobs_admin_read on public.worker_jobs for select to authenticated
    using ((select public.has_role(auth.uid(), 'admin')));
drop policy if exists dead_letter_queue_admin_read on public.dead_letter_queue;
create policy dead_letter_queue_admin_read on public.dead_letter_queue for select to authenticated
    using ((select public.has_role(auth.uid(), 'admin')));

drop policy if exists idempotency_registry_no_client_access on public.idempotency_registry;
create policy idempotency_registry_no_client_access on public.idempotency_registry as restrictive
    for all to anon, authenticated using (false) with check (false);
