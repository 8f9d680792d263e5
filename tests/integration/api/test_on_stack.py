"""Against the embedded stack `gauntlet up` starts: the smoke test, and faults injected with Toxiproxy.

Here the API is the stack's real uvicorn process and every connection it makes
goes through Toxiproxy, so "replica gone" and "Redis stalled" are the same
faults the chaos drills inject.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

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
