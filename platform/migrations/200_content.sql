-- 200_content: the content the feeds fuse (posts, post targets, follows,
-- calendar events), what a viewer filters out (feed hides, the shopping cart),
-- and the commerce rows (memberships, referrals, orders).
--
-- Owned by Platform II (200-399). marketplace_listings and entities are DB's
-- (040, 020): this file only adds indexes to listings, never redefines them.
--
-- posts(id, author_id, entity_id, body, media_url, metadata, created_at)
--   A post is written by a user, optionally as one of the entities (pages) the
--   user owns. metadata->>'score' is the engagement score the feed ranks with
--   (any JSON value; feed_metadata_score() reads it null-safely).
-- post_targets(post_id, entity_id, status, post_created_at)
--   Where a post is shown besides the home feed: the page it was posted as
--   (approved at once) and pages it was cross-posted to ('pending' until that
--   page's owner approves). The following lane and the profile feed read only
--   approved targets, through EXISTS / DISTINCT so a post aimed at two followed
--   pages appears once. post_created_at copies posts.created_at so the keyset
--   scan runs on this table's own index.
-- entity_edges(follower_id, entity_id, kind 'follow'): a user follows a page.
-- events(id, host_entity_id, created_by, title, starts_at, ends_at, ...): the calendar.
-- feed_hides(user_id, item_kind, item_id): what a viewer hid; never shown to them again.
-- shopping_cart_items(user_id, listing_id, quantity): the cart; the feeds never show
--   a listing that is in the viewer's cart.
-- membership_tiers(tier, capture_rate, rank): free 1 %, pro 2.5 %, elite 4 % (see 260).
-- memberships(user_id, tier): a user's tier; no row = 'free'.
-- referrals(user_id, referrer_id): who referred whom (the referral split, 260).
-- orders / order_items: what checkout (270) records; paid by order_webhook (260).
--
-- RLS: content is public read and written by its owner; hides, cart, follows,
-- memberships, referrals and orders are own rows only. The write RPCs (230,
-- 270) are the supported path; the grants below let RLS, not the RPC, be the
-- guard when a client writes a table directly.

create table if not exists public.posts (
    id uuid primary key default gen_random_uuid(),
    author_id uuid not null references auth.users (id) on delete cascade,
    entity_id uuid references public.entities (id) on delete set null,
    body text not null check (length(body) between 1 and 5000),
    media_url text check (media_url ~ '^https?://'),
    metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists idx_posts_created_id_desc on public.posts (created_at desc, id desc);
create index if not exists idx_posts_author_created on public.posts (author_id, created_at desc);

create table if not exists public.post_targets (
    post_id uuid not null references public.posts (id) on delete cascade,
    entity_id uuid not null references public.entities (id) on delete cascade,
    status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
    post_created_at timestamptz not null,
    created_at timestamptz not null default now(),
    decided_at timestamptz,
    primary key (post_id, entity_id)
);
create index if not exists idx_post_targets_approved
    on public.post_targets (entity_id, post_created_at desc, post_id desc) where status = 'approved';

create table if not exists public.entity_edges (
    follower_id uuid not null references auth.users (id) on delete cascade,
    entity_id uuid not null references public.entities (id) on delete cascade,
    kind text not null default 'follow' check (kind in ('follow')),
    created_at timestamptz not null default now(),
    primary key (follower_id, entity_id, kind)
);
-- The primary key (follower_id, entity_id, kind) is the seed's idx_entity_edges_follow: "whom do I
-- follow" and "do I follow X" both use it. The index below answers "who follows X".
create index if not exists idx_entity_edges_entity on public.entity_edges (entity_id) where kind = 'follow';

create table if not exists public.events (
    id uuid primary key default gen_random_uuid(),
    host_entity_id uuid references public.entities (id) on delete cascade,
    created_by uuid not null references auth.users (id) on delete cascade,
    title text not null check (length(title) between 1 and 200),
    description text check (length(description) <= 5000),
    location text check (length(location) <= 200),
    starts_at timestamptz not null,
    ends_at timestamptz,
    metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint events_ends_after_start check (ends_at is null or ends_at >= starts_at)
);
create index if not exists idx_events_starts_id_desc on public.events (starts_at desc, id desc);
create index if not exists idx_events_host_starts on public.events (host_entity_id, starts_at, id);
create index if not exists idx_events_host_created on public.events (host_entity_id, created_at desc, id desc);
create index if not exists idx_events_created_by on public.events (created_by, starts_at);

create table if not exists public.feed_hides (
    user_id uuid not null references auth.users (id) on delete cascade,
    item_kind text not null check (item_kind in ('post', 'listing', 'event')),
    item_id uuid not null,
    created_at timestamptz not null default now(),
    primary key (user_id, item_kind, item_id)
);
-- The primary key is the seed's idx_feed_hides_user_item.

create table if not exists public.shopping_cart_items (
    user_id uuid not null references auth.users (id) on delete cascade,
    listing_id uuid not null references public.marketplace_listings (id) on delete cascade,
    quantity integer not null default 1 check (quantity between 1 and 99),
    added_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (user_id, listing_id)
);
-- The primary key is the seed's idx_cart_items_user_listing.
create index if not exists idx_cart_items_listing on public.shopping_cart_items (listing_id);

-- The listing streams of the feeds: active listings newest first, overall and per seller page.
create index if not exists idx_listings_active_created_id_desc
    on public.marketplace_listings (created_at desc, id desc) where status = 'active';
create index if not exists idx_listings_entity_active_created
    on public.marketplace_listings (seller_entity_id, created_at desc, id desc) where status = 'active';

create table if not exists public.membership_tiers (
    tier text primary key check (tier ~ '^[a-z]{1,32}$'),
    capture_rate numeric(6, 5) not null check (capture_rate > 0 and capture_rate <= 1),
    rank integer not null unique,
    description text
);
insert into public.membership_tiers (tier, capture_rate, rank, description) values
    ('free', 0.01, 1, 'Captures 1 % of the order value behind each share'),
    ('pro', 0.025, 2, 'Captures 2.5 %'),
    ('elite', 0.04, 3, 'Captures 4 %: the whole pool, nothing missed')
on conflict (tier) do update set capture_rate = excluded.capture_rate, rank = excluded.rank,
    description = excluded.description;

create table if not exists public.memberships (
    user_id uuid primary key references auth.users (id) on delete cascade,
    tier text not null default 'free' references public.membership_tiers (tier),
    updated_at timestamptz not null default now()
);

create table if not exists public.referrals (
    user_id uuid primary key references auth.users (id) on delete cascade,
    referrer_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz not null default now(),
    constraint referrals_not_self check (user_id <> referrer_id)
);
create index if not exists idx_referrals_referrer on public.referrals (referrer_id);

create table if not exists public.orders (
    id uuid primary key default gen_random_uuid(),
    buyer_id uuid not null references auth.users (id) on delete cascade,
    status text not null default 'pending' check (status in ('pending', 'paid', 'cancelled')),
    payment_mode text not null check (payment_mode in ('test', 'real')),
    subtotal_cents bigint not null check (subtotal_cents >= 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    idempotency_key text check (length(idempotency_key) between 1 and 200),
    created_at timestamptz not null default now(),
    paid_at timestamptz,
    updated_at timestamptz not null default now(),
    constraint orders_buyer_idempotency unique (buyer_id, idempotency_key)
);
create index if not exists idx_orders_buyer_created on public.orders (buyer_id, created_at desc);

create table if not exists public.order_items (
    id bigint generated always as identity primary key,
    order_id uuid not null references public.orders (id) on delete cascade,
    listing_id uuid references public.marketplace_listings (id) on delete set null,
    seller_id uuid not null references auth.users (id) on delete cascade,
    seller_entity_id uuid references public.entities (id) on delete set null,
    title text not null,
    unit_price_cents integer not null check (unit_price_cents >= 0),
    quantity integer not null check (quantity between 1 and 99),
    line_total_cents bigint not null check (line_total_cents >= 0)
);
create index if not exists idx_order_items_order on public.order_items (order_id);
create index if not exists idx_order_items_seller on public.order_items (seller_id);

-- post_targets.post_created_at always equals its post's created_at.
create or replace function public._post_targets_copy_created_at() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    select p.created_at into new.post_created_at from public.posts p where p.id = new.post_id;
    if new.post_created_at is null then
        raise exception 'unknown post %', new.post_id using errcode = 'P0002';
    end if;
    return new;
end
$$;

create or replace trigger post_targets_copy_created_at
    before insert or update of post_id on public.post_targets
    for each row execute function public._post_targets_copy_created_at();
create or replace trigger posts_touch_updated_at
    before update on public.posts
    for each row execute function public._touch_updated_at();
create or replace trigger events_touch_updated_at
    before update on public.events
    for each row execute function public._touch_updated_at();
create or replace trigger shopping_cart_items_touch_updated_at
    before update on public.shopping_cart_items
    for each row execute function public._touch_updated_at();
create or replace trigger orders_touch_updated_at
    before update on public.orders
    for each row execute function public._touch_updated_at();
create or replace trigger memberships_touch_updated_at
    before update on public.memberships
    for each row execute function public._touch_updated_at();

alter table public.posts enable row level security;
alter table public.post_targets enable row level security;
alter table public.entity_edges enable row level security;
alter table public.events enable row level security;
alter table public.feed_hides enable row level security;
alter table public.shopping_cart_items enable row level security;
alter table public.membership_tiers enable row level security;
alter table public.memberships enable row level security;
alter table public.referrals enable row level security;
alter table public.orders enable row level security;
alter table public.order_items enable row level security;

-- Posts and events: public pages, written by their author.
grant select on public.posts, public.events to anon, authenticated;
grant insert (author_id, entity_id, body, media_url, metadata), update (body, media_url, metadata), delete
    on public.posts to authenticated;
grant insert (host_entity_id, created_by, title, description, location, starts_at, ends_at, metadata),
      update (title, description, location, starts_at, ends_at, metadata), delete
    on public.events to authenticated;
drop policy if exists posts_public_read on public.posts;
create policy posts_public_read on public.posts for select to anon, authenticated using (true);
drop policy if exists posts_author_write on public.posts;
create policy posts_author_write on public.posts for all to authenticated
    using (author_id = (select auth.uid()))
    with check (author_id = (select auth.uid())
                and (entity_id is null
                     or exists (select 1 from public.entities e where e.id = entity_id and e.owner_id = (select auth.uid()))));
drop policy if exists events_public_read on public.events;
create policy events_public_read on public.events for select to anon, authenticated using (true);
drop policy if exists events_creator_write on public.events;
create policy events_creator_write on public.events for all to authenticated
    using (created_by = (select auth.uid()))
    with check (created_by = (select auth.uid())
                and (host_entity_id is null
                     or exists (select 1 from public.entities e
                                 where e.id = host_entity_id and e.owner_id = (select auth.uid()))));

-- Targets: approved ones are public; the post's author and the target page's owner see the rest.
-- Written only by post_create / post_target_review (definer RPCs, 230).
grant select on public.post_targets to anon, authenticated;
drop policy if exists post_targets_read on public.post_targets;
create policy post_targets_read on public.post_targets for select to anon, authenticated
    using (status = 'approved'
           or exists (select 1 from public.posts p where p.id = post_id and p.author_id = (select auth.uid()))
           or exists (select 1 from public.entities e where e.id = entity_id and e.owner_id = (select auth.uid())));

-- Own rows only.
grant select, insert (follower_id, entity_id, kind), delete on public.entity_edges to authenticated;
drop policy if exists entity_edges_own on public.entity_edges;
create policy entity_edges_own on public.entity_edges for all to authenticated
    using (follower_id = (select auth.uid())) with check (follower_id = (select auth.uid()));

grant select, insert (user_id, item_kind, item_id), delete on public.feed_hides to authenticated;
drop policy if exists feed_hides_own on public.feed_hides;
create policy feed_hides_own on public.feed_hides for all to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

grant select, insert (user_id, listing_id, quantity), update (quantity), delete
    on public.shopping_cart_items to authenticated;
drop policy if exists shopping_cart_items_own on public.shopping_cart_items;
create policy shopping_cart_items_own on public.shopping_cart_items for all to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

grant select on public.membership_tiers to anon, authenticated;
drop policy if exists membership_tiers_public_read on public.membership_tiers;
create policy membership_tiers_public_read on public.membership_tiers for select to anon, authenticated
    using (true);

grant select on public.memberships to authenticated;
drop policy if exists memberships_read_own on public.memberships;
create policy memberships_read_own on public.memberships for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));

grant select on public.referrals to authenticated;
drop policy if exists referrals_read_own on public.referrals;
create policy referrals_read_own on public.referrals for select to authenticated
    using (user_id = (select auth.uid()) or referrer_id = (select auth.uid()));

-- Orders: the buyer reads its orders; a seller reads the lines it sold. Written by checkout (270).
grant select on public.orders, public.order_items to authenticated;
drop policy if exists orders_read_own on public.orders;
create policy orders_read_own on public.orders for select to authenticated
    using (buyer_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));
drop policy if exists order_items_read_own on public.order_items;
create policy order_items_read_own on public.order_items for select to authenticated
    using (seller_id = (select auth.uid())
           or exists (select 1 from public.orders o where o.id = order_id and o.buyer_id = (select auth.uid())));

grant select, insert, update, delete on public.posts, public.post_targets, public.entity_edges, public.events,
    public.feed_hides, public.shopping_cart_items, public.membership_tiers, public.memberships, public.referrals,
    public.orders, public.order_items to service_role;
