-- 270_cart_checkout: the shopping cart and checkout.
--
--   cart_add(p_listing_id uuid, p_quantity integer default 1)
--       -> jsonb {"listing_id", "quantity", "unit_price_cents", "currency", "line_total_cents"}
--       Adds p_quantity (1-99) to the line; a line holds at most 99. P0002 when the listing
--       is not active (or unknown), 22023 for your own listing.
--   cart_remove(p_listing_id uuid) -> boolean (true = the line was there)
--   cart_list() -> setof (listing_id uuid, title text, price_cents integer, currency text, quantity integer,
--                         line_total_cents bigint, seller_id uuid, seller_entity_id uuid, image_url text,
--                         available boolean, added_at timestamptz)
--       STABLE, oldest line first. available = false when the listing is no longer
--       active (its title and price are then NULL: listings RLS hides it).
--   checkout(p_idempotency_key text default NULL)
--       -> jsonb {"order_id", "status": "paid"|"pending", "payment_mode": "test"|"real",
--                 "subtotal_cents", "currency", "earnings_events", "replayed": bool,
--                 "items": [{"listing_id", "title", "unit_price_cents", "quantity", "line_total_cents",
--                            "seller_id", "seller_entity_id"}]}
--       Turns the caller's cart into an order and empties the cart, in one
--       transaction. With feature flag payments_real = {"enabled": false} (the
--       default) there is no payment provider: checkout delivers the provider's
--       'payment.succeeded' webhook itself, through the same idempotent path as
--       order_webhook (260), so the order comes back paid with its earnings
--       recorded. With payments_real on, the order stays pending until the
--       provider calls order_webhook. A repeated p_idempotency_key returns the
--       first order (replayed = true) and charges nothing again. 22023 when the
--       cart is empty, holds a listing that is no longer active (DETAIL lists
--       them), or mixes currencies; nothing is written then.
-- Listings are catalog items, not single pieces: buying one does not take it off sale.
-- cart_* are SECURITY INVOKER (RLS: own cart rows); checkout is SECURITY DEFINER
-- (it writes orders, order items and earnings, which clients cannot write).

create or replace function public.cart_add(p_listing_id uuid, p_quantity integer default 1) returns jsonb
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_listing public.marketplace_listings;
    v_quantity integer;
begin
    if p_quantity is null or p_quantity not between 1 and 99 then
        raise exception 'p_quantity must be between 1 and 99 (got %)', p_quantity using errcode = '22023';
    end if;
    select * into v_listing from public.marketplace_listings l where l.id = p_listing_id and l.status = 'active';
    if not found then
        raise exception 'listing % is not available', p_listing_id using errcode = 'P0002';
    end if;
    if v_listing.seller_id = v_uid then
        raise exception 'you cannot buy your own listing' using errcode = '22023';
    end if;
    insert into public.shopping_cart_items as c (user_id, listing_id, quantity)
    values (v_uid, p_listing_id, p_quantity)
    on conflict (user_id, listing_id) do update set quantity = least(c.quantity + excluded.quantity, 99)
    returning c.quantity into v_quantity;
    return jsonb_build_object('listing_id', p_listing_id, 'quantity', v_quantity,
                              'unit_price_cents', v_listing.price_cents, 'currency', v_listing.currency,
                              'line_total_cents', v_listing.price_cents::bigint * v_quantity);
end
$$;

create or replace function public.cart_remove(p_listing_id uuid) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
begin
    delete from public.shopping_cart_items c where c.user_id = v_uid and c.listing_id = p_listing_id;
    return found;
end
$$;

create or replace function public.cart_list()
returns table (listing_id uuid, title text, price_cents integer, currency text, quantity integer,
               line_total_cents bigint, seller_id uuid, seller_entity_id uuid, image_url text, available boolean,
               added_at timestamptz)
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
begin
    return query
    select c.listing_id, l.title, l.price_cents, l.currency, c.quantity,
           l.price_cents::bigint * c.quantity, l.seller_id, l.seller_entity_id, l.image_url,
           coalesce(l.status = 'active', false), c.added_at
      from public.shopping_cart_items c
      left join public.marketplace_listings l on l.id = c.listing_id
     where c.user_id = v_uid
     order by c.added_at, c.listing_id;
end
$$;

