"""Table constraints, each proven by a write the constraint must refuse (next to one it must accept)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import make_user, seeded_interest_ids, unique_handle

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("affinity", [1.5, -0.1, float("nan")])
async def test_user_interest_affinity_outside_0_1_is_rejected(conn: asyncpg.Connection, affinity: float) -> None:
    user = await make_user(conn)
    interest, other = await seeded_interest_ids(conn, 2)
    await conn.execute(
        "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, 1.0)", user, other
    )
    with pytest.raises(asyncpg.CheckViolationError, match="user_interests_affinity_check"):
        await conn.execute(
            "insert into public.user_interests (user_id, interest_id, affinity) values ($1, $2, $3)",
            user,
            interest,
            affinity,
        )


@pytest.mark.parametrize(
    ("p_exp", "reward", "constraint"),
    [(1.2, 0.5, "learning_events_p_exp_check"), (-0.01, None, "learning_events_p_exp_check"),
     (0.08, 1.01, "learning_events_reward_check"), (0.08, -0.5, "learning_events_reward_check")],
)  # fmt: skip
async def test_learning_event_p_exp_and_reward_outside_0_1_are_rejected(
    conn: asyncpg.Connection, p_exp: float, reward: float | None, constraint: str
) -> None:
    insert = (
        "insert into public.learning_events (surface, candidate_id, policy, p_exp, reward) "
        "values ('feed', 'c1', 'epsilon_greedy_v1', $1, $2)"
    )
    async with conn.transaction():
        await conn.execute(insert, 0.08, None)  # in range, NULL reward: accepted
        await conn.execute(insert, 1.0, 0.0)
        with pytest.raises(asyncpg.CheckViolationError, match=constraint):
            await conn.execute(insert, p_exp, reward)


async def test_handles_are_unique_case_insensitively_across_profiles(conn: asyncpg.Connection) -> None:
    handle = unique_handle("Case")
    first = await make_user(conn)
    second = await make_user(conn)
    await conn.execute("update public.profiles set handle = $2 where user_id = $1", first, handle)
    with pytest.raises(asyncpg.UniqueViolationError, match="profiles_handle_lower_key"):
        await conn.execute("update public.profiles set handle = $2 where user_id = $1", second, handle.lower())


async def test_reserved_handles_are_refused_on_every_write_path(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    assert await conn.fetchval("select count(*) from public.reserved_handles where handle = 'admin'") == 1
    with pytest.raises(asyncpg.CheckViolationError, match="reserved"):
        await conn.execute("update public.profiles set handle = 'AdMin' where user_id = $1", user)
    # A signup asking for a reserved handle gets a profile without one, not an error.
    signup = await make_user(conn, handle="rocker")
    assert await conn.fetchval("select handle from public.profiles where user_id = $1", signup) is None


async def test_signup_trigger_creates_profile_and_progress(conn: asyncpg.Connection) -> None:
    handle = unique_handle("sig")
    user = await make_user(conn, handle=handle)
    profile = await conn.fetchrow("select handle, onboarding_complete from public.profiles where user_id = $1", user)
    assert profile is not None and profile["handle"] == handle and profile["onboarding_complete"] is False
    assert await conn.fetchval("select step from public.profiles_onboarding_progress where user_id = $1", user) == (
        "welcome"
    )
    # The same handle asked for again (any case) is taken: the second profile gets none.
    twin = await make_user(conn, handle=handle.upper())
    assert await conn.fetchval("select handle from public.profiles where user_id = $1", twin) is None


async def test_discovery_queue_rejects_a_duplicate_interest_category_reason(conn: asyncpg.Connection) -> None:
    interest_id, category_id = await _mapped_pair(conn)
    reason = f"test-{uuid.uuid4().hex[:12]}"
    insert = "insert into public.marketplace_discovery_queue (interest_id, category_id, reason) values ($1, $2, $3)"
    await conn.execute(insert, interest_id, category_id, reason)
    await conn.execute(insert, interest_id, category_id, reason + "-other")  # another reason is another item
    with pytest.raises(asyncpg.UniqueViolationError, match="marketplace_discovery_queue_idempotency"):
        await conn.execute(insert, interest_id, category_id, reason)


async def test_events_queue_rejects_a_duplicate_topic_key(conn: asyncpg.Connection) -> None:
    topic = f"test.{uuid.uuid4().hex[:12]}"
    insert = "insert into public.events_queue (topic, key) values ($1, $2)"
    await conn.execute(insert, topic, "k1")
    await conn.execute(insert, topic, "k2")
    with pytest.raises(asyncpg.UniqueViolationError, match="events_queue_topic_key"):
        await conn.execute(insert, topic, "k1")


async def test_a_leased_item_must_carry_its_token_and_expiry(conn: asyncpg.Connection) -> None:
    interest_id, category_id = await _mapped_pair(conn)
    with pytest.raises(asyncpg.CheckViolationError, match="marketplace_discovery_queue_lease_shape"):
        await conn.execute(
            "insert into public.marketplace_discovery_queue (interest_id, category_id, reason, status) "
            "values ($1, $2, $3, 'processing')",
            interest_id,
            category_id,
            f"test-{uuid.uuid4().hex[:12]}",
        )


async def test_feature_flag_values_are_json_objects(conn: asyncpg.Connection) -> None:
    key = f"test.{uuid.uuid4().hex[:12]}"
    async with conn.transaction():
        await conn.execute("insert into public.feature_flags (key, value) values ($1, '{\"enabled\": true}')", key)
        with pytest.raises(asyncpg.CheckViolationError, match="feature_flags_value_check"):
            await conn.execute("update public.feature_flags set value = 'true' where key = $1", key)


async def test_candidate_prices_cannot_be_negative(conn: asyncpg.Connection) -> None:
    _, category_id = await _mapped_pair(conn)
    insert = "insert into public.marketplace_candidates (category_id, title, url, price_cents) values ($1, 't', $2, $3)"
    async with conn.transaction():
        await conn.execute(insert, category_id, f"https://shop.rocker.invalid/{uuid.uuid4()}", 0)
        with pytest.raises(asyncpg.CheckViolationError, match="marketplace_candidates_price_cents_check"):
            await conn.execute(insert, category_id, f"https://shop.rocker.invalid/{uuid.uuid4()}", -1)


async def _mapped_pair(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    row = await conn.fetchrow(
        "select interest_id, category_id from public.marketplace_interest_map order by interest_id limit 1"
    )
    assert row is not None
    return row["interest_id"], row["category_id"]
