"""db-latency against the embedded stack: passes; fails when waits for the primary are unbounded."""

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

# No bound on waiting for a pool connection or for a statement: the protection removed.
UNBOUNDED = {"GAUNTLET_CONNECT_TIMEOUT_S": "120", "GAUNTLET_STATEMENT_TIMEOUT_MS": "600000"}


async def test_db_latency_passes(chaos_target: DrillTarget) -> None:
    journal = await run(get_drill("db-latency"), chaos_target)
    assert await replica_reads_routed(chaos_target), "RPC reads never reach the replica (read routing broken)"
    assert_passed(journal)
    during = journal["windows"]["during"]
    assert during["errors"] > 0 and during["statuses"].get("503", 0) > 0  # the excess failed fast, as 503s


async def test_db_latency_fails_when_waits_are_unbounded(gauntlet_stack: StackState, chaos_target: DrillTarget) -> None:
    async with restarted_with(gauntlet_stack, ["api"], UNBOUNDED):
        journal = await run(get_drill("db-latency"), chaos_target)
    assert_failed_for(journal, "error budget exceeded during the fault: p99_ms")
