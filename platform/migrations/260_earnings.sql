-- 260_earnings: the earnings events (append-only, idempotent), the ledger of
-- totals, order splits and capture rates, and the payment webhook.
--
-- The model (our reading of "Order -> splits recorded (60/25/15 by membership
-- tier)", "Capture at 1%/2.5%/4% rates", "Missed delta (total - captured)"):
--   * A paid order funds an earnings pool of 4 % of its subtotal (4 % = the
--     top tier's capture rate, membership_tiers).
--   * The pool is split 60 / 25 / 15 (earnings_splits) between three roles:
--       seller    60 %  kind 'commission'  per seller, on the lines it sold
--       referrer  25 %  kind 'referral'    the buyer's referrer (referrals), if any
--       buyer     15 %  kind 'membership'  the buyer's membership reward
--     A role with nobody in it (no referrer) is not paid: the platform keeps it.
--   * Each beneficiary captures its share at its own tier's rate
--     (free 1 %, pro 2.5 %, elite 4 %, memberships; no row = free):
--       total    = base x share x 4 %              (what an elite member would get)
--       captured = base x share x rate(tier)       (what this member gets)
--       missed   = total - captured                (the "upgrade to capture it" delta)
--     where base = the order subtotal (the seller's own lines for commission).
--     Amounts are whole cents, rounded half away from zero, each on its own.
--     Example, a $100.00 order: a free seller earns total 240, captured 60,
--     missed 180; a pro referrer total 100, captured 63 (62.5 rounded), missed
--     37; an elite buyer total 60, captured 60, missed 0.
--   * The tier and rate at the moment of the event are stamped on it: changing
--     tier later changes future events only (the ledger is history).
--   * tip and adjustment events (earnings_record_event, server side) are
--     captured in full unless told otherwise.
--
-- Tables
--   earnings_splits(role, kind, share)              the 60/25/15 split, public read
--   earnings_events(id, user_id, kind, amount_cents, captured_cents, missed_cents (generated),
--                   order_id, tier, capture_rate, idempotency_key UNIQUE, metadata, created_at)
--       Append-only: UPDATE, DELETE and TRUNCATE raise (23514), for every role.
--       idempotency_key makes each effect happen once: 'order:<id>:<role>:<user>'.
--   earnings_ledger(user_id, total_cents, captured_cents, missed_cents (generated), events_count,
--                   writes, last_event_id, updated_at)
--       Totals per user, maintained by a statement trigger on earnings_events:
--       one ledger write per user per inserting statement, none when the
--       statement inserted nothing (a replay). writes counts those writes.
--
-- RPCs
--   order_webhook(p_order_id uuid, p_event text default 'payment.succeeded', p_payload jsonb default '{}')
--       -> jsonb {"order_id", "status", "applied": bool, "earnings_events": int}
--       The payment provider's callback (service_role). payment.succeeded moves a
--       pending order to paid and records its earnings; payment.failed cancels a
--       pending order. A replay (the order is already in that state) changes
--       nothing and returns applied = false: the order row lock serialises
--       concurrent deliveries and the events' idempotency keys back it up.
--   earnings_record_event(p_user_id uuid, p_kind text, p_amount_cents bigint, p_idempotency_key text,
--                         p_captured_cents bigint default NULL (= amount), p_metadata jsonb default '{}')
--       -> jsonb {"event_id", "created": bool}       service_role (tips, adjustments, rewards)
--   earnings_summary(p_user_id uuid default NULL)
--       -> jsonb {"user_id", "tier", "capture_rate", "total_cents", "captured_cents", "missed_cents",
--                 "pending_cents", "available_cents", "events_count",
--                 "by_kind": {"commission"|"referral"|"membership"|"tip"|"adjustment":
--                             {"total_cents", "captured_cents", "missed_cents", "events"}}}
--       STABLE. pending = captured in the last 7 days (the refund hold), available = captured - pending.
--   earnings_list(p_limit integer default 50, p_before_id bigint default NULL)
--       -> setof (id bigint, kind text, amount_cents bigint, captured_cents bigint, missed_cents bigint,
--                 order_id uuid, tier text, capture_rate numeric, created_at timestamptz)   newest first, STABLE
--   earnings_recompute(p_user_id uuid default NULL, p_preview boolean default true)
--       -> jsonb {"user_id", "preview", "stored": {...}, "recomputed": {...}, "in_sync": bool, "written": bool}
--       Sums the user's events and compares them with the ledger; with p_preview = false it
--       rewrites the ledger row when they differ.
--   membership_set_tier(p_user_id uuid, p_tier text) -> jsonb {"user_id", "tier", "capture_rate"}
--       service_role or an admin.
--   referral_claim(p_referrer_id uuid) -> boolean   the caller names who referred it, once
--       (true = recorded, false = the same referrer was already recorded; another one: 23505).
-- A client reads its own earnings only (p_user_id NULL or its own id); trusted callers any user's.

create table if not exists public.earnings_splits (
    role text primary key check (role in ('seller', 'referrer', 'buyer')),
    kind text not null unique check (kind in ('commission', 'referral', 'membership')),
    share numeric(4, 3) not null check (share > 0 and share <= 1)
);
insert into public.earnings_splits (role, kind, share) values
    ('seller', 'commission', 0.60), ('referrer', 'referral', 0.25), ('buyer', 'membership', 0.15)
on conflict (role) do update set kind = excluded.kind, share = excluded.share;

create table if not exists public.earnings_events (
    id bigint generated always as identity primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    kind text not null check (kind in ('commission', 'referral', 'membership', 'tip', 'adjustment')),
    amount_cents bigint not null,
    captured_cents bigint not null,
    missed_cents bigint generated always as (amount_cents - captured_cents) stored,
    order_id uuid references public.orders (id) on delete set null,
    tier text,
    capture_rate numeric(6, 5),
    idempotency_key text not null unique check (length(idempotency_key) between 1 and 200),
    metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz not null default now(),
    constraint earnings_events_captured_within_amount
        check (captured_cents between least(0, amount_cents) and greatest(0, amount_cents))
);
create index if not exists idx_earnings_events_user_created on public.earnings_events (user_id, created_at desc);
create index if not exists idx_earnings_events_order on public.earnings_events (order_id);

create table if not exists public.earnings_ledger (
    user_id uuid primary key references auth.users (id) on delete cascade,
    total_cents bigint not null default 0,
    captured_cents bigint not null default 0,
    missed_cents bigint generated always as (total_cents - captured_cents) stored,
    events_count bigint not null default 0,
    writes bigint not null default 0,
    last_event_id bigint,
    updated_at timestamptz not null default now()
);

create or replace function public._earnings_events_append_only() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    raise exception 'earnings_events is append-only: record an adjustment event instead of changing one'
        using errcode = '23514';
end
$$;

create or replace function public._earnings_ledger_apply() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    insert into public.earnings_ledger as g (user_id, total_cents, captured_cents, events_count, writes, last_event_id)
    select n.user_id, sum(n.amount_cents), sum(n.captured_cents), count(*), 1, max(n.id)
      from new_events n
     group by n.user_id
    on conflict (user_id) do update
        set total_cents = g.total_cents + excluded.total_cents,
            captured_cents = g.captured_cents + excluded.captured_cents,
            events_count = g.events_count + excluded.events_count,
            writes = g.writes + 1,
            last_event_id = greatest(g.last_event_id, excluded.last_event_id),
            updated_at = now();
    return null;
end
$$;

create or replace trigger earnings_events_append_only
    before update or delete on public.earnings_events
    for each row execute function public._earnings_events_append_only();
create or replace trigger earnings_events_no_truncate
    before truncate on public.earnings_events
    for each statement execute function public._earnings_events_append_only();
create or replace trigger earnings_events_ledger
    after insert on public.earnings_events
    referencing new table as new_events
    for each statement execute function public._earnings_ledger_apply();

alter table public.earnings_splits enable row level security;
alter table public.earnings_events enable row level security;
alter table public.earnings_ledger enable row level security;
grant select on public.earnings_splits to anon, authenticated;
drop policy if exists earnings_splits_public_read on public.earnings_splits;
create policy earnings_splits_public_read on public.earnings_splits for select to anon, authenticated using (true);
grant select on public.earnings_events, public.earnings_ledger to authenticated;
drop policy if exists earnings_events_read_own on public.earnings_events;
create policy earnings_events_read_own on public.earnings_events for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));
drop policy if exists earnings_ledger_read_own on public.earnings_ledger;
create policy earnings_ledger_read_own on public.earnings_ledger for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));
grant select, insert on public.earnings_events to service_role;
grant select on public.earnings_splits, public.earnings_ledger to service_role;

