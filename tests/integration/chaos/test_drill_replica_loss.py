"""replica-loss against the embedded stack: passes (kill and proxy variants); fails without the fallback."""

from __future__ import annotations

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import (
    assert_failed_for,
    assert_passed,
    replica_reads_routed,
    restarted_with,
    run,
)

pytestmark = pytest.mark.integration


async def test_replica_loss_passes(chaos_target: DrillTarget) -> None:
    journal = await run(get_drill("replica-loss"), chaos_target)
    assert await replica_reads_routed(chaos_target), "RPC reads never reach the replica (read routing broken)"
    assert_passed(journal)
    assert journal["time_to_detect_s"] is not None and journal["rto_s"] is not None
    lag = {i["name"]: i for i in journal["invariants"]}["replica lag back to zero"]
    assert lag["observed"] == 0
    assert journal["clean_stack"] is not None and "streaming" in journal["clean_stack"]["replicas"]["pg_replica_1"]


async def test_replica_loss_through_its_proxy_passes(chaos_target: DrillTarget) -> None:
    assert await replica_reads_routed(chaos_target), "RPC reads never reach the replica (read routing broken)"
    assert_passed(await run(get_drill("replica-loss", "proxy"), chaos_target))


async def test_replica_loss_fails_without_the_replica_fallback(
    gauntlet_stack: StackState, chaos_target: DrillTarget
) -> None:
    assert await replica_reads_routed(chaos_target), "RPC reads never reach the replica (read routing broken)"
    async with restarted_with(gauntlet_stack, ["api"], {"GAUNTLET_FAULT_DISABLE_REPLICA_FALLBACK": "1"}):
        journal = await run(get_drill("replica-loss"), chaos_target)
    assert_failed_for(journal, "error budget exceeded during the fault: error_rate")
