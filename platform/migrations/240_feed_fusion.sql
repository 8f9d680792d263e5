-- 240_feed_fusion: the home feed (three lanes) and the profile feed.
--
--   feed_fusion_home(p_lane text default 'for_you', p_cursor text default NULL, p_limit integer default 20)
--       -> jsonb {"lane": text, "items": [item...], "next_cursor": text|null, "has_more": bool,
--                 "policy": text, "epsilon": number, "blend": {"posts": n, "listings": n, "events": n}}
--       VOLATILE (it logs one learning_events row per impression), SECURITY DEFINER, authenticated
--       and service_role. p_limit 1-50. Lanes: for_you, following, shop; the legacy names
--       combined (= for_you) and personal (= following) are accepted.
--   feed_fusion_profile(p_entity_id uuid, p_cursor text default NULL, p_limit integer default 20)
--       -> jsonb {"entity_id": uuid, "items": [item...], "next_cursor": text|null, "has_more": bool}
--       STABLE, SECURITY DEFINER, anon+. The page's posts (approved targets), active listings and
--       events, newest first (created_at, then id), one keyset over the three.
--   item = {"kind": "post"|"listing"|"event", "id", "user_id" (author / seller / creator),
--           "entity_id" (page or null), "actor" ("e:<entity>" or "u:<user>": the seller key),
--           "actor_name", "actor_handle", "created_at", "position" (1-based), "score",
--           post: "body", "media_url"; listing: "title", "description", "price_cents", "currency",
--           "image_url", "category_id"; event: "title", "description", "location", "starts_at", "ends_at";
--           home only: "explored", "propensity", "learning_event_id"}
--   Cursors are opaque (URL-safe base64 of JSON); a cursor of another lane or page
--   is refused (22023): switching lanes starts again without a cursor.
--
-- How a home page is built (this is the reading of seeds 003/004 it implements):
--  1. Three streams, each in its own keyset order and with its own cursor
--     position: posts (created_at desc, id desc), active listings (created_at
--     desc, id desc) and upcoming events (starts_at asc, id asc; the first
--     page starts at now()). Lane for_you and shop read everything; following
--     reads what the viewer's followed pages posted (approved post_targets,
--     deduplicated: a post aimed at two followed pages comes once), listed and
--     host. Hidden items (feed_hides) and listings in the viewer's cart are
--     filtered inside each stream, before the blend. Each stream fetches
--     p_limit + 1 rows, so the page knows whether more exist.
--  2. The blend picks how many of each kind the page takes, slot by slot: the
--     kind furthest behind its weight (weight * slots - taken) among kinds
--     with rows left, where a listing may be taken only while listings stay
--     <= cap * page size. Weights and cap per lane (feed_lane_blends):
--        for_you    posts 60 / listings 25 / events 15, listings <= 1/2
--        following  posts 80 / listings  5 / events 15, listings <= 1/3
--        shop       posts 10 / listings 85 / events  5, listings <= 2/3
--     The seeds print shop's blend as "85/10/5" like the others
--     (posts/listings/events), but a shop lane with fewer listings (10 %) than
--     for_you (25 %) contradicts its name and its 2/3 cap (which would then
--     never bind); we read it as listings 85 / posts 10 / events 5, the cap
--     holding listings to 2/3. One row of feed_lane_blends to change if the
--     product owner reads it the other way.
--     The cap is on what the page shows, so when only listings are left the
--     lane ends (has_more = false) rather than serving an all-listing page.
--  3. The page is the first k rows of each stream; each stream's cursor moves
--     past exactly the rows it gave. Nothing is skipped or repeated, and rows
--     created after page 1 sort before the cursor, so they never shift a
--     scroll in progress (they appear on the next refresh).
--  4. Ranking orders the page (never which rows it holds): score =
--     exp(-hours/48) + metadata score (null-safe, clamped to [0, 1]) + 0.15
--     when the viewer follows the item's page (for_you and shop); hours = age
--     for posts and listings, time to start for events. Position by position,
--     the greedy choice is the best-scoring item, except that it may not have
--     the previous item's seller unless it beats the best other-seller item by
--     >= 0.25 (no two items of one seller back to back unless the score gap is
--     >= 0.25). Epsilon-greedy: with probability epsilon (ranker.policy
--     {"epsilon"}) a uniformly random item of another seller is shown instead.
--  5. global.safe_mode {"enabled": true}: epsilon 0, policy "safe_mode", no
--     follow boost: a deterministic popular (metadata score) + recent (decay)
--     slate, the same for everyone (the "global" fallback).
--  6. With learning.enabled, one learning_events row per item shown: surface
--     'feed.<lane>', candidate_id '<kind>:<id>', policy = ranker.policy
--     {"version"} (or 'safe_mode'), p_exp = the epsilon in force (the column
--     vw_policy_health averages as avg_epsilon; 0 in safe mode, as the cutover
--     guide says), explored, score, and context {"propensity": the exact
--     probability the policy had of showing this item at this position,
--     "position", "lane", "kind"}.
--
-- The stream functions (_feed_*) are plain SQL functions without SET clauses
-- or SECURITY DEFINER so that the planner inlines them: the plan test
-- (tests/integration/platform2/test_feed_plans.py) EXPLAINs exactly the
-- queries the feed runs. They are not granted to clients. The orchestrators
-- run with plan_cache_mode = force_custom_plan so each call is planned with its
-- actual arguments (a first page's NULL cursor folds away).

do $$
begin
    if not exists (select 1 from pg_type where typname = 'feed_candidate' and typnamespace = 'public'::regnamespace) then
        create type public.feed_candidate as (
            kind text,
            id uuid,
            actor text,
            sort_ts timestamptz,
            base_score double precision,
            followed boolean,
            item jsonb
        );
    end if;
end
$$;

create table if not exists public.feed_lane_blends (
    lane text primary key check (lane ~ '^[a-z_]{1,32}$'),
    scope text not null check (scope in ('all', 'following')),
    posts_weight numeric(4, 3) not null check (posts_weight between 0 and 1),
    listings_weight numeric(4, 3) not null check (listings_weight between 0 and 1),
    events_weight numeric(4, 3) not null check (events_weight between 0 and 1),
    listing_cap_num integer not null check (listing_cap_num >= 0),
    listing_cap_den integer not null check (listing_cap_den > 0),
    constraint feed_lane_blends_weights_sum check (posts_weight + listings_weight + events_weight = 1)
);
insert into public.feed_lane_blends
    (lane, scope, posts_weight, listings_weight, events_weight, listing_cap_num, listing_cap_den)
values ('for_you', 'all', 0.60, 0.25, 0.15, 1, 2),
       ('following', 'following', 0.80, 0.05, 0.15, 1, 3),
       ('shop', 'all', 0.10, 0.85, 0.05, 2, 3)
on conflict (lane) do update
    set scope = excluded.scope, posts_weight = excluded.posts_weight, listings_weight = excluded.listings_weight,
        events_weight = excluded.events_weight, listing_cap_num = excluded.listing_cap_num,
        listing_cap_den = excluded.listing_cap_den;
alter table public.feed_lane_blends enable row level security;
grant select on public.feed_lane_blends to anon, authenticated;
grant select, insert, update, delete on public.feed_lane_blends to service_role;
drop policy if exists feed_lane_blends_public_read on public.feed_lane_blends;
create policy feed_lane_blends_public_read on public.feed_lane_blends for select to anon, authenticated using (true);

-- The seed's null-safe score: NULLIF(metadata->>'score', '')::numeric, also safe for
-- non-numeric text and out-of-range numbers, clamped to [0, 1].
create or replace function public._feed_metadata_score(p_metadata jsonb) returns double precision
language sql immutable parallel safe
as $$
    select case
        when jsonb_typeof(p_metadata -> 'score') = 'number'
            then least(greatest((p_metadata ->> 'score')::numeric, 0), 1)::double precision
        when jsonb_typeof(p_metadata -> 'score') = 'string'
             and (p_metadata ->> 'score') ~ '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?\s*$'
            then least(greatest(nullif(trim(p_metadata ->> 'score'), '')::numeric, 0), 1)::double precision
        else 0
    end
$$;

create or replace function public._feed_decay(p_hours double precision) returns double precision
language sql immutable parallel safe
as $$
    select exp(-greatest(p_hours, 0) / 48.0)
$$;

create or replace function public._feed_lane(p_lane text) returns text
language sql immutable
set search_path = public, pg_temp
as $$
    select case lower(trim(p_lane))
        when 'for_you' then 'for_you' when 'combined' then 'for_you'
        when 'following' then 'following' when 'personal' then 'following'
        when 'shop' then 'shop'
    end
$$;

-- ---------------------------------------------------------------- streams
-- Posts, every author, newest first.
create or replace function public._feed_posts_all(
    p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select 'post'::text, p.id, coalesce('e:' || p.entity_id, 'u:' || p.author_id), p.created_at,
           public._feed_decay(extract(epoch from now() - p.created_at)::double precision / 3600.0)
               + public._feed_metadata_score(p.metadata),
           exists (select 1 from public.entity_edges f
                    where f.follower_id = p_viewer and f.entity_id = p.entity_id and f.kind = 'follow'),
           jsonb_build_object('kind', 'post', 'id', p.id, 'user_id', p.author_id, 'entity_id', p.entity_id,
                              'body', p.body, 'media_url', p.media_url, 'created_at', p.created_at)
      from public.posts p
     where (p.created_at, p.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'post' and h.item_id = p.id)
     order by p.created_at desc, p.id desc
     limit p_limit
$$;

-- One followed page's visible stream keys before (after, for events) the cursor, in stream order:
-- the building block of the three following streams below. Single SELECTs, so the planner
-- inlines them into the caller's lateral join and walks the page's index in order.
create or replace function public._feed_page_post_keys(
    p_entity uuid, p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns table (ts timestamptz, id uuid)
language sql stable
as $$
    select t.post_created_at, t.post_id
      from public.post_targets t
     where t.entity_id = p_entity and t.status = 'approved'
       and (t.post_created_at, t.post_id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                             coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides x
                        where x.user_id = p_viewer and x.item_kind = 'post' and x.item_id = t.post_id)
     order by t.post_created_at desc, t.post_id desc
     limit p_limit
$$;

create or replace function public._feed_page_listing_keys(
    p_entity uuid, p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns table (ts timestamptz, id uuid)
language sql stable
as $$
    select l.created_at, l.id
      from public.marketplace_listings l
     where l.seller_entity_id = p_entity and l.status = 'active'
       and (l.created_at, l.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides x
                        where x.user_id = p_viewer and x.item_kind = 'listing' and x.item_id = l.id)
       and not exists (select 1 from public.shopping_cart_items c where c.user_id = p_viewer and c.listing_id = l.id)
     order by l.created_at desc, l.id desc
     limit p_limit
$$;

create or replace function public._feed_page_event_keys(
    p_entity uuid, p_viewer uuid, p_after_ts timestamptz, p_after_id uuid, p_limit integer)
returns table (ts timestamptz, id uuid)
language sql stable
as $$
    select e.starts_at, e.id
      from public.events e
     where e.host_entity_id = p_entity
       and (e.starts_at, e.id) > (coalesce(p_after_ts, now()),
                                  coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
       and not exists (select 1 from public.feed_hides x
                        where x.user_id = p_viewer and x.item_kind = 'event' and x.item_id = e.id)
     order by e.starts_at, e.id
     limit p_limit
$$;

-- Posts with an approved target among the viewer's followed pages, each once.
-- Two passes, so the cost grows with the follows by one index probe each, not by p_limit rows
-- each: first every followed page's newest visible post before the cursor (its head); the
-- p_limit-th newest distinct head is the bar. A page whose head is older than the bar cannot
-- place a post on this page (at least p_limit distinct posts are at or above the bar, and all
-- of that page's posts are below it), so only pages whose head clears the bar are read further.
create or replace function public._feed_posts_following(
    p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    with heads as materialized (
        select f.entity_id, h.ts, h.id
          from public.entity_edges f
          cross join lateral public._feed_page_post_keys(f.entity_id, p_viewer, p_before_ts, p_before_id, 1) h
         where f.follower_id = p_viewer and f.kind = 'follow'
    ),
    bar as (
        select d.ts, d.id from (select distinct ts, id from heads) d
         order by d.ts desc, d.id desc
        offset greatest(p_limit, 1) - 1
         limit 1
    )
    select 'post'::text, p.id, coalesce('e:' || p.entity_id, 'u:' || p.author_id), p.created_at,
           public._feed_decay(extract(epoch from now() - p.created_at)::double precision / 3600.0)
               + public._feed_metadata_score(p.metadata),
           true,
           jsonb_build_object('kind', 'post', 'id', p.id, 'user_id', p.author_id, 'entity_id', p.entity_id,
                              'body', p.body, 'media_url', p.media_url, 'created_at', p.created_at)
      from (select distinct k.ts, k.id
              from heads h
              cross join lateral public._feed_page_post_keys(h.entity_id, p_viewer, p_before_ts, p_before_id, p_limit) k
             where not exists (select 1 from bar where (h.ts, h.id) < (bar.ts, bar.id))
             order by k.ts desc, k.id desc
             limit p_limit) c
      join public.posts p on p.id = c.id
     order by c.ts desc, c.id desc
$$;

-- Active listings of every seller, newest first, minus the viewer's cart.
create or replace function public._feed_listings_all(
    p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select 'listing'::text, l.id, coalesce('e:' || l.seller_entity_id, 'u:' || l.seller_id), l.created_at,
           public._feed_decay(extract(epoch from now() - l.created_at)::double precision / 3600.0)
               + public._feed_metadata_score(l.metadata),
           exists (select 1 from public.entity_edges f
                    where f.follower_id = p_viewer and f.entity_id = l.seller_entity_id and f.kind = 'follow'),
           jsonb_build_object('kind', 'listing', 'id', l.id, 'user_id', l.seller_id, 'entity_id', l.seller_entity_id,
                              'title', l.title, 'description', l.description, 'price_cents', l.price_cents,
                              'currency', l.currency, 'image_url', l.image_url, 'category_id', l.category_id,
                              'created_at', l.created_at)
      from public.marketplace_listings l
     where l.status = 'active'
       and (l.created_at, l.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'listing' and h.item_id = l.id)
       and not exists (select 1 from public.shopping_cart_items c where c.user_id = p_viewer and c.listing_id = l.id)
     order by l.created_at desc, l.id desc
     limit p_limit
$$;

-- Active listings of the viewer's followed pages, newest first, minus hides and the cart: the
-- same two passes as _feed_posts_following (heads, bar, then only pages clearing the bar).
create or replace function public._feed_listings_following(
    p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    with heads as materialized (
        select f.entity_id, h.ts, h.id
          from public.entity_edges f
          cross join lateral public._feed_page_listing_keys(f.entity_id, p_viewer, p_before_ts, p_before_id, 1) h
         where f.follower_id = p_viewer and f.kind = 'follow'
    ),
    bar as (
        select h.ts, h.id from heads h order by h.ts desc, h.id desc offset greatest(p_limit, 1) - 1 limit 1
    )
    select 'listing'::text, l.id, coalesce('e:' || l.seller_entity_id, 'u:' || l.seller_id), l.created_at,
           public._feed_decay(extract(epoch from now() - l.created_at)::double precision / 3600.0)
               + public._feed_metadata_score(l.metadata),
           true,
           jsonb_build_object('kind', 'listing', 'id', l.id, 'user_id', l.seller_id, 'entity_id', l.seller_entity_id,
                              'title', l.title, 'description', l.description, 'price_cents', l.price_cents,
                              'currency', l.currency, 'image_url', l.image_url, 'category_id', l.category_id,
                              'created_at', l.created_at)
      from (select k.ts, k.id
              from heads h
              cross join lateral
                   public._feed_page_listing_keys(h.entity_id, p_viewer, p_before_ts, p_before_id, p_limit) k
             where not exists (select 1 from bar where (h.ts, h.id) < (bar.ts, bar.id))
             order by k.ts desc, k.id desc
             limit p_limit) c
      join public.marketplace_listings l on l.id = c.id
     order by c.ts desc, c.id desc
$$;

-- Upcoming events, soonest first (the first page starts at now()).
create or replace function public._feed_events_all(
    p_viewer uuid, p_after_ts timestamptz, p_after_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select 'event'::text, e.id, coalesce('e:' || e.host_entity_id, 'u:' || e.created_by), e.starts_at,
           public._feed_decay(abs(extract(epoch from e.starts_at - now()))::double precision / 3600.0)
               + public._feed_metadata_score(e.metadata),
           exists (select 1 from public.entity_edges f
                    where f.follower_id = p_viewer and f.entity_id = e.host_entity_id and f.kind = 'follow'),
           jsonb_build_object('kind', 'event', 'id', e.id, 'user_id', e.created_by, 'entity_id', e.host_entity_id,
                              'title', e.title, 'description', e.description, 'location', e.location,
                              'starts_at', e.starts_at, 'ends_at', e.ends_at, 'created_at', e.created_at)
      from public.events e
     where (e.starts_at, e.id) > (coalesce(p_after_ts, now()),
                                  coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'event' and h.item_id = e.id)
     order by e.starts_at, e.id
     limit p_limit
$$;

-- Upcoming events hosted by the viewer's followed pages, soonest first, minus hides: the same
-- two passes as _feed_posts_following, in ascending order (the bar is the p_limit-th soonest head).
create or replace function public._feed_events_following(
    p_viewer uuid, p_after_ts timestamptz, p_after_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    with heads as materialized (
        select f.entity_id, h.ts, h.id
          from public.entity_edges f
          cross join lateral public._feed_page_event_keys(f.entity_id, p_viewer, p_after_ts, p_after_id, 1) h
         where f.follower_id = p_viewer and f.kind = 'follow'
    ),
    bar as (
        select h.ts, h.id from heads h order by h.ts, h.id offset greatest(p_limit, 1) - 1 limit 1
    )
    select 'event'::text, e.id, coalesce('e:' || e.host_entity_id, 'u:' || e.created_by), e.starts_at,
           public._feed_decay(abs(extract(epoch from e.starts_at - now()))::double precision / 3600.0)
               + public._feed_metadata_score(e.metadata),
           true,
           jsonb_build_object('kind', 'event', 'id', e.id, 'user_id', e.created_by, 'entity_id', e.host_entity_id,
                              'title', e.title, 'description', e.description, 'location', e.location,
                              'starts_at', e.starts_at, 'ends_at', e.ends_at, 'created_at', e.created_at)
      from (select k.ts, k.id
              from heads h
              cross join lateral public._feed_page_event_keys(h.entity_id, p_viewer, p_after_ts, p_after_id, p_limit) k
             where not exists (select 1 from bar where (h.ts, h.id) > (bar.ts, bar.id))
             order by k.ts, k.id
             limit p_limit) c
      join public.events e on e.id = c.id
     order by c.ts, c.id
$$;

-- The profile streams: one page's posts, listings and events, all by created_at desc.
create or replace function public._feed_profile_posts(
    p_viewer uuid, p_entity_id uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select 'post'::text, p.id, coalesce('e:' || p.entity_id, 'u:' || p.author_id), p.created_at,
           public._feed_decay(extract(epoch from now() - p.created_at)::double precision / 3600.0)
               + public._feed_metadata_score(p.metadata),
           false,
           jsonb_build_object('kind', 'post', 'id', p.id, 'user_id', p.author_id, 'entity_id', p.entity_id,
                              'body', p.body, 'media_url', p.media_url, 'created_at', p.created_at)
      from (select t.post_id, t.post_created_at
              from public.post_targets t
             where t.entity_id = p_entity_id and t.status = 'approved'
               and (t.post_created_at, t.post_id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                                     coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
               and not exists (select 1 from public.feed_hides h
                                where h.user_id = p_viewer and h.item_kind = 'post' and h.item_id = t.post_id)
             order by t.post_created_at desc, t.post_id desc
             limit p_limit) c
      join public.posts p on p.id = c.post_id
     order by c.post_created_at desc, c.post_id desc
$$;

create or replace function public._feed_profile_listings(
    p_viewer uuid, p_entity_id uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select 'listing'::text, l.id, coalesce('e:' || l.seller_entity_id, 'u:' || l.seller_id), l.created_at,
           public._feed_decay(extract(epoch from now() - l.created_at)::double precision / 3600.0)
               + public._feed_metadata_score(l.metadata),
           false,
           jsonb_build_object('kind', 'listing', 'id', l.id, 'user_id', l.seller_id, 'entity_id', l.seller_entity_id,
                              'title', l.title, 'description', l.description, 'price_cents', l.price_cents,
                              'currency', l.currency, 'image_url', l.image_url, 'category_id', l.category_id,
                              'created_at', l.created_at)
      from public.marketplace_listings l
     where l.seller_entity_id = p_entity_id and l.status = 'active'
       and (l.created_at, l.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'listing' and h.item_id = l.id)
       and not exists (select 1 from public.shopping_cart_items c where c.user_id = p_viewer and c.listing_id = l.id)
     order by l.created_at desc, l.id desc
     limit p_limit
$$;

create or replace function public._feed_profile_events(
    p_viewer uuid, p_entity_id uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select 'event'::text, e.id, coalesce('e:' || e.host_entity_id, 'u:' || e.created_by), e.created_at,
           public._feed_decay(abs(extract(epoch from e.starts_at - now()))::double precision / 3600.0)
               + public._feed_metadata_score(e.metadata),
           false,
           jsonb_build_object('kind', 'event', 'id', e.id, 'user_id', e.created_by, 'entity_id', e.host_entity_id,
                              'title', e.title, 'description', e.description, 'location', e.location,
                              'starts_at', e.starts_at, 'ends_at', e.ends_at, 'created_at', e.created_at)
      from public.events e
     where e.host_entity_id = p_entity_id
       and (e.created_at, e.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'event' and h.item_id = e.id)
     order by e.created_at desc, e.id desc
     limit p_limit
$$;

-- ---------------------------------------------------------------- cursors
create or replace function public._feed_cursor_encode(p_cursor jsonb) returns text
language sql immutable
set search_path = public, pg_temp
as $$
    select rtrim(translate(encode(convert_to(p_cursor::text, 'UTF8'), 'base64'), E'+/\n', '-_'), '=')
$$;

-- NULL for NULL; a JSON object, or 22023 naming the problem.
create or replace function public._feed_cursor_decode(p_cursor text) returns jsonb
language plpgsql immutable
set search_path = public, pg_temp
as $$
declare
    v_text text;
    v_cursor jsonb;
begin
    if p_cursor is null or p_cursor = '' then
        return null;
    end if;
    begin
        v_text := translate(p_cursor, '-_', '+/');
        v_text := v_text || repeat('=', (4 - length(v_text) % 4) % 4);
        v_cursor := convert_from(decode(v_text, 'base64'), 'UTF8')::jsonb;
    exception when others then
        v_cursor := null;
    end;
    if v_cursor is null or jsonb_typeof(v_cursor) <> 'object' or v_cursor ->> 'v' is distinct from '1' then
        raise exception 'invalid cursor: pass the next_cursor of the previous page, or none for the first page'
            using errcode = '22023';
    end if;
    return v_cursor;
end
$$;

-- One stream's position from a cursor: (ts, id) or (NULL, NULL).
create or replace function public._feed_cursor_position(p_cursor jsonb, p_key text, out ts timestamptz, out id uuid)
language plpgsql immutable
set search_path = public, pg_temp
as $$
begin
    if p_cursor is null or jsonb_typeof(p_cursor -> p_key) is distinct from 'array' then
        return;
    end if;
    begin
        ts := (p_cursor -> p_key ->> 0)::timestamptz;
        id := (p_cursor -> p_key ->> 1)::uuid;
    exception when others then
        raise exception 'invalid cursor: pass the next_cursor of the previous page, or none for the first page'
            using errcode = '22023';
    end;
end
$$;

-- ---------------------------------------------------------------- ranking
-- Orders a page: greedy by score with the seller rule, epsilon-greedy exploration.
-- Returns one row per item in display order.
create or replace function public._feed_rank(
    p_items public.feed_candidate[], p_scores double precision[], p_epsilon double precision)
returns table (item_index integer, shown_position integer, explored boolean, propensity double precision)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_n integer := coalesce(array_length(p_items, 1), 0);
    v_used boolean[] := array_fill(false, array[greatest(v_n, 1)]);
    v_prev text;
    v_greedy integer;
    v_alt integer;
    v_chosen integer;
    v_pool integer[];
    v_other integer[];
    v_pos integer;
    v_i integer;
    v_explored boolean;
begin
    for v_pos in 1 .. v_n loop
        v_greedy := null;
        v_alt := null;
        v_other := '{}';
        v_pool := '{}';
        for v_i in 1 .. v_n loop
            continue when v_used[v_i];
            v_pool := v_pool || v_i;
            if v_greedy is null or p_scores[v_i] > p_scores[v_greedy]
               or (p_scores[v_i] = p_scores[v_greedy] and (p_items[v_i]).id > (p_items[v_greedy]).id) then
                v_greedy := v_i;
            end if;
            if v_prev is null or (p_items[v_i]).actor <> v_prev then
                v_other := v_other || v_i;
                if v_alt is null or p_scores[v_i] > p_scores[v_alt]
                   or (p_scores[v_i] = p_scores[v_alt] and (p_items[v_i]).id > (p_items[v_alt]).id) then
                    v_alt := v_i;
                end if;
            end if;
        end loop;
        -- The seller rule: the same seller twice in a row only with a score gap of at least 0.25.
        if v_prev is not null and (p_items[v_greedy]).actor = v_prev and v_alt is not null
           and p_scores[v_greedy] - p_scores[v_alt] < 0.25 then
            v_greedy := v_alt;
        end if;
        -- Exploration draws among the items that keep the seller rule (all of them when none does).
        if cardinality(v_other) > 0 then
            v_pool := v_other;
        end if;
        v_explored := p_epsilon > 0 and random() < p_epsilon;
        if v_explored then
            v_chosen := v_pool[1 + floor(random() * cardinality(v_pool))::integer];
        else
            v_chosen := v_greedy;
        end if;
        item_index := v_chosen;
        shown_position := v_pos;
        explored := v_explored;
        propensity := (1 - p_epsilon) * (case when v_chosen = v_greedy then 1 else 0 end)
                      + p_epsilon * (case when v_chosen = any (v_pool) then 1.0 / cardinality(v_pool) else 0 end);
        return next;
        v_used[v_chosen] := true;
        v_prev := (p_items[v_chosen]).actor;
    end loop;
end
$$;

-- Adds actor_name / actor_handle (the page's, else the person's) to each item.
create or replace function public._feed_names(p_items jsonb) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(i.item || jsonb_build_object(
               'actor_name', coalesce(e.display_name, pr.display_name),
               'actor_handle', coalesce(e.handle, pr.handle)) order by i.ord), '[]'::jsonb)
      from jsonb_array_elements(p_items) with ordinality i(item, ord)
      left join public.entities e on e.id = (i.item ->> 'entity_id')::uuid
      left join public.profiles pr on pr.user_id = (i.item ->> 'user_id')::uuid
$$;

-- ---------------------------------------------------------------- RPCs
create or replace function public.feed_fusion_home(
    p_lane text default 'for_you', p_cursor text default null, p_limit integer default 20)
returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
set plan_cache_mode = force_custom_plan
as $$
declare
    v_uid uuid := auth.uid();
    v_lane text := public._feed_lane(p_lane);
    v_blend public.feed_lane_blends;
    v_cursor jsonb;
    v_p record;
    v_l record;
    v_e record;
    v_posts public.feed_candidate[];
    v_listings public.feed_candidate[];
    v_events public.feed_candidate[];
    v_np integer;
    v_nl integer;
    v_ne integer;
    v_tp integer := 0;
    v_tl integer := 0;
    v_te integer := 0;
    v_total integer := 0;
    v_pick text;
    v_best numeric;
    v_deficit numeric;
    v_page public.feed_candidate[];
    v_scores double precision[] := '{}';
    v_i integer;
    v_safe boolean;
    v_flag jsonb;
    v_epsilon double precision := 0;
    v_policy text;
    v_learning boolean;
    v_has_more boolean;
    v_next jsonb;
    v_items jsonb;
    v_ids bigint[];
    v_order integer[];
    v_explored boolean[];
    v_propensity double precision[];
begin
    if auth.is_client() and v_uid is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if v_lane is null then
        raise exception 'unknown lane "%": use for_you, following or shop (combined and personal are their old names)',
            p_lane using errcode = '22023';
    end if;
    if p_limit is null or p_limit not between 1 and 50 then
        raise exception 'p_limit must be between 1 and 50 (got %)', p_limit using errcode = '22023';
    end if;
    select * into strict v_blend from public.feed_lane_blends b where b.lane = v_lane;
    v_cursor := public._feed_cursor_decode(p_cursor);
    if v_cursor is not null and v_cursor ->> 'lane' is distinct from v_lane then
        raise exception 'this cursor belongs to lane "%"; start lane "%" again without a cursor',
            coalesce(v_cursor ->> 'lane', '(profile)'), v_lane using errcode = '22023';
    end if;
    select * into v_p from public._feed_cursor_position(v_cursor, 'p');
    select * into v_l from public._feed_cursor_position(v_cursor, 'l');
    select * into v_e from public._feed_cursor_position(v_cursor, 'e');

    -- The policy: flags are read directly (rollouts do not apply to the ranker).
    select f.value into v_flag from public.feature_flags f where f.key = 'global.safe_mode';
    v_safe := coalesce(v_flag -> 'enabled' = 'true'::jsonb, false);
    select f.value into v_flag from public.feature_flags f where f.key = 'ranker.policy';
    v_policy := coalesce(nullif(v_flag ->> 'version', ''), 'epsilon_greedy_v1');
    if jsonb_typeof(v_flag -> 'epsilon') = 'number' then
        v_epsilon := least(greatest((v_flag ->> 'epsilon')::double precision, 0), 1);
    end if;
    if v_safe then
        v_epsilon := 0;
        v_policy := 'safe_mode';
    end if;
    select f.value into v_flag from public.feature_flags f where f.key = 'learning.enabled';
    v_learning := coalesce(v_flag -> 'enabled' <> 'false'::jsonb, true);

    -- 1. The streams.
    if v_blend.scope = 'following' then
        v_posts := array(select c from public._feed_posts_following(v_uid, v_p.ts, v_p.id, p_limit + 1) c);
        v_listings := array(select c from public._feed_listings_following(v_uid, v_l.ts, v_l.id, p_limit + 1) c);
        v_events := array(select c from public._feed_events_following(v_uid, v_e.ts, v_e.id, p_limit + 1) c);
    else
        v_posts := array(select c from public._feed_posts_all(v_uid, v_p.ts, v_p.id, p_limit + 1) c);
        v_listings := array(select c from public._feed_listings_all(v_uid, v_l.ts, v_l.id, p_limit + 1) c);
        v_events := array(select c from public._feed_events_all(v_uid, v_e.ts, v_e.id, p_limit + 1) c);
    end if;
    v_np := cardinality(v_posts);
    v_nl := cardinality(v_listings);
    v_ne := cardinality(v_events);

    -- 2. The blend: slot by slot, the kind furthest behind its weight; listings within the cap.
    while v_total < p_limit loop
        v_pick := null;
        v_best := null;
        if v_tp < v_np then
            v_deficit := v_blend.posts_weight * (v_total + 1) - v_tp;
            v_pick := 'post';
            v_best := v_deficit;
        end if;
        if v_tl < v_nl and (v_tl + 1) * v_blend.listing_cap_den <= v_blend.listing_cap_num * (v_total + 1) then
            v_deficit := v_blend.listings_weight * (v_total + 1) - v_tl;
            if v_best is null or v_deficit > v_best then
                v_pick := 'listing';
                v_best := v_deficit;
            end if;
        end if;
        if v_te < v_ne then
            v_deficit := v_blend.events_weight * (v_total + 1) - v_te;
            if v_best is null or v_deficit > v_best then
                v_pick := 'event';
                v_best := v_deficit;
            end if;
        end if;
        exit when v_pick is null;
        case v_pick
            when 'post' then v_tp := v_tp + 1;
            when 'listing' then v_tl := v_tl + 1;
            else v_te := v_te + 1;
        end case;
        v_total := v_total + 1;
    end loop;

    -- 3. The page and the next cursor: each stream moves past exactly what it gave.
    v_page := v_posts[1:v_tp] || v_listings[1:v_tl] || v_events[1:v_te];
    v_has_more := v_np > v_tp or v_ne > v_te
                  or (v_nl > v_tl and v_blend.listing_cap_num >= v_blend.listing_cap_den);
    v_next := jsonb_build_object(
        'v', 1, 'lane', v_lane,
        'p', case when v_tp > 0 then jsonb_build_array((v_posts[v_tp]).sort_ts, (v_posts[v_tp]).id)
                  when v_p.ts is not null then jsonb_build_array(v_p.ts, v_p.id) end,
        'l', case when v_tl > 0 then jsonb_build_array((v_listings[v_tl]).sort_ts, (v_listings[v_tl]).id)
                  when v_l.ts is not null then jsonb_build_array(v_l.ts, v_l.id) end,
        'e', case when v_te > 0 then jsonb_build_array((v_events[v_te]).sort_ts, (v_events[v_te]).id)
                  when v_e.ts is not null then jsonb_build_array(v_e.ts, v_e.id) end);

    -- 4. Ranking.
    for v_i in 1 .. v_total loop
        v_scores := v_scores || ((v_page[v_i]).base_score
                                 + case when not v_safe and v_blend.scope = 'all' and (v_page[v_i]).followed
                                        then 0.15 else 0 end);
    end loop;

    select coalesce(array_agg(r.item_index order by r.shown_position), '{}'),
           coalesce(array_agg(r.explored order by r.shown_position), '{}'),
           coalesce(array_agg(r.propensity order by r.shown_position), '{}')
      into v_order, v_explored, v_propensity
      from public._feed_rank(v_page, v_scores, v_epsilon) r;

    -- 5. One learning event per impression.
    if v_learning and v_total > 0 then
        with logged as (
            insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp, score, explored, context)
            select v_uid, 'feed.' || v_lane, (v_page[s.item_index]).kind || ':' || (v_page[s.item_index]).id,
                   v_policy, v_epsilon, v_scores[s.item_index], s.explored,
                   jsonb_build_object('propensity', round(s.propensity::numeric, 6), 'position', s.shown_position,
                                      'lane', v_lane, 'kind', (v_page[s.item_index]).kind)
              from unnest(v_order, v_explored, v_propensity)
                   with ordinality s(item_index, explored, propensity, shown_position)
             order by s.shown_position
            returning learning_events.id, (learning_events.context ->> 'position')::integer as shown_position
        )
        select array_agg(logged.id order by logged.shown_position) into v_ids from logged;
    end if;

    select coalesce(jsonb_agg((v_page[s.item_index]).item || jsonb_build_object(
               'actor', (v_page[s.item_index]).actor,
               'position', s.shown_position,
               'score', round(v_scores[s.item_index]::numeric, 6),
               'explored', s.explored,
               'propensity', round(s.propensity::numeric, 6),
               'learning_event_id', v_ids[s.shown_position]) order by s.shown_position), '[]'::jsonb)
      into v_items
      from unnest(v_order, v_explored, v_propensity) with ordinality s(item_index, explored, propensity, shown_position);

    return jsonb_build_object(
        'lane', v_lane,
        'items', public._feed_names(v_items),
        'next_cursor', case when v_has_more then public._feed_cursor_encode(v_next) end,
        'has_more', v_has_more,
        'policy', v_policy,
        'epsilon', v_epsilon,
        'blend', jsonb_build_object('posts', v_tp, 'listings', v_tl, 'events', v_te));
end
$$;

create or replace function public.feed_fusion_profile(
    p_entity_id uuid, p_cursor text default null, p_limit integer default 20)
returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
set plan_cache_mode = force_custom_plan
as $$
declare
    v_uid uuid := auth.uid();
    v_cursor jsonb;
    v_at record;
    v_all public.feed_candidate[];
    v_page public.feed_candidate[];
    v_has_more boolean;
    v_last public.feed_candidate;
    v_items jsonb;
begin
    if p_limit is null or p_limit not between 1 and 50 then
        raise exception 'p_limit must be between 1 and 50 (got %)', p_limit using errcode = '22023';
    end if;
    if p_entity_id is null or not exists (select 1 from public.entities e where e.id = p_entity_id) then
        raise exception 'unknown page %', p_entity_id using errcode = 'P0002';
    end if;
    v_cursor := public._feed_cursor_decode(p_cursor);
    if v_cursor is not null and v_cursor ->> 'entity' is distinct from p_entity_id::text then
        raise exception 'this cursor belongs to another feed; start this page again without a cursor'
            using errcode = '22023';
    end if;
    select * into v_at from public._feed_cursor_position(v_cursor, 'at');

    v_all := array(
        select c from (
            select * from public._feed_profile_posts(v_uid, p_entity_id, v_at.ts, v_at.id, p_limit + 1)
            union all
            select * from public._feed_profile_listings(v_uid, p_entity_id, v_at.ts, v_at.id, p_limit + 1)
            union all
            select * from public._feed_profile_events(v_uid, p_entity_id, v_at.ts, v_at.id, p_limit + 1)
        ) c
        order by c.sort_ts desc, c.id desc
        limit p_limit + 1);
    v_has_more := cardinality(v_all) > p_limit;
    v_page := v_all[1:p_limit];
    v_last := v_page[cardinality(v_page)];

    select coalesce(jsonb_agg(c.item || jsonb_build_object(
               'actor', c.actor, 'position', c.ord, 'score', round(c.base_score::numeric, 6)) order by c.ord),
           '[]'::jsonb)
      into v_items
      from unnest(v_page) with ordinality c(kind, id, actor, sort_ts, base_score, followed, item, ord);

    return jsonb_build_object(
        'entity_id', p_entity_id,
        'items', public._feed_names(v_items),
        'next_cursor', case when v_has_more then public._feed_cursor_encode(jsonb_build_object(
            'v', 1, 'entity', p_entity_id, 'at', jsonb_build_array(v_last.sort_ts, v_last.id))) end,
        'has_more', v_has_more);
end
$$;

revoke all on function public._feed_metadata_score(jsonb), public._feed_decay(double precision),
    public._feed_lane(text),
    public._feed_page_post_keys(uuid, uuid, timestamptz, uuid, integer),
    public._feed_page_listing_keys(uuid, uuid, timestamptz, uuid, integer),
    public._feed_page_event_keys(uuid, uuid, timestamptz, uuid, integer),
    public._feed_posts_all(uuid, timestamptz, uuid, integer), public._feed_posts_following(uuid, timestamptz, uuid, integer),
    public._feed_listings_all(uuid, timestamptz, uuid, integer),
    public._feed_listings_following(uuid, timestamptz, uuid, integer),
    public._feed_events_all(uuid, timestamptz, uuid, integer),
    public._feed_events_following(uuid, timestamptz, uuid, integer),
    public._feed_profile_posts(uuid, uuid, timestamptz, uuid, integer),
    public._feed_profile_listings(uuid, uuid, timestamptz, uuid, integer),
    public._feed_profile_events(uuid, uuid, timestamptz, uuid, integer),
    public._feed_cursor_encode(jsonb), public._feed_cursor_decode(text), public._feed_cursor_position(jsonb, text),
    public._feed_rank(public.feed_candidate[], double precision[], double precision), public._feed_names(jsonb),
    public.feed_fusion_home(text, text, integer), public.feed_fusion_profile(uuid, text, integer) from public;
grant execute on function public.feed_fusion_home(text, text, integer) to authenticated, service_role;
grant execute on function public.feed_fusion_profile(uuid, text, integer) to anon, authenticated, service_role;