create or replace function public._membership_tier(p_user_id uuid) returns public.membership_tiers
language sql stable
set search_path = public, pg_temp
as $$
    select t.* from public.membership_tiers t
     where t.tier = coalesce((select m.tier from public.memberships m where m.user_id = p_user_id), 'free')
$$;

-- The earnings of one paid order (idempotent: each effect has its key).
create or replace function public._earnings_for_order(p_order_id uuid) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_order public.orders;
    v_pool_rate numeric;
    v_count integer;
begin
    select * into strict v_order from public.orders where id = p_order_id;
    select max(t.capture_rate) into v_pool_rate from public.membership_tiers t;
    with beneficiaries (role, user_id, base_cents) as (
        select 'seller', i.seller_id, sum(i.line_total_cents)
          from public.order_items i where i.order_id = p_order_id
         group by i.seller_id
        union all
        select 'referrer', r.referrer_id, v_order.subtotal_cents
          from public.referrals r where r.user_id = v_order.buyer_id
        union all
        select 'buyer', v_order.buyer_id, v_order.subtotal_cents
    )
    insert into public.earnings_events (user_id, kind, amount_cents, captured_cents, order_id, tier, capture_rate,
                                        idempotency_key, metadata)
    select b.user_id, s.kind,
           round(b.base_cents * s.share * v_pool_rate)::bigint,
           round(b.base_cents * s.share * t.capture_rate)::bigint,
           p_order_id, t.tier, t.capture_rate,
           format('order:%s:%s:%s', p_order_id, b.role, b.user_id),
           jsonb_build_object('role', b.role, 'share', s.share, 'base_cents', b.base_cents, 'pool_rate', v_pool_rate)
      from beneficiaries b
      join public.earnings_splits s on s.role = b.role
      cross join lateral public._membership_tier(b.user_id) t
     where round(b.base_cents * s.share * v_pool_rate) <> 0
     order by b.role, b.user_id
    on conflict (idempotency_key) do nothing;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

