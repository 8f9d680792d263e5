-- 230_rpc_content: the write RPCs behind the content of the feeds.
--
-- Caller = auth.uid() (authenticated); every function raises 28000 when
-- nobody is signed in. Error codes as in 100: 22023 bad argument, 42501 not
-- yours, 23505 taken, P0002 unknown id. metadata arguments must be JSON
-- objects; the key "score" (the engagement score the feeds rank with) is
-- dropped from what a client sends: only the server (service_role, the
-- fixtures) sets it.
--
--   entity_create(p_handle text, p_display_name text, p_kind text default 'business') -> jsonb entity
--       {id, kind, handle, display_name, owner_id, created_at}. A page the caller owns (sellers list
--       under it, hosts run events under it). 23505 when the handle is taken or reserved.
--   entity_follow(p_entity_id uuid) -> boolean (true = newly followed)
--   entity_unfollow(p_entity_id uuid) -> boolean (true = was followed)
--   post_create(p_body text, p_entity_id uuid default NULL, p_target_entity_ids uuid[] default NULL,
--               p_media_url text default NULL, p_metadata jsonb default '{}')
--       -> jsonb {id, author_id, entity_id, body, media_url, created_at,
--                 targets: [{entity_id, status}]}
--       p_entity_id: post as a page the caller owns (it becomes an approved target).
--       p_target_entity_ids: cross-post to other pages: approved when the caller owns
--       them, else 'pending' until the page's owner calls post_target_review.
--   post_target_review(p_post_id uuid, p_entity_id uuid, p_approve boolean) -> text ('approved'|'rejected')
--       by the target page's owner.
--   listing_create(p_title text, p_price_cents integer, p_entity_id uuid default NULL,
--                  p_description text default NULL, p_category_id uuid default NULL,
--                  p_image_url text default NULL, p_currency text default 'USD', p_metadata jsonb default '{}')
--       -> jsonb {id, seller_id, seller_entity_id, category_id, title, description, price_cents, currency,
--                 status, image_url, created_at}   status 'active'
--   event_create(p_title text, p_starts_at timestamptz, p_ends_at timestamptz default NULL,
--                p_entity_id uuid default NULL, p_description text default NULL,
--                p_location text default NULL, p_metadata jsonb default '{}')
--       -> jsonb {id, host_entity_id, created_by, title, description, location, starts_at, ends_at, created_at}
--   feed_hide(p_item_kind text, p_item_id uuid) -> boolean (true = newly hidden)   kinds post|listing|event
--   feed_unhide(p_item_kind text, p_item_id uuid) -> boolean (true = was hidden)
--   calendar_events(p_from timestamptz default NULL (= now), p_to timestamptz default NULL (= from + 30 days),
--                   p_scope text default 'following', p_limit integer default 100)
--       -> setof (id uuid, host_entity_id uuid, host_name text, created_by uuid, title text,
--                 description text, location text, starts_at timestamptz, ends_at timestamptz)
--       STABLE. scope 'following': events of pages the caller follows plus its own;
--       'all': every event. Ordered by starts_at, id. At most 366 days per call.
-- All VOLATILE except calendar_events; all granted to authenticated and service_role.
-- SECURITY INVOKER where the caller's own-row RLS is the whole rule (follow,
-- hide, listing, event, entity); post_create and post_target_review are
-- SECURITY DEFINER because they write targets on pages the caller may not own.

create or replace function public._require_signed_in() returns uuid
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    return auth.uid();
end
$$;

-- Client metadata: a JSON object, without the server-owned ranking score.
create or replace function public._client_metadata(p_metadata jsonb) returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if p_metadata is null then
        return '{}'::jsonb;
    end if;
    if jsonb_typeof(p_metadata) <> 'object' then
        raise exception 'p_metadata must be a JSON object' using errcode = '22023';
    end if;
    if pg_column_size(p_metadata) > 8192 then
        raise exception 'p_metadata is too large (at most 8 kB)' using errcode = '22023';
    end if;
    return case when auth.is_client() then p_metadata - 'score' else p_metadata end;
end
$$;

-- Raises unless p_entity_id is NULL or a page the caller owns.
create or replace function public._require_own_entity(p_entity_id uuid) returns void
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
declare
    v_owner uuid;
