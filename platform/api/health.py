"""`GET /functions/v1/health`: primary, replicas and Redis, each checked for real.

The platform is `ok` when everything answers, `degraded` when only a replica
or Redis is gone (reads fall back to the primary, features to the database),
and `down` (HTTP 503) when the primary is unreachable.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal, TypedDict

import asyncpg
import redis.asyncio as aioredis
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gauntlet.platform.api.deps import StateDep

CHECK_TIMEOUT_S = 1.0

router = APIRouter(prefix="/functions/v1", tags=["functions"])


class Check(TypedDict):
    ok: bool
    latency_ms: float
    error: str | None


async def _check_postgres(dsn: str, *, expect_replica: bool) -> Check:
    started = time.perf_counter()
    try:
        conn = await asyncpg.connect(dsn, timeout=CHECK_TIMEOUT_S)
        try:
            in_recovery = await conn.fetchval("SELECT pg_is_in_recovery()", timeout=CHECK_TIMEOUT_S)
        finally:
            await conn.close(timeout=CHECK_TIMEOUT_S)
        error = None
        if bool(in_recovery) != expect_replica:
            error = "is a replica" if in_recovery else "is not in recovery (not a replica)"
        return Check(ok=error is None, latency_ms=_ms_since(started), error=error)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return Check(ok=False, latency_ms=_ms_since(started), error=f"{type(exc).__name__}: {exc}")


async def _check_redis(url: str) -> Check:
    started = time.perf_counter()
    client = aioredis.from_url(url, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S)
    try:
        await client.ping()
        return Check(ok=True, latency_ms=_ms_since(started), error=None)
    except (TimeoutError, OSError, aioredis.RedisError) as exc:
        return Check(ok=False, latency_ms=_ms_since(started), error=f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def overall_status(checks: dict[str, Check]) -> Literal["ok", "degraded", "down"]:
    if not checks["primary"]["ok"]:
        return "down"
    return "ok" if all(check["ok"] for check in checks.values()) else "degraded"


@router.get("/health")
async def health(state: StateDep) -> JSONResponse:
    settings = state.settings
    names = ["primary", *(f"replica_{i}" for i in range(1, len(settings.replica_dsns) + 1)), "redis"]
    results = await asyncio.gather(
        _check_postgres(settings.primary_dsn, expect_replica=False),
        *(_check_postgres(dsn, expect_replica=True) for dsn in settings.replica_dsns),
        _check_redis(settings.redis_url),
    )
    checks = dict(zip(names, results, strict=True))
    status = overall_status(checks)
    return JSONResponse({"status": status, "checks": checks}, status_code=503 if status == "down" else 200)