-- Applies one payment event to an order; replays change nothing.
create or replace function public._order_apply_payment(p_order_id uuid, p_event text, p_payload jsonb)
returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_order public.orders;
    v_events integer := 0;
begin
    if p_event is null or p_event not in ('payment.succeeded', 'payment.failed') then
        raise exception 'p_event must be payment.succeeded or payment.failed (got "%")', p_event
            using errcode = '22023';
    end if;
    select * into v_order from public.orders where id = p_order_id for update;
    if not found then
        raise exception 'unknown order %', p_order_id using errcode = 'P0002';
    end if;
    if p_event = 'payment.succeeded' then
        if v_order.status = 'paid' then
            return jsonb_build_object('order_id', p_order_id, 'status', 'paid', 'applied', false, 'earnings_events', 0);
        end if;
        if v_order.status <> 'pending' then
            raise exception 'order % is %, it cannot be paid', p_order_id, v_order.status using errcode = '22023';
        end if;
        update public.orders set status = 'paid', paid_at = now() where id = p_order_id;
        v_events := public._earnings_for_order(p_order_id);
        return jsonb_build_object('order_id', p_order_id, 'status', 'paid', 'applied', true,
                                  'earnings_events', v_events);
    end if;
    if v_order.status = 'cancelled' then
        return jsonb_build_object('order_id', p_order_id, 'status', 'cancelled', 'applied', false,
                                  'earnings_events', 0);
    end if;
    if v_order.status <> 'pending' then
        raise exception 'order % is %, a failed payment cannot cancel it', p_order_id, v_order.status
            using errcode = '22023';
    end if;
    update public.orders set status = 'cancelled' where id = p_order_id;
    return jsonb_build_object('order_id', p_order_id, 'status', 'cancelled', 'applied', true, 'earnings_events', 0);
end
$$;