begin
    if p_entity_id is null then
        return;
    end if;
    select e.owner_id into v_owner from public.entities e where e.id = p_entity_id;
    if not found then
        raise exception 'unknown page %', p_entity_id using errcode = 'P0002';
    end if;
    if auth.is_client() and v_owner is distinct from auth.uid() then
        raise exception 'page % is not yours', p_entity_id using errcode = '42501';
    end if;
end
$$;

create or replace function public.entity_create(p_handle text, p_display_name text, p_kind text default 'business')
returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_entity public.entities;
begin
    if p_kind is null or p_kind not in ('business', 'stable', 'club', 'event_host', 'creator') then
        raise exception 'p_kind must be one of business, stable, club, event_host, creator (got "%")', p_kind
            using errcode = '22023';
    end if;
    if p_handle is null or p_handle !~ '^[A-Za-z0-9_]{3,30}$' then
        raise exception 'a handle is 3-30 letters, digits or underscores (got "%")', p_handle using errcode = '22023';
    end if;
    if p_display_name is null or length(p_display_name) not between 1 and 80 then
        raise exception 'p_display_name must be 1-80 characters' using errcode = '22023';
    end if;
    if not public.check_handle_available(p_handle) then
        raise exception 'handle "%" is taken', p_handle using errcode = '23505';
    end if;
    begin
        insert into public.entities (kind, handle, display_name, owner_id)
        values (p_kind, p_handle, p_display_name, v_uid)
        returning * into v_entity;
    exception when unique_violation then
        raise exception 'handle "%" is taken', p_handle using errcode = '23505';
    end;
    return jsonb_build_object('id', v_entity.id, 'kind', v_entity.kind, 'handle', v_entity.handle,
                              'display_name', v_entity.display_name, 'owner_id', v_entity.owner_id,
                              'created_at', v_entity.created_at);
end
$$;

