"""db-partition against the embedded stack: passes (both variants); fails when workers die with the database.

Also the platform behaviour the drill's "nothing half-written" check relies on: a write refused before
it reached the database is a plain 503, one whose answer was cut off after it committed says so
(`outcome_unknown`), so the drill can tell a refused write from one in doubt.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.load_driver import OUTCOME_UNKNOWN, SIGNAL_NAME
from gauntlet.chaos.sql import sql
from gauntlet.chaos.target import DrillTarget
from gauntlet.chaos.users import ensure_users
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import (
    SHORT_RECOVERY_S,
    assert_failed_for,
    assert_passed,
    replica_reads_routed,
    restarted_with,
    run,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("variant", ["disable", "reset-peer"])
async def test_db_partition_passes(chaos_target: DrillTarget, variant: str) -> None:
    journal = await run(get_drill("db-partition", variant), chaos_target)
    assert await replica_reads_routed(chaos_target), "RPC reads never reach the replica (read routing broken)"
    assert_passed(journal)
    fast = {i["name"]: i for i in journal["invariants"]}["writes fail fast with 503 and a retry hint"]
    assert isinstance(fast["observed"], dict) and fast["observed"]["failed"]


async def test_db_partition_fails_when_workers_exit_on_database_loss(
    gauntlet_stack: StackState, chaos_target: DrillTarget
) -> None:
    drill = get_drill("db-partition").with_(recovery_timeout_s=SHORT_RECOVERY_S)
    switch = {"GAUNTLET_FAULT_WORKER_EXITS_ON_DB_LOSS": "1"}
    async with restarted_with(gauntlet_stack, ["worker_queue_1", "worker_queue_2"], switch):
        journal = await run(drill, chaos_target)
    assert_failed_for(journal, "not recovered within", "invariant every item done or dead-lettered failed")
    assert journal["clean_stack"] is not None and set(journal["clean_stack"]["restarted"]) >= {
        "worker_queue_1",
        "worker_queue_2",
    }


async def _stored(conn: asyncpg.Connection, run_id: str) -> int:
    rows = await conn.fetch(sql("invariants", "signals_by_seq"), SIGNAL_NAME, run_id)
    return sum(int(r["signals"]) for r in rows)


async def test_a_write_cut_off_after_it_committed_is_in_doubt_and_one_refused_before_is_not(
    chaos_target: DrillTarget,
) -> None:
    async with httpx.AsyncClient(base_url=chaos_target.api_url, timeout=30) as api:
        ctx = DrillContext(chaos_target, run_id=f"doubt{uuid.uuid4().hex[:8]}", api=api)
        [user] = await ensure_users(ctx, ["chaos-in-doubt@gauntlet.invalid"])
        proxy = ctx.proxy("primary_db")

        def write(seq: int, run_id: str = ctx.run_id) -> dict[str, object]:
            return {"p_name": SIGNAL_NAME, "p_metadata": {"chaos_run": run_id, "seq": seq}}

        # A live pooled connection first (one cut by an earlier drill would be reconnected through
        # the slow proxy below and time out before the write is even sent).
        for seq in range(3):
            warm = await ctx.rpc("emit_signal", write(seq, f"{ctx.run_id}-warm"), token=user.token)
            assert warm.status_code == 200, warm.text
        try:
            # Answers from the primary come 2 s late, so the write commits well before its answer
            # arrives (seen on a direct connection, polled); cut the connection in between.
            await ctx.add_toxic(proxy, "latency", name="in_doubt", attributes={"latency": 2000})
            async with ctx.primary() as direct:
                sent = asyncio.create_task(ctx.rpc("emit_signal", write(1), token=user.token))
                deadline = time.monotonic() + 60
                while await _stored(direct, ctx.run_id) == 0:
                    assert not sent.done(), f"the write was answered before it was stored: {(await sent).text}"
                    assert time.monotonic() < deadline, "the write never reached the primary"
                    await asyncio.sleep(0.02)
                await ctx.set_proxy_enabled(proxy, False)
            cut = await sent
            assert cut.status_code == 503 and "retry-after" in cut.headers, cut.text
            assert cut.json()["code"] == OUTCOME_UNKNOWN, cut.text

            # Partitioned before the write is sent: refused, says nothing about doubt, and not stored.
            refused = await ctx.rpc("emit_signal", write(2), token=user.token)
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] != OUTCOME_UNKNOWN, refused.text
        finally:
            await ctx.reset_faults()
        async with ctx.primary() as direct:
            assert await _stored(direct, ctx.run_id) == 1
