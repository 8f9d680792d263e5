-- 040_marketplace: categories, the interest -> category map, the leased
-- discovery queue, candidates, listings and supply gaps.
--
-- marketplace_discovery_queue is a lease-based work queue (RPCs in 130):
--   status        queued -> processing -> done, or -> error (the DLQ) after 5 failed attempts
--   lease_token   uuid handed out by lease_discovery_items; ack/fail must present it
--   lease_expires_at  ack/fail are refused once it has passed; the item becomes re-leasable
--   available_at  not leased before this (retry backoff)
--   UNIQUE (interest_id, category_id, reason) makes enqueueing idempotent.
-- Clients never see the queue; the workers use it as service_role.
--
-- marketplace_candidates are suggestion candidates (seeded, later found by
-- discovery) with an embedding for hybrid retrieval; marketplace_listings are
-- real listings by sellers. marketplace_gaps holds one row per category with
-- the last computed supply gap.

create table if not exists public.marketplace_categories (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9.-]{0,80}$'),
    name text not null check (length(name) between 1 and 80),
    domain text not null check (domain ~ '^[a-z][a-z_]{1,31}$'),
    parent_id uuid references public.marketplace_categories (id) on delete set null,
    created_at timestamptz not null default now()
);

create table if not exists public.marketplace_interest_map (
    interest_id uuid not null references public.interest_catalog (id) on delete cascade,
    category_id uuid not null references public.marketplace_categories (id) on delete cascade,
    weight double precision not null default 1 check (weight between 0 and 1),
    created_at timestamptz not null default now(),
    primary key (interest_id, category_id)
);
create index if not exists idx_marketplace_interest_map_category on public.marketplace_interest_map (category_id);

create table if not exists public.marketplace_discovery_queue (
    id bigint generated always as identity primary key,
    interest_id uuid not null references public.interest_catalog (id) on delete cascade,
    category_id uuid not null references public.marketplace_categories (id) on delete cascade,
    reason text not null check (length(reason) between 1 and 64),
    user_id uuid references auth.users (id) on delete set null,
    priority integer not null default 0,
    status text not null default 'queued' check (status in ('queued', 'processing', 'done', 'error')),
    attempts integer not null default 0 check (attempts >= 0),
    last_error text,
    lease_token uuid,
    lease_expires_at timestamptz,
    available_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint marketplace_discovery_queue_idempotency unique (interest_id, category_id, reason),
    constraint marketplace_discovery_queue_lease_shape
        check ((status = 'processing') = (lease_token is not null and lease_expires_at is not null))
);
-- The lease scan: ready items in priority order, expired leases by expiry.
create index if not exists idx_discovery_queue_ready
    on public.marketplace_discovery_queue (priority desc, available_at, id) where status = 'queued';
create index if not exists idx_discovery_queue_leases
    on public.marketplace_discovery_queue (lease_expires_at) where status = 'processing';

create table if not exists public.marketplace_candidates (
    id uuid primary key default gen_random_uuid(),
    category_id uuid not null references public.marketplace_categories (id) on delete cascade,
    interest_id uuid references public.interest_catalog (id) on delete set null,
    source text not null default 'seed' check (source in ('seed', 'discovery', 'partner', 'listing')),
    title text not null check (length(title) between 1 and 200),
    url text not null check (url ~ '^https?://'),
    price_cents integer check (price_cents >= 0),
    image_url text check (image_url ~ '^https?://'),
    popularity double precision not null default 0 check (popularity >= 0),
    embedding vector(384),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint marketplace_candidates_category_url_key unique (category_id, url)
);
create index if not exists idx_marketplace_candidates_category
    on public.marketplace_candidates (category_id, popularity desc);
create index if not exists idx_marketplace_candidates_popularity
    on public.marketplace_candidates (popularity desc, id);
create index if not exists idx_marketplace_candidates_recent
    on public.marketplace_candidates (created_at desc, id);