create or replace function public._order_json(p_order_id uuid, p_replayed boolean, p_earnings_events integer)
returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'order_id', o.id, 'status', o.status, 'payment_mode', o.payment_mode, 'subtotal_cents', o.subtotal_cents,
        'currency', o.currency, 'earnings_events', p_earnings_events, 'replayed', p_replayed,
        'items', coalesce((select jsonb_agg(jsonb_build_object(
                               'listing_id', i.listing_id, 'title', i.title, 'unit_price_cents', i.unit_price_cents,
                               'quantity', i.quantity, 'line_total_cents', i.line_total_cents,
                               'seller_id', i.seller_id, 'seller_entity_id', i.seller_entity_id) order by i.id)
                             from public.order_items i where i.order_id = o.id), '[]'::jsonb))
      from public.orders o where o.id = p_order_id
$$;

create or replace function public.checkout(p_idempotency_key text default null) returns jsonb
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_signed_in();
    v_order_id uuid;
    v_unavailable jsonb;
    v_currencies text[];
    v_subtotal bigint;
    v_real boolean;
    v_payment jsonb;
begin
    if p_idempotency_key is not null and length(p_idempotency_key) not between 1 and 200 then
        raise exception 'p_idempotency_key must be 1-200 characters' using errcode = '22023';
    end if;
    -- One checkout per buyer at a time: a double-click waits, then sees its twin's order.
    perform pg_advisory_xact_lock(hashtextextended('checkout:' || v_uid::text, 0));
    if p_idempotency_key is not null then
        select o.id into v_order_id from public.orders o
         where o.buyer_id = v_uid and o.idempotency_key = p_idempotency_key;
        if found then
            return public._order_json(v_order_id, true,
                                      (select count(*)::integer from public.earnings_events e where e.order_id = v_order_id));
        end if;
    end if;

    if not exists (select 1 from public.shopping_cart_items c where c.user_id = v_uid) then
        raise exception 'your cart is empty' using errcode = '22023';
    end if;
    select jsonb_agg(c.listing_id order by c.listing_id) into v_unavailable
      from public.shopping_cart_items c
      left join public.marketplace_listings l on l.id = c.listing_id
     where c.user_id = v_uid and (l.id is null or l.status <> 'active' or l.seller_id = v_uid);
    if v_unavailable is not null then
        raise exception 'some items in your cart are no longer available: remove them and try again'
            using errcode = '22023', detail = jsonb_build_object('unavailable', v_unavailable)::text;
    end if;
    select array_agg(distinct l.currency), sum(l.price_cents::bigint * c.quantity)
      into v_currencies, v_subtotal
      from public.shopping_cart_items c
      join public.marketplace_listings l on l.id = c.listing_id
     where c.user_id = v_uid;
    if cardinality(v_currencies) > 1 then
        raise exception 'your cart mixes currencies (%): check out one currency at a time',
            array_to_string(v_currencies, ', ') using errcode = '22023';
    end if;

    select coalesce(f.value -> 'enabled' = 'true'::jsonb, false) into v_real
      from public.feature_flags f where f.key = 'payments_real';
    v_real := coalesce(v_real, false);

    insert into public.orders (buyer_id, status, payment_mode, subtotal_cents, currency, idempotency_key)
    values (v_uid, 'pending', case when v_real then 'real' else 'test' end, v_subtotal, v_currencies[1],
            p_idempotency_key)
    returning id into v_order_id;
    insert into public.order_items (order_id, listing_id, seller_id, seller_entity_id, title, unit_price_cents,
                                    quantity, line_total_cents)
    select v_order_id, l.id, l.seller_id, l.seller_entity_id, l.title, l.price_cents, c.quantity,
           l.price_cents::bigint * c.quantity
      from public.shopping_cart_items c
      join public.marketplace_listings l on l.id = c.listing_id
     where c.user_id = v_uid
     order by c.added_at, c.listing_id;
    delete from public.shopping_cart_items c where c.user_id = v_uid;

    if not v_real then
        v_payment := public._order_apply_payment(v_order_id, 'payment.succeeded', '{"mode": "test"}'::jsonb);
    end if;
    return public._order_json(v_order_id, false, coalesce((v_payment ->> 'earnings_events')::integer, 0));
end
$$;

revoke all on function public.cart_add(uuid, integer), public.cart_remove(uuid), public.cart_list(),
    public._order_json(uuid, boolean, integer), public.checkout(text) from public;
grant execute on function public.cart_add(uuid, integer), public.cart_remove(uuid), public.cart_list(),
    public.checkout(text) to authenticated, service_role;
