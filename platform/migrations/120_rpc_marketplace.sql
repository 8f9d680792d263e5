-- 120_rpc_marketplace: categories for interests, discovery enqueueing,
-- hybrid suggestions and supply gaps.
--
--   ensure_category_for_interest(p_interest_id uuid) -> uuid (the primary category)
--       VOLATILE, SECURITY DEFINER, authenticated+. Creates category
--       'interest.<slug>' + map when the interest has none, then queues discovery
--       (reason 'user_interest') for each of its categories. Idempotent.
--   enqueue_discovery_for_user(p_user_id uuid) -> integer (items newly queued)
--       VOLATILE, SECURITY DEFINER; a client only for itself, service_role for anyone.
--   marketplace_suggestions_for_user(p_user_id uuid default NULL, p_limit integer default 12)
--       -> table(candidate_id uuid, interest_id uuid, category_id uuid, source text, title text,
--                url text, price_cents integer, image_url text, score double precision)
--       STABLE. source says why: 'interest' (a category mapped from the user's
--       interests), 'similar' (embedding close to the user's), 'popular', 'recent'.
--       A client gets only its own (anon, or NULL user as trusted caller: global).
--       SECURITY DEFINER so anon's global slate can be planned (the query names
--       user_interests, which anon may not read); the caller check is explicit.
--   upsert_marketplace_gap(p_category_id uuid, p_interest_id uuid default NULL)
--       -> table(category_id uuid, gap_level text, inventory_count integer, demand_count integer)
--       VOLATILE, service_role: what the discovery worker calls per leased item.
-- The heavy three carry statement_timeout = 5s (seed 000, Phase 6). Note that
-- Postgres arms statement_timeout when a top-level statement starts, so the
-- function-level setting bounds statements run *inside* the function; the API's
-- own `set local statement_timeout` bounds the call as a whole.

create or replace function public.ensure_category_for_interest(p_interest_id uuid) returns uuid
language plpgsql volatile security definer
set search_path = public, pg_temp
set statement_timeout = '5s'
as $$
declare
    v_interest public.interest_catalog;
    v_category uuid;
    v_slug text;
begin
    select * into v_interest from public.interest_catalog where id = p_interest_id;
    if not found then
        raise exception 'unknown interest %', p_interest_id using errcode = 'P0002';
    end if;
    select m.category_id into v_category
      from public.marketplace_interest_map m
     where m.interest_id = p_interest_id
     order by m.weight desc, m.category_id
     limit 1;
    if v_category is null then
        v_slug := 'interest.' || v_interest.slug;
        insert into public.marketplace_categories (slug, name, domain)
        values (v_slug, v_interest.name, v_interest.domain)
        on conflict (slug) do nothing
        returning id into v_category;
        if v_category is null then
            select id into v_category from public.marketplace_categories where slug = v_slug;
        end if;
        insert into public.marketplace_interest_map (interest_id, category_id, weight)
        values (p_interest_id, v_category, 1)
        on conflict do nothing;
    end if;
    insert into public.marketplace_discovery_queue (interest_id, category_id, reason, user_id)
    select p_interest_id, m.category_id, 'user_interest', auth.uid()
      from public.marketplace_interest_map m
     where m.interest_id = p_interest_id
    on conflict on constraint marketplace_discovery_queue_idempotency do nothing;
    return v_category;
end
$$;

create or replace function public.enqueue_discovery_for_user(p_user_id uuid) returns integer
language plpgsql volatile security definer
set search_path = public, pg_temp
set statement_timeout = '5s'
as $$
declare
    v_uid uuid := public._require_self_or_trusted(p_user_id);
    v_count integer;
begin
    -- Interests without a category get one first (this also queues them).
    perform public.ensure_category_for_interest(ui.interest_id)
       from public.user_interests ui
      where ui.user_id = v_uid
        and not exists (select 1 from public.marketplace_interest_map m where m.interest_id = ui.interest_id);
    insert into public.marketplace_discovery_queue (interest_id, category_id, reason, user_id, priority)
    select ui.interest_id, m.category_id, 'user_interest', v_uid, round(ui.affinity * m.weight * 10)::integer
      from public.user_interests ui
      join public.marketplace_interest_map m on m.interest_id = ui.interest_id
     where ui.user_id = v_uid
    on conflict on constraint marketplace_discovery_queue_idempotency do nothing;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

