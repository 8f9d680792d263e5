-- 300_views: observability views (columns exactly as seed 000 lists them).
--
--   vw_discovery_queue_health(status, ct, high_retry_ct, oldest_queued, last_activity, p95_age_sec)
--       one row per status; high_retry_ct = attempts >= 3; p95_age_sec = p95 of now() - created_at.
--   vw_events_queue_health(topic, status, ct, high_retry_ct, oldest_queued, last_activity, p95_age_sec)
--   vw_worker_jobs_health(kind, status, ct, oldest_run_at, last_activity)
--   vw_dead_letter_queue(source, id, subject, attempts, last_error, failed_at, details)
--       everything dead-lettered and unresolved: discovery items and events in
--       status 'error' (the failure queue_policy gives up on), worker jobs in dead_letter_queue.
--   vw_gap_severity(domain, category, gap_level, ct, avg_inventory)
--   vw_kernel_slos(path, p95_ms)                      rpc_metrics, last hour, per name
--   vw_policy_health(policy, impression_count, avg_epsilon, exploration_rate, avg_reward,
--                    reward_stddev, last_impression)  learning_events, last 24 h
--       avg_epsilon = mean p_exp; exploration_rate = share explored; reward_stddev is
--       the population stddev, so a single rewarded impression gives 0, not NULL.
--   vw_slo_burnrate(surface, burn_rate, calculated_at)
--       per rpc_metrics name: p95 over the last 5 min / p95 over the last 24 h (alert > 2.0).
--   rpc_metrics_hourly(hour, name, calls, errors, error_rate, p50_ms, p95_ms, p99_ms)   last 7 days
-- Views run with their owner's rights, so they are granted to service_role only.

create or replace view public.vw_discovery_queue_health as
select q.status,
       count(*)::bigint as ct,
       count(*) filter (where q.attempts >= 3)::bigint as high_retry_ct,
       min(q.created_at) as oldest_queued,
       max(q.updated_at) as last_activity,
       round(percentile_cont(0.95) within group (order by extract(epoch from now() - q.created_at))::numeric, 1)
           ::double precision as p95_age_sec
  from public.marketplace_discovery_queue q
 group by q.status;

create or replace view public.vw_events_queue_health as
select e.topic,
       e.status,
       count(*)::bigint as ct,
       count(*) filter (where e.attempts >= 3)::bigint as high_retry_ct,
       min(e.created_at) as oldest_queued,
       max(e.updated_at) as last_activity,
       round(percentile_cont(0.95) within group (order by extract(epoch from now() - e.created_at))::numeric, 1)
           ::double precision as p95_age_sec
  from public.events_queue e
 group by e.topic, e.status;

create or replace view public.vw_worker_jobs_health as
select j.kind,
       j.status,
       count(*)::bigint as ct,
       min(j.run_at) as oldest_run_at,
       max(j.updated_at) as last_activity
  from public.worker_jobs j
 group by j.kind, j.status;

create or replace view public.vw_dead_letter_queue as
select 'marketplace_discovery_queue'::text as source,
       q.id,
       format('interest %s / category %s (%s)', q.interest_id, q.category_id, q.reason) as subject,
       q.attempts,
       q.last_error,
       q.updated_at as failed_at,
       jsonb_build_object('interest_id', q.interest_id, 'category_id', q.category_id, 'reason', q.reason) as details
  from public.marketplace_discovery_queue q
 where q.status = 'error'
union all
select 'events_queue', e.id, format('%s / %s', e.topic, e.key), e.attempts, e.last_error, e.updated_at,
       jsonb_build_object('topic', e.topic, 'key', e.key, 'payload', e.payload)
  from public.events_queue e
 where e.status = 'error'
union all
select 'worker_jobs', d.id, d.kind, d.attempts, d.reason, d.created_at,
       jsonb_build_object('job_id', d.job_id, 'payload', d.payload)
  from public.dead_letter_queue d
 where d.resolved_at is null;

create or replace view public.vw_gap_severity as
select mc.domain,
       mc.name as category,
       g.gap_level,
       count(*)::bigint as ct,
       round(avg(g.inventory_count), 2) as avg_inventory
  from public.marketplace_gaps g
  join public.marketplace_categories mc on mc.id = g.category_id
 group by mc.domain, mc.name, g.gap_level
 order by array_position(array['critical', 'high', 'medium', 'low', 'none'], g.gap_level), mc.domain, mc.name;

create or replace view public.vw_kernel_slos as
select m.name as path,
       round(percentile_cont(0.95) within group (order by m.duration_ms)::numeric, 2)::double precision as p95_ms
  from public.rpc_metrics m
 where m.ts > now() - interval '1 hour'
 group by m.name;

create or replace view public.vw_policy_health as
select l.policy,
       count(*)::bigint as impression_count,
       avg(l.p_exp) as avg_epsilon,
       avg(case when l.explored then 1.0 else 0.0 end)::double precision as exploration_rate,
       avg(l.reward) as avg_reward,
       stddev_pop(l.reward) as reward_stddev,
       max(l.ts) as last_impression
  from public.learning_events l
 where l.ts > now() - interval '24 hours'
 group by l.policy;

create or replace view public.vw_slo_burnrate as
with recent as (
    select m.name, percentile_cont(0.95) within group (order by m.duration_ms) as p95
      from public.rpc_metrics m
     where m.ts > now() - interval '5 minutes'
     group by m.name
), baseline as (
    select m.name, percentile_cont(0.95) within group (order by m.duration_ms) as p95
      from public.rpc_metrics m
     where m.ts > now() - interval '24 hours'
     group by m.name
)
select r.name as surface,
       round((r.p95 / nullif(b.p95, 0))::numeric, 3)::double precision as burn_rate,
       now() as calculated_at
  from recent r
  join baseline b on b.name = r.name;

create or replace view public.rpc_metrics_hourly as
select date_trunc('hour', m.ts) as hour,
       m.name,
       count(*)::bigint as calls,
       count(*) filter (where not m.ok)::bigint as errors,
       round(avg(case when m.ok then 0.0 else 1.0 end), 4)::double precision as error_rate,
       round(percentile_cont(0.50) within group (order by m.duration_ms)::numeric, 2)::double precision as p50_ms,
       round(percentile_cont(0.95) within group (order by m.duration_ms)::numeric, 2)::double precision as p95_ms,
       round(percentile_cont(0.99) within group (order by m.duration_ms)::numeric, 2)::double precision as p99_ms
  from public.rpc_metrics m
 where m.ts > now() - interval '7 days'
 group by 1, 2;

revoke all on public.vw_discovery_queue_health, public.vw_events_queue_health, public.vw_worker_jobs_health,
    public.vw_dead_letter_queue, public.vw_gap_severity, public.vw_kernel_slos, public.vw_policy_health,
    public.vw_slo_burnrate, public.rpc_metrics_hourly from anon, authenticated;
grant select on public.vw_discovery_queue_health, public.vw_events_queue_health, public.vw_worker_jobs_health,
    public.vw_dead_letter_queue, public.vw_gap_severity, public.vw_kernel_slos, public.vw_policy_health,
    public.vw_slo_burnrate, public.rpc_metrics_hourly to service_role;
