-- 245_feed_rpcs: the home feed (three lanes) and the profile feed.
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
--   item = 240's item + "actor" ("e:<entity>" or "u:<user>": the seller key), "actor_name",
--       "actor_handle", "position" (1-based), "score"; home only: "explored", "propensity",
--       "learning_event_id".
--   Cursors (242) are opaque; a cursor of another lane or page is refused (22023): switching
--   lanes starts again without a cursor.
--
-- How a home page is built (this is the reading of seeds 003/004 it implements):
--  1. The lane's three streams (241) from the cursor's positions, p_limit + 1 rows each.
--  2. The blend (243) picks how many of each kind the page takes; the page is the first k rows
--     of each stream, and each stream's cursor moves past exactly the rows it gave.
--  3. Ranking (244) orders the page under the policy in force.
--  4. With learning.enabled, one learning_events row per item shown: surface 'feed.<lane>',
--     candidate_id '<kind>:<id>', policy = ranker.policy {"version"} (or 'safe_mode'), p_exp =
--     the epsilon in force (the column vw_policy_health averages as avg_epsilon; 0 in safe mode,
--     as the cutover guide says), explored, score, and context {"propensity": the exact
--     probability the policy had of showing this item at this position, "position", "lane",
--     "kind"}.
--
-- Both RPCs run with plan_cache_mode = force_generic_plan: each statement is planned once per
-- connection and its plan reused. Planning the streams (inlining 240's item and score functions)
-- cost more than running them (about 0.5 ms a stream against 0.3), and the generic plans walk the
-- same indexes as custom ones (a NULL cursor is COALESCEd to the stream's start inside the index
-- condition): tests/integration/platform2/test_feed_plans.py checks the generic plans.

create or replace function public.feed_fusion_home(
    p_lane text default 'for_you', p_cursor text default null, p_limit integer default 20)
returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
set plan_cache_mode = force_generic_plan
as $$
declare
    v_uid uuid := auth.uid();
    v_lane text := public._feed_lane(p_lane);
    v_blend public.feed_lane_blends;
    v_cursor jsonb;
    v_p record;
    v_l record;
    v_e record;
    v_policy record;
    v_posts public.feed_candidate[];
    v_listings public.feed_candidate[];
    v_events public.feed_candidate[];
    v_take record;
    v_page public.feed_candidate[];
    v_scores double precision[] := '{}';
    v_i integer;
    v_order integer[];
    v_explored boolean[];
    v_propensity double precision[];
    v_ids bigint[];
    v_items jsonb;
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
    select * into v_policy from public._feed_policy();

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

    -- 2. The blend: the page is the first rows of each stream, as many as the blend takes.
    select * into v_take
      from public._feed_blend(v_blend, cardinality(v_posts), cardinality(v_listings), cardinality(v_events), p_limit);
    v_page := v_posts[1:v_take.posts] || v_listings[1:v_take.listings] || v_events[1:v_take.events];

    -- 3. Ranking: each item's base score, plus the follow boost (lanes of scope all, not in safe mode).
    for v_i in 1 .. cardinality(v_page) loop
        v_scores := v_scores || ((v_page[v_i]).base_score
                                 + case when not v_policy.safe and v_blend.scope = 'all' and (v_page[v_i]).followed
                                        then 0.15 else 0 end);
    end loop;
    select coalesce(array_agg(r.item_index order by r.shown_position), '{}'),
           coalesce(array_agg(r.explored order by r.shown_position), '{}'),
           coalesce(array_agg(r.propensity order by r.shown_position), '{}')
      into v_order, v_explored, v_propensity
      from public._feed_rank(v_page, v_scores, v_policy.epsilon) r;

    -- 4. One learning event per impression.
    if v_policy.learning and cardinality(v_page) > 0 then
        with logged as (
            insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp, score, explored, context)
            select v_uid, 'feed.' || v_lane, (v_page[s.item_index]).kind || ':' || (v_page[s.item_index]).id,
                   v_policy.policy, v_policy.epsilon, v_scores[s.item_index], s.explored,
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

    -- The next cursor: each stream moves past exactly what it gave.
    return jsonb_build_object(
        'lane', v_lane,
        'items', public._feed_names(v_items),
        'next_cursor', case when v_take.has_more then public._feed_cursor_encode(jsonb_build_object(
            'v', 1, 'lane', v_lane,
            'p', public._feed_cursor_after(v_posts[v_take.posts], v_p.ts, v_p.id),
            'l', public._feed_cursor_after(v_listings[v_take.listings], v_l.ts, v_l.id),
            'e', public._feed_cursor_after(v_events[v_take.events], v_e.ts, v_e.id))) end,
        'has_more', v_take.has_more,
        'policy', v_policy.policy,
        'epsilon', v_policy.epsilon,
        'blend', jsonb_build_object('posts', v_take.posts, 'listings', v_take.listings, 'events', v_take.events));
end
$$;

create or replace function public.feed_fusion_profile(
    p_entity_id uuid, p_cursor text default null, p_limit integer default 20)
returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
set plan_cache_mode = force_generic_plan
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

revoke all on function public.feed_fusion_home(text, text, integer), public.feed_fusion_profile(uuid, text, integer)
    from public;
grant execute on function public.feed_fusion_home(text, text, integer) to authenticated, service_role;
grant execute on function public.feed_fusion_profile(uuid, text, integer) to anon, authenticated, service_role;
