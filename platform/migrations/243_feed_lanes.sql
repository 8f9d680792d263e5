-- 243_feed_lanes: the home feed's lanes and the blend that picks how many posts, listings and
-- events a page takes from the streams (241).
--
-- The blend goes slot by slot: the kind furthest behind its weight (weight * slots - taken)
-- among kinds with rows left, where a listing may be taken only while listings stay
-- <= cap * page size. Weights and cap per lane (feed_lane_blends):
--    for_you    posts 60 / listings 25 / events 15, listings <= 1/2
--    following  posts 80 / listings  5 / events 15, listings <= 1/3
--    shop       posts 10 / listings 85 / events  5, listings <= 2/3
-- The seeds print shop's blend as "85/10/5" like the others (posts/listings/events), but a
-- shop lane with fewer listings (10 %) than for_you (25 %) contradicts its name and its 2/3 cap
-- (which would then never bind); we read it as listings 85 / posts 10 / events 5, the cap
-- holding listings to 2/3. One row of feed_lane_blends to change if the product owner reads it
-- the other way.
-- The cap is on what the page shows, so when only listings are left the lane ends
-- (has_more = false) rather than serving an all-listing page.
-- The page is the first k rows of each stream (the blend decides only how many of each kind).

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

-- A lane's name as the client gives it -> its lane; the legacy names combined (= for_you) and
-- personal (= following) are accepted; null for an unknown lane.
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

-- How many rows a page of p_limit slots takes from each stream, given how many each stream has
-- (it fetched p_limit + 1), and whether the lane has more after this page. Arithmetic only, no
-- SET clause (a call would pay for it).
create or replace function public._feed_blend(
    p_blend public.feed_lane_blends, p_posts integer, p_listings integer, p_events integer, p_limit integer,
    out posts integer, out listings integer, out events integer, out has_more boolean)
language plpgsql immutable
as $$
declare
    v_total integer := 0;
    v_pick text;
    v_best numeric;
    v_deficit numeric;
begin
    posts := 0;
    listings := 0;
    events := 0;
    while v_total < p_limit loop
        v_pick := null;
        v_best := null;
        if posts < p_posts then
            v_deficit := p_blend.posts_weight * (v_total + 1) - posts;
            v_pick := 'post';
            v_best := v_deficit;
        end if;
        if listings < p_listings and (listings + 1) * p_blend.listing_cap_den <= p_blend.listing_cap_num * (v_total + 1) then
            v_deficit := p_blend.listings_weight * (v_total + 1) - listings;
            if v_best is null or v_deficit > v_best then
                v_pick := 'listing';
                v_best := v_deficit;
            end if;
        end if;
        if events < p_events then
            v_deficit := p_blend.events_weight * (v_total + 1) - events;
            if v_best is null or v_deficit > v_best then
                v_pick := 'event';
                v_best := v_deficit;
            end if;
        end if;
        exit when v_pick is null;
        case v_pick
            when 'post' then posts := posts + 1;
            when 'listing' then listings := listings + 1;
            else events := events + 1;
        end case;
        v_total := v_total + 1;
    end loop;
    has_more := p_posts > posts or p_events > events
                or (p_listings > listings and p_blend.listing_cap_num >= p_blend.listing_cap_den);
end
$$;

revoke all on function public._feed_lane(text),
    public._feed_blend(public.feed_lane_blends, integer, integer, integer, integer) from public;
