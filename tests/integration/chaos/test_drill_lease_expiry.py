"""lease-expiry against the embedded stack: passes; fails when the ack ignores the lease guard."""

from __future__ import annotations

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import assert_failed_for, assert_passed, broken_platform, run

pytestmark = pytest.mark.integration


async def test_lease_expiry_passes(chaos_target: DrillTarget) -> None:
    journal = await run(get_drill("lease-expiry"), chaos_target)
    assert_passed(journal)
    assert len(journal["invariants"]) == 5 and all(i["passed"] for i in journal["invariants"])


async def test_lease_expiry_fails_when_the_ack_ignores_the_lease_guard(
    gauntlet_stack: StackState, chaos_target: DrillTarget
) -> None:
    async with broken_platform(gauntlet_stack, "ack_without_lease_guard", ("140_rpc_events_queue.sql",)):
        journal = await run(get_drill("lease-expiry"), chaos_target)
    assert_failed_for(journal, "invariant an ack after the lease expired is a no-op failed")
