"""redis-stall against the embedded stack: passes; fails when the API has no Redis fallback."""

from __future__ import annotations

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import assert_failed_for, assert_passed, restarted_with, run

pytestmark = pytest.mark.integration


async def test_redis_stall_passes(chaos_target: DrillTarget) -> None:
    journal = await run(get_drill("redis-stall"), chaos_target)
    assert_passed(journal)
    assert journal["time_to_detect_s"] is not None  # health and the feature store notice the stall
    names = {i["name"]: i for i in journal["invariants"]}
    assert names["a warning was logged"]["passed"] is True


async def test_redis_stall_fails_without_the_redis_fallback(
    gauntlet_stack: StackState, chaos_target: DrillTarget
) -> None:
    drill = get_drill("redis-stall")
    async with restarted_with(gauntlet_stack, ["api"], {"GAUNTLET_FAULT_DISABLE_REDIS_FALLBACK": "1"}):
        journal = await run(drill, chaos_target)
    assert_failed_for(journal, "error budget exceeded during the fault: error_rate")