create table if not exists public.marketplace_listings (
    id uuid primary key default gen_random_uuid(),
    seller_id uuid not null references auth.users (id) on delete cascade,
    seller_entity_id uuid references public.entities (id) on delete set null,
    category_id uuid references public.marketplace_categories (id) on delete set null,
    title text not null check (length(title) between 1 and 200),
    description text check (length(description) <= 5000),
    price_cents integer not null check (price_cents >= 0),
    currency text not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
    status text not null default 'active' check (status in ('draft', 'active', 'sold', 'archived')),
    image_url text check (image_url ~ '^https?://'),
    metadata jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists idx_listings_created_id_desc on public.marketplace_listings (created_at desc, id desc);
create index if not exists idx_listings_category_active
    on public.marketplace_listings (category_id) where status = 'active';
create index if not exists idx_listings_seller on public.marketplace_listings (seller_id);

create table if not exists public.marketplace_gaps (
    id bigint generated always as identity primary key,
    category_id uuid not null unique references public.marketplace_categories (id) on delete cascade,
    interest_id uuid references public.interest_catalog (id) on delete set null,
    gap_level text not null check (gap_level in ('none', 'low', 'medium', 'high', 'critical')),
    inventory_count integer not null check (inventory_count >= 0),
    demand_count integer not null check (demand_count >= 0),
    detected_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create or replace trigger marketplace_discovery_queue_touch_updated_at
    before update on public.marketplace_discovery_queue
    for each row execute function public._touch_updated_at();
create or replace trigger marketplace_candidates_touch_updated_at
    before update on public.marketplace_candidates
    for each row execute function public._touch_updated_at();
create or replace trigger marketplace_listings_touch_updated_at
    before update on public.marketplace_listings
    for each row execute function public._touch_updated_at();
create or replace trigger marketplace_gaps_touch_updated_at
    before update on public.marketplace_gaps
    for each row execute function public._touch_updated_at();

-- RLS: catalogs (categories, map, candidates, gaps) public read, admin write;
-- the discovery queue has no client policy at all (service_role only) except
-- an admin read for the admin pages; listings: active ones public, sellers
-- manage their own.
alter table public.marketplace_categories enable row level security;
alter table public.marketplace_interest_map enable row level security;
alter table public.marketplace_discovery_queue enable row level security;
alter table public.marketplace_candidates enable row level security;
alter table public.marketplace_listings enable row level security;
alter table public.marketplace_gaps enable row level security;

do $$
declare
    t text;
begin
    foreach t in array array['marketplace_categories', 'marketplace_interest_map',
                             'marketplace_candidates', 'marketplace_gaps'] loop
        execute format('grant select on public.%I to anon, authenticated', t);
        execute format('grant insert, update, delete on public.%I to authenticated', t);
        execute format('drop policy if exists %I on public.%I', t || '_public_read', t);
        execute format('create policy %I on public.%I for select to anon, authenticated using (true)',
                       t || '_public_read', t);
        execute format('drop policy if exists %I on public.%I', t || '_admin_write', t);
        execute format('create policy %I on public.%I for all to authenticated '
                       'using ((select public.has_role(auth.uid(), ''admin''))) '
                       'with check ((select public.has_role(auth.uid(), ''admin'')))',
                       t || '_admin_write', t);
    end loop;
end
$$;

revoke all on public.marketplace_discovery_queue from anon, authenticated;
grant select on public.marketplace_discovery_queue to authenticated;
drop policy if exists marketplace_discovery_queue_admin_read on public.marketplace_discovery_queue;
create policy marketplace_discovery_queue_admin_read on public.marketplace_discovery_queue for select to authenticated
    using ((select public.has_role(auth.uid(), 'admin')));

grant select on public.marketplace_listings to anon, authenticated;
grant insert (seller_id, seller_entity_id, category_id, title, description, price_cents, currency, status,
              image_url, metadata),
      update (seller_entity_id, category_id, title, description, price_cents, currency, status, image_url, metadata),
      delete
    on public.marketplace_listings to authenticated;
drop policy if exists marketplace_listings_public_read on public.marketplace_listings;
create policy marketplace_listings_public_read on public.marketplace_listings for select to anon, authenticated
    using (status = 'active' or seller_id = (select auth.uid()));
drop policy if exists marketplace_listings_seller_insert on public.marketplace_listings;
create policy marketplace_listings_seller_insert on public.marketplace_listings for insert to authenticated
    with check (seller_id = (select auth.uid()));
drop policy if exists marketplace_listings_seller_update on public.marketplace_listings;
create policy marketplace_listings_seller_update on public.marketplace_listings for update to authenticated
    using (seller_id = (select auth.uid())) with check (seller_id = (select auth.uid()));
drop policy if exists marketplace_listings_seller_delete on public.marketplace_listings;
create policy marketplace_listings_seller_delete on public.marketplace_listings for delete to authenticated
    using (seller_id = (select auth.uid()));