create or replace function public.entity_follow(p_entity_id uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
begin
    if not exists (select 1 from public.entities e where e.id = p_entity_id) then
        raise exception 'unknown page %', p_entity_id using errcode = 'P0002';
    end if;
    insert into public.entity_edges (follower_id, entity_id, kind) values (v_uid, p_entity_id, 'follow')
    on conflict do nothing;
    return found;
end
$$;

create or replace function public.entity_unfollow(p_entity_id uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
begin
    delete from public.entity_edges f where f.follower_id = v_uid and f.entity_id = p_entity_id and f.kind = 'follow';
    return found;
end
$$;

create or replace function public.post_create(
    p_body text, p_entity_id uuid default null, p_target_entity_ids uuid[] default null,
    p_media_url text default null, p_metadata jsonb default '{}'::jsonb)
returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_post public.posts;
    v_unknown uuid;
    v_targets jsonb;
begin
    if p_body is null or length(p_body) not between 1 and 5000 then
        raise exception 'p_body must be 1-5000 characters' using errcode = '22023';
    end if;
    if p_media_url is not null and p_media_url !~ '^https?://' then
        raise exception 'p_media_url must be an http(s) URL' using errcode = '22023';
    end if;
    if coalesce(array_length(p_target_entity_ids, 1), 0) > 20 then
        raise exception 'a post may target at most 20 pages' using errcode = '22023';
    end if;
    perform public._require_own_entity(p_entity_id);
    select t into v_unknown from unnest(p_target_entity_ids) t
     where t is null or not exists (select 1 from public.entities e where e.id = t) limit 1;
    if found then
        raise exception 'unknown page % in p_target_entity_ids', v_unknown using errcode = 'P0002';
    end if;

    insert into public.posts (author_id, entity_id, body, media_url, metadata)
    values (v_uid, p_entity_id, p_body, p_media_url, public._client_metadata(p_metadata))
    returning * into v_post;

    insert into public.post_targets (post_id, entity_id, status, post_created_at, decided_at)
    select v_post.id, e.id,
           case when e.owner_id = v_uid or not auth.is_client() then 'approved' else 'pending' end,
           v_post.created_at,
           case when e.owner_id = v_uid or not auth.is_client() then now() end
      from public.entities e
     where e.id = any (array_append(coalesce(p_target_entity_ids, '{}'), p_entity_id))
    on conflict do nothing;

    select coalesce(jsonb_agg(jsonb_build_object('entity_id', t.entity_id, 'status', t.status) order by t.entity_id),
                    '[]'::jsonb)
      into v_targets
      from public.post_targets t where t.post_id = v_post.id;
    return jsonb_build_object('id', v_post.id, 'author_id', v_post.author_id, 'entity_id', v_post.entity_id,
                              'body', v_post.body, 'media_url', v_post.media_url, 'created_at', v_post.created_at,
                              'targets', v_targets);
end
$$;

create or replace function public.post_target_review(p_post_id uuid, p_entity_id uuid, p_approve boolean)
returns text
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_status text;
begin
    if p_approve is null then
        raise exception 'p_approve must be true or false' using errcode = '22023';
    end if;
    perform public._require_own_entity(p_entity_id);
    update public.post_targets t
       set status = case when p_approve then 'approved' else 'rejected' end, decided_at = now()
     where t.post_id = p_post_id and t.entity_id = p_entity_id
    returning t.status into v_status;
    if not found then
        raise exception 'post % does not target page %', p_post_id, p_entity_id using errcode = 'P0002';
    end if;
    return v_status;
end
$$;

create or replace function public.listing_create(
    p_title text, p_price_cents integer, p_entity_id uuid default null, p_description text default null,
    p_category_id uuid default null, p_image_url text default null, p_currency text default 'USD',
    p_metadata jsonb default '{}'::jsonb)
returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_listing public.marketplace_listings;
begin
    if p_title is null or length(p_title) not between 1 and 200 then
        raise exception 'p_title must be 1-200 characters' using errcode = '22023';
    end if;
    if p_price_cents is null or p_price_cents < 0 then
        raise exception 'p_price_cents must be a whole number of cents >= 0 (got %)', p_price_cents
            using errcode = '22023';
    end if;
    if p_currency is null or p_currency !~ '^[A-Z]{3}$' then
        raise exception 'p_currency must be a three-letter code such as USD (got "%")', p_currency
            using errcode = '22023';
    end if;
    if p_image_url is not null and p_image_url !~ '^https?://' then
        raise exception 'p_image_url must be an http(s) URL' using errcode = '22023';
    end if;
    if p_description is not null and length(p_description) > 5000 then
        raise exception 'p_description must be at most 5000 characters' using errcode = '22023';
    end if;
    if p_category_id is not null and not exists (select 1 from public.marketplace_categories c where c.id = p_category_id)
    then
        raise exception 'unknown category %', p_category_id using errcode = 'P0002';
    end if;
    perform public._require_own_entity(p_entity_id);
    insert into public.marketplace_listings (seller_id, seller_entity_id, category_id, title, description,
                                             price_cents, currency, status, image_url, metadata)
    values (v_uid, p_entity_id, p_category_id, p_title, p_description, p_price_cents, p_currency, 'active',
            p_image_url, public._client_metadata(p_metadata))
    returning * into v_listing;
    return jsonb_build_object('id', v_listing.id, 'seller_id', v_listing.seller_id,
                              'seller_entity_id', v_listing.seller_entity_id, 'category_id', v_listing.category_id,
                              'title', v_listing.title, 'description', v_listing.description,
                              'price_cents', v_listing.price_cents, 'currency', v_listing.currency,
                              'status', v_listing.status, 'image_url', v_listing.image_url,
                              'created_at', v_listing.created_at);
end
$$;

create or replace function public.event_create(
    p_title text, p_starts_at timestamptz, p_ends_at timestamptz default null, p_entity_id uuid default null,
    p_description text default null, p_location text default null, p_metadata jsonb default '{}'::jsonb)
returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_event public.events;
begin
    if p_title is null or length(p_title) not between 1 and 200 then
        raise exception 'p_title must be 1-200 characters' using errcode = '22023';
    end if;
    if p_starts_at is null or not isfinite(p_starts_at) then
        raise exception 'p_starts_at is required' using errcode = '22023';
    end if;
    if p_ends_at is not null and p_ends_at < p_starts_at then
        raise exception 'p_ends_at (%) is before p_starts_at (%)', p_ends_at, p_starts_at using errcode = '22023';
    end if;
    if p_description is not null and length(p_description) > 5000 then
        raise exception 'p_description must be at most 5000 characters' using errcode = '22023';
    end if;
    if p_location is not null and length(p_location) > 200 then
        raise exception 'p_location must be at most 200 characters' using errcode = '22023';
    end if;
    perform public._require_own_entity(p_entity_id);
    insert into public.events (host_entity_id, created_by, title, description, location, starts_at, ends_at, metadata)
    values (p_entity_id, v_uid, p_title, p_description, p_location, p_starts_at, p_ends_at,
            public._client_metadata(p_metadata))
    returning * into v_event;
    return jsonb_build_object('id', v_event.id, 'host_entity_id', v_event.host_entity_id,
                              'created_by', v_event.created_by, 'title', v_event.title,
                              'description', v_event.description, 'location', v_event.location,
                              'starts_at', v_event.starts_at, 'ends_at', v_event.ends_at,
                              'created_at', v_event.created_at);
end
$$;

create or replace function public.feed_hide(p_item_kind text, p_item_id uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
begin
    if p_item_kind is null or p_item_kind not in ('post', 'listing', 'event') then
        raise exception 'p_item_kind must be post, listing or event (got "%")', p_item_kind using errcode = '22023';
    end if;
    if p_item_id is null then
        raise exception 'p_item_id is required' using errcode = '22023';
    end if;
    insert into public.feed_hides (user_id, item_kind, item_id) values (v_uid, p_item_kind, p_item_id)
    on conflict do nothing;
    return found;
end
$$;

create or replace function public.feed_unhide(p_item_kind text, p_item_id uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
begin
    delete from public.feed_hides h where h.user_id = v_uid and h.item_kind = p_item_kind and h.item_id = p_item_id;
    return found;
end
$$;

create or replace function public.calendar_events(
    p_from timestamptz default null, p_to timestamptz default null, p_scope text default 'following',
    p_limit integer default 100)
returns table (id uuid, host_entity_id uuid, host_name text, created_by uuid, title text, description text,
               location text, starts_at timestamptz, ends_at timestamptz)
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_from timestamptz := coalesce(p_from, now());
    v_to timestamptz := coalesce(p_to, coalesce(p_from, now()) + interval '30 days');
begin
    if p_scope is null or p_scope not in ('following', 'all') then
        raise exception 'p_scope must be following or all (got "%")', p_scope using errcode = '22023';
    end if;
    if v_to < v_from or v_to - v_from > interval '366 days' then
        raise exception 'p_to must be after p_from and at most 366 days later' using errcode = '22023';
    end if;
    if p_limit is null or p_limit not between 1 and 500 then
        raise exception 'p_limit must be between 1 and 500 (got %)', p_limit using errcode = '22023';
    end if;
    return query
    select e.id, e.host_entity_id, en.display_name, e.created_by, e.title, e.description, e.location,
           e.starts_at, e.ends_at
      from public.events e
      left join public.entities en on en.id = e.host_entity_id
     where e.starts_at >= v_from and e.starts_at < v_to
       and (p_scope = 'all'
            or e.created_by = v_uid
            or exists (select 1 from public.entity_edges f
                        where f.follower_id = v_uid and f.entity_id = e.host_entity_id and f.kind = 'follow'))
     order by e.starts_at, e.id
     limit p_limit;
end
$$;

revoke all on function public._require_signed_in(), public._client_metadata(jsonb), public._require_own_entity(uuid),
    public.entity_create(text, text, text), public.entity_follow(uuid), public.entity_unfollow(uuid),
    public.post_create(text, uuid, uuid[], text, jsonb), public.post_target_review(uuid, uuid, boolean),
    public.listing_create(text, integer, uuid, text, uuid, text, text, jsonb),
    public.event_create(text, timestamptz, timestamptz, uuid, text, text, jsonb),
    public.feed_hide(text, uuid), public.feed_unhide(text, uuid),
    public.calendar_events(timestamptz, timestamptz, text, integer) from public;
grant execute on function public._require_signed_in(), public._client_metadata(jsonb), public._require_own_entity(uuid),
    public.entity_create(text, text, text), public.entity_follow(uuid), public.entity_unfollow(uuid),
    public.post_create(text, uuid, uuid[], text, jsonb), public.post_target_review(uuid, uuid, boolean),
    public.listing_create(text, integer, uuid, text, uuid, text, text, jsonb),
    public.event_create(text, timestamptz, timestamptz, uuid, text, text, jsonb),
    public.feed_hide(text, uuid), public.feed_unhide(text, uuid),
    public.calendar_events(timestamptz, timestamptz, text, integer) to authenticated, service_role;
