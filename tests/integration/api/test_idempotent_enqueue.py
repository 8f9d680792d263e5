"""Enqueueing is idempotent: repeats and concurrent repeats queue each item once."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

if TYPE_CHECKING:
    from tests.integration.api.conftest import ApiClient

pytestmark = pytest.mark.integration


async def _queue_rows(db: asyncpg.Connection, user_id: str) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "SELECT q.interest_id, q.category_id, q.reason FROM marketplace_discovery_queue q "
        "JOIN user_interests ui ON ui.interest_id = q.interest_id AND ui.user_id = $1 ORDER BY 1, 2, 3",
        uuid.UUID(user_id),
    )
    return [tuple(r) for r in rows]


async def test_enqueue_discovery_twice_and_concurrently_queues_once(
    api: ApiClient, db: asyncpg.Connection, onboard: Any
) -> None:
    user = await onboard()
    first = await _queue_rows(db, user.user_id)
    assert first, "interest selection queues discovery"
    again = await api.rpc("enqueue_discovery_for_user", {"p_user_id": user.user_id}, user.token)
    assert (again.status_code, again.json()) == (200, 0)
    burst = await asyncio.gather(
        *(api.rpc("enqueue_discovery_for_user", {"p_user_id": user.user_id}, user.token) for _ in range(10))
    )
    assert {r.status_code for r in burst} == {200} and sum(r.json() for r in burst) == 0
    assert await _queue_rows(db, user.user_id) == first


async def test_completing_onboarding_twice_publishes_one_signup_event(
    api: ApiClient, db: asyncpg.Connection, onboard: Any
) -> None:
    user = await onboard()
    results = await asyncio.gather(*(api.rpc("complete_onboarding", {}, user.token) for _ in range(5)))
    assert {r.status_code for r in results} == {200}
    count = await db.fetchval(
        "SELECT count(*) FROM events_queue WHERE topic = 'discovery.user-signup' AND key = $1", user.user_id
    )
    assert count == 1


async def test_upserting_the_same_interest_keeps_one_row(api: ApiClient, db: asyncpg.Connection) -> None:
    session = await api.signup()
    interest = await db.fetchval("SELECT id FROM interest_catalog ORDER BY id DESC LIMIT 1")
    for affinity in (0.2, 0.4, 0.6):
        response = await api.rpc(
            "user_interests_upsert", {"p_interest_id": str(interest), "p_affinity": affinity}, session.token
        )
        assert response.status_code == 200
    rows = await db.fetch("SELECT affinity FROM user_interests WHERE user_id = $1", uuid.UUID(session.user_id))
    assert [r["affinity"] for r in rows] == [0.6]
