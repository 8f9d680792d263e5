"""`gauntlet status`: each service's pid, port, health and replication lag, probed for real."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import httpx
import redis

from gauntlet.stack import postgres, processes
from gauntlet.stack.aio import run_sync
from gauntlet.stack.layout import StateLayout
from gauntlet.stack.ports import is_listening
from gauntlet.stack.state import ServiceRecord, StackState

HEARTBEAT_STALE_S = 5.0


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    kind: str
    pid: int | None
    port: int | None
    healthy: bool
    detail: str


class Result(Protocol):
    """Builds one service's status line (each probe gets one bound to its service)."""

    def __call__(self, healthy: bool, detail: str) -> ServiceStatus: ...


def stack_status(state: StackState) -> list[ServiceStatus]:
    layout = StateLayout(Path(state.state_dir))
    lag = _replication(state)
    return [_probe(record, state, layout, lag) for record in state.services.values()]


def _probe(
    record: ServiceRecord, state: StackState, layout: StateLayout, lag: dict[str, dict[str, object]] | str
) -> ServiceStatus:
    def result(healthy: bool, detail: str) -> ServiceStatus:
        return ServiceStatus(record.name, record.kind, record.pid, record.port, healthy, detail)

    if not record.external and not _running(record):
        return result(False, "not running")
    if record.kind == "postgres-primary":
        ok = record.port is not None and is_listening(record.port)
        return result(ok, "accepting connections" if ok else "not accepting connections")
    if record.kind == "postgres-replica":
        if isinstance(lag, str):
            return result(False, lag)
        row = lag.get(record.name)
        if row is None:
            return result(False, "not connected to the primary")
        detail = f"{row['state']}, lag {row['lag_bytes']} B / {float(row['lag_seconds']):.3f} s"  # type: ignore[arg-type]
        return result(row["state"] == "streaming", detail)
    if record.kind == "redis":
        return _probe_redis(record, state, result)
    if record.kind == "toxiproxy":
        return _probe_toxiproxy(state, result)
    if record.kind == "api":
        return _probe_api(state, result)
    if record.kind == "worker":
        return _probe_worker(layout.heartbeat(record.name), result)
    return result(True, "running")


def _running(record: ServiceRecord) -> bool:
    if record.container is not None:  # Docker backend: the container's state instead of a pid
        from gauntlet.stack.docker import engine

        return engine.is_running(record.container)
    return processes.is_alive(record)


def _replication(state: StackState) -> dict[str, dict[str, object]] | str:
    primary = state.direct.get("primary_dsn")
    if not primary:
        return "primary unknown"
    try:
        return run_sync(postgres.replication_lag(primary))
    except Exception as exc:  # any failure here is a status line, not a crash
        return f"cannot ask the primary: {type(exc).__name__}"


def _probe_redis(record: ServiceRecord, state: StackState, result: Result) -> ServiceStatus:
    url = state.direct.get("redis_url") or record.url
    try:
        client = redis.Redis.from_url(str(url), socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return result(True, "PONG")
    except redis.RedisError as exc:
        return result(False, f"no PONG: {exc}")


def _probe_toxiproxy(state: StackState, result: Result) -> ServiceStatus:
    try:
        with httpx.Client(timeout=1.0) as client:
            proxies = client.get(f"{state.toxiproxy_url}/proxies").json()
    except (httpx.HTTPError, ValueError) as exc:
        return result(False, f"API not answering: {exc}")
    missing = [name for name in state.proxies if name not in proxies]
    disabled = [name for name in state.proxies if name in proxies and not proxies[name]["enabled"]]
    toxics = sum(len(p.get("toxics", [])) for p in proxies.values())
    if missing:
        return result(False, f"proxies missing: {', '.join(missing)}")
    detail = f"{len(proxies)} proxies, {toxics} toxics" + (f", disabled: {', '.join(disabled)}" if disabled else "")
    return result(not disabled, detail)


def _probe_api(state: StackState, result: Result) -> ServiceStatus:
    try:
        with httpx.Client(timeout=3.0) as client:
            body = client.get(f"{state.api_url}/functions/v1/health").json()
    except (httpx.HTTPError, ValueError) as exc:
        return result(False, f"health not answering: {exc}")
    failing = [name for name, check in body.get("checks", {}).items() if not check.get("ok")]
    return result(body.get("status") == "ok", body.get("status", "?") + (f" ({', '.join(failing)})" if failing else ""))


def _probe_worker(beat: Path, result: Result) -> ServiceStatus:
    try:
        age = time.time() - float(json.loads(beat.read_text())["ts"])
    except (OSError, ValueError, KeyError):
        return result(False, "no heartbeat")
    return result(age < HEARTBEAT_STALE_S, f"heartbeat {age:.1f}s ago")


def as_json(statuses: list[ServiceStatus]) -> list[dict[str, object]]:
    return [asdict(s) for s in statuses]
