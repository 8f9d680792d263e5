"""Against the embedded stack `gauntlet up` starts: the smoke test, and faults injected with Toxiproxy.

Here the API is the stack's real uvicorn process and every connection it makes
goes through Toxiproxy, so "replica gone" and "Redis stalled" are the same
faults the chaos drills inject.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

import asyncpg
import httpx
import pytest

from gauntlet.platform.smoke import run_smoke

if TYPE_CHECKING:
    from gauntlet.faultproxy.client import ToxiproxyClient
    from gauntlet.stack.state import StackState

pytestmark = pytest.mark.integration


async def test_smoke_test_passes_against_the_embedded_stack(gauntlet_stack: StackState) -> None:
    report = await run_smoke(gauntlet_stack.primary_dsn, gauntlet_stack.api_url, gauntlet_stack.service_key)
    assert report.ok, [(s.section, s.detail) for s in report.failed()]


def _session(client: httpx.Client) -> tuple[str, str]:
    email = f"stack-{uuid.uuid4().hex[:10]}@example.test"
    response = client.post("/auth/v1/signup", json={"email": email, "password": "secret-pass-1"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"], email


def test_replica_proxy_disabled_reads_still_succeed(gauntlet_stack: StackState, toxiproxy: ToxiproxyClient) -> None:
    with httpx.Client(base_url=gauntlet_stack.api_url, timeout=10) as client:
        token, _ = _session(client)
        headers = {"Authorization": f"Bearer {token}"}
        for name in gauntlet_stack.proxies:
            if name.startswith("pg_replica"):
                toxiproxy.update_proxy(name, enabled=False)
        for _ in range(5):
            response = client.post("/rest/v1/rpc/interest_catalog_search", json={"p_query": "riding"}, headers=headers)
            assert response.status_code == 200 and response.json(), response.text
            suggestions = client.post(
                "/rest/v1/rpc/marketplace_suggestions_for_user", json={"p_limit": 5}, headers=headers
            )
            assert suggestions.status_code == 200, suggestions.text
        health = client.get("/functions/v1/health").json()
        assert health["status"] == "degraded" and health["checks"]["primary"]["ok"]


def test_redis_stalled_features_and_limits_degrade_gracefully(
    gauntlet_stack: StackState, toxiproxy: ToxiproxyClient
) -> None:
    with httpx.Client(base_url=gauntlet_stack.api_url, timeout=10) as client:
        token, email = _session(client)
        # timeout=0: the proxy holds the data forever, Redis never answers (a stalled Redis).
        toxiproxy.add_toxic("redis", "timeout", name="stall", attributes={"timeout": 0})
        started = time.perf_counter()
        response = client.post("/functions/v1/hydrate-features", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.json()["cached"] is False and time.perf_counter() - started < 2
        statuses = [
            client.post(
                "/auth/v1/token", params={"grant_type": "password"}, json={"email": email, "password": "wrong-password"}
            ).status_code
            for _ in range(12)
        ]
        assert statuses[-1] == 429 and set(statuses) <= {400, 429}, statuses
        assert client.get("/functions/v1/health").json()["status"] == "degraded"


# Held back by the proxy's slow_close toxic: the API's pooled connections read the server's FATAL
# at once but see the end of their sockets only this much later.
CLOSE_HELD_MS = 4000
ATTEMPTS = 3


def _api_sessions(dsn: str) -> int:
    """How many Postgres sessions the API holds there (application_name gauntlet-api)."""

    async def run() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gauntlet-api'"
            )
            return count
        finally:
            await conn.close()

    return asyncio.run(run())


def _terminate_api_sessions(dsns: list[str]) -> int:
    """End the API's sessions there (FATAL 57P01, as when the server shuts down) and wait (bounded,
    ~5 s) until those backends are gone; returns how many were ended.

    A backend gone has sent its FATAL, which the fault proxy relays at once (only the close is
    held), so the API's pooled connections have it before the next request: the case under test.
    A request sent before that message arrives waits for the held close instead (asyncpg waits for
    the server's ReadyForQuery after an error), which is not what these tests are about.
    """

    async def run(dsn: str) -> int:
        conn = await asyncpg.connect(dsn)
        try:
            pids: list[int] = await conn.fetchval(
                # In the aggregate, not the WHERE: evaluated only for the rows the WHERE kept.
                "SELECT coalesce(array_agg(pid) FILTER (WHERE pg_terminate_backend(pid)), '{}') "
                "FROM pg_stat_activity WHERE application_name = 'gauntlet-api'"
            )
            for _ in range(50):
                if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids):
                    break
                await asyncio.sleep(0.1)
            return len(pids)
        finally:
            await conn.close()

    return sum(asyncio.run(run(dsn)) for dsn in dsns)


def test_replica_sessions_terminated_behind_a_held_close_fall_back(
    gauntlet_stack: StackState, toxiproxy: ToxiproxyClient
) -> None:
    """A pooled replica connection whose server said goodbye is a dead replica, not a 500.

    An attempt counts only if its reads all came before the held closes: on a busy machine the
    proxy may relay a FATAL after the backend is gone, and a read sent before it waits for the
    close (inconclusive, then tried again, at most ATTEMPTS times; every read must be a 200).
    """
    replicas = [name for name in gauntlet_stack.proxies if name.startswith("pg_replica")]
    with httpx.Client(base_url=gauntlet_stack.api_url, timeout=10) as client:
        token, _ = _session(client)
        headers = {"Authorization": f"Bearer {token}"}
        browse = {"p_limit": 3}
        took: list[float] = []
        for _ in range(ATTEMPTS):
            for _ in range(40):  # an earlier failure may have left the replica skipped for a while: bounded at ~10 s
                assert (
                    client.post("/rest/v1/rpc/interest_catalog_browse", json=browse, headers=headers).status_code == 200
                )
                if sum(_api_sessions(dsn) for dsn in gauntlet_stack.direct["replica_dsns"]):
                    break
                time.sleep(0.25)
            for name in replicas:
                toxiproxy.add_toxic(
                    name, "slow_close", name="held", stream="downstream", attributes={"delay": CLOSE_HELD_MS}
                )
            started = time.monotonic()
            assert _terminate_api_sessions(gauntlet_stack.direct["replica_dsns"]) >= 1
            for _ in range(3):
                response = client.post("/rest/v1/rpc/interest_catalog_browse", json=browse, headers=headers)
                assert response.status_code == 200 and len(response.json()) == 3, response.text
            took.append(time.monotonic() - started)
            for name in replicas:
                toxiproxy.remove_toxic(name, "held")
            if took[-1] < CLOSE_HELD_MS / 1000:
                break
        assert took[-1] < CLOSE_HELD_MS / 1000, (
            f"every attempt's reads came after the closes ({took} s): nothing was tested"
        )


def test_primary_sessions_terminated_behind_a_held_close_answer_503_then_recover(
    gauntlet_stack: StackState, toxiproxy: ToxiproxyClient
) -> None:
    """A dead pooled primary connection is the database unavailable for this request (503), not a defect (500).

    As for the replicas, an attempt whose request came after the held closes is inconclusive and
    tried again (at most ATTEMPTS times), once the API answers again.
    """
    with httpx.Client(base_url=gauntlet_stack.api_url, timeout=10) as client:
        token, _ = _session(client)
        headers = {"Authorization": f"Bearer {token}"}
        handle = {"p_handle": f"free-{uuid.uuid4().hex[:10]}"}

        def until_answered() -> list[int]:
            """Statuses until a 200: the dead connections leave the pool as their closes arrive (bounded at ~10 s)."""
            statuses = []
            for _ in range(40):
                statuses.append(
                    client.post("/rest/v1/rpc/check_handle_available", json=handle, headers=headers).status_code
                )
                if statuses[-1] == 200:
                    break
                time.sleep(0.25)
            return statuses

        took: list[float] = []
        for _ in range(ATTEMPTS):
            assert until_answered()[-1] == 200
            toxiproxy.add_toxic(
                "pg_primary", "slow_close", name="held", stream="downstream", attributes={"delay": CLOSE_HELD_MS}
            )
            started = time.monotonic()
            assert _terminate_api_sessions([gauntlet_stack.direct["primary_dsn"]]) >= 1
            response = client.post("/rest/v1/rpc/check_handle_available", json=handle, headers=headers)
            took.append(time.monotonic() - started)
            toxiproxy.remove_toxic("pg_primary", "held")
            if took[-1] < CLOSE_HELD_MS / 1000:
                break
        assert took[-1] < CLOSE_HELD_MS / 1000, (
            f"every attempt's request came after the closes ({took} s): nothing was tested"
        )
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable" and response.headers["Retry-After"]
        statuses = until_answered()
        assert statuses[-1] == 200 and set(statuses) <= {200, 503}, statuses
