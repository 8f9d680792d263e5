"""User A cannot read or write user B's rows through the RPC surface.

Two layers are exercised: the kernels' own checks (they see the caller's role
and uid only because the API switches role and claims per transaction) and
row-level security itself, through probe functions that run as the caller
and filter nothing, so only the policies stand between A and B's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from gauntlet.platform.api import rpc_catalog

if TYPE_CHECKING:
    from tests.integration.api.conftest import ApiClient, Session

pytestmark = pytest.mark.integration

PROBES_SQL = Path(__file__).with_name("rls_probes.sql")
PROBES = {"rls_probe_read_interests", "rls_probe_write_interest", "rls_probe_read_profiles"}


@pytest.fixture
async def probes(db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    await db.execute(PROBES_SQL.read_text())
    monkeypatch.setattr(rpc_catalog, "ALLOWED_FUNCTIONS", rpc_catalog.ALLOWED_FUNCTIONS | PROBES)
    yield
    await db.execute(
        "DROP FUNCTION public.rls_probe_read_interests(), public.rls_probe_write_interest(uuid, uuid), "
        "public.rls_probe_read_profiles()"
    )


@pytest.fixture
async def pair(onboard: Any) -> tuple[Session, Session]:
    return await onboard(), await onboard()


async def _interests_of(db: asyncpg.Connection, user: Session) -> set[uuid.UUID]:
    rows = await db.fetch("SELECT interest_id FROM user_interests WHERE user_id = $1", uuid.UUID(user.user_id))
    return {r["interest_id"] for r in rows}


async def test_rls_policies_hide_other_users_rows(api: ApiClient, pair: tuple[Session, Session], probes: None) -> None:
    a, _b = pair
    seen = (await api.rpc("rls_probe_read_interests", {}, a.token)).json()
    assert seen and {row["user_id"] for row in seen} == {a.user_id}
    profiles = (await api.rpc("rls_probe_read_profiles", {}, a.token)).json()
    assert profiles == [a.user_id]
    # Anonymous callers have no grant on user_interests at all.
    anon = await api.rpc("rls_probe_read_interests", {})
    assert anon.status_code == 403


async def test_rls_policies_refuse_writing_another_users_rows(
    api: ApiClient, db: asyncpg.Connection, pair: tuple[Session, Session], probes: None
) -> None:
    a, b = pair
    before = await _interests_of(db, b)
    spare = await db.fetchval(
        "SELECT id FROM interest_catalog WHERE id <> ALL($1::uuid[]) ORDER BY id LIMIT 1", list(before)
    )
    response = await api.rpc("rls_probe_write_interest", {"p_user_id": b.user_id, "p_interest_id": str(spare)}, a.token)
    assert response.status_code == 403, response.text
    assert await _interests_of(db, b) == before
    own = await api.rpc("rls_probe_write_interest", {"p_user_id": a.user_id, "p_interest_id": str(spare)}, a.token)
    assert own.status_code == 200, own.text


async def test_kernels_refuse_acting_for_another_user(
    api: ApiClient, db: asyncpg.Connection, pair: tuple[Session, Session]
) -> None:
    a, b = pair
    for function, args in [
        ("marketplace_suggestions_for_user", {"p_user_id": b.user_id}),
        ("enqueue_discovery_for_user", {"p_user_id": b.user_id}),
        ("complete_onboarding", {"p_user_id": b.user_id}),
        ("emit_signal", {"p_name": "probe", "p_user_id": b.user_id}),
    ]:
        response = await api.rpc(function, args, a.token)
        assert response.status_code == 403, (function, response.text)
    b_id = uuid.UUID(b.user_id)
    assert await db.fetchval("SELECT onboarding_complete FROM profiles WHERE user_id = $1", b_id) is False
    assert await db.fetchval("SELECT count(*) FROM intent_signals WHERE user_id = $1", b_id) == 0


async def test_own_rows_only_through_my_interests_and_remove(
    api: ApiClient, db: asyncpg.Connection, pair: tuple[Session, Session]
) -> None:
    a, b = pair
    mine = {row["interest_id"] for row in (await api.rpc("my_interests", {}, a.token)).json()}
    assert mine == {str(i) for i in await _interests_of(db, a)}
    before_b = await _interests_of(db, b)
    shared = next(iter(before_b))
    await api.rpc("user_interests_remove", {"p_interest_id": str(shared)}, a.token)
    assert await _interests_of(db, b) == before_b  # A's remove touched only A's row
    anonymous = await api.rpc("my_interests", {})
    assert anonymous.status_code == 403  # anon has no grant on my_interests


async def test_a_forged_sub_is_refused(api: ApiClient, pair: tuple[Session, Session]) -> None:
    import jwt

    _a, b = pair
    forged = jwt.encode(
        {"sub": b.user_id, "role": "authenticated", "exp": 2**31 - 1},
        "a-different-secret-that-is-long-enough-xx",
        algorithm="HS256",
    )
    response = await api.rpc("my_interests", {}, forged)
    assert response.status_code == 401 and "signature" in response.json()["message"]
