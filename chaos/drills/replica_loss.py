"""replica-loss: the read replica dies; reads fall back to the primary, then return to the replica.

Variant `kill` (default): SIGKILL the replica's postmaster and its children
(a lost node), then bring it back with `gauntlet restart`, which re-clones it
with pg_basebackup when it cannot resume. Variant `proxy`: disable the
replica's proxy (the replica lives, the platform cannot reach it), then
enable it again. Either way users must not see errors beyond the budget, and
afterwards reads must go to the replica again and its lag drop to zero.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import psutil

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import (
    USER_GROUPS,
    Action,
    Capability,
    Drill,
    ErrorBudget,
    Invariant,
    InvariantResult,
    JsonValue,
    LoadSpec,
    ProviderCall,
)
from gauntlet.chaos.probes import (
    health_ok,
    recent_error_rate,
    replica_lag_bytes,
    replica_serving_reads,
    replica_streaming,
)
from gauntlet.chaos.providers import provided_action
from gauntlet.chaos.providers.process import MODULE as PROCESS
from gauntlet.chaos.providers.toxiproxy import MODULE as TOXIPROXY
from gauntlet.stack.state import load_state

NAME = "replica-loss"
REPLICA = "pg_replica_1"
FAULT_S = 4.0
VARIANTS = ("kill", "proxy")
CATCH_UP_TIMEOUT_S = 15.0


async def _kill_replica(ctx: DrillContext) -> JsonValue:
    """SIGKILL the postmaster and every process it started, as a lost machine would."""
    state_dir = ctx.target.state_dir
    assert state_dir is not None
    state = load_state(Path(state_dir))
    record = state.services.get(REPLICA) if state else None
    if record is None or record.pid is None:
        raise RuntimeError(f"{REPLICA} is not in the stack's state")
    try:
        children = psutil.Process(record.pid).children(recursive=True)
    except psutil.Error:
        children = []
    pid = await ctx.kill(REPLICA, signal.SIGKILL)
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            continue  # already gone with its postmaster
    return {"killed": REPLICA, "pid": pid, "children": len(children)}


def caught_up() -> Invariant:
    """Once the load stopped, the replica replays everything: lag 0 bytes."""

    async def check(ctx: DrillContext) -> InvariantResult:
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        lag = await replica_lag_bytes(ctx, REPLICA)
        while lag != 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            lag = await replica_lag_bytes(ctx, REPLICA)
        return InvariantResult.check(
            lag == 0,
            lag,
            0,
            "the replica caught up (lag 0 B)" if lag == 0 else f"lag {lag} B after {CATCH_UP_TIMEOUT_S:g} s",
        )

    return Invariant("replica lag back to zero", check, timeout_s=CATCH_UP_TIMEOUT_S + 10)


def build(variant: str | None = None) -> Drill:
    variant = variant or VARIANTS[0]
    if variant == "proxy":
        proxy: dict[str, JsonValue] = {"role": "replica_db"}
        lose = provided_action(
            f"disable the {REPLICA} proxy",
            ProviderCall(TOXIPROXY, "disable_proxy", proxy),
            fault="start",
            pause_after_s=FAULT_S,
        )
        restore = provided_action(
            f"enable the {REPLICA} proxy", ProviderCall(TOXIPROXY, "enable_proxy", proxy), fault="end"
        )
        requires: frozenset[Capability] = frozenset({"fault_proxy", "database"})
    else:
        lose = Action(f"SIGKILL {REPLICA}", _kill_replica, fault="start", pause_after_s=FAULT_S)
        restore = provided_action(
            f"bring {REPLICA} back (re-clone if needed)",
            ProviderCall(PROCESS, "restart", {"service": REPLICA}),
            fault="end",
            timeout_s=120,
        )
        requires = frozenset({"process_control", "database"})
    return Drill(
        name=NAME,
        title="The read replica is lost; reads fall back to the primary and return to the replica",
        proves=(
            "Losing the replica costs users no errors beyond the budget (reads are retried on the primary); "
            "once it is back, reads go to it again and its replication lag returns to zero."
        ),
        steady_state=(
            health_ok(),
            replica_serving_reads(0),
            replica_streaming(REPLICA),
            recent_error_rate(USER_GROUPS),
        ),
        method=(lose, restore),
        invariants=(caught_up(),),
        error_budget=ErrorBudget(during_error_rate=0.01, after_error_rate=0.02),
        load=LoadSpec(rate_per_s=20, before_s=1.5, after_s=1.5),
        requires=requires,
        roles=frozenset({"replica_db"}) if variant == "proxy" else frozenset(),
    )


SPEC = DrillSpec(NAME, "lose the read replica (kill it, or cut its proxy)", build, VARIANTS)