-- Hybrid retrieval: a pool from four legs (ANN on the user's embedding via the
-- HNSW index, the user's mapped categories, global popular, recent), then one
-- score: 0.55 * cosine similarity + 0.30 * category affinity + 0.15 * log-popularity.
-- The popular leg alone is never empty while candidates exist, so neither is the result.
create or replace function public.marketplace_suggestions_for_user(
    p_user_id uuid default null, p_limit integer default 12)
returns table (candidate_id uuid, interest_id uuid, category_id uuid, source text, title text, url text,
               price_cents integer, image_url text, score double precision)
language plpgsql stable security definer
set search_path = public, pg_temp
set statement_timeout = '5s'
set hnsw.ef_search = 100
as $$
declare
    v_uid uuid;
    v_embedding vector(384);
    v_pool integer;
    v_max_pop double precision;
begin
    if p_limit is null or p_limit not between 1 and 100 then
        raise exception 'p_limit must be between 1 and 100 (got %)', p_limit using errcode = '22023';
    end if;
    if auth.is_client() and auth.uid() is null then
        if p_user_id is not null then
            raise exception 'not signed in' using errcode = '28000';
        end if;
        v_uid := null;
    elsif auth.is_client() or p_user_id is not null then
        v_uid := public._require_self_or_trusted(p_user_id);
    end if;
    v_pool := greatest(p_limit * 4, 40);
    if v_uid is not null then
        select p.interests_embedding into v_embedding from public.profiles p where p.user_id = v_uid;
    end if;
    select greatest(max(c.popularity), 1) into v_max_pop
      from (select c2.popularity from public.marketplace_candidates c2 order by c2.popularity desc limit 1) c;

    return query
    with mine as (
        select m.category_id,
               max(ui.affinity * m.weight) as affinity,
               (array_agg(ui.interest_id order by ui.affinity * m.weight desc, ui.interest_id))[1] as interest_id
          from public.user_interests ui
          join public.marketplace_interest_map m on m.interest_id = ui.interest_id
         where v_uid is not null and ui.user_id = v_uid
         group by m.category_id
    ),
    pool as (
        (select c.id, 'similar'::text as leg
           from public.marketplace_candidates c
          where v_embedding is not null and c.embedding is not null
          order by c.embedding <=> v_embedding
          limit v_pool)
        union all
        (select c.id, 'interest'
           from public.marketplace_candidates c
           join mine on mine.category_id = c.category_id
          order by mine.affinity desc, c.popularity desc, c.id
          limit v_pool)
        union all
        (select c.id, 'popular' from public.marketplace_candidates c order by c.popularity desc, c.id limit v_pool)
        union all
        (select c.id, 'recent' from public.marketplace_candidates c order by c.created_at desc, c.id limit p_limit)
    ),
    legs as (
        select pool.id, array_agg(distinct pool.leg) as legs from pool group by pool.id
    ),
    scored as (
        select c.id, c.interest_id as candidate_interest, c.category_id, c.title, c.url, c.price_cents,
               c.image_url, legs.legs, mine.interest_id as my_interest, mine.affinity,
               case when v_embedding is null or c.embedding is null then 0
                    else greatest(coalesce(nullif(1 - (c.embedding <=> v_embedding), 'NaN'::double precision), 0), 0)
               end as similarity,
               ln(1 + c.popularity) / ln(1 + v_max_pop) as pop
          from legs
          join public.marketplace_candidates c on c.id = legs.id
          left join mine on mine.category_id = c.category_id
    )
    select s.id, coalesce(s.my_interest, s.candidate_interest), s.category_id,
           case when s.my_interest is not null then 'interest'
                when 'similar' = any (s.legs) and s.similarity >= 0.2 then 'similar'
                when 'popular' = any (s.legs) then 'popular'
                else 'recent' end,
           s.title, s.url, s.price_cents, s.image_url,
           round((0.55 * s.similarity + 0.30 * coalesce(s.affinity, 0) + 0.15 * s.pop)::numeric, 6)::double precision
      from scored s
     order by 9 desc, s.id
     limit p_limit;
end
$$;

create or replace function public.upsert_marketplace_gap(p_category_id uuid, p_interest_id uuid default null)
returns table (category_id uuid, gap_level text, inventory_count integer, demand_count integer)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_inventory integer;
    v_demand integer;
    v_level text;
begin
    if not exists (select 1 from public.marketplace_categories mc where mc.id = p_category_id) then
        raise exception 'unknown category %', p_category_id using errcode = 'P0002';
    end if;
    select (select count(*) from public.marketplace_listings l where l.category_id = p_category_id and l.status = 'active')
         + (select count(*) from public.marketplace_candidates c where c.category_id = p_category_id)
      into v_inventory;
    select count(distinct ui.user_id) into v_demand
      from public.marketplace_interest_map m
      join public.user_interests ui on ui.interest_id = m.interest_id
     where m.category_id = p_category_id;
    -- Supply per interested user: none for nobody interested, else by ratio.
    v_level := case
        when v_demand = 0 then 'none'
        when v_inventory = 0 then 'critical'
        when v_inventory < v_demand then 'high'
        when v_inventory < 3 * v_demand then 'medium'
        when v_inventory < 10 * v_demand then 'low'
        else 'none' end;
    insert into public.marketplace_gaps as g (category_id, interest_id, gap_level, inventory_count, demand_count)
    values (p_category_id, p_interest_id, v_level, v_inventory, v_demand)
    on conflict on constraint marketplace_gaps_category_id_key do update
        set interest_id = coalesce(excluded.interest_id, g.interest_id),
            gap_level = excluded.gap_level,
            inventory_count = excluded.inventory_count,
            demand_count = excluded.demand_count,
            detected_at = case when g.gap_level = excluded.gap_level then g.detected_at else now() end;
    return query select p_category_id, v_level, v_inventory, v_demand;
end
$$;

revoke all on function public.ensure_category_for_interest(uuid), public.enqueue_discovery_for_user(uuid),
    public.marketplace_suggestions_for_user(uuid, integer), public.upsert_marketplace_gap(uuid, uuid) from public;
grant execute on function public.ensure_category_for_interest(uuid), public.enqueue_discovery_for_user(uuid)
    to authenticated, service_role;
grant execute on function public.marketplace_suggestions_for_user(uuid, integer) to anon, authenticated, service_role;
grant execute on function public.upsert_marketplace_gap(uuid, uuid) to service_role;
