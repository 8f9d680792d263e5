"""The write RPCs behind the feeds (a seller's journey) and own-row RLS on the Platform II tables."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as
from tests.integration.platform2.builders import home, new_user, profile, rpc, set_flag

pytestmark = pytest.mark.integration


async def test_a_seller_journey_creates_a_page_a_listing_a_post_and_an_event(conn: asyncpg.Connection) -> None:
    await set_flag(conn, "ranker.policy", {"version": "epsilon_greedy_v1", "epsilon": 0})
    seller, fan = await new_user(conn), await new_user(conn)
    page = await rpc(
        conn, seller, "select public.entity_create($1, 'Hill Farm', 'stable')", f"hill_{uuid.uuid4().hex[:8]}"
    )
    assert page["owner_id"] == str(seller) and page["kind"] == "stable"
    page_id = uuid.UUID(page["id"])
    listing = await rpc(
        conn, seller, "select public.listing_create('Saddle', 15000, p_entity_id => $1, p_metadata => $2::jsonb)",
        page_id, '{"score": 1, "colour": "brown"}',
    )  # fmt: skip
    assert listing["status"] == "active" and listing["seller_entity_id"] == str(page_id)
    # A client cannot set the ranking score.
    assert await conn.fetchval("select metadata from public.marketplace_listings where id = $1::uuid",
                               listing["id"]) == '{"colour": "brown"}'  # fmt: skip
    post = await rpc(conn, seller, "select public.post_create('New foal!', $1)", page_id)
    assert post["targets"] == [{"entity_id": str(page_id), "status": "approved"}]
    event = await rpc(
        conn, seller, "select public.event_create('Open day', now() + interval '3 days', p_entity_id => $1)", page_id
    )
    assert event["host_entity_id"] == str(page_id)

    assert await rpc(conn, fan, "select public.entity_follow($1)", page_id) is True
    assert await rpc(conn, fan, "select public.entity_follow($1)", page_id) is False
    following = await home(conn, fan, "following")
    assert {(i["kind"], i["id"]) for i in following.items} >= {("post", post["id"]), ("event", event["id"])}
    shown = {i["id"] for i in (await profile(conn, fan, page_id)).items}
    assert {post["id"], listing["id"], event["id"]} <= shown
    async with acting_as(conn, "authenticated", fan):
        calendar = await conn.fetch("select * from public.calendar_events()")
    assert [r["id"] for r in calendar] == [uuid.UUID(event["id"])] and calendar[0]["host_name"] == "Hill Farm"
    assert await rpc(conn, fan, "select public.entity_unfollow($1)", page_id) is True
    assert (await home(conn, fan, "following")).items == []


async def test_cross_posts_wait_for_the_target_pages_owner(conn: asyncpg.Connection) -> None:
    author, club_owner, member = await new_user(conn), await new_user(conn), await new_user(conn)
    club = uuid.UUID((await rpc(conn, club_owner, "select public.entity_create($1, 'Pony Club')",
                                f"club_{uuid.uuid4().hex[:8]}"))["id"])  # fmt: skip
    await rpc(conn, member, "select public.entity_follow($1)", club)
    post = await rpc(conn, author, "select public.post_create('Show results', p_target_entity_ids => array[$1::uuid])",
                     club)  # fmt: skip
    assert post["targets"] == [{"entity_id": str(club), "status": "pending"}]
    assert (await home(conn, member, "following")).items == []
    with pytest.raises(asyncpg.PostgresError) as refused:
        await rpc(conn, author, "select public.post_target_review($1::uuid, $2, true)", post["id"], club)
    assert refused.value.sqlstate == "42501"
    assert await rpc(conn, club_owner, "select public.post_target_review($1::uuid, $2, true)", post["id"], club) == (
        "approved"
    )
    assert [i["id"] for i in (await home(conn, member, "following")).items] == [post["id"]]


@pytest.mark.parametrize(
    ("call", "sqlstate"),
    [
        ("select public.listing_create('x', 100, p_entity_id => $1)", "42501"),
        ("select public.post_create('x', $1)", "42501"),
        ("select public.event_create('x', now(), now() - interval '1 hour', $1)", "22023"),
        ("select public.listing_create('x', -1, $1)", "22023"),
        ("select public.feed_hide('comment', $1)", "22023"),
        ("select public.entity_follow(gen_random_uuid()) and $1::uuid is not null", "P0002"),
        ("select public.entity_create('admin', 'Admin') is not null and $1::uuid is not null", "23505"),
    ],
)
async def test_bad_writes_are_refused_with_a_clear_error(conn: asyncpg.Connection, call: str, sqlstate: str) -> None:
    owner, caller = await new_user(conn), await new_user(conn)
    someone_elses = uuid.UUID((await rpc(conn, owner, "select public.entity_create($1, 'Theirs')",
                                         f"theirs_{uuid.uuid4().hex[:8]}"))["id"])  # fmt: skip
    with pytest.raises(asyncpg.PostgresError) as refused:
        await rpc(conn, caller, call, someone_elses)
    assert refused.value.sqlstate == sqlstate


async def test_personal_rows_are_visible_only_to_their_owner(conn: asyncpg.Connection) -> None:
    alice, bob, seller = await new_user(conn), await new_user(conn), await new_user(conn)
    listing = uuid.UUID((await rpc(conn, seller, "select public.listing_create('Boots', 4000)"))["id"])
    page = uuid.UUID((await rpc(conn, seller, "select public.entity_create($1, 'Boots')",
                                f"boots_{uuid.uuid4().hex[:8]}"))["id"])  # fmt: skip
    for user in (alice, bob):
        await rpc(conn, user, "select public.cart_add($1)", listing)
        await rpc(conn, user, "select public.feed_hide('listing', $1)", listing)
        await rpc(conn, user, "select public.entity_follow($1)", page)
        await rpc(conn, user, "select public.ai_consent_set(p_daily_cap => 5)")
    async with acting_as(conn, "authenticated", alice):
        for table in ("shopping_cart_items", "feed_hides", "ai_consent"):
            owners = {r[0] for r in await conn.fetch(f"select user_id from public.{table}")}
            assert owners == {alice}, table
        assert {r[0] for r in await conn.fetch("select follower_id from public.entity_edges")} == {alice}
        # Writing someone else's row is refused by RLS, not only by the RPC.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():  # a savepoint: the refusal must not end the test's transaction
                await conn.execute("insert into public.feed_hides (user_id, item_kind, item_id) "
                                   "values ($1, 'post', $2)", bob, uuid.uuid4())  # fmt: skip
        assert await conn.execute("delete from public.shopping_cart_items where user_id = $1", bob) == "DELETE 0"
        # System tables of Platform II are closed to clients.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("insert into public.earnings_events (user_id, kind, amount_cents, captured_cents, "
                                   "idempotency_key) values ($1, 'tip', 1, 1, 'x')", alice)  # fmt: skip


async def test_calendar_lists_a_window_of_events(conn: asyncpg.Connection) -> None:
    host = await new_user(conn)
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for days in (0, 10, 40):
        await rpc(conn, host, "select public.event_create('Ride', $1)", start + dt.timedelta(days=days))
    async with acting_as(conn, "authenticated", host):
        month = await conn.fetch("select * from public.calendar_events()")
        everything = await conn.fetch("select * from public.calendar_events(p_to => now() + interval '60 days')")
        with pytest.raises(asyncpg.PostgresError, match="366 days"):
            await conn.fetch("select * from public.calendar_events(now(), now() + interval '2 years')")
    assert len(month) == 2 and len(everything) == 3
