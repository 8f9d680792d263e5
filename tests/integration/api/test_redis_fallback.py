"""Redis is optional: features and rate limits keep working (with a warning) when it is down or stalled."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio as aioredis

from gauntlet.platform.features import FEATURE_TTL_S, TTL_JITTER, cached_features, feature_key

if TYPE_CHECKING:
    from tests.integration.api.conftest import Services

pytestmark = pytest.mark.integration


@pytest.fixture
async def stalled_port() -> AsyncIterator[int]:
    """A server that accepts connections and never answers: a Redis hung behind a proxy."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_hydrate_features_writes_the_feature_store_with_jittered_ttl(
    make_api: Any, onboard: Any, services: Services
) -> None:
    user = await onboard()
    async with make_api() as client:
        response = await client.http.post(
            "/functions/v1/hydrate-features", headers={"Authorization": f"Bearer {user.token}"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cached"] is True and len(body["top_interests"]) == 3 and len(body["emb"]) == 384
    redis = aioredis.from_url(services.redis_url)
    try:
        raw = await redis.get(feature_key(user.user_id))
        assert raw is not None
        stored = json.loads(raw)
        ttl = await redis.ttl(feature_key(user.user_id))
    finally:
        await redis.aclose()
    assert stored["top_interests"] == body["top_interests"]
    assert FEATURE_TTL_S * (1 - TTL_JITTER) - 1 <= ttl <= FEATURE_TTL_S * (1 + TTL_JITTER)


@pytest.mark.parametrize("failure", ["refused", "stalled"])
async def test_hydrate_features_falls_back_to_the_database(
    make_api: Any, onboard: Any, dead_port: int, stalled_port: int, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    user = await onboard()
    port = dead_port if failure == "refused" else stalled_port
    caplog.set_level(logging.WARNING, logger="gauntlet.platform")
    async with make_api(redis_url=f"redis://127.0.0.1:{port}/0") as client:
        started = time.perf_counter()
        response = await client.http.post(
            "/functions/v1/hydrate-features", headers={"Authorization": f"Bearer {user.token}"}
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cached"] is False and body["source"] == "database" and len(body["top_interests"]) == 3
    assert body["warning"]
    assert elapsed < 1.0, f"a {failure} Redis must not stall the request ({elapsed:.2f} s)"
    assert any(
        getattr(r, "action", None) == "feature_cache_miss" and r.levelno == logging.WARNING for r in caplog.records
    )


async def test_rate_limits_keep_limiting_in_memory_when_redis_is_down(
    make_api: Any, dead_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gauntlet.platform")
    async with make_api(
        redis_url=f"redis://127.0.0.1:{dead_port}/0", rate_limit_multiplier=1.0, client_host="10.9.8.7"
    ) as client:
        statuses = []
        for _ in range(14):
            response = await client.http.post(
                "/auth/v1/token",
                params={"grant_type": "password"},
                json={"email": "nobody@example.test", "password": "wrong-pass"},
            )
            statuses.append(response.status_code)
        assert statuses[:10] == [400] * 10, statuses
        assert statuses[10:] == [429] * 4, statuses
        assert int(response.headers["retry-after"]) >= 1
        assert client.state.limiter.fallbacks >= 14
    assert any(getattr(r, "action", None) == "ratelimit_fallback" for r in caplog.records)


async def test_health_reports_degraded_when_redis_is_down(make_api: Any, dead_port: int) -> None:
    async with make_api(redis_url=f"redis://127.0.0.1:{dead_port}/0") as client:
        response = await client.http.get("/functions/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and not body["checks"]["redis"]["ok"] and body["checks"]["primary"]["ok"]


async def test_feature_reads_come_from_redis_and_fall_back_to_the_database(
    make_api: Any, onboard: Any, dead_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    user = await onboard()
    async with make_api() as client:
        await client.http.post("/functions/v1/hydrate-features", headers={"Authorization": f"Bearer {user.token}"})
        features, source = await cached_features(client.state.db, client.state.redis, user.user_id)
        assert source == "redis" and len(features.top_interests) == 3
    caplog.set_level(logging.WARNING, logger="gauntlet.platform")
    async with make_api(redis_url=f"redis://127.0.0.1:{dead_port}/0") as client:
        fallback, source = await cached_features(client.state.db, client.state.redis, user.user_id)
    assert source == "database" and fallback.top_interests == features.top_interests
    assert any(getattr(r, "action", None) == "feature_cache_miss" for r in caplog.records)
