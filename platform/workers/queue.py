"""The queue worker: lease events and discovery items, process each exactly once in effect.

Each item's ack and its effect run in one transaction, ack first: if the ack
finds the lease lost (expired, or re-leased by another worker) nothing is
done; otherwise the ack's row lock keeps other workers off the item and the
effect commits together with the ack, or neither does. So an item's effect
happens once, however often it is leased. A failure rolls the effect back and records the attempt
with `fail_*`: the queue kernel decides from the queue's policy (migration 125) when the item is
tried again or that it is dead-lettered; the worker only reads that policy to log it. A
worker that crashes leaves leases that expire; the next lease picks the items
up. On stop, the item in hand is finished and the rest of the batch released.

Topics: `discovery.user-signup` (payload/key: user id) queues discovery for
the user; `telemetry.signal` (payload: user_id, name, metadata) writes an
intent signal. Discovery items run the discovery step for their category.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from gauntlet.platform.db import UNAVAILABLE, Connection, Database
from gauntlet.platform.queries import sql
from gauntlet.platform.settings import PlatformSettings
from gauntlet.platform.workers.retry import RetryPolicy, load_retry_policy
from gauntlet.platform.workers.runtime import WorkerRuntime

log = logging.getLogger("gauntlet.worker.queue")

TOPICS: tuple[str, ...] = ("discovery.user-signup", "telemetry.signal")
QUEUE_TABLES: dict[str, str] = {"discovery": "marketplace_discovery_queue", "events": "events_queue"}
Policies = Mapping[str, RetryPolicy]  # by Leased.queue


class LeaseLost(Exception):
    """The ack found the lease gone: another worker owns the item now; roll the effect back."""


class PoisonItem(ValueError):
    """An item whose payload can never be processed (still retried, then dead-lettered)."""


# What an item's (or a job's) effect may raise that counts as its failure (recorded: backoff, then the
# dead letters); anything in UNAVAILABLE is the database's, and anything else a defect.
ITEM_FAILURES: tuple[type[Exception], ...] = (asyncpg.PostgresError, PoisonItem, KeyError, ValueError, TypeError)


@dataclass
class BatchResult:
    processed: int = 0
    errors: int = 0
    lease_lost: int = 0
    dead_lettered: int = 0
    released: int = 0
    leased: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: BatchResult) -> None:
        for name in ("processed", "errors", "lease_lost", "dead_lettered", "released", "leased"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, n in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Leased:
    """One leased item, whichever queue it came from."""

    queue: str  # "discovery" or "events"
    kind: str  # "discovery" or the event topic
    id: int
    token: uuid.UUID
    attempts: int
    row: dict[str, Any]


Effect = Callable[[Connection, Leased], Awaitable[None]]


async def _user_signup(conn: Connection, item: Leased) -> None:
    payload = item.row.get("payload") or {}
    user_id = payload.get("user_id") or item.row.get("key")
    try:
        uid = uuid.UUID(str(user_id))
    except ValueError as exc:
        raise PoisonItem(f"discovery.user-signup needs a user id, got {user_id!r}") from exc
    await conn.fetchval(sql("workers", "enqueue_discovery_for_user"), uid)


async def _telemetry_signal(conn: Connection, item: Leased) -> None:
    payload = item.row.get("payload") or {}
    try:
        uid = uuid.UUID(str(payload.get("user_id")))
    except ValueError as exc:
        raise PoisonItem(f"telemetry.signal needs payload.user_id, got {payload.get('user_id')!r}") from exc
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        raise PoisonItem("telemetry.signal needs payload.name")
    metadata = payload.get("metadata") or {}
    await conn.execute(sql("workers", "insert_intent_signal"), uid, name, metadata)


async def _discovery_item(conn: Connection, item: Leased) -> None:
    await conn.fetch(sql("workers", "upsert_marketplace_gap"), item.row["category_id"], item.row["interest_id"])


EFFECTS: dict[str, Effect] = {
    "discovery.user-signup": _user_signup,
    "telemetry.signal": _telemetry_signal,
    "discovery": _discovery_item,
}


def _queries(item: Leased) -> tuple[str, str, str]:
    if item.queue == "discovery":
        return "ack_discovery_item", "fail_discovery_item", "release_discovery_item"
    return "ack_event", "fail_event", "release_event"


async def process_item(
    db: Database,
    item: Leased,
    *,
    worker: str,
    retry_in_s: int | None = None,
    policies: Policies | None = None,
    effects: dict[str, Effect] = EFFECTS,
) -> BatchResult:
    """Run one leased item's effect and ack atomically; on failure record the attempt.

    `retry_in_s` overrides the policy's wait (the test-only fault switch); `policies` only feed the log.
    """
    result = BatchResult(by_kind={item.kind: 1})
    ack, fail, _ = _queries(item)
    context = {
        "worker": worker,
        "queue": item.queue,
        "kind": item.kind,
        "item_id": item.id,
        "attempt": item.attempts + 1,
    }
    started = time.perf_counter()
    try:
        async with db.primary() as conn, conn.transaction():
            # Ack first: the lease guard compares with now(), which is the transaction's start, so
            # it must run at the start; the ack's row lock then keeps every other worker's lease
            # (FOR UPDATE SKIP LOCKED) off the item until the effect commits or rolls back with it.
            if not await conn.fetchval(sql("workers", ack), item.id, item.token):
                raise LeaseLost(f"{item.queue} item {item.id}: lease lost before ack")
            await effects[item.kind](conn, item)
        result.processed = 1
        log.info(
            "item done", extra={"action": "ack", **context, "ms": round((time.perf_counter() - started) * 1000, 1)}
        )
        return result
    except LeaseLost:
        result.lease_lost = 1
        log.warning("lease lost; effect rolled back", extra={"action": "lease_lost", **context})
        return result
    except UNAVAILABLE:
        # The database went away mid-item: nothing committed, the lease will expire and the item
        # be re-leased. Re-raise so the loop backs off instead of failing item after item.
        raise
    except ITEM_FAILURES as exc:
        error = f"{type(exc).__name__}: {exc}"
    result.errors = 1
    policy = (policies or {}).get(item.queue)
    delay = retry_in_s if retry_in_s is not None or policy is None else policy.delay_s(item.attempts + 1)
    async with db.primary() as conn:
        status = await conn.fetchval(sql("workers", fail), item.id, item.token, error[:2000], retry_in_s)
    if status == "error":
        result.dead_lettered = 1
        log.error("item dead-lettered", extra={"action": "dead_letter", **context, "error": error})
    elif status is None:
        result.lease_lost = 1
        log.warning("failure not recorded: lease lost", extra={"action": "lease_lost", **context, "error": error})
    else:
        log.warning("item failed; will retry", extra={"action": "fail", **context, "retry_in_s": delay, "error": error})
    return result


async def load_policies(db: Database) -> dict[str, RetryPolicy]:
    """The retry policy of each queue the worker leases from, as the database defines it."""
    async with db.primary() as conn:
        return {queue: await load_retry_policy(conn, table) for queue, table in QUEUE_TABLES.items()}


async def lease(db: Database, *, topics: tuple[str, ...], limit: int, ttl_s: int) -> list[Leased]:
    """Lease up to `limit` events per topic and `limit` discovery items."""
    leased: list[Leased] = []
    async with db.primary() as conn:
        for topic in topics:
            for row in await conn.fetch(sql("workers", "lease_events"), topic, limit, ttl_s):
                leased.append(Leased("events", topic, row["id"], row["lease_token"], row["attempts"], dict(row)))
        for row in await conn.fetch(sql("workers", "lease_discovery_items"), limit, ttl_s):
            leased.append(Leased("discovery", "discovery", row["id"], row["lease_token"], row["attempts"], dict(row)))
    return leased


async def release(db: Database, items: list[Leased], *, worker: str) -> int:
    """Give unprocessed items back (shutdown) so another worker takes them at once."""
    released = 0
    async with db.primary() as conn:
        for item in items:
            if await conn.fetchval(sql("workers", _queries(item)[2]), item.id, item.token):
                released += 1
                log.info(
                    "lease released",
                    extra={"action": "release", "worker": worker, "queue": item.queue, "item_id": item.id},
                )
    return released


async def run_batch(
    db: Database,
    *,
    topics: tuple[str, ...] = TOPICS,
    limit: int = 20,
    ttl_s: int = 120,
    worker: str,
    stop: asyncio.Event | None = None,
    retry_in_s: int | None = None,
    policies: Policies | None = None,
) -> BatchResult:
    """One pass: lease, process each item, release what a stop request left unprocessed."""
    total = BatchResult()
    items = await lease(db, topics=topics, limit=limit, ttl_s=ttl_s)
    total.leased = len(items)
    for index, item in enumerate(items):
        if stop is not None and stop.is_set():
            total.released += await release(db, items[index:], worker=worker)
            break
        total.add(await process_item(db, item, worker=worker, retry_in_s=retry_in_s, policies=policies))
    return total


async def run_forever(runtime: WorkerRuntime, db: Database, settings: PlatformSettings) -> None:
    """The queue worker process: batches back to back while there is work, polling when idle."""
    retry_in_s = 0 if settings.fault_retry_without_backoff else None  # test-only fault switch
    policies: dict[str, RetryPolicy] = {}

    async def tick() -> float:
        try:
            if not policies:
                policies.update(await load_policies(db))
            result = await run_batch(
                db,
                limit=settings.queue_batch_size,
                ttl_s=settings.lease_ttl_seconds,
                worker=runtime.name,
                stop=runtime.stop,
                retry_in_s=retry_in_s,
                policies=policies,
            )
        except UNAVAILABLE:
            if settings.fault_worker_exits_on_db_loss:  # test-only fault switch
                raise SystemExit(3) from None
            raise
        for name in ("processed", "errors", "lease_lost", "dead_lettered", "released"):
            runtime.stats[name] = runtime.stats.get(name, 0) + getattr(result, name)
        # A full pass means more may be waiting: go again at once.
        return 0.0 if result.leased else settings.queue_poll_interval_s

    await runtime.every(settings.queue_poll_interval_s, tick)
