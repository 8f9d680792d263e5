"""db-partition against the embedded stack: passes (both variants); fails when workers die with the database."""

from __future__ import annotations

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.target import DrillTarget
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
