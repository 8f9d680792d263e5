"""worker-crash against the embedded stack: passes; fails when expired leases are never taken over."""

from __future__ import annotations

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import SHORT_RECOVERY_S, assert_failed_for, assert_passed, broken_platform, run

pytestmark = pytest.mark.integration


async def test_worker_crash_passes(chaos_target: DrillTarget) -> None:
    journal = await run(get_drill("worker-crash"), chaos_target)
    assert_passed(journal)
    taken_over = {i["name"]: i for i in journal["invariants"]}["the killed worker's leases were taken over"]
    assert isinstance(taken_over["observed"], int) and taken_over["observed"] > 0
    assert journal["rto_s"] is not None and journal["rto_s"] >= 2.0  # at least the victim's lease TTL (3 s) minus slack
    assert journal["clean_stack"] is not None and journal["clean_stack"]["settings_restored"] == {
        "worker_queue_1": ["GAUNTLET_LEASE_TTL_SECONDS"]
    }


async def test_worker_crash_fails_when_expired_leases_are_never_released(
    gauntlet_stack: StackState, chaos_target: DrillTarget
) -> None:
    drill = get_drill("worker-crash").with_(recovery_timeout_s=SHORT_RECOVERY_S)
    async with broken_platform(
        gauntlet_stack, "leases_never_expire", ("130_rpc_discovery_queue.sql", "140_rpc_events_queue.sql")
    ):
        journal = await run(drill, chaos_target)
    assert_failed_for(journal, "not recovered within", "invariant every item done or dead-lettered failed")
