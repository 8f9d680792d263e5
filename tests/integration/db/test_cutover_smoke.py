"""The cutover guide's 15-minute smoke test, sections 2A-2H (seed 001), run against the database.

The SQL is the guide's, with two corrections named where they occur: 2A's
policy query reads pg_policies' real columns (tablename, policyname; the
guide's relname/polname do not exist), and 2D's expected counts are our
catalog's (>= 120 interests) instead of the guide's 6. Section 2F (the queue
worker over HTTP) is done here as the worker does it in SQL: lease, record
the gap, ack. TEST_USER is the guide's literal uuid, seeded by platform/seed/__init__.py.
"""

from __future__ import annotations

import json

import asyncpg
import pytest

from gauntlet.platform.seed.catalog import SMOKE_TEST_USER_ID

pytestmark = pytest.mark.integration

TEST_USER = SMOKE_TEST_USER_ID
SMOKE_INTERESTS = (
    "11111111-1111-1111-1111-111111111111",
    "22222222-2222-2222-2222-222222222222",
    "33333333-3333-3333-3333-333333333333",
)


async def test_2a_schema_and_rls(conn: asyncpg.Connection) -> None:
    tables = await conn.fetch(
        """
        SELECT table_name FROM information_schema.tables
        WHERE table_schema='public'
        AND table_name IN ('learning_events', 'rate_limits', 'marketplace_discovery_queue', 'events_queue',
                           'feature_flags')
        ORDER BY table_name
        """
    )
    assert len(tables) == 5
    policies = await conn.fetch(
        """
        SELECT tablename, policyname
        FROM pg_policies
        WHERE schemaname='public'
        AND tablename IN ('user_interests', 'intent_signals', 'marketplace_discovery_queue', 'learning_events',
                          'rate_limits')
        ORDER BY tablename, policyname
        """
    )
    assert {row["tablename"] for row in policies} == {
        "user_interests", "intent_signals", "marketplace_discovery_queue", "learning_events", "rate_limits",
    }  # fmt: skip
    assert len(policies) > 5


@pytest.mark.parametrize(
    "view",
    ["vw_discovery_queue_health", "vw_dead_letter_queue", "vw_events_queue_health", "vw_policy_health",
     "vw_slo_burnrate", "vw_kernel_slos"],
)  # fmt: skip
async def test_2b_2c_health_views_answer(conn: asyncpg.Connection, view: str) -> None:
    await conn.fetch(f"SELECT * FROM public.{view} LIMIT 5")


async def test_2d_seed_data(conn: asyncpg.Connection) -> None:
    counts = {
        table: await conn.fetchval(f"SELECT COUNT(*) FROM public.{table}")
        for table in (
            "interest_catalog",
            "marketplace_categories",
            "marketplace_interest_map",
            "marketplace_candidates",
        )
    }
    assert counts["interest_catalog"] >= 120
    assert all(count >= 6 for count in counts.values()), counts
    flags = {row["key"]: row["value"] for row in await conn.fetch("SELECT key, value FROM public.feature_flags")}
    assert {
        "global.safe_mode",
        "ranker.policy",
        "marketplace.suggest",
        "learning.enabled",
        "crush_mode.enabled",
    } <= set(flags)


async def test_2e_to_2h_user_journey(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SELECT count(*) FROM auth.users WHERE id = $1", TEST_USER) == 1
    # 2E
    await conn.execute(
        """
        INSERT INTO public.user_interests(user_id, interest_id, affinity)
        VALUES
          ($1::uuid, '11111111-1111-1111-1111-111111111111', 0.9),
          ($1::uuid, '22222222-2222-2222-2222-222222222222', 0.8),
          ($1::uuid, '33333333-3333-3333-3333-333333333333', 0.7)
        ON CONFLICT (user_id, interest_id) DO UPDATE SET affinity = EXCLUDED.affinity
        """,
        TEST_USER,
    )
    assert await conn.fetchval(
        "SELECT public.ensure_category_for_interest('11111111-1111-1111-1111-111111111111'::uuid)"
    )
    await conn.fetchval("SELECT public.enqueue_discovery_for_user($1::uuid)", TEST_USER)
    queued = await conn.fetch(
        "SELECT * FROM public.marketplace_discovery_queue WHERE interest_id = ANY($1::uuid[])", list(SMOKE_INTERESTS)
    )
    assert {str(row["interest_id"]) for row in queued} == set(SMOKE_INTERESTS)

    # 2F: one worker pass, as the queue worker does it (bounded; other workers may hold some items).
    leased = await conn.fetch("SELECT * FROM public.lease_discovery_items(20, 120)")
    for item in leased:
        await conn.fetch(
            "SELECT * FROM public.upsert_marketplace_gap($1, $2)", item["category_id"], item["interest_id"]
        )
        assert await conn.fetchval("SELECT public.ack_discovery_item($1, $2)", item["id"], item["lease_token"])

    # 2G
    health = await conn.fetch("SELECT * FROM public.vw_discovery_queue_health")
    assert health and {row["status"] for row in health} <= {"queued", "processing", "done", "error"}
    await conn.fetch("SELECT * FROM public.marketplace_gaps LIMIT 10")
    suggestions = await conn.fetch("SELECT * FROM public.marketplace_suggestions_for_user($1::uuid, 12)", TEST_USER)
    assert len(suggestions) >= 3
    assert all(row["title"] and row["url"] and row["score"] is not None for row in suggestions)

    # 2H
    await conn.execute(
        """
        INSERT INTO public.learning_events(
          user_id, surface, candidate_id, policy, p_exp, score, explored, reward, context
        )
        VALUES($1::uuid, 'feed', 'post_abc', 'epsilon_greedy_v1', 0.08, 0.42, false, 0.6, '{}'::jsonb)
        """,
        TEST_USER,
    )
    policy = await conn.fetchrow("SELECT * FROM public.vw_policy_health WHERE policy = 'epsilon_greedy_v1'")
    assert policy is not None
    assert all(value is not None for value in dict(policy).values()), dict(policy)


async def test_3_safe_mode_toggle_is_seen_by_flags_for(conn: asyncpg.Connection) -> None:
    toggle = conn.transaction()  # rolled back: safe mode must not stay on in a shared database
    await toggle.start()
    try:
        await conn.execute(
            "UPDATE public.feature_flags SET value = '{\"enabled\": true}'::jsonb, updated_at = now() "
            "WHERE key = 'global.safe_mode'"
        )
        on = json.loads(await conn.fetchval("SELECT public.flags_for()"))["global.safe_mode"]
    finally:
        await toggle.rollback()
    assert on == {"enabled": True}
