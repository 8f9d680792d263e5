"""Rocker's next best actions (seeds 003/004): the rules, at most 3 by weight, no CTA twice in 24 h."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as
from tests.integration.platform2.builders import follow, new_entity, new_listing, new_user

pytestmark = pytest.mark.integration


async def _actions(conn: asyncpg.Connection, user: uuid.UUID) -> list[asyncpg.Record]:
    async with acting_as(conn, "authenticated", user):
        rows: list[asyncpg.Record] = await conn.fetch("select * from public.rocker_next_best_actions()")
    return rows


async def _names(conn: asyncpg.Connection, user: uuid.UUID) -> list[str]:
    return [row["action"] for row in await _actions(conn, user)]


async def _forget_shown(conn: asyncpg.Connection, user: uuid.UUID, hours: float = 25) -> None:
    """Move the user's impressions back in time (the 24 h rule then no longer hides them)."""
    await conn.execute(
        "update public.nba_impressions set shown_at = shown_at - make_interval(hours => $2) where user_id = $1",
        user,
        hours,
    )


async def _settled_user(conn: asyncpg.Connection) -> uuid.UUID:
    """A user for whom no rule fires (profile complete, interests, a listing, a follow, active)."""
    user = await new_user(conn, avatar=True, bio=True)
    await conn.execute(
        "insert into public.user_interests (user_id, interest_id) "
        "select $1, id from public.interest_catalog order by id limit 3",
        user,
    )
    await new_listing(conn, user)
    await follow(conn, user, await new_entity(conn, await new_user(conn)))
    await conn.execute("update public.profiles set last_active_at = now() where user_id = $1", user)
    return user


async def test_a_settled_user_gets_no_actions(conn: asyncpg.Connection) -> None:
    assert await _names(conn, await _settled_user(conn)) == []


@pytest.mark.parametrize(
    ("avatar", "bio"), [(None, "bio"), ("https://img.test/a.png", None), ("https://x.test/", "  ")]
)
async def test_complete_profile_appears_when_avatar_or_bio_is_missing(
    conn: asyncpg.Connection, avatar: str | None, bio: str | None
) -> None:
    user = await _settled_user(conn)
    await conn.execute("update public.profiles set avatar_url = $2, bio = $3 where user_id = $1", user, avatar, bio)
    assert await _names(conn, user) == ["complete_profile"]


async def test_list_your_first_item_disappears_once_a_listing_exists(conn: asyncpg.Connection) -> None:
    user = await _settled_user(conn)
    await conn.execute("delete from public.marketplace_listings where seller_id = $1", user)
    assert await _names(conn, user) == ["list_first_item"]
    async with acting_as(conn, "authenticated", user):
        await conn.fetchval("select public.listing_create('Saddle', 15000)")
    await _forget_shown(conn, user)  # so that only the listing rule can keep it away
    assert await _names(conn, user) == []


@pytest.mark.parametrize(("days", "shown"), [(7, False), (8.1, True), (30, True)])
async def test_engage_appears_after_eight_days_of_inactivity(
    conn: asyncpg.Connection, days: float, shown: bool
) -> None:
    user = await _settled_user(conn)
    await conn.execute(
        "update public.profiles set last_active_at = now() - make_interval(secs => $2) where user_id = $1",
        user,
        days * 86400,
    )
    assert await _names(conn, user) == (["engage"] if shown else [])


async def test_at_most_three_actions_sorted_by_weight_and_none_repeated_within_24_hours(
    conn: asyncpg.Connection,
) -> None:
    user = await new_user(conn)  # every rule applies to a brand-new, long-inactive user
    await conn.execute("update public.profiles set last_active_at = now() - interval '9 days' where user_id = $1", user)
    first = await _actions(conn, user)
    assert [r["action"] for r in first] == ["complete_profile", "add_interests", "list_first_item"]
    weights = [r["weight"] for r in first]
    assert weights == sorted(weights, reverse=True) and weights[0] == pytest.approx(0.9)
    assert all(r["title"] and r["href"].startswith("/") for r in first)
    # Within 24 h the shown CTAs stay away; the next ones come up, then nothing is left.
    assert await _names(conn, user) == ["follow_pages", "engage"]
    assert await _names(conn, user) == []
    await _forget_shown(conn, user, hours=23)
    assert await _names(conn, user) == []
    await _forget_shown(conn, user, hours=2)  # now 25 h ago
    assert await _names(conn, user) == ["complete_profile", "add_interests", "list_first_item"]


async def test_a_client_may_ask_only_for_itself(conn: asyncpg.Connection) -> None:
    user, other = await new_user(conn), await new_user(conn)
    with pytest.raises(asyncpg.PostgresError) as refused:
        async with acting_as(conn, "authenticated", user):
            await conn.fetch("select * from public.rocker_next_best_actions($1)", other)
    assert refused.value.sqlstate == "42501"
    async with acting_as(conn, "service_role"):
        rows = await conn.fetch("select * from public.rocker_next_best_actions($1)", other)
    assert len(rows) == 3
