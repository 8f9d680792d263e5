"""Handles, profile edits and the onboarding gates (profile + acquisition + >= 3 interests)."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as, make_user, seeded_interest_ids, unique_handle

pytestmark = pytest.mark.integration


async def _available(conn: asyncpg.Connection, handle: str | None, as_user: uuid.UUID | None = None) -> bool:
    async with acting_as(conn, "authenticated" if as_user else "anon", as_user):
        result: bool = await conn.fetchval("select public.check_handle_available(p_handle => $1)", handle)
    return result


async def test_check_handle_available_covers_reserved_taken_entities_and_format(conn: asyncpg.Connection) -> None:
    owner = await make_user(conn)
    taken = unique_handle("taken")
    await conn.execute("update public.profiles set handle = $2 where user_id = $1", owner, taken)
    entity_handle = unique_handle("stable")
    await conn.execute(
        "insert into public.entities (handle, display_name, owner_id) values ($1, 'Stable', $2)", entity_handle, owner
    )
    assert await _available(conn, unique_handle("free")) is True
    assert await _available(conn, "Admin") is False  # reserved, any case
    assert await _available(conn, "YALLS") is False
    assert await _available(conn, taken.upper()) is False  # taken by a profile, any case
    assert await _available(conn, entity_handle) is False  # taken by an entity
    assert await _available(conn, "ab") is False  # too short
    assert await _available(conn, "has space") is False
    assert await _available(conn, None) is False
    assert await _available(conn, taken, as_user=owner) is True  # one's own handle is available to oneself


async def test_update_profile_sets_fields_and_names_each_refusal(conn: asyncpg.Connection) -> None:
    user = await make_user(conn, display_name=None)
    other = await make_user(conn)
    taken = unique_handle("tk")
    await conn.execute("update public.profiles set handle = $2 where user_id = $1", other, taken)
    handle = unique_handle("me")
    async with acting_as(conn, "authenticated", user):
        profile = json.loads(
            await conn.fetchval(
                "select public.update_profile(p_handle => $1, p_display_name => 'Me', "
                "p_acquisition_source => 'tiktok')",
                handle,
            )
        )
    assert (profile["handle"], profile["display_name"], profile["acquisition_source"]) == (handle, "Me", "tiktok")
    cases = [
        ("p_handle => 'support'", asyncpg.CheckViolationError, "reserved"),
        (f"p_handle => '{taken.upper()}'", asyncpg.UniqueViolationError, "already taken"),
        ("p_handle => 'no spaces allowed'", asyncpg.InvalidParameterValueError, "handle must be"),
        ("p_avatar_url => 'ftp://x'", asyncpg.InvalidParameterValueError, "avatar_url"),
        ("p_display_name => ''", asyncpg.InvalidParameterValueError, "display_name"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            async with acting_as(conn, "authenticated", user):
                await conn.fetchval(f"select public.update_profile({args})")
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="not signed in"):
        async with acting_as(conn, "authenticated"):  # a token without a subject
            await conn.fetchval("select public.update_profile(p_bio => 'x')")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        async with acting_as(conn, "anon"):
            await conn.fetchval("select public.update_profile(p_bio => 'x')")


async def _ready_user(conn: asyncpg.Connection, *, skip: str | None = None) -> uuid.UUID:
    """A user meeting every onboarding gate except ``skip``."""
    user = await make_user(
        conn,
        handle=None if skip == "handle" else unique_handle("ob"),
        display_name=None if skip == "display_name" else "Onboarder",
        acquisition_source=None if skip == "acquisition_source" else "podcast",
    )
    for interest in await seeded_interest_ids(conn, 2 if skip == "interests" else 3):
        await conn.execute(
            "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, 0.7)", user, interest
        )
    return user


@pytest.mark.parametrize(
    ("gate", "message"),
    [("handle", "choose a handle"), ("display_name", "set a display name"),
     ("acquisition_source", "how you heard about us"), ("interests", r"at least 3 interests \(you have 2\)")],
)  # fmt: skip
async def test_complete_onboarding_refuses_each_missing_gate_by_name(
    conn: asyncpg.Connection, gate: str, message: str
) -> None:
    user = await _ready_user(conn, skip=gate)
    with pytest.raises(asyncpg.InvalidParameterValueError, match=message) as refused:
        async with acting_as(conn, "authenticated", user):
            await conn.fetchval("select public.complete_onboarding()")
    assert json.loads(refused.value.detail or "{}")["missing"] == [gate]
    assert await conn.fetchval("select onboarding_complete from public.profiles where user_id = $1", user) is False


async def test_complete_onboarding_lists_every_missing_gate_at_once(conn: asyncpg.Connection) -> None:
    user = await make_user(conn, display_name=None)
    with pytest.raises(asyncpg.InvalidParameterValueError) as refused:
        async with acting_as(conn, "authenticated", user):
            await conn.fetchval("select public.complete_onboarding()")
    detail = json.loads(refused.value.detail or "{}")
    assert detail == {"missing": ["handle", "display_name", "acquisition_source", "interests"], "interests": 0}


async def test_complete_onboarding_succeeds_once_gates_hold_and_starts_discovery(conn: asyncpg.Connection) -> None:
    user = await _ready_user(conn)
    async with acting_as(conn, "authenticated", user):
        result = json.loads(await conn.fetchval("select public.complete_onboarding()"))
        again = json.loads(await conn.fetchval("select public.complete_onboarding()"))  # idempotent
    assert result["onboarding_complete"] is True and result["interests"] == 3
    assert again["completed_at"] == result["completed_at"]
    assert await conn.fetchval("select onboarding_complete from public.profiles where user_id = $1", user) is True
    assert await conn.fetchval("select step from public.profiles_onboarding_progress where user_id = $1", user) == (
        "done"
    )
    assert (
        await conn.fetchval(
            "select count(*) from public.events_queue where topic = 'discovery.user-signup' and key = $1", str(user)
        )
        == 1
    )
    assert (
        await conn.fetchval(
            "select count(*) from public.marketplace_discovery_queue q join public.user_interests ui "
            "on ui.interest_id = q.interest_id where ui.user_id = $1",
            user,
        )
        >= 3
    )


async def test_complete_onboarding_for_another_user_is_refused_to_clients(conn: asyncpg.Connection) -> None:
    user = await _ready_user(conn)
    intruder = await make_user(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="your own account"):
        async with acting_as(conn, "authenticated", intruder):
            await conn.fetchval("select public.complete_onboarding(p_user_id => $1)", user)
    async with acting_as(conn, "service_role"):
        result = json.loads(await conn.fetchval("select public.complete_onboarding(p_user_id => $1)", user))
    assert result["user_id"] == str(user)


async def test_set_onboarding_step_records_progress(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    async with acting_as(conn, "authenticated", user):
        await conn.fetchval("select public.set_onboarding_step(p_step => 'handle')")
        progress = json.loads(await conn.fetchval("select public.set_onboarding_step(p_step => 'interests')"))
    assert progress == {"step": "interests", "completed_steps": ["welcome", "handle"]}
    with pytest.raises(asyncpg.InvalidParameterValueError, match="unknown onboarding step"):
        async with acting_as(conn, "authenticated", user):
            await conn.fetchval("select public.set_onboarding_step(p_step => 'done')")
