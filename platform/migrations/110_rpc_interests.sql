-- 110_rpc_interests: catalog search/browse and the caller's interests.
--
--   interest_catalog_search(p_query text, p_limit integer default 20)
--       -> table(id uuid, slug text, domain text, category text, name text, tags text[], popularity integer)
--       STABLE, anon+. Every word of the query must occur in the name, category,
--       domain, slug or tags (case-insensitive); exact and prefix name matches
--       first, then popularity. A blank query returns the most popular; a query
--       of punctuation only returns nothing.
--   interest_catalog_browse(p_domain text default NULL, p_limit integer default 200, p_offset integer default 0)
--       -> same columns, STABLE, anon+. NULL domain = all domains.
--   interest_domains() -> table(domain text, interest_count bigint)   STABLE, anon+
--   user_interests_upsert(p_interest_id uuid, p_affinity double precision default 0.5,
--                         p_source text default 'onboarding')
--       -> table(interest_id uuid, affinity double precision, category_id uuid)
--       VOLATILE, authenticated. Also ensures the interest's marketplace category
--       and queues its discovery (ensure_category_for_interest).
--   user_interests_remove(p_interest_id uuid) -> boolean (true if it was there)   VOLATILE
--   my_interests() -> table(interest_id uuid, slug text, name text, domain text,
--                           affinity double precision, created_at timestamptz)    STABLE
-- The profile embedding follows automatically (triggers in 030).

create or replace function public._like_escape(p_text text) returns text
language sql immutable
as $$
    select replace(replace(replace(p_text, '\', '\\'), '%', '\%'), '_', '\_')
$$;

create or replace function public.interest_catalog_search(p_query text, p_limit integer default 20)
returns table (id uuid, slug text, domain text, category text, name text, tags text[], popularity integer)
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_query text := lower(btrim(coalesce(p_query, '')));
    v_words text[];
begin
    if length(v_query) > 100 then
        raise exception 'search query is too long (at most 100 characters)' using errcode = '22023';
    end if;
    if p_limit is null or p_limit not between 1 and 100 then
        raise exception 'p_limit must be between 1 and 100 (got %)', p_limit using errcode = '22023';
    end if;
    v_words := array(select w from regexp_split_to_table(v_query, '[^a-z0-9]+') w where w <> '');
    if v_query <> '' and cardinality(v_words) = 0 then
        return;  -- only punctuation: nothing can match (and '%' must not match everything)
    end if;
    return query
    select ic.id, ic.slug, ic.domain, ic.category, ic.name, ic.tags, ic.popularity
      from public.interest_catalog ic
     where ic.is_active
       and not exists (
            select 1 from unnest(v_words) w
             where lower(ic.name || ' ' || ic.category || ' ' || ic.domain || ' ' || ic.slug || ' '
                         || array_to_string(ic.tags, ' '))
                   not like '%' || public._like_escape(w) || '%' escape '\')
     order by case
                when v_query = '' then 3
                when lower(ic.name) = v_query then 0
                when lower(ic.name) like public._like_escape(v_query) || '%' escape '\' then 1
                when lower(ic.name) like '%' || public._like_escape(v_query) || '%' escape '\' then 2
                else 3
              end,
              ic.popularity desc, ic.name
     limit p_limit;
end
$$;

create or replace function public.interest_catalog_browse(
    p_domain text default null, p_limit integer default 200, p_offset integer default 0)
returns table (id uuid, slug text, domain text, category text, name text, tags text[], popularity integer)
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if p_limit is null or p_limit not between 1 and 500 then
        raise exception 'p_limit must be between 1 and 500 (got %)', p_limit using errcode = '22023';
    end if;
    if p_offset is null or p_offset < 0 then
        raise exception 'p_offset must be >= 0 (got %)', p_offset using errcode = '22023';
    end if;
    return query
    select ic.id, ic.slug, ic.domain, ic.category, ic.name, ic.tags, ic.popularity
      from public.interest_catalog ic
     where ic.is_active and (p_domain is null or ic.domain = lower(p_domain))
     order by ic.domain, ic.popularity desc, ic.name
     limit p_limit offset p_offset;
end
$$;

create or replace function public.interest_domains()
returns table (domain text, interest_count bigint)
language sql stable
set search_path = public, pg_temp
as $$
    select ic.domain, count(*) from public.interest_catalog ic where ic.is_active group by ic.domain order by ic.domain
$$;

-- Runs as the caller (RLS on user_interests applies); the category/discovery
-- side effect goes through the definer function ensure_category_for_interest.
create or replace function public.user_interests_upsert(
    p_interest_id uuid, p_affinity double precision default 0.5, p_source text default 'onboarding')
returns table (interest_id uuid, affinity double precision, category_id uuid)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := auth.uid();
    v_affinity double precision;
begin
    if v_uid is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if p_interest_id is null then
        raise exception 'p_interest_id is required' using errcode = '22023';
    end if;
    if p_affinity is null or p_affinity = 'NaN'::double precision or p_affinity not between 0 and 1 then
        raise exception 'affinity must be between 0 and 1 (got %)', p_affinity using errcode = '22023';
    end if;
    if not exists (select 1 from public.interest_catalog ic where ic.id = p_interest_id and ic.is_active) then
        raise exception 'unknown interest %', p_interest_id using errcode = 'P0002';
    end if;
    insert into public.user_interests as ui (user_id, interest_id, affinity, source)
    values (v_uid, p_interest_id, p_affinity, coalesce(nullif(btrim(p_source), ''), 'onboarding'))
    on conflict on constraint user_interests_pkey
        do update set affinity = excluded.affinity, source = excluded.source
    returning ui.affinity into v_affinity;
    return query select p_interest_id, v_affinity, public.ensure_category_for_interest(p_interest_id);
end
$$;

create or replace function public.user_interests_remove(p_interest_id uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    delete from public.user_interests ui where ui.user_id = auth.uid() and ui.interest_id = p_interest_id;
    return found;
end
$$;

create or replace function public.my_interests()
returns table (interest_id uuid, slug text, name text, domain text, affinity double precision, created_at timestamptz)
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    return query
    select ui.interest_id, ic.slug, ic.name, ic.domain, ui.affinity, ui.created_at
      from public.user_interests ui
      join public.interest_catalog ic on ic.id = ui.interest_id
     where ui.user_id = auth.uid()
     order by ui.affinity desc, ic.name;
end
$$;

revoke all on function public._like_escape(text), public.interest_catalog_search(text, integer),
    public.interest_catalog_browse(text, integer, integer), public.interest_domains(),
    public.user_interests_upsert(uuid, double precision, text), public.user_interests_remove(uuid),
    public.my_interests() from public;
grant execute on function public._like_escape(text), public.interest_catalog_search(text, integer),
    public.interest_catalog_browse(text, integer, integer), public.interest_domains()
    to anon, authenticated, service_role;
grant execute on function public.user_interests_upsert(uuid, double precision, text),
    public.user_interests_remove(uuid), public.my_interests() to authenticated, service_role;
