"""worker-crash: SIGKILL a queue worker in the middle of a batch; another one finishes its items, once each.

To kill the worker *mid-batch* every time (not between two batches, where
the kill proves nothing), the drill holds its subject user's row lock while
it publishes a batch of telemetry.signal events for that user: each worker
leases a batch, acks its first item and then waits on the lock inside the
item's transaction (the intent signal it writes references the user row).
Once `worker_queue_1` is seen waiting, it is killed and the lock released.
Its transaction dies with it (ack and effect roll back together), its leases
expire after the short TTL the drill gives it, and `worker_queue_2` (or the
discovery worker, for discovery items) leases and finishes them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import Action, Drill, Invariant, InvariantResult, JsonValue, LoadSpec
from gauntlet.chaos.invariants import (
    discovery_reason,
    effects_exactly_once,
    event_prefix,
    every_item_settled,
    no_duplicate_gaps,
    platform_two_effects,
    unsettled,
)
from gauntlet.chaos.probes import health_ok, nothing_unsettled
from gauntlet.chaos.sql import sql

NAME = "worker-crash"
VICTIM = "worker_queue_1"
LABEL = "crash"
SIGNAL = "chaos.worker_crash"
EVENTS = 30  # more than one batch (20), so both queue workers hold leases when the victim dies
DISCOVERY_ITEMS = 8
LEASE_TTL_S = "3"
MID_BATCH_TIMEOUT_S = 15.0


@dataclass
class _Lock:
    """The subject's row lock, held on its own connection from one action to the next."""

    conn: asyncpg.Connection | None = None
    transaction: asyncpg.transaction.Transaction | None = None

    async def hold(self, ctx: DrillContext) -> JsonValue:
        dsn = ctx.target.primary_dsn
        assert dsn is not None
        self.conn = await asyncpg.connect(dsn, timeout=5)
        self.transaction = self.conn.transaction()
        await self.transaction.start()
        await self.conn.fetchval(sql("fixtures", "lock_user_row"), ctx.subject_id())
        return {"locked_user": str(ctx.subject_id())}

    async def release(self, ctx: DrillContext) -> JsonValue:
        conn, transaction, self.conn, self.transaction = self.conn, self.transaction, None, None
        if conn is None:
            return {"released": False, "note": "not held"}
        try:
            if transaction is not None:
                await transaction.rollback()  # it only locked: nothing to keep
        finally:
            await conn.close(timeout=5)
        return {"released": True}


async def _publish_batch(ctx: DrillContext) -> JsonValue:
    async with ctx.primary() as conn:
        events = await conn.fetch(
            sql("fixtures", "enqueue_signal_events"),
            event_prefix(ctx, LABEL),
            str(ctx.subject_id()),
            EVENTS,
            SIGNAL,
            ctx.run_id,
        )
        items = await conn.fetch(sql("fixtures", "enqueue_discovery_items"), discovery_reason(ctx), DISCOVERY_ITEMS)
    return {"events": len(events), "discovery_items": len(items)}


async def _victim_mid_batch(ctx: DrillContext) -> JsonValue:
    """Until the victim is waiting inside an item with the rest of its batch leased."""
    deadline = time.monotonic() + MID_BATCH_TIMEOUT_S
    async with ctx.primary() as conn:
        while time.monotonic() < deadline:
            waiting = int(await conn.fetchval(sql("fixtures", "backends_waiting_on_locks"), f"gauntlet-{VICTIM}"))
            if waiting:
                leased = int(await conn.fetchval(sql("fixtures", "leased_events"), event_prefix(ctx, LABEL)))
                return {"victim_waiting_in_item": True, "events_leased": leased}
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{VICTIM} never took a lease within {MID_BATCH_TIMEOUT_S:g} s (is it running?)")


async def _kill_victim(ctx: DrillContext) -> JsonValue:
    return {"killed": VICTIM, "pid": await ctx.kill(VICTIM)}


async def _unsettled(ctx: DrillContext) -> int:
    return await unsettled(ctx, LABEL, discovery=True)


def _kill_landed() -> Invariant:
    """Some items were re-leased after the victim's leases expired: the kill really hit a held batch."""

    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            rows = await conn.fetch(sql("invariants", "event_outcomes"), event_prefix(ctx, LABEL))
        retried = sum(r["retried"] for r in rows if r["status"] == "done")
        return InvariantResult.check(
            retried > 0,
            retried,
            ">= 1 item finished by another worker after the victim's lease expired",
            f"{retried} items re-leased after the crash and finished by another worker",
        )

    return Invariant("the killed worker's leases were taken over", check)


def build(variant: str | None = None) -> Drill:
    lock = _Lock()
    return Drill(
        name=NAME,
        title="A queue worker crashes mid-batch; another one finishes its items exactly once",
        proves=(
            "Leases of a crashed worker expire and another worker finishes the items; every enqueued item ends "
            "done or dead-lettered, each effect is written exactly once (ack and effect commit together), and "
            "no duplicate side effects appear (gaps; notifications and ledger once they exist)."
        ),
        steady_state=(health_ok(), nothing_unsettled("no drill work waiting or stuck", _unsettled)),
        method=(
            Action("hold the subject's row lock", lock.hold),
            Action("publish a batch of events and discovery items", _publish_batch),
            Action(f"wait until {VICTIM} is mid-batch", _victim_mid_batch, timeout_s=MID_BATCH_TIMEOUT_S + 5),
            Action(f"SIGKILL {VICTIM}", _kill_victim, fault="start"),
            Action("release the row lock", lock.release),
        ),
        rollbacks=(Action("release the row lock (if still held)", lock.release),),
        invariants=(
            every_item_settled(LABEL, discovery=True),
            effects_exactly_once(LABEL, SIGNAL),
            _kill_landed(),
            no_duplicate_gaps(),
            *platform_two_effects(),
        ),
        load=LoadSpec(rate_per_s=15, before_s=1.5, after_s=1.5),
        settings={VICTIM: {"GAUNTLET_LEASE_TTL_SECONDS": LEASE_TTL_S}},
        requires=frozenset({"process_control", "database"}),
    )


SPEC = DrillSpec(NAME, "SIGKILL a queue worker mid-batch", build)
