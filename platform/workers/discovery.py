"""The discovery run: leased discovery items, then (periodically) every category's supply gap.

The discovery step itself is the kernel `upsert_marketplace_gap` (migration
120): inventory per category -> gap_level -> upsert into marketplace_gaps.
It is idempotent, so running it for a category twice changes nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from gauntlet.platform.db import Database
from gauntlet.platform.queries import sql
from gauntlet.platform.settings import PlatformSettings
from gauntlet.platform.workers import queue
from gauntlet.platform.workers.runtime import WorkerRuntime

log = logging.getLogger("gauntlet.worker.discovery")

CATEGORY_PAGE = 200


@dataclass
class DiscoveryResult:
    items: queue.BatchResult = field(default_factory=queue.BatchResult)
    categories: int = 0
    gap_levels: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "processed": self.items.processed,
            "errors": self.items.errors,
            "items": self.items.as_json(),
            "categories": self.categories,
            "gap_levels": self.gap_levels,
        }


async def recompute_all_gaps(db: Database) -> tuple[int, dict[str, int]]:
    """Run the discovery step for every category, a page per transaction."""
    after: uuid.UUID | None = None
    count, levels = 0, dict[str, int]()
    while True:
        async with db.primary() as conn, conn.transaction():
            ids = [r["id"] for r in await conn.fetch(sql("workers", "categories_after"), after, CATEGORY_PAGE)]
            for category_id in ids:
                for row in await conn.fetch(sql("workers", "upsert_marketplace_gap"), category_id, None):
                    levels[row["gap_level"]] = levels.get(row["gap_level"], 0) + 1
        count += len(ids)
        if len(ids) < CATEGORY_PAGE:
            return count, levels
        after = ids[-1]


async def run_discovery(
    db: Database, *, limit: int = 50, ttl_s: int = 120, full: bool = False, worker: str
) -> DiscoveryResult:
    """Process leased discovery items; with `full`, recompute every category's gap too."""
    result = DiscoveryResult()
    result.items = await queue.run_batch(db, topics=(), limit=limit, ttl_s=ttl_s, worker=worker)
    if full:
        started = time.perf_counter()
        result.categories, result.gap_levels = await recompute_all_gaps(db)
        log.info(
            "discovery run",
            extra={
                "action": "discovery_run",
                "worker": worker,
                "categories": result.categories,
                "gap_levels": result.gap_levels,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    return result


async def run_forever(runtime: WorkerRuntime, db: Database, settings: PlatformSettings) -> None:
    """The discovery process: drain discovery items often, recompute all gaps every interval."""
    last_full = 0.0

    async def tick() -> float:
        nonlocal last_full
        full = time.monotonic() - last_full >= settings.discovery_interval_s
        result = await run_discovery(
            db, limit=settings.queue_batch_size, ttl_s=settings.lease_ttl_seconds, full=full, worker=runtime.name
        )
        if full:
            last_full = time.monotonic()
            runtime.stats["discovery_runs"] = runtime.stats.get("discovery_runs", 0) + 1
            runtime.stats["categories"] = result.categories
        runtime.stats["processed"] = runtime.stats.get("processed", 0) + result.items.processed
        return 0.0 if result.items.leased else settings.queue_poll_interval_s

    await runtime.every(settings.queue_poll_interval_s, tick)
