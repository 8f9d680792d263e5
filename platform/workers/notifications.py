"""The notifications worker: drains the outbox (`notifications.deliver` events) into deliveries.

`notif_outbox_drain` marks each notification delivered and acks its outbox
item in one transaction, so a crashed or duplicated worker never delivers
twice (220_notifications.sql). Delivery itself is in-app here (the badge and
the list read `notifications`); email and push would be sent at this point.
While the outbox has a full batch waiting, the worker drains again at once.
"""

from __future__ import annotations

import logging

from gauntlet.platform.db import Database
from gauntlet.platform.queries import sql
from gauntlet.platform.settings import PlatformSettings
from gauntlet.platform.workers.runtime import WorkerRuntime

log = logging.getLogger("gauntlet.worker.notifications")
BATCH = 100
LEASE_TTL_S = 60


async def drain_once(db: Database, *, limit: int = BATCH) -> int:
    """Drain one batch from the outbox (delivering what is not yet delivered); returns how many items it drained."""
    async with db.primary() as conn:
        rows = await conn.fetch(sql("workers", "notif_outbox_drain"), limit, LEASE_TTL_S)
    delivered = [r for r in rows if r["delivered"]]
    for row in delivered:
        log.info(
            "notification delivered",
            extra={"action": "deliver", "notification_id": row["notification_id"], "channel": row["channel"]},
        )
    return len(rows)


async def run_forever(runtime: WorkerRuntime, db: Database, settings: PlatformSettings) -> None:
    async def tick() -> float | None:
        drained = await drain_once(db)
        runtime.stats["delivered"] = runtime.stats.get("delivered", 0) + drained
        return 0.0 if drained >= BATCH else None  # a full batch: more is waiting

    await runtime.every(settings.queue_poll_interval_s, tick)
