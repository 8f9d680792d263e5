"""Waiting until a container's service answers; a container that exits fails the wait at once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import redis as redis_client

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.stack import postgres as pg
from gauntlet.stack.aio import run_sync
from gauntlet.stack.docker import engine
from gauntlet.stack.layout import StateLayout
from gauntlet.stack.state import ServiceRecord, StackState

# Containers start slower than processes (image layers, a Python interpreter per service).
READY_TIMEOUT_S = 60.0
POLL_S = 0.1

Check = Callable[[], str | None]  # None when ready, else what is still missing


def wait(record: ServiceRecord, check: Check, *, timeout: float = READY_TIMEOUT_S) -> None:
    """Until `check` passes; fails fast, with the log's last line, when the container stops."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        missing = check()
        if missing is None:
            return
        last = missing
        ensure_running(record)
        time.sleep(POLL_S)
    raise EnvironmentProblem(
        f"{record.name} was not ready within {timeout:.0f}s ({last}): see `docker logs {record.container}`"
    )


def ensure_running(record: ServiceRecord) -> None:
    assert record.container is not None
    if engine.is_running(record.container):
        return
    tail = engine.logs(record.container, tail=5).strip().splitlines()
    detail = tail[-1] if tail else "no output"
    raise EnvironmentProblem(f"{record.name} exited during start-up ({detail}): see `docker logs {record.container}`")


def postgres(url: str, record: ServiceRecord) -> None:
    async def attempt() -> None:
        conn = await asyncpg.connect(url, timeout=2)
        await conn.close()

    def check() -> str | None:
        try:
            run_sync(attempt())
            return None
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            return str(exc) or type(exc).__name__

    wait(record, check)


def redis(url: str, record: ServiceRecord) -> None:
    def check() -> str | None:
        client = redis_client.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
            return None
        except redis_client.RedisError as exc:
            return str(exc)
        finally:
            client.close()

    wait(record, check)


def toxiproxy(url: str, record: ServiceRecord) -> None:
    from gauntlet.faultproxy.client import ToxiproxyClient

    with ToxiproxyClient(url, timeout=1.0) as client:
        wait(record, lambda: None if client.is_running() else "API not answering")


def api(url: str, record: ServiceRecord) -> None:
    def check() -> str | None:
        try:
            with httpx.Client(timeout=2.0) as client:
                response = client.get(f"{url}/functions/v1/health")
            body = response.json()
            if response.status_code == 200 and body.get("status") == "ok":
                return None
            return f"health {body.get('status')}: {body.get('checks')}"
        except (httpx.HTTPError, ValueError) as exc:
            return str(exc) or type(exc).__name__

    wait(record, check)


def heartbeat(path: Path, record: ServiceRecord, since: float) -> None:
    """Until the worker has written a heartbeat after `since` (one from before a restart does not count)."""

    def check() -> str | None:
        try:
            ts = float(json.loads(path.read_text())["ts"])
        except (OSError, ValueError, KeyError, TypeError):
            return "no heartbeat"
        return None if ts >= since else "no heartbeat since the start"

    wait(record, check)


def replicas_streaming(admin_url: str, records: list[ServiceRecord], *, timeout: float = READY_TIMEOUT_S) -> None:
    """Until every replica streams and has replayed the primary's current WAL position."""
    names = [r.name for r in records]

    def check() -> str | None:
        for record in records:
            ensure_running(record)
        try:
            run_sync(pg.wait_replicas_streaming(admin_url, names, timeout=1.0))
            return None
        except (EnvironmentProblem, OSError, asyncpg.PostgresError) as exc:
            return str(exc) or type(exc).__name__

    wait(records[0], check, timeout=timeout)


def service(state: StackState, layout: StateLayout, record: ServiceRecord, since: float) -> None:
    """Until a (re)started service answers as `up` expects it to."""
    if record.kind == "api":
        api(state.api_url, record)
    elif record.kind == "worker":
        heartbeat(layout.heartbeat(record.name), record, since)
    elif record.kind == "postgres-primary":
        postgres(state.direct["primary_dsn"], record)
    elif record.kind == "redis":
        redis(state.direct["redis_url"], record)
    elif record.kind == "toxiproxy":
        toxiproxy(state.toxiproxy_url, record)
