"""Interests, the profile embedding, categories, idempotent discovery enqueue and hybrid suggestions."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as, make_user, seeded_interest_ids
from gauntlet.platform.seed import catalog
from gauntlet.platform.seed.embeddings import embed, to_pgvector

pytestmark = pytest.mark.integration


async def test_catalog_search_matches_every_word_and_ranks_name_matches_first(conn: asyncpg.Connection) -> None:
    async with acting_as(conn, "anon"):
        rows = await conn.fetch("select * from public.interest_catalog_search(p_query => 'trail')")
        both = await conn.fetch("select * from public.interest_catalog_search(p_query => 'Trail RUNNING')")
        none = await conn.fetch("select * from public.interest_catalog_search(p_query => 'zzz_no_such')")
        blank = await conn.fetch("select * from public.interest_catalog_search(p_query => '', p_limit => 5)")
        wild = await conn.fetch("select * from public.interest_catalog_search(p_query => '%')")
    assert {"trail-running", "trail-riding"} <= {row["slug"] for row in rows}
    assert rows[0]["name"].lower().startswith("trail")
    assert both[0]["slug"] == "trail-running"
    assert none == [] and wild == []  # LIKE wildcards in the query are literal
    assert len(blank) == 5


async def test_catalog_browse_by_domain_and_domains(conn: asyncpg.Connection) -> None:
    async with acting_as(conn, "anon"):
        domains = await conn.fetch("select * from public.interest_domains()")
        equestrian = await conn.fetch("select * from public.interest_catalog_browse(p_domain => 'equestrian')")
        everything = await conn.fetch("select * from public.interest_catalog_browse()")
    assert len(domains) >= 6 and all(row["interest_count"] >= 20 for row in domains)
    assert len(equestrian) >= 20 and {row["domain"] for row in equestrian} == {"equestrian"}
    assert len(everything) >= 120
    with pytest.raises(asyncpg.InvalidParameterValueError, match="p_limit"):
        await conn.fetch("select * from public.interest_catalog_browse(p_limit => 0)")


async def test_upsert_validates_and_keeps_one_row_per_interest(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    interest = (await seeded_interest_ids(conn, 1))[0]
    async with acting_as(conn, "authenticated", user):
        first = await conn.fetchrow(
            "select * from public.user_interests_upsert(p_interest_id => $1, p_affinity => 0.4)", interest
        )
        second = await conn.fetchrow(
            "select * from public.user_interests_upsert(p_interest_id => $1, p_affinity => 0.9)", interest
        )
        mine = await conn.fetch("select * from public.my_interests()")
    assert first is not None and second is not None and second["affinity"] == 0.9
    assert second["category_id"] is not None
    assert [(row["interest_id"], row["affinity"]) for row in mine] == [(interest, 0.9)]
    for affinity in (1.5, -1.0, float("nan")):
        with pytest.raises(asyncpg.InvalidParameterValueError, match="affinity must be between 0 and 1"):
            async with acting_as(conn, "authenticated", user):
                await conn.fetch("select * from public.user_interests_upsert($1, $2)", interest, affinity)
    with pytest.raises(asyncpg.NoDataFoundError, match="unknown interest"):
        async with acting_as(conn, "authenticated", user):
            await conn.fetch("select * from public.user_interests_upsert($1)", uuid.uuid4())
    async with acting_as(conn, "authenticated", user):
        assert await conn.fetchval("select public.user_interests_remove(p_interest_id => $1)", interest) is True
        assert await conn.fetchval("select public.user_interests_remove(p_interest_id => $1)", interest) is False


async def test_profile_embedding_follows_interests_on_every_write_path(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    first, second = await seeded_interest_ids(conn, 2)
    embedding = "select interests_embedding from public.profiles where user_id = $1"
    assert await conn.fetchval(embedding, user) is None
    await conn.execute(  # a direct insert, as the cutover smoke test does
        "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, 1.0)", user, first
    )
    alone = await conn.fetchval("select interests_embedding::text from public.profiles where user_id = $1", user)
    interest_vector = await conn.fetchval("select embedding::text from public.interest_catalog where id = $1", first)
    assert alone == interest_vector  # the weighted mean of one interest is that interest
    async with acting_as(conn, "authenticated", user):
        await conn.fetch("select * from public.user_interests_upsert($1, 1.0)", second)
    both = await conn.fetchval("select interests_embedding::text from public.profiles where user_id = $1", user)
    assert both != alone
    await conn.execute("delete from public.user_interests where user_id = $1", user)
    assert await conn.fetchval(embedding, user) is None


async def test_ensure_category_creates_one_for_an_unmapped_interest(conn: asyncpg.Connection) -> None:
    slug = f"test-{uuid.uuid4().hex[:12]}"
    interest = await conn.fetchval(
        "insert into public.interest_catalog (slug, domain, category, name) values ($1, 'crafts', 'Test', $1) "
        "returning id",
        slug,
    )
    first = await conn.fetchval("select public.ensure_category_for_interest(p_interest_id => $1)", interest)
    second = await conn.fetchval("select public.ensure_category_for_interest(p_interest_id => $1)", interest)
    assert first == second
    assert await conn.fetchval("select slug from public.marketplace_categories where id = $1", first) == (
        f"interest.{slug}"
    )
    assert (
        await conn.fetchval("select count(*) from public.marketplace_discovery_queue where interest_id = $1", interest)
        == 1
    )
    with pytest.raises(asyncpg.NoDataFoundError, match="unknown interest"):
        await conn.fetchval("select public.ensure_category_for_interest($1)", uuid.uuid4())


async def test_enqueue_discovery_for_user_is_idempotent(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    slug = f"test-{uuid.uuid4().hex[:12]}"  # a fresh interest, so no other test has queued its items
    interest = await conn.fetchval(
        "insert into public.interest_catalog (slug, domain, category, name) values ($1, 'music', 'Test', $1) "
        "returning id",
        slug,
    )
    categories = [row["id"] for row in await conn.fetch("select id from public.marketplace_categories limit 2")]
    for category in categories:
        await conn.execute(
            "insert into public.marketplace_interest_map (interest_id, category_id) values ($1, $2)", interest, category
        )
    await conn.execute(
        "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, 0.8)", user, interest
    )
    async with acting_as(conn, "authenticated", user):
        assert await conn.fetchval("select public.enqueue_discovery_for_user(p_user_id => $1)", user) == 2
        assert await conn.fetchval("select public.enqueue_discovery_for_user(p_user_id => $1)", user) == 0
    count = "select count(*) from public.marketplace_discovery_queue where interest_id = $1"
    assert await conn.fetchval(count, interest) == 2
    other = await make_user(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="your own account"):
        async with acting_as(conn, "authenticated", other):
            await conn.fetchval("select public.enqueue_discovery_for_user(p_user_id => $1)", user)


async def test_suggestions_favour_the_users_interest_categories(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    interest = catalog.SMOKE_INTEREST_IDS["trail-running"]
    await conn.execute(
        "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, 0.9)", user, interest
    )
    async with acting_as(conn, "authenticated", user):
        rows = await conn.fetch("select * from public.marketplace_suggestions_for_user(p_user_id => $1)", user)
    assert len(rows) == 12
    assert rows[0]["source"] == "interest" and rows[0]["interest_id"] == interest
    assert "Trail Running Shoes" in [row["title"] for row in rows[:4]]
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)


async def test_suggestions_use_embedding_similarity_when_no_category_matches(conn: asyncpg.Connection) -> None:
    """A user whose only interest maps to no category still gets close candidates, via the vector leg."""
    rollback = conn.transaction()  # the throwaway interest never reaches the shared catalog
    await rollback.start()
    try:
        slug = f"test-{uuid.uuid4().hex[:12]}"
        interest = await conn.fetchval(
            "insert into public.interest_catalog (slug, domain, category, name, embedding) "
            "values ($1, 'outdoors', 'Test', 'Trail running shoes', $2::vector) returning id",
            slug,
            to_pgvector(embed("Trail Running Shoes Running and Hiking outdoors")),
        )
        user = await make_user(conn)
        await conn.execute(
            "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, 1.0)", user, interest
        )
        rows = await conn.fetch("select * from public.marketplace_suggestions_for_user($1, 5)", user)
    finally:
        await rollback.rollback()
    assert rows[0]["title"] == "Trail Running Shoes" and rows[0]["source"] == "similar"


async def test_suggestions_are_never_empty_while_candidates_exist(conn: asyncpg.Connection) -> None:
    newcomer = await make_user(conn)
    async with acting_as(conn, "authenticated", newcomer):
        mine = await conn.fetch("select * from public.marketplace_suggestions_for_user()")
    async with acting_as(conn, "anon"):
        anonymous = await conn.fetch("select * from public.marketplace_suggestions_for_user(p_limit => 3)")
    assert len(mine) == 12 and {row["source"] for row in mine} <= {"popular", "recent"}
    assert len(anonymous) == 3
    intruder = await make_user(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with acting_as(conn, "authenticated", intruder):
            await conn.fetch("select * from public.marketplace_suggestions_for_user($1)", newcomer)


async def test_upsert_marketplace_gap_grades_supply_against_demand(conn: asyncpg.Connection) -> None:
    rollback = conn.transaction()
    await rollback.start()
    try:
        category = await conn.fetchval(
            "insert into public.marketplace_categories (slug, name, domain) values ($1, 'Gap test', 'crafts') "
            "returning id",
            f"test.{uuid.uuid4().hex[:12]}",
        )
        gap = await conn.fetchrow("select * from public.upsert_marketplace_gap($1)", category)
        assert gap is not None and (gap["gap_level"], gap["demand_count"]) == ("none", 0)
        interest = (await seeded_interest_ids(conn, 1))[0]
        await conn.execute("insert into public.marketplace_interest_map values ($1, $2)", interest, category)
        user = await make_user(conn)
        await conn.execute("insert into public.user_interests (user_id, interest_id) values ($1, $2)", user, interest)
        gap = await conn.fetchrow("select * from public.upsert_marketplace_gap($1, $2)", category, interest)
        assert gap is not None and gap["gap_level"] == "critical" and gap["inventory_count"] == 0
        assert (
            await conn.fetchval(
                "select count(*) from public.vw_gap_severity where category = 'Gap test' and gap_level = 'critical'"
            )
            == 1
        )
    finally:
        await rollback.rollback()
