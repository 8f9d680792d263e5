"""poison-job against the embedded stack: passes; fails when the queue workers retry without backoff."""

from __future__ import annotations

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import assert_failed_for, assert_passed, restarted_with, run

pytestmark = pytest.mark.integration


async def test_poison_job_passes(chaos_target: DrillTarget) -> None:
    journal = await run(get_drill("poison-job"), chaos_target)
    assert_passed(journal)
    schedules = {i["name"]: i["observed"] for i in journal["invariants"]}
    assert schedules["event retries back off on schedule"] == [10.0, 20.0, 40.0, 80.0]
    assert schedules["job retries back off on schedule"] == [60.0, 120.0, 240.0]


async def test_poison_job_fails_when_retries_do_not_back_off(
    gauntlet_stack: StackState, chaos_target: DrillTarget
) -> None:
    switch = {"GAUNTLET_FAULT_RETRY_WITHOUT_BACKOFF": "1"}
    async with restarted_with(gauntlet_stack, ["worker_queue_1", "worker_queue_2"], switch):
        journal = await run(get_drill("poison-job"), chaos_target)
    assert_failed_for(journal, "invariant event retries back off on schedule failed")
