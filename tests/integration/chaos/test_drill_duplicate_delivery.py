"""duplicate-delivery against the embedded stack: passes; fails when deliveries lose their idempotency key."""

from __future__ import annotations

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import assert_failed_for, assert_passed, broken_platform, run

pytestmark = pytest.mark.integration


async def test_duplicate_delivery_passes(chaos_target: DrillTarget) -> None:
    journal = await run(get_drill("duplicate-delivery"), chaos_target)
    assert_passed(journal)
    assert journal["rollbacks"][0]["output"] == {"jobs": 1, "dead_letters": 0}  # the drill's job is cleaned up


async def test_duplicate_delivery_fails_without_idempotency_keys(
    gauntlet_stack: StackState, chaos_target: DrillTarget
) -> None:
    restores = ("140_rpc_events_queue.sql", "150_rpc_worker_jobs.sql")
    async with broken_platform(gauntlet_stack, "no_idempotency_key", restores):
        journal = await run(get_drill("duplicate-delivery"), chaos_target)
    assert_failed_for(
        journal,
        "invariant one job however often it is delivered failed: 10 jobs",
        "invariant one event however often it is delivered failed: 10 events",
        "invariant one effect for the replayed event failed: 10 intent signals",
    )
