"""Cart, checkout and earnings (seeds 003/004): splits, capture rates, missed delta, webhook replays, append-only."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as
from tests.integration.platform2.builders import new_entity, new_listing, new_user, rpc, set_flag

pytestmark = pytest.mark.integration

RATES = {"free": 0.01, "pro": 0.025, "elite": 0.04}


async def _tier(conn: asyncpg.Connection, user: uuid.UUID, tier: str) -> None:
    await rpc(conn, None, "select public.membership_set_tier($1, $2)", user, tier)


async def _buy(
    conn: asyncpg.Connection, buyer: uuid.UUID, listing: uuid.UUID, key: str | None = None
) -> dict[str, object]:
    await rpc(conn, buyer, "select public.cart_add($1)", listing)
    order: dict[str, object] = await rpc(conn, buyer, "select public.checkout($1)", key)
    return order


async def _events(conn: asyncpg.Connection, order: object) -> dict[tuple[str, uuid.UUID], asyncpg.Record]:
    rows = await conn.fetch("select * from public.earnings_events where order_id = $1::uuid", str(order))
    return {(row["kind"], row["user_id"]): row for row in rows}


async def _ledger(conn: asyncpg.Connection, user: uuid.UUID) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow("select * from public.earnings_ledger where user_id = $1", user)
    return row


async def test_an_order_splits_60_25_15_and_each_share_is_captured_at_its_tier(conn: asyncpg.Connection) -> None:
    seller, referrer, buyer = await new_user(conn), await new_user(conn), await new_user(conn)
    await _tier(conn, referrer, "pro")
    await _tier(conn, buyer, "elite")
    assert await rpc(conn, buyer, "select public.referral_claim($1)", referrer) is True
    listing = await new_listing(conn, seller, entity=await new_entity(conn, seller), price_cents=10_000)

    order = await _buy(conn, buyer, listing)
    assert order["status"] == "paid" and order["payment_mode"] == "test" and order["subtotal_cents"] == 10_000
    events = await _events(conn, order["order_id"])
    # pool = 4 % of $100.00 = 400 cents: 240 / 100 / 60; captured at 1 %, 2.5 %, 4 % of each share's base.
    got = {
        key: (row["amount_cents"], row["captured_cents"], row["missed_cents"], row["tier"])
        for key, row in events.items()
    }
    assert got == {
        ("commission", seller): (240, 60, 180, "free"),
        ("referral", referrer): (100, 63, 37, "pro"),  # 62.5 rounds half away from zero
        ("membership", buyer): (60, 60, 0, "elite"),
    }
    summary = await rpc(conn, seller, "select public.earnings_summary()")
    assert (summary["total_cents"], summary["captured_cents"], summary["missed_cents"]) == (240, 60, 180)
    assert summary["by_kind"]["commission"] == {"total_cents": 240, "captured_cents": 60, "missed_cents": 180,
                                                "events": 1}  # fmt: skip
    assert summary["tier"] == "free" and float(summary["capture_rate"]) == 0.01
    assert summary["pending_cents"] == 60 and summary["available_cents"] == 0  # inside the 7-day hold


@pytest.mark.parametrize("tier", ["free", "pro", "elite"])
async def test_capture_rate_follows_the_membership_tier(conn: asyncpg.Connection, tier: str) -> None:
    seller, buyer = await new_user(conn), await new_user(conn)
    await _tier(conn, seller, tier)
    listing = await new_listing(conn, seller, price_cents=20_000)
    order = await _buy(conn, buyer, listing)
    commission = (await _events(conn, order["order_id"]))[("commission", seller)]
    assert commission["captured_cents"] == round(20_000 * 0.60 * RATES[tier])
    assert commission["amount_cents"] == round(20_000 * 0.60 * 0.04)
    ledger = await _ledger(conn, seller)
    assert (
        ledger["missed_cents"]
        == ledger["total_cents"] - ledger["captured_cents"]
        == round(20_000 * 0.60 * (0.04 - RATES[tier]))
    )
    # No referrer: only the seller's and the buyer's shares are paid.
    assert {kind for kind, _ in await _events(conn, order["order_id"])} == {"commission", "membership"}


async def test_replaying_the_webhook_ten_times_writes_the_ledger_once(conn: asyncpg.Connection) -> None:
    await set_flag(conn, "payments_real", {"enabled": True})
    seller, buyer = await new_user(conn), await new_user(conn)
    order = await _buy(conn, buyer, await new_listing(conn, seller, price_cents=5_000))
    assert order["status"] == "pending" and order["payment_mode"] == "real" and order["earnings_events"] == 0
    assert await conn.fetchval("select count(*) from public.earnings_events where order_id = $1::uuid",
                               str(order["order_id"])) == 0  # fmt: skip

    replies = [
        await rpc(conn, None, "select public.order_webhook($1::uuid)", str(order["order_id"])) for _ in range(10)
    ]
    assert [r["applied"] for r in replies] == [True] + [False] * 9
    assert all(r["status"] == "paid" for r in replies)
    assert len(await _events(conn, order["order_id"])) == 2
    for user in (seller, buyer):
        ledger = await _ledger(conn, user)
        assert ledger["writes"] == 1 and ledger["events_count"] == 1


async def test_an_orders_earnings_are_keyed_so_a_second_application_adds_nothing(conn: asyncpg.Connection) -> None:
    # Behind the order's state machine, each effect's idempotency key is the second guard.
    seller, buyer = await new_user(conn), await new_user(conn)
    order = await _buy(conn, buyer, await new_listing(conn, seller, price_cents=5_000))
    assert await conn.fetchval("select public._earnings_for_order($1::uuid)", str(order["order_id"])) == 0
    assert len(await _events(conn, order["order_id"])) == 2
    assert (await _ledger(conn, seller))["writes"] == 1


async def test_concurrent_webhook_deliveries_apply_once(conn: asyncpg.Connection, db_dsn: str) -> None:
    await set_flag(conn, "payments_real", {"enabled": True})
    seller, buyer = await new_user(conn), await new_user(conn)
    order = await _buy(conn, buyer, await new_listing(conn, seller, price_cents=5_000))
    connections = [await asyncpg.connect(db_dsn) for _ in range(10)]
    try:
        replies = await asyncio.gather(
            *(rpc(c, None, "select public.order_webhook($1::uuid)", str(order["order_id"])) for c in connections)
        )
    finally:
        for c in connections:
            await c.close()
    assert sum(1 for r in replies if r["applied"]) == 1
    assert (await _ledger(conn, seller))["writes"] == 1


async def test_a_failed_payment_cancels_and_records_nothing(conn: asyncpg.Connection) -> None:
    await set_flag(conn, "payments_real", {"enabled": True})
    seller, buyer = await new_user(conn), await new_user(conn)
    order = await _buy(conn, buyer, await new_listing(conn, seller))
    failed = await rpc(conn, None, "select public.order_webhook($1::uuid, 'payment.failed')", str(order["order_id"]))
    assert failed["status"] == "cancelled" and failed["applied"] is True
    with pytest.raises(asyncpg.PostgresError, match="cannot be paid"):
        await rpc(conn, None, "select public.order_webhook($1::uuid)", str(order["order_id"]))
    assert await _ledger(conn, seller) is None
    with pytest.raises(asyncpg.PostgresError) as refused:
        await rpc(conn, buyer, "select public.order_webhook($1::uuid)", str(order["order_id"]))
    assert refused.value.sqlstate == "42501"  # clients cannot pay their own orders


async def test_checkout_is_idempotent_on_its_key_and_empties_the_cart(conn: asyncpg.Connection) -> None:
    seller, buyer = await new_user(conn), await new_user(conn)
    one, two = await new_listing(conn, seller, price_cents=1_500), await new_listing(conn, seller, price_cents=250)
    await rpc(conn, buyer, "select public.cart_add($1, 2)", one)
    await rpc(conn, buyer, "select public.cart_add($1, 1)", two)
    line = await rpc(conn, buyer, "select public.cart_add($1, 1)", two)
    assert line["quantity"] == 2 and line["line_total_cents"] == 500
    order = await rpc(conn, buyer, "select public.checkout('double-click')")
    assert order["subtotal_cents"] == 2 * 1_500 + 2 * 250 and len(order["items"]) == 2
    assert await rpc(conn, buyer, "select count(*) from public.cart_list()") == 0
    again = await rpc(conn, buyer, "select public.checkout('double-click')")
    assert again["order_id"] == order["order_id"] and again["replayed"] is True
    assert await conn.fetchval("select count(*) from public.orders where buyer_id = $1", buyer) == 1
    assert (await _ledger(conn, seller))["writes"] == 1


async def test_checkout_refuses_an_empty_cart_or_gone_items_and_writes_nothing(conn: asyncpg.Connection) -> None:
    seller, buyer = await new_user(conn), await new_user(conn)
    with pytest.raises(asyncpg.PostgresError, match="cart is empty") as empty:
        await rpc(conn, buyer, "select public.checkout()")
    assert empty.value.sqlstate == "22023"
    listing = await new_listing(conn, seller)
    await rpc(conn, buyer, "select public.cart_add($1)", listing)
    await conn.execute("update public.marketplace_listings set status = 'sold' where id = $1", listing)
    rows = await rpc_cart(conn, buyer)
    assert [(r["listing_id"], r["available"], r["title"]) for r in rows] == [(listing, False, None)]
    with pytest.raises(asyncpg.PostgresError, match="no longer available") as gone:
        await rpc(conn, buyer, "select public.checkout()")
    assert json.loads(gone.value.detail or "{}") == {"unavailable": [str(listing)]}
    assert await conn.fetchval("select count(*) from public.orders where buyer_id = $1", buyer) == 0
    assert len(await rpc_cart(conn, buyer)) == 1


async def rpc_cart(conn: asyncpg.Connection, user: uuid.UUID) -> list[asyncpg.Record]:
    async with acting_as(conn, "authenticated", user):
        rows: list[asyncpg.Record] = await conn.fetch("select * from public.cart_list()")
    return rows


async def test_the_cart_refuses_your_own_and_inactive_listings(conn: asyncpg.Connection) -> None:
    seller = await new_user(conn)
    own = await new_listing(conn, seller)
    with pytest.raises(asyncpg.PostgresError, match="your own") as mine:
        await rpc(conn, seller, "select public.cart_add($1)", own)
    assert mine.value.sqlstate == "22023"
    with pytest.raises(asyncpg.PostgresError) as unknown:
        await rpc(conn, seller, "select public.cart_add($1)", uuid.uuid4())
    assert unknown.value.sqlstate == "P0002"
    buyer = await new_user(conn)
    for _ in range(3):
        line = await rpc(conn, buyer, "select public.cart_add($1, 60)", own)
    assert line["quantity"] == 99


async def test_earnings_events_are_append_only(conn: asyncpg.Connection) -> None:
    seller, buyer = await new_user(conn), await new_user(conn)
    await _buy(conn, buyer, await new_listing(conn, seller))
    for statement in (
        "update public.earnings_events set captured_cents = amount_cents",
        "delete from public.earnings_events",
        "truncate public.earnings_events",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only") as refused:
            await conn.execute(statement)  # even the superuser
        assert refused.value.sqlstate == "23514"


async def test_recompute_previews_drift_and_repairs_the_ledger(conn: asyncpg.Connection) -> None:
    seller, buyer = await new_user(conn), await new_user(conn)
    await _buy(conn, buyer, await new_listing(conn, seller, price_cents=10_000))
    preview = await rpc(conn, seller, "select public.earnings_recompute()")
    assert preview["in_sync"] is True and preview["written"] is False
    await conn.execute("update public.earnings_ledger set captured_cents = 0 where user_id = $1", seller)
    drift = await rpc(conn, seller, "select public.earnings_recompute()")
    assert drift["in_sync"] is False and drift["written"] is False
    assert drift["stored"]["captured_cents"] == 0 and drift["recomputed"]["captured_cents"] == 60
    assert (await _ledger(conn, seller))["captured_cents"] == 0  # a preview writes nothing
    fixed = await rpc(conn, seller, "select public.earnings_recompute(p_preview => false)")
    assert fixed["written"] is True and (await _ledger(conn, seller))["captured_cents"] == 60
    assert (await rpc(conn, seller, "select public.earnings_recompute()"))["in_sync"] is True


async def test_tips_and_adjustments_are_recorded_once_by_the_server(conn: asyncpg.Connection) -> None:
    user = await new_user(conn)
    tip = "select public.earnings_record_event($1, 'tip', 500, 'tip:abc')"
    first, again = await rpc(conn, None, tip, user), await rpc(conn, None, tip, user)
    assert first["created"] is True and again == {"event_id": first["event_id"], "created": False}
    await rpc(conn, None, "select public.earnings_record_event($1, 'adjustment', -200, 'adj:1')", user)
    ledger = await _ledger(conn, user)
    assert (ledger["total_cents"], ledger["captured_cents"], ledger["events_count"]) == (300, 300, 2)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await rpc(conn, user, "select public.earnings_record_event($1, 'tip', 500, 'tip:self')", user)
    async with acting_as(conn, "authenticated", user):
        listed = await conn.fetch("select * from public.earnings_list()")
    assert [r["kind"] for r in listed] == ["adjustment", "tip"]


async def test_a_referral_is_claimed_once(conn: asyncpg.Connection) -> None:
    user, referrer, other = await new_user(conn), await new_user(conn), await new_user(conn)
    assert await rpc(conn, user, "select public.referral_claim($1)", referrer) is True
    assert await rpc(conn, user, "select public.referral_claim($1)", referrer) is False
    with pytest.raises(asyncpg.PostgresError) as refused:
        await rpc(conn, user, "select public.referral_claim($1)", other)
    assert refused.value.sqlstate == "23505"
    with pytest.raises(asyncpg.PostgresError) as own:
        await rpc(conn, other, "select public.referral_claim($1)", other)
    assert own.value.sqlstate == "22023"


async def test_clients_read_only_their_own_earnings_and_cannot_change_tiers(conn: asyncpg.Connection) -> None:
    user, other = await new_user(conn), await new_user(conn)
    with pytest.raises(asyncpg.PostgresError) as refused:
        await rpc(conn, user, "select public.earnings_summary($1)", other)
    assert refused.value.sqlstate == "42501"
    with pytest.raises(asyncpg.PostgresError) as tier:
        await rpc(conn, user, "select public.membership_set_tier($1, 'elite')", user)
    assert tier.value.sqlstate == "42501"
    with pytest.raises(asyncpg.PostgresError, match="unknown tier") as bad:
        await rpc(conn, None, "select public.membership_set_tier($1, 'platinum')", user)
    assert bad.value.sqlstate == "22023"
