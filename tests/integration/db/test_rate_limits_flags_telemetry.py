"""Rate limits (fixed window, token bucket), feature flags, signals, RPC metrics, learning events, GC."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as, make_user
from tests.integration.moving_time import age_token_bucket, end_rate_window

pytestmark = pytest.mark.integration


async def _bump(conn: asyncpg.Connection, bucket: str, limit: int, window: int) -> bool:
    async with acting_as(conn, "service_role"):
        allowed: bool = await conn.fetchval(
            "select public.bump_rate(p_bucket => $1, p_limit => $2, p_window_seconds => $3)", bucket, limit, window
        )
    return allowed


async def test_bump_rate_allows_limit_calls_per_fixed_window(conn: asyncpg.Connection) -> None:
    bucket = f"test:{uuid.uuid4()}"
    assert [await _bump(conn, bucket, 3, 60) for _ in range(5)] == [True, True, True, False, False]
    window = await conn.fetchval(
        "select extract(epoch from expires_at - now()) from public.rate_limits where bucket = $1", bucket
    )
    assert 55 <= window <= 60  # the window lasts the seconds asked for
    await end_rate_window(conn, bucket)
    assert await _bump(conn, bucket, 3, 60) is True  # a new window
    assert await conn.fetchval("select count from public.rate_limits where bucket = $1", bucket) == 1


async def _take(conn: asyncpg.Connection, subject: str, limit: int, window: int) -> asyncpg.Record:
    async with acting_as(conn, "service_role"):
        row = await conn.fetchrow(
            "select * from public.check_rate_limit(p_scope => 'test', p_subject => $1, p_limit => $2, "
            "p_window_seconds => $3)",
            subject,
            limit,
            window,
        )
    assert row is not None
    return row


async def test_check_rate_limit_is_a_token_bucket(conn: asyncpg.Connection) -> None:
    subject = str(uuid.uuid4())
    first = [await _take(conn, subject, 3, 3) for _ in range(4)]  # capacity 3, refill 1 token/s
    assert [row["allowed"] for row in first] == [True, True, True, False]
    assert [row["remaining"] for row in first[:3]] == [2, 1, 0]
    assert 0 < first[3]["retry_after_seconds"] <= 1
    await age_token_bucket(conn, "test", subject, 1.1)
    refilled = [await _take(conn, subject, 3, 3) for _ in range(2)]
    assert [row["allowed"] for row in refilled] == [True, False]  # one token back, not a whole window


async def test_check_rate_limit_holds_under_concurrency(db_dsn: str) -> None:
    subject = str(uuid.uuid4())
    callers = [await asyncpg.connect(db_dsn) for _ in range(12)]
    try:
        rows = await asyncio.gather(*(_take(caller, subject, 5, 3600) for caller in callers))
    finally:
        for caller in callers:
            await caller.close()
    assert sum(row["allowed"] for row in rows) == 5  # the advisory lock serialises the first insert too


async def test_rate_limit_rpcs_are_not_for_clients(conn: asyncpg.Connection) -> None:
    for call in ("select public.bump_rate('b', 1, 1)", "select * from public.check_rate_limit('s', 'x')"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting_as(conn, "authenticated", uuid.uuid4()):
                await conn.fetch(call)


async def test_flags_for_reports_the_seeded_flags(conn: asyncpg.Connection) -> None:
    async with acting_as(conn, "anon"):
        flags = json.loads(await conn.fetchval("select public.flags_for()"))
    assert flags["ranker.policy"]["epsilon"] == 0.08
    assert flags["ranker.policy"]["version"] == "epsilon_greedy_v1"
    assert set(flags["global.safe_mode"]) == {"enabled"}
    for key in ("marketplace.suggest", "learning.enabled", "feed_shop_blend", "crush_mode.enabled"):
        assert "enabled" in flags[key], key


async def test_flags_for_applies_rollout_percentage_per_user(conn: asyncpg.Connection) -> None:
    key = f"test.{uuid.uuid4().hex[:12]}"
    users = [uuid.uuid4() for _ in range(200)]
    rollout = conn.transaction()
    await rollout.start()
    try:
        await conn.execute(
            "insert into public.feature_flags (key, value, rollout_pct) values ($1, '{\"enabled\": true}', 25)", key
        )
        enabled = [
            json.loads(await conn.fetchval("select public.flags_for($1)", user))[key]["enabled"] for user in users
        ]
        again = [json.loads(await conn.fetchval("select public.flags_for($1)", user))[key]["enabled"] for user in users]
    finally:
        await rollout.rollback()
    assert enabled == again  # sticky per user
    assert 25 <= sum(enabled) <= 75  # about 25 % of 200


async def test_emit_signal_writes_own_signals_only(conn: asyncpg.Connection) -> None:
    user, other = await make_user(conn), await make_user(conn)
    async with acting_as(conn, "authenticated", user):
        signal = await conn.fetchval(
            "select public.emit_signal(p_name => 'feed.scroll', p_metadata => '{\"depth\": 3}')"
        )
    row = await conn.fetchrow("select user_id, name from public.intent_signals where id = $1", signal)
    assert row is not None and (row["user_id"], row["name"]) == (user, "feed.scroll")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="your own account"):
        async with acting_as(conn, "authenticated", user):
            await conn.fetchval("select public.emit_signal('x', '{}', $1)", other)
    with pytest.raises(asyncpg.InvalidParameterValueError, match="signal name"):
        async with acting_as(conn, "authenticated", user):
            await conn.fetchval("select public.emit_signal('Bad Name!')")


async def test_log_rpc_feeds_kernel_slos_burn_rate_and_hourly_views(conn: asyncpg.Connection) -> None:
    name = f"test.{uuid.uuid4().hex[:12]}"
    user = await make_user(conn)
    async with acting_as(conn, "authenticated", user):
        for ms in range(1, 101):
            await conn.execute("select public._log_rpc(p_name => $1, p_duration_ms => $2)", name, float(ms))
        await conn.execute("select public._log_rpc($1, 500, false, 'timeout')", name)
    assert await conn.fetchval("select count(*) from public.rpc_metrics where name = $1 and user_id = $2", name, user)
    slo = await conn.fetchval("select p95_ms from public.vw_kernel_slos where path = $1", name)
    assert 95 <= slo <= 100
    burn = await conn.fetchval("select burn_rate from public.vw_slo_burnrate where surface = $1", name)
    assert burn == 1.0  # every sample is in both windows
    hourly = await conn.fetchrow("select * from public.rpc_metrics_hourly where name = $1", name)
    assert hourly is not None and (hourly["calls"], hourly["errors"]) == (101, 1)
    with pytest.raises(asyncpg.InvalidParameterValueError, match="duration_ms"):
        await conn.execute("select public._log_rpc($1, -1)", name)


async def test_learning_events_feed_policy_health(conn: asyncpg.Connection) -> None:
    policy = f"test_policy_{uuid.uuid4().hex[:8]}"
    user = await make_user(conn)
    async with acting_as(conn, "service_role"):
        for i in range(10):
            event = await conn.fetchval(
                "select public.record_learning_event(p_surface => 'feed', p_candidate_id => $1, p_policy => $2, "
                "p_propensity => 0.08, p_explored => $3, p_user_id => $4)",
                f"c{i}",
                policy,
                i < 2,
                user,
            )
            assert await conn.fetchval("select public.record_learning_reward($1, $2)", event, i / 10)
    with pytest.raises(asyncpg.InvalidParameterValueError, match="reward must be between 0 and 1"):
        async with acting_as(conn, "service_role"):
            await conn.fetchval("select public.record_learning_reward($1, 2)", event)
    health = await conn.fetchrow("select * from public.vw_policy_health where policy = $1", policy)
    assert health is not None
    assert health["impression_count"] == 10
    assert health["avg_epsilon"] == pytest.approx(0.08)
    assert health["exploration_rate"] == pytest.approx(0.2)
    assert health["avg_reward"] == pytest.approx(0.45)
    assert health["reward_stddev"] > 0


async def test_gc_removes_only_rows_past_their_retention(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    insert_event = (
        "insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp, ts) "
        "values ($1, 'feed', 'c', 'p', 0.1, now() - make_interval(days => $2))"
    )
    await conn.execute(insert_event, user, 91)
    await conn.execute(insert_event, user, 89)
    insert_signal = (
        "insert into public.intent_signals (user_id, name, ts) values ($1, 'old', now() - make_interval(days => $2))"
    )
    await conn.execute(insert_signal, user, 31)
    await conn.execute(insert_signal, user, 1)
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.gc_learning_events()") >= 1
        assert await conn.fetchval("select public.gc_intent_signals()") >= 1
    remaining_events = await conn.fetchval("select count(*) from public.learning_events where user_id = $1", user)
    remaining_signals = await conn.fetchval("select count(*) from public.intent_signals where user_id = $1", user)
    assert (remaining_events, remaining_signals) == (1, 1)


async def test_gc_forgets_finished_queue_work_but_keeps_dead_letters(conn: asyncpg.Connection) -> None:
    topic = f"test.{uuid.uuid4().hex[:12]}"
    insert = (
        "insert into public.events_queue (topic, key, status, updated_at) "
        "values ($1, $2, $3, now() - make_interval(days => $4))"
    )
    await conn.execute(insert, topic, "old-done", "done", 8)  # the updated_at trigger fires on update only
    await conn.execute(insert, topic, "new-done", "done", 1)
    await conn.execute(insert, topic, "old-error", "error", 30)
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.gc_finished_queue_items()") >= 1
    left = await conn.fetch("select key from public.events_queue where topic = $1 order by key", topic)
    assert [row["key"] for row in left] == ["new-done", "old-error"]
