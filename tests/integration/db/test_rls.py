"""Row-level security: a user reaches only their own rows, anon only catalogs, clients never system tables."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as, make_user, seeded_interest_ids

pytestmark = pytest.mark.integration


async def _user_with_data(conn: asyncpg.Connection) -> uuid.UUID:
    """A user owning a row in every personal table (written as the superuser)."""
    user = await make_user(conn, acquisition_source="friend")
    for interest in await seeded_interest_ids(conn, 3):
        await conn.execute(
            "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, 0.5)", user, interest
        )
    await conn.execute("insert into public.intent_signals (user_id, name) values ($1, 'test.signal')", user)
    await conn.execute(
        "insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp) "
        "values ($1, 'feed', 'c', 'epsilon_greedy_v1', 0.08)",
        user,
    )
    await conn.execute("insert into public.ai_action_ledger (user_id, action) values ($1, 'test')", user)
    return user


PERSONAL_TABLES = [
    "profiles", "profiles_onboarding_progress", "user_interests", "intent_signals", "learning_events",
    "ai_action_ledger",
]  # fmt: skip


@pytest.mark.parametrize("table", PERSONAL_TABLES)
async def test_user_a_cannot_read_user_b_rows(conn: asyncpg.Connection, table: str) -> None:
    user_a = await _user_with_data(conn)
    user_b = await _user_with_data(conn)
    query = f"select count(*) from public.{table} where user_id = $1"
    assert await conn.fetchval(query, user_b) >= 1  # the rows exist: a 0 below means RLS hid them
    async with acting_as(conn, "authenticated", user_a):
        assert await conn.fetchval(query, user_b) == 0
        assert await conn.fetchval(query, user_a) >= 1
        assert await conn.fetchval(f"select count(distinct user_id) from public.{table}") == 1


async def test_user_a_cannot_update_or_delete_user_b_rows(conn: asyncpg.Connection) -> None:
    user_a = await _user_with_data(conn)
    user_b = await _user_with_data(conn)
    async with acting_as(conn, "authenticated", user_a):
        assert await conn.execute("update public.profiles set bio = 'pwned' where user_id = $1", user_b) == ("UPDATE 0")
        assert await conn.execute("update public.user_interests set affinity = 1 where user_id = $1", user_b) == (
            "UPDATE 0"
        )
        assert await conn.execute("delete from public.user_interests where user_id = $1", user_b) == "DELETE 0"
        assert await conn.execute("update public.profiles set bio = 'mine' where user_id = $1", user_a) == ("UPDATE 1")
    assert await conn.fetchval("select bio from public.profiles where user_id = $1", user_b) is None
    assert await conn.fetchval("select count(*) from public.user_interests where user_id = $1", user_b) == 3


@pytest.mark.parametrize(
    "insert",
    [
        "insert into public.user_interests (user_id, interest_id, affinity) "
        "select $1, id, 0.5 from public.interest_catalog order by id desc limit 1",
        "insert into public.intent_signals (user_id, name) values ($1, 'forged')",
        "insert into public.profiles_onboarding_progress (user_id, step) values ($1, 'handle') "
        "on conflict (user_id) do update set step = 'handle'",
    ],
)
async def test_user_a_cannot_write_rows_for_user_b(conn: asyncpg.Connection, insert: str) -> None:
    user_a = await make_user(conn)
    user_b = await make_user(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with acting_as(conn, "authenticated", user_a):
            await conn.execute(insert, user_b)
    async with acting_as(conn, "authenticated", user_a):
        await conn.execute(insert, user_a)  # the same write for oneself is allowed


async def test_clients_cannot_set_onboarding_complete_or_embedding_directly(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    for column, value in (("onboarding_complete", "true"), ("interests_embedding", "null")):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            async with acting_as(conn, "authenticated", user):
                await conn.execute(f"update public.profiles set {column} = {value} where user_id = $1", user)


@pytest.mark.parametrize(
    ("table", "minimum"),
    [("interest_catalog", 120), ("marketplace_categories", 6), ("marketplace_interest_map", 6),
     ("marketplace_candidates", 6), ("reserved_handles", 1), ("feature_flags", 5)],
)  # fmt: skip
async def test_anon_reads_catalogs(conn: asyncpg.Connection, table: str, minimum: int) -> None:
    async with acting_as(conn, "anon"):
        assert await conn.fetchval(f"select count(*) from public.{table}") >= minimum


@pytest.mark.parametrize("table", [*PERSONAL_TABLES, "marketplace_discovery_queue", "events_queue", "worker_jobs"])
async def test_anon_cannot_read_personal_or_queue_tables(conn: asyncpg.Connection, table: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        async with acting_as(conn, "anon"):
            await conn.fetch(f"select * from public.{table} limit 1")


@pytest.mark.parametrize("table", ["rate_limits", "rate_limit_counters", "idempotency_registry", "rpc_metrics"])
@pytest.mark.parametrize("role", ["anon", "authenticated"])
async def test_clients_cannot_touch_system_tables(conn: asyncpg.Connection, table: str, role: str) -> None:
    user = await make_user(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        async with acting_as(conn, "anon" if role == "anon" else "authenticated", user if role != "anon" else None):
            await conn.fetch(f"select * from public.{table} limit 1")


async def test_clients_cannot_insert_learning_events(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        async with acting_as(conn, "authenticated", user):
            await conn.execute(
                "insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp) "
                "values ($1, 'feed', 'c', 'p', 0.1)",
                user,
            )
    async with acting_as(conn, "service_role"):  # the server may
        await conn.execute(
            "insert into public.learning_events (user_id, surface, candidate_id, policy, p_exp) "
            "values ($1, 'feed', 'c', 'p', 0.1)",
            user,
        )


async def test_clients_cannot_write_catalogs_but_admins_can(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    admin = await make_user(conn)
    await conn.execute("insert into public.user_roles (user_id, role) values ($1, 'admin')", admin)
    update = "update public.feature_flags set description = $1 where key = 'discover_reels'"
    async with acting_as(conn, "authenticated", user):
        assert await conn.execute(update, "not an admin") == "UPDATE 0"
    async with acting_as(conn, "authenticated", admin):
        assert await conn.execute(update, "Reels on the discover page") == "UPDATE 1"


async def test_admins_read_everyones_interests_through_has_role(conn: asyncpg.Connection) -> None:
    owner = await _user_with_data(conn)
    admin = await make_user(conn)
    query = "select count(*) from public.user_interests where user_id = $1"
    async with acting_as(conn, "authenticated", admin):
        assert await conn.fetchval(query, owner) == 0
    await conn.execute("insert into public.user_roles (user_id, role) values ($1, 'admin')", admin)
    async with acting_as(conn, "authenticated", admin):
        assert await conn.fetchval(query, owner) == 3


async def test_auth_uid_reads_the_claims_and_is_null_safe(conn: asyncpg.Connection) -> None:
    user = uuid.uuid4()
    assert await conn.fetchval("select auth.uid()") is None
    async with conn.transaction():
        await conn.execute("select set_config('request.jwt.claims', '', true)")
        assert await conn.fetchval("select auth.uid()") is None
        await conn.execute(
            "select set_config('request.jwt.claims', $1, true)",
            json.dumps({"sub": str(user), "role": "authenticated", "email": "a@b.invalid"}),
        )
        assert await conn.fetchval("select auth.uid()") == user
        assert await conn.fetchval("select auth.role()") == "authenticated"
        assert await conn.fetchval("select auth.email()") == "a@b.invalid"
    assert await conn.fetchval("select auth.uid()") is None  # transaction-local: gone after commit