create or replace function public.order_webhook(
    p_order_id uuid, p_event text default 'payment.succeeded', p_payload jsonb default '{}'::jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
begin
    if auth.is_client() then
        raise exception 'only the payment provider (service_role) may call order_webhook' using errcode = '42501';
    end if;
    return public._order_apply_payment(p_order_id, p_event, coalesce(p_payload, '{}'::jsonb));
end
$$;

create or replace function public.earnings_record_event(
    p_user_id uuid, p_kind text, p_amount_cents bigint, p_idempotency_key text,
    p_captured_cents bigint default null, p_metadata jsonb default '{}'::jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_tier public.membership_tiers;
    v_id bigint;
begin
    if auth.is_client() then
        raise exception 'earnings events are recorded by the server (service_role)' using errcode = '42501';
    end if;
    if p_kind is null or p_kind not in ('commission', 'referral', 'membership', 'tip', 'adjustment') then
        raise exception 'p_kind must be commission, referral, membership, tip or adjustment (got "%")', p_kind
            using errcode = '22023';
    end if;
    if p_amount_cents is null then
        raise exception 'p_amount_cents is required' using errcode = '22023';
    end if;
    if p_idempotency_key is null or length(p_idempotency_key) not between 1 and 200 then
        raise exception 'p_idempotency_key must be 1-200 characters' using errcode = '22023';
    end if;
    if p_metadata is not null and jsonb_typeof(p_metadata) <> 'object' then
        raise exception 'p_metadata must be a JSON object' using errcode = '22023';
    end if;
    if not exists (select 1 from auth.users u where u.id = p_user_id) then
        raise exception 'unknown user %', p_user_id using errcode = 'P0002';
    end if;
    v_tier := public._membership_tier(p_user_id);
    insert into public.earnings_events (user_id, kind, amount_cents, captured_cents, tier, capture_rate,
                                        idempotency_key, metadata)
    values (p_user_id, p_kind, p_amount_cents, coalesce(p_captured_cents, p_amount_cents), v_tier.tier,
            v_tier.capture_rate, p_idempotency_key, coalesce(p_metadata, '{}'::jsonb))
    on conflict (idempotency_key) do nothing
    returning id into v_id;
    if v_id is not null then
        return jsonb_build_object('event_id', v_id, 'created', true);
    end if;
    return jsonb_build_object('event_id', (select e.id from public.earnings_events e
                                            where e.idempotency_key = p_idempotency_key), 'created', false);
end
$$;

create or replace function public.earnings_summary(p_user_id uuid default null) returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_self_or_trusted(p_user_id);
    v_tier public.membership_tiers := public._membership_tier(v_uid);
    v_ledger public.earnings_ledger;
    v_pending bigint;
    v_by_kind jsonb;
begin
    select * into v_ledger from public.earnings_ledger where user_id = v_uid;
    select coalesce(sum(e.captured_cents), 0) into v_pending
      from public.earnings_events e where e.user_id = v_uid and e.created_at > now() - interval '7 days';
    select jsonb_object_agg(k.kind, jsonb_build_object(
               'total_cents', coalesce(a.total, 0), 'captured_cents', coalesce(a.captured, 0),
               'missed_cents', coalesce(a.total, 0) - coalesce(a.captured, 0), 'events', coalesce(a.n, 0)))
      into v_by_kind
      from unnest(array['commission', 'referral', 'membership', 'tip', 'adjustment']) k(kind)
      left join (select e.kind, sum(e.amount_cents) as total, sum(e.captured_cents) as captured, count(*) as n
                   from public.earnings_events e where e.user_id = v_uid group by e.kind) a on a.kind = k.kind;
    return jsonb_build_object(
        'user_id', v_uid, 'tier', v_tier.tier, 'capture_rate', v_tier.capture_rate,
        'total_cents', coalesce(v_ledger.total_cents, 0),
        'captured_cents', coalesce(v_ledger.captured_cents, 0),
        'missed_cents', coalesce(v_ledger.missed_cents, 0),
        'pending_cents', v_pending,
        'available_cents', coalesce(v_ledger.captured_cents, 0) - v_pending,
        'events_count', coalesce(v_ledger.events_count, 0),
        'by_kind', v_by_kind);
end
$$;

create or replace function public.earnings_list(p_limit integer default 50, p_before_id bigint default null)
returns table (id bigint, kind text, amount_cents bigint, captured_cents bigint, missed_cents bigint, order_id uuid,
               tier text, capture_rate numeric, created_at timestamptz)
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if p_limit is null or p_limit not between 1 and 200 then
        raise exception 'p_limit must be between 1 and 200 (got %)', p_limit using errcode = '22023';
    end if;
    return query
    select e.id, e.kind, e.amount_cents, e.captured_cents, e.missed_cents, e.order_id, e.tier, e.capture_rate,
           e.created_at
      from public.earnings_events e
     where e.user_id = auth.uid() and (p_before_id is null or e.id < p_before_id)
     order by e.id desc
     limit p_limit;
end
$$;

create or replace function public.earnings_recompute(p_user_id uuid default null, p_preview boolean default true)
returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_self_or_trusted(p_user_id);
    v_ledger public.earnings_ledger;
    v_total bigint;
    v_captured bigint;
    v_count bigint;
    v_last bigint;
    v_in_sync boolean;
    v_written boolean := false;
begin
    if p_preview is null then
        raise exception 'p_preview must be true or false' using errcode = '22023';
    end if;
    if not p_preview then
        -- Lock first, then sum: a concurrent insert's ledger trigger waits for us and applies after.
        insert into public.earnings_ledger (user_id) values (v_uid) on conflict (user_id) do nothing;
        select * into v_ledger from public.earnings_ledger where user_id = v_uid for update;
    else
        select * into v_ledger from public.earnings_ledger where user_id = v_uid;
    end if;
    select coalesce(sum(e.amount_cents), 0), coalesce(sum(e.captured_cents), 0), count(*), max(e.id)
      into v_total, v_captured, v_count, v_last
      from public.earnings_events e where e.user_id = v_uid;
    v_in_sync := (coalesce(v_ledger.total_cents, 0), coalesce(v_ledger.captured_cents, 0),
                  coalesce(v_ledger.events_count, 0)) = (v_total, v_captured, v_count);
    if not p_preview and not v_in_sync then
        update public.earnings_ledger
           set total_cents = v_total, captured_cents = v_captured, events_count = v_count, last_event_id = v_last,
               writes = writes + 1, updated_at = now()
         where user_id = v_uid;
        v_written := true;
    end if;
    return jsonb_build_object(
        'user_id', v_uid, 'preview', p_preview,
        'stored', jsonb_build_object('total_cents', coalesce(v_ledger.total_cents, 0),
                                     'captured_cents', coalesce(v_ledger.captured_cents, 0),
                                     'missed_cents', coalesce(v_ledger.missed_cents, 0),
                                     'events_count', coalesce(v_ledger.events_count, 0)),
        'recomputed', jsonb_build_object('total_cents', v_total, 'captured_cents', v_captured,
                                         'missed_cents', v_total - v_captured, 'events_count', v_count),
        'in_sync', v_in_sync, 'written', v_written);
end
$$;

create or replace function public.membership_set_tier(p_user_id uuid, p_tier text) returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_tier public.membership_tiers;
begin
    if auth.is_client() and not public.has_role(auth.uid(), 'admin') then
        raise exception 'only billing (service_role) or an admin may change a membership tier' using errcode = '42501';
    end if;
    select * into v_tier from public.membership_tiers t where t.tier = p_tier;
    if not found then
        raise exception 'unknown tier "%": use %', p_tier,
            (select string_agg(t.tier, ', ' order by t.rank) from public.membership_tiers t) using errcode = '22023';
    end if;
    if not exists (select 1 from auth.users u where u.id = p_user_id) then
        raise exception 'unknown user %', p_user_id using errcode = 'P0002';
    end if;
    insert into public.memberships as m (user_id, tier) values (p_user_id, p_tier)
    on conflict (user_id) do update set tier = excluded.tier where m.tier is distinct from excluded.tier;
    return jsonb_build_object('user_id', p_user_id, 'tier', v_tier.tier, 'capture_rate', v_tier.capture_rate);
end
$$;

create or replace function public.referral_claim(p_referrer_id uuid) returns boolean
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_existing uuid;
begin
    if p_referrer_id is null or p_referrer_id = v_uid then
        raise exception 'p_referrer_id must be another user' using errcode = '22023';
    end if;
    if not exists (select 1 from auth.users u where u.id = p_referrer_id) then
        raise exception 'unknown user %', p_referrer_id using errcode = 'P0002';
    end if;
    insert into public.referrals (user_id, referrer_id) values (v_uid, p_referrer_id)
    on conflict (user_id) do nothing;
    if found then
        return true;
    end if;
    select r.referrer_id into v_existing from public.referrals r where r.user_id = v_uid;
    if v_existing = p_referrer_id then
        return false;
    end if;
    raise exception 'you were already referred by someone else' using errcode = '23505';
end
$$;

revoke all on function public._earnings_events_append_only(), public._earnings_ledger_apply(),
    public._membership_tier(uuid), public._earnings_for_order(uuid), public._order_apply_payment(uuid, text, jsonb),
    public.order_webhook(uuid, text, jsonb), public.earnings_record_event(uuid, text, bigint, text, bigint, jsonb),
    public.earnings_summary(uuid), public.earnings_list(integer, bigint), public.earnings_recompute(uuid, boolean),
    public.membership_set_tier(uuid, text), public.referral_claim(uuid) from public;
grant execute on function public.order_webhook(uuid, text, jsonb),
    public.earnings_record_event(uuid, text, bigint, text, bigint, jsonb) to service_role;
grant execute on function public.earnings_summary(uuid), public.earnings_list(integer, bigint),
    public.earnings_recompute(uuid, boolean), public.membership_set_tier(uuid, text), public.referral_claim(uuid)
    to authenticated, service_role;
