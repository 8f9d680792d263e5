-- 240_feed_items: what a feed item is, defined once for the home feed and the profile feed
-- (the streams in 241 select these; the RPCs are in 245).
--
--   feed_candidate = (kind, id, actor, sort_ts, base_score, followed, item): one row of a
--       stream. actor is the seller key ("e:<entity>", else "u:<user>"); sort_ts the stream's
--       keyset column; followed whether the viewer follows the item's page.
--   item = {"kind": "post"|"listing"|"event", "id", "user_id" (author / seller / creator),
--           "entity_id" (page or null), "created_at",
--           post: "body", "media_url"; listing: "title", "description", "price_cents", "currency",
--           "image_url", "category_id"; event: "title", "description", "location", "starts_at", "ends_at"}
--       The RPCs add "actor", "actor_name", "actor_handle", "position", "score" (and at home
--       "explored", "propensity", "learning_event_id").
--   base score = exp(-hours/48) + metadata score (null-safe, clamped to [0, 1]); hours = age
--       for posts and listings, time to start for events. The home feed's ranking adds its
--       follow boost (244).
--
-- _feed_post / _feed_listing / _feed_event build one row's candidate. They are one-row
-- set-returning SQL functions (a single SELECT without FROM, SET clauses or SECURITY DEFINER)
-- that a stream joins laterally (`cross join lateral public._feed_post(p, ...) i`): the
-- planner inlines them and pulls them up, so the stream's plan is that of the query written out
-- by hand, and each is expanded once per stream. (A scalar function returning the composite,
-- spelled `(f(p)).*`, is copied once per column before it is inlined: seven times the planning.)
-- Their arguments must hold no sub-select (that prevents inlining): a stream computes
-- "followed" in a lateral subquery of its own. tests/integration/platform2/test_feed_plans.py
-- checks that no _feed_ function is left in a plan. None is granted to clients.

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

-- ---------------------------------------------------------------- the score
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

-- An item's base score, `p_hours` from its moment (age, or time to start for events).
create or replace function public._feed_score(p_hours double precision, p_metadata jsonb) returns double precision
language sql immutable parallel safe
as $$
    select public._feed_decay(p_hours) + public._feed_metadata_score(p_metadata)
$$;

-- ---------------------------------------------------------------- the items
-- STABLE (not IMMUTABLE): the score reads now(), and an inlined body may not be more volatile
-- than its function. p_followed: whether the viewer follows the item's page.
create or replace function public._feed_post(p public.posts, p_followed boolean)
returns setof public.feed_candidate
language sql stable
as $$
    select 'post'::text, p.id, coalesce('e:' || p.entity_id, 'u:' || p.author_id), p.created_at,
           public._feed_score(extract(epoch from now() - p.created_at)::double precision / 3600.0, p.metadata),
           p_followed,
           jsonb_build_object('kind', 'post', 'id', p.id, 'user_id', p.author_id, 'entity_id', p.entity_id,
                              'body', p.body, 'media_url', p.media_url, 'created_at', p.created_at)
$$;

create or replace function public._feed_listing(l public.marketplace_listings, p_followed boolean)
returns setof public.feed_candidate
language sql stable
as $$
    select 'listing'::text, l.id, coalesce('e:' || l.seller_entity_id, 'u:' || l.seller_id), l.created_at,
           public._feed_score(extract(epoch from now() - l.created_at)::double precision / 3600.0, l.metadata),
           p_followed,
           jsonb_build_object('kind', 'listing', 'id', l.id, 'user_id', l.seller_id,
                              'entity_id', l.seller_entity_id, 'title', l.title, 'description', l.description,
                              'price_cents', l.price_cents, 'currency', l.currency, 'image_url', l.image_url,
                              'category_id', l.category_id, 'created_at', l.created_at)
$$;

-- p_sort_ts is the stream's keyset column: starts_at at home (soonest first), created_at on a
-- profile (newest first, like the page's posts and listings).
create or replace function public._feed_event(e public.events, p_followed boolean, p_sort_ts timestamptz)
returns setof public.feed_candidate
language sql stable
as $$
    select 'event'::text, e.id, coalesce('e:' || e.host_entity_id, 'u:' || e.created_by), p_sort_ts,
           public._feed_score(abs(extract(epoch from e.starts_at - now()))::double precision / 3600.0,
                              e.metadata),
           p_followed,
           jsonb_build_object('kind', 'event', 'id', e.id, 'user_id', e.created_by, 'entity_id', e.host_entity_id,
                              'title', e.title, 'description', e.description, 'location', e.location,
                              'starts_at', e.starts_at, 'ends_at', e.ends_at, 'created_at', e.created_at)
$$;

-- Adds actor_name / actor_handle (the page's, else the person's) to each item of a page.
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

revoke all on function public._feed_metadata_score(jsonb), public._feed_decay(double precision),
    public._feed_score(double precision, jsonb), public._feed_post(public.posts, boolean),
    public._feed_listing(public.marketplace_listings, boolean),
    public._feed_event(public.events, boolean, timestamptz), public._feed_names(jsonb) from public;
