-- 620_web_page_reads: the reads behind two web pages that no kernel RPC covers.
-- Owned by the web pages (600-649).
--
--   listing_detail(p_listing_id uuid) -> jsonb
--       {id, title, description, price_cents, currency, status, image_url, category_id,
--        seller_id, seller_entity_id, seller_name, seller_handle, created_at, in_cart (bool), is_mine (bool)}
--       STABLE, anon+. Visible as marketplace_listings' RLS allows (active, or the caller's own);
--       anything else is P0002 (-> 404), so a draft never leaks by id.
--   entity_profile(p_entity_id uuid) -> jsonb
--       {id, kind, handle, display_name, created_at, followers (int), following (bool), is_owner (bool)}
--       STABLE, anon+. P0002 for an unknown page.
-- SECURITY DEFINER because the seller's display name lives in profiles (own-row RLS) and a follower
-- count spans other users' entity_edges rows; each function returns only public fields and applies
-- the listing visibility rule itself.

create or replace function public.listing_detail(p_listing_id uuid) returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
declare
    v_listing public.marketplace_listings;
    v_uid uuid := auth.uid();
begin
    select * into v_listing from public.marketplace_listings l
     where l.id = p_listing_id and (l.status = 'active' or l.seller_id = v_uid or not auth.is_client());
    if not found then
        raise exception 'no listing %', p_listing_id using errcode = 'P0002';
    end if;
    return jsonb_build_object(
        'id', v_listing.id, 'title', v_listing.title, 'description', v_listing.description,
        'price_cents', v_listing.price_cents, 'currency', v_listing.currency, 'status', v_listing.status,
        'image_url', v_listing.image_url, 'category_id', v_listing.category_id,
        'seller_id', v_listing.seller_id, 'seller_entity_id', v_listing.seller_entity_id,
        'seller_name', coalesce(
            (select e.display_name from public.entities e where e.id = v_listing.seller_entity_id),
            (select p.display_name from public.profiles p where p.user_id = v_listing.seller_id)),
        'seller_handle', coalesce(
            (select e.handle from public.entities e where e.id = v_listing.seller_entity_id),
            (select p.handle from public.profiles p where p.user_id = v_listing.seller_id)),
        'created_at', v_listing.created_at,
        'in_cart', v_uid is not null and exists (
            select 1 from public.shopping_cart_items c where c.user_id = v_uid and c.listing_id = v_listing.id),
        'is_mine', v_uid is not null and v_listing.seller_id = v_uid);
end
$$;

create or replace function public.entity_profile(p_entity_id uuid) returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
declare
    v_entity public.entities;
    v_uid uuid := auth.uid();
begin
    select * into v_entity from public.entities e where e.id = p_entity_id;
    if not found then
        raise exception 'no page %', p_entity_id using errcode = 'P0002';
    end if;
    return jsonb_build_object(
        'id', v_entity.id, 'kind', v_entity.kind, 'handle', v_entity.handle,
        'display_name', v_entity.display_name, 'created_at', v_entity.created_at,
        'followers', (select count(*) from public.entity_edges f
                       where f.entity_id = v_entity.id and f.kind = 'follow')::integer,
        'following', v_uid is not null and exists (
            select 1 from public.entity_edges f
             where f.follower_id = v_uid and f.entity_id = v_entity.id and f.kind = 'follow'),
        'is_owner', v_uid is not null and v_entity.owner_id = v_uid);
end
$$;

revoke all on function public.listing_detail(uuid), public.entity_profile(uuid) from public;
grant execute on function public.listing_detail(uuid), public.entity_profile(uuid) to anon, authenticated, service_role;
