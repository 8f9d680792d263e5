"""Staleness-tolerant reads go to the replica, and fall back to the primary within the request."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

if TYPE_CHECKING:
    from tests.integration.api.conftest import Services

pytestmark = pytest.mark.integration


async def _replica_backends(services: Services, app_name: str) -> int:
    conn = await asyncpg.connect(services.replica_dsn)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app_name)
        return count
    finally:
        await conn.close()


async def test_catalog_reads_use_the_replica(make_api: Any, services: Services) -> None:
    async with make_api(worker_name="replica-reader") as client:
        response = await client.rpc("interest_catalog_search", {"p_query": "riding"})
        assert response.status_code == 200 and response.json()
        assert await _replica_backends(services, "gauntlet-replica-reader") >= 1


async def test_unreachable_replica_falls_back_to_primary(
    make_api: Any, dead_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{dead_port}/rocker"
    caplog.set_level(logging.WARNING, logger="gauntlet.platform.db")
    async with make_api(replica_dsns=[dead]) as client:
        user = await client.signup()
        for function, args in [
            ("interest_catalog_search", {"p_query": "riding"}),
            ("interest_catalog_browse", {"p_limit": 3}),
            ("marketplace_suggestions_for_user", {"p_limit": 3}),
        ]:
            response = await client.rpc(function, args, user.token)
            assert response.status_code == 200 and response.json(), (function, response.text)
        assert not client.state.db.replica_status()[f"127.0.0.1:{dead_port}"]
    assert any(getattr(r, "action", None) == "replica_fallback" for r in caplog.records)


async def test_replica_stopping_under_pooled_connections_falls_back(make_api: Any, services: Services) -> None:
    async with make_api(worker_name="replica-victim") as client:
        assert (await client.rpc("interest_catalog_browse", {"p_limit": 3})).status_code == 200
        assert await _replica_backends(services, "gauntlet-replica-victim") >= 1
        # The replica goes away for real: the app's pooled connections die and new ones are refused.
        services.stop_replica()
        try:
            for _ in range(3):
                response = await client.rpc("interest_catalog_browse", {"p_limit": 3})
                assert response.status_code == 200 and len(response.json()) == 3
            assert not client.state.db.replica_status()[f"127.0.0.1:{services.replica_port}"]
        finally:
            services.start_replica()


async def test_health_reports_degraded_not_down_without_the_replica(make_api: Any, dead_port: int) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{dead_port}/rocker"
    async with make_api(replica_dsns=[dead]) as client:
        response = await client.http.get("/functions/v1/health")
        assert response.status_code == 200
        body = response.json()
        assert (
            body["status"] == "degraded" and not body["checks"]["replica_1"]["ok"] and body["checks"]["primary"]["ok"]
        )
