"""Running acceptance checks: concurrently (a few at a time), each bounded in time; exclusive ones alone, last.

The result is `gauntlet.acceptance/1` (reports/SCHEMA.md): one record per check
with its status, `passed`, `failed` (the rule broke, or the check itself could not
finish: a timeout or an unexpected error is a failure, never a pass) or `skipped`
(the target lacks what the check needs, e.g. a DSN; a skipped check fails the
gate unless the user skips it by name).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from gauntlet.acceptance.registry import AcceptanceCheck, CheckFailed, NeedsDsn
from gauntlet.acceptance.surface import HTTP_TIMEOUT_S, Surface, Target

SCHEMA = "gauntlet.acceptance/1"
CONCURRENCY = 4
Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    id: str
    title: str
    seeds: str
    status: Status
    message: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "seeds": self.seeds,
            "status": self.status,
            "message": self.message,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, kw_only=True)
class AcceptanceRun:
    target: str
    started_at: datetime
    finished_at: datetime
    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status == "passed" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "target": self.target,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "passed": self.passed,
            "checks": [r.to_json() for r in self.results],
        }


Progress = Callable[[CheckResult], None]


async def run_checks(
    target: Target, checks: Sequence[AcceptanceCheck], progress: Progress = lambda _: None
) -> AcceptanceRun:
    started = datetime.now(UTC)
    run_id = secrets.token_hex(4)
    limits = httpx.Limits(max_connections=CONCURRENCY * 4)
    async with httpx.AsyncClient(base_url=target.api_url.rstrip("/"), timeout=HTTP_TIMEOUT_S, limits=limits) as http:
        surface = Surface(target, http, run_id)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def bounded(spec: AcceptanceCheck) -> CheckResult:
            async with gate:
                result = await run_one(surface, spec)
            progress(result)
            return result

        shared = [c for c in checks if not c.exclusive]
        results = list(await asyncio.gather(*(bounded(c) for c in shared)))
        for spec in (c for c in checks if c.exclusive):
            result = await run_one(surface, spec)
            progress(result)
            results.append(result)
    order = {c.id: i for i, c in enumerate(checks)}
    results.sort(key=lambda r: order[r.id])
    return AcceptanceRun(target=target.label, started_at=started, finished_at=datetime.now(UTC), results=results)


async def run_one(surface: Surface, spec: AcceptanceCheck) -> CheckResult:
    started = time.monotonic()
    status: Status = "passed"
    message = ""
    try:
        await asyncio.wait_for(spec.fn(surface), timeout=spec.timeout_s)
    except CheckFailed as exc:
        status, message = "failed", str(exc)
    except NeedsDsn as exc:
        status, message = "skipped", f"skipped: {exc}"
    except TimeoutError:
        status, message = "failed", f"did not finish within {spec.timeout_s:.0f} s (the platform is too slow or stuck)"
    except Exception as exc:
        status, message = "failed", f"the check itself failed: {type(exc).__name__}: {exc}"
    return CheckResult(
        id=spec.id,
        title=spec.title,
        seeds=spec.seeds,
        status=status,
        message=message,
        seconds=time.monotonic() - started,
    )
