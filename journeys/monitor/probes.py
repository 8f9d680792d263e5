"""Cheap HTTP probes run with every journey run: the health function and the queue health views.

- `GET {target}/functions/v1/health`: `ok`, `degraded` (a replica or Redis is gone) or
  `down` (HTTP 503, or no answer at all).
- `GET {target}/rest/v1/vw_discovery_queue_health` and `vw_events_queue_health` with the
  service key: degraded when work still waiting (queued, leased, processing) has a p95 age
  over 300 s, the seeds' "worker stuck" threshold. Finished rows are ignored: a done item's
  age only says how long ago it was queued.

Judging a response is pure (`judge_health`, `judge_queue_view`); `HttpProber` does the I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import httpx

from gauntlet.journeys.monitor.model import HealthStatus, ProbeResult

HEALTH_PATH = "/functions/v1/health"
QUEUE_VIEWS = ("vw_discovery_queue_health", "vw_events_queue_health")
QUEUE_AGE_LIMIT_S = 300.0
WAITING_STATUSES = frozenset({"queued", "leased", "processing"})
PROBE_TIMEOUT_S = 5.0


class HealthProber(Protocol):
    def probe(self) -> tuple[ProbeResult, ...]: ...


def judge_health(status_code: int, body: Any, duration_ms: float) -> ProbeResult:
    """The platform's own verdict, or `down` when the answer is not a health document."""
    status = body.get("status") if isinstance(body, dict) else None
    if status in ("ok", "degraded", "down"):
        detail = ""
        checks = body.get("checks")
        if isinstance(checks, dict):
            failing = sorted(name for name, check in checks.items() if isinstance(check, dict) and not check.get("ok"))
            detail = f"failing: {', '.join(failing)}" if failing else ""
        verdict: HealthStatus = status
        return ProbeResult(name="health", status=verdict, detail=detail, duration_ms=duration_ms)
    return ProbeResult(
        name="health", status="down", detail=f"HTTP {status_code} without a health status", duration_ms=duration_ms
    )


def judge_queue_view(view: str, status_code: int, body: Any, duration_ms: float) -> ProbeResult:
    """Degraded when waiting work is older than the threshold at p95, or the view cannot be read."""
    if status_code != 200 or not isinstance(body, list):
        message = body.get("message") if isinstance(body, dict) else None
        detail = f"HTTP {status_code}" + (f": {message}" if message else "") + " (cannot read the view)"
        return ProbeResult(name=view, status="degraded", detail=detail, duration_ms=duration_ms)
    stuck = []
    for row in body:
        if not isinstance(row, dict) or row.get("status") not in WAITING_STATUSES:
            continue
        age = row.get("p95_age_sec")
        if isinstance(age, int | float) and age > QUEUE_AGE_LIMIT_S:
            where = f"{row['topic']}/" if row.get("topic") else ""
            stuck.append(f"{where}{row['status']} p95 age {age:.0f}s > {QUEUE_AGE_LIMIT_S:.0f}s")
    if stuck:
        return ProbeResult(name=view, status="degraded", detail="; ".join(stuck), duration_ms=duration_ms)
    return ProbeResult(name=view, status="ok", duration_ms=duration_ms)


class HttpProber:
    """Probe one target. Without a service key the queue views are skipped (they are service-only)."""

    def __init__(
        self,
        target: str,
        *,
        service_key: str | None,
        timeout_s: float = PROBE_TIMEOUT_S,
        client: httpx.Client | None = None,
    ) -> None:
        self.target = target.rstrip("/")
        self.service_key = service_key
        self._client = client or httpx.Client(timeout=timeout_s)

    def probe(self) -> tuple[ProbeResult, ...]:
        results = [self._get(HEALTH_PATH, {}, judge_health, unreachable="down")]
        if self.service_key:
            headers = {"Authorization": f"Bearer {self.service_key}", "apikey": self.service_key}
            # Unreachable views only degrade: the health probe already says whether the API is down.
            results += [
                self._get(
                    f"/rest/v1/{view}", headers, partial(judge_queue_view, view), unreachable="degraded", name=view
                )
                for view in QUEUE_VIEWS
            ]
        return tuple(results)

    def _get(
        self,
        path: str,
        headers: dict[str, str],
        judge: Callable[[int, Any, float], ProbeResult],
        *,
        unreachable: HealthStatus,
        name: str = "health",
    ) -> ProbeResult:
        started = time.perf_counter()
        try:
            response = self._client.get(f"{self.target}{path}", headers=headers)
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return ProbeResult(
                name=name, status=unreachable, detail=f"{type(exc).__name__}: {exc}", duration_ms=elapsed
            )
        elapsed = (time.perf_counter() - started) * 1000
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return judge(response.status_code, body, elapsed)

    def close(self) -> None:
        self._client.close()
