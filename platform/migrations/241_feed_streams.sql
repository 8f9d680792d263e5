-- 241_feed_streams: the feeds' streams, each in its own keyset order from its own cursor
-- position, each fetching the p_limit rows after it (the RPCs in 245 ask for one more than a
-- page, so they know whether more exist). Hidden items (feed_hides) and listings in the viewer's
-- cart are filtered inside each stream, before the blend.
--
--   home, lanes for_you and shop (scope all): every post, every active listing, every upcoming
--       event (starts_at asc, the first page starting at now()); followed = the viewer follows
--       the item's page.
--   home, lane following: what the viewer's followed pages posted (approved post_targets,
--       deduplicated: a post aimed at two followed pages comes once), listed and host.
--   profile: one page's approved posts, active listings and events, all created_at desc.
--
-- Every stream returns feed_candidate rows built by 240's _feed_post / _feed_listing /
-- _feed_event. The streams are plain SQL functions without SET clauses or SECURITY DEFINER so
-- that the planner inlines them (and the item functions inside them): the plan test
-- (tests/integration/platform2/test_feed_plans.py) EXPLAINs exactly the queries the feed runs.
-- A stream that selects from its table orders by its item's columns (i.sort_ts, i.id): ordering
-- by the table's columns would add them as hidden sort columns, and the caller would then need
-- an extra projection (a Subquery Scan) to drop them. They are not granted to clients.

-- Posts, every author, newest first.
create or replace function public._feed_posts_all(
    p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select i.*
      from public.posts p
      cross join lateral (select exists (select 1 from public.entity_edges f
                                          where f.follower_id = p_viewer and f.entity_id = p.entity_id
                                            and f.kind = 'follow') as yes) follows
      cross join lateral public._feed_post(p, follows.yes) i
     where (p.created_at, p.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'post' and h.item_id = p.id)
     order by i.sort_ts desc, i.id desc
     limit p_limit
$$;

-- One page's visible stream keys before (after, for events) the cursor, in stream order: the
-- building block of the three following streams below (and of the profile's posts). Single SELECTs, so the planner
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
    select i.*
      from (select distinct k.ts, k.id
              from heads h
              cross join lateral public._feed_page_post_keys(h.entity_id, p_viewer, p_before_ts, p_before_id, p_limit) k
             where not exists (select 1 from bar where (h.ts, h.id) < (bar.ts, bar.id))
             order by k.ts desc, k.id desc
             limit p_limit) c
      join public.posts p on p.id = c.id
      cross join lateral public._feed_post(p, true) i
     order by c.ts desc, c.id desc
$$;

-- Active listings of every seller, newest first, minus the viewer's cart.
create or replace function public._feed_listings_all(
    p_viewer uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select i.*
      from public.marketplace_listings l
      cross join lateral (select exists (select 1 from public.entity_edges f
                                          where f.follower_id = p_viewer and f.entity_id = l.seller_entity_id
                                            and f.kind = 'follow') as yes) follows
      cross join lateral public._feed_listing(l, follows.yes) i
     where l.status = 'active'
       and (l.created_at, l.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'listing' and h.item_id = l.id)
       and not exists (select 1 from public.shopping_cart_items c where c.user_id = p_viewer and c.listing_id = l.id)
     order by i.sort_ts desc, i.id desc
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
    select i.*
      from (select k.ts, k.id
              from heads h
              cross join lateral
                   public._feed_page_listing_keys(h.entity_id, p_viewer, p_before_ts, p_before_id, p_limit) k
             where not exists (select 1 from bar where (h.ts, h.id) < (bar.ts, bar.id))
             order by k.ts desc, k.id desc
             limit p_limit) c
      join public.marketplace_listings l on l.id = c.id
      cross join lateral public._feed_listing(l, true) i
     order by c.ts desc, c.id desc
$$;

-- Upcoming events, soonest first (the first page starts at now()).
create or replace function public._feed_events_all(
    p_viewer uuid, p_after_ts timestamptz, p_after_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select i.*
      from public.events e
      cross join lateral (select exists (select 1 from public.entity_edges f
                                          where f.follower_id = p_viewer and f.entity_id = e.host_entity_id
                                            and f.kind = 'follow') as yes) follows
      cross join lateral public._feed_event(e, follows.yes, e.starts_at) i
     where (e.starts_at, e.id) > (coalesce(p_after_ts, now()),
                                  coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'event' and h.item_id = e.id)
     order by i.sort_ts, i.id
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
    select i.*
      from (select k.ts, k.id
              from heads h
              cross join lateral public._feed_page_event_keys(h.entity_id, p_viewer, p_after_ts, p_after_id, p_limit) k
             where not exists (select 1 from bar where (h.ts, h.id) > (bar.ts, bar.id))
             order by k.ts, k.id
             limit p_limit) c
      join public.events e on e.id = c.id
      cross join lateral public._feed_event(e, true, e.starts_at) i
     order by c.ts, c.id
$$;

-- The profile streams: one page's posts, listings and events, all by created_at desc.
create or replace function public._feed_profile_posts(
    p_viewer uuid, p_entity_id uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select i.*
      from public._feed_page_post_keys(p_entity_id, p_viewer, p_before_ts, p_before_id, p_limit) c
      join public.posts p on p.id = c.id
      cross join lateral public._feed_post(p, false) i
     order by c.ts desc, c.id desc
$$;

create or replace function public._feed_profile_listings(
    p_viewer uuid, p_entity_id uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select i.*
      from public.marketplace_listings l
      cross join lateral public._feed_listing(l, false) i
     where l.seller_entity_id = p_entity_id and l.status = 'active'
       and (l.created_at, l.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'listing' and h.item_id = l.id)
       and not exists (select 1 from public.shopping_cart_items c where c.user_id = p_viewer and c.listing_id = l.id)
     order by i.sort_ts desc, i.id desc
     limit p_limit
$$;

create or replace function public._feed_profile_events(
    p_viewer uuid, p_entity_id uuid, p_before_ts timestamptz, p_before_id uuid, p_limit integer)
returns setof public.feed_candidate
language sql stable
as $$
    select i.*
      from public.events e
      cross join lateral public._feed_event(e, false, e.created_at) i
     where e.host_entity_id = p_entity_id
       and (e.created_at, e.id) < (coalesce(p_before_ts, 'infinity'::timestamptz),
                                   coalesce(p_before_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       and not exists (select 1 from public.feed_hides h
                        where h.user_id = p_viewer and h.item_kind = 'event' and h.item_id = e.id)
     order by i.sort_ts desc, i.id desc
     limit p_limit
$$;

revoke all on function public._feed_page_post_keys(uuid, uuid, timestamptz, uuid, integer),
    public._feed_page_listing_keys(uuid, uuid, timestamptz, uuid, integer),
    public._feed_page_event_keys(uuid, uuid, timestamptz, uuid, integer),
    public._feed_posts_all(uuid, timestamptz, uuid, integer), public._feed_posts_following(uuid, timestamptz, uuid, integer),
    public._feed_listings_all(uuid, timestamptz, uuid, integer),
    public._feed_listings_following(uuid, timestamptz, uuid, integer),
    public._feed_events_all(uuid, timestamptz, uuid, integer),
    public._feed_events_following(uuid, timestamptz, uuid, integer),
    public._feed_profile_posts(uuid, uuid, timestamptz, uuid, integer),
    public._feed_profile_listings(uuid, uuid, timestamptz, uuid, integer),
    public._feed_profile_events(uuid, uuid, timestamptz, uuid, integer) from public;
