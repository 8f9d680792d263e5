"""The GC job: every `gc_*` function in `public` that takes no required argument, on a schedule.

The set is read from pg_proc on every run, so a migration that adds a GC
function is picked up without a code change. Each runs in its own
transaction: one failing GC function does not stop the others.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg

from gauntlet.platform.api.rpc_args import quote_ident
from gauntlet.platform.api.rpc_catalog import to_json
from gauntlet.platform.db import Database
from gauntlet.platform.queries import sql
from gauntlet.platform.settings import PlatformSettings
from gauntlet.platform.workers.runtime import WorkerRuntime

log = logging.getLogger("gauntlet.worker.gc")


async def run_gc(db: Database) -> dict[str, Any]:
    """Run every GC function once; {name: result or {"error": ...}}."""
    results: dict[str, Any] = {}
    async with db.primary() as conn:
        names = [r["name"] for r in await conn.fetch(sql("workers", "gc_functions"))]
        for name in names:
            started = time.perf_counter()
            try:
                # The one dynamic statement: the name comes from pg_proc (gc_ prefix, public schema).
                value = await conn.fetchval(f"SELECT public.{quote_ident(name)}()")
                results[name] = to_json(value)
                log.info(
                    "gc ran",
                    extra={
                        "action": "gc",
                        "function": name,
                        "result": results[name],
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            except asyncpg.PostgresError as exc:
                results[name] = {"error": str(exc)}
                log.warning("gc failed", extra={"action": "gc_failed", "function": name, "error": str(exc)})
    return results


async def run_forever(runtime: WorkerRuntime, db: Database, settings: PlatformSettings) -> None:
    async def tick() -> None:
        results = await run_gc(db)
        runtime.stats["gc_runs"] = runtime.stats.get("gc_runs", 0) + 1
        runtime.stats["gc_last"] = time.time()
        runtime.stats["gc_functions"] = len(results)

    await runtime.every(settings.gc_interval_s, tick)
