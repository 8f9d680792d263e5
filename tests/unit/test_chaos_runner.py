"""The drill runner's state machine with fake probes, actions, load and a fake clock: no processes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.experiment import (
    Action,
    Drill,
    ErrorBudget,
    Invariant,
    InvariantResult,
    JsonValue,
    LoadSpec,
    Probe,
    equals,
)
from gauntlet.chaos.journal import CleanStack, Journal
from gauntlet.chaos.runner import run_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.chaos.windows import Sample

START = 1_000_000.0


class FakeClock:
    """Time moves only when someone sleeps; every sleep yields to the loop once."""

    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class World:
    """What the fake platform is doing: a fault that is on, and when it was removed."""

    clock: FakeClock
    fault_on: bool = False
    removed_at: float | None = None
    heals_after_s: float = 1.0  # the platform needs this long after removal to be steady again
    log: list[str] = field(default_factory=list)

    def steady(self) -> bool:
        if self.fault_on:
            return False
        return self.removed_at is None or self.clock.time() >= self.removed_at + self.heals_after_s


@dataclass
class FakeKeeper:
    passed: bool = True
    applied: list[Mapping[str, Mapping[str, str]]] = field(default_factory=list)
    cleaned: int = 0

    async def apply_settings(self, settings: Mapping[str, Mapping[str, str]]) -> None:
        self.applied.append(settings)

    async def make_clean(self) -> CleanStack:
        self.cleaned += 1
        return CleanStack(
            passed=self.passed,
            toxiproxy_reset=True,
            settings_restored={},
            restarted=[],
            unhealthy=[] if self.passed else ["api: down"],
            replicas={},
            message="clean" if self.passed else "api: down",
        )


@dataclass
class FakeLoad:
    clock: FakeClock
    samples_at: list[tuple[float, int, str]] = field(default_factory=list)  # (offset from start, status, group)
    started: bool = False
    stopped: bool = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def samples(self) -> list[Sample]:
        return [Sample(START + at, 10.0, status, "kind", group) for at, status, group in self.samples_at]  # type: ignore[arg-type]


def context() -> DrillContext:
    return DrillContext(
        target=DrillTarget(label="a fake platform", api_url="http://fake", service_key="k"), run_id="r1"
    )


def make_drill(world: World, **changes: object) -> Drill:
    async def steady(ctx: DrillContext) -> JsonValue:
        return world.steady()

    async def inject(ctx: DrillContext) -> JsonValue:
        world.fault_on = True
        world.log.append("inject")
        return {"injected": True}

    async def remove(ctx: DrillContext) -> JsonValue:
        world.fault_on = False
        world.removed_at = world.clock.time()
        world.log.append("remove")
        return None

    async def rollback(ctx: DrillContext) -> JsonValue:
        world.fault_on = False
        world.log.append("rollback")
        return None

    drill = Drill(
        name="fake-drill",
        title="a fake fault",
        proves="the runner's bookkeeping",
        steady_state=(Probe("platform steady", steady, equals(True)),),
        method=(
            Action("inject", inject, fault="start", pause_after_s=2.0),
            Action("remove", remove, fault="end"),
        ),
        rollbacks=(Action("undo", rollback),),
        load=None,
        probe_interval_s=0.5,
        recovery_timeout_s=10.0,
    )
    return drill.with_(**changes) if changes else drill


async def run(drill: Drill, world: World, **kwargs: object) -> Journal:
    return await run_drill(drill, context(), clock=world.clock, **kwargs)  # type: ignore[arg-type]


async def test_a_drill_that_recovers_passes_with_detection_and_rto_measured() -> None:
    world = World(FakeClock(), heals_after_s=1.0)
    keeper = FakeKeeper()
    journal = await run(make_drill(world), world, keeper=keeper)

    assert journal["status"] == "completed" and journal["passed"] and not journal["deviated"]
    # Injected at the start, detected at the first poll of the pause, removed 2 s later.
    assert journal["time_to_detect_s"] == 0.0
    assert journal["fault_window"]["start"] is not None and journal["fault_window"]["end"] is not None
    # Steady again 1 s after removal; polled every 0.5 s, so recovery is seen exactly then.
    assert journal["rto_s"] == pytest.approx(1.0)
    assert world.log == ["inject", "remove", "rollback"]
    assert keeper.cleaned == 1 and journal["clean_stack"] is not None and journal["clean_stack"]["passed"]
    phases = {p["phase"] for p in journal["probes"]}
    assert phases == {"before", "during", "after"}
    assert [a["name"] for a in journal["actions"]] == ["inject", "remove"]
    assert [a["fault"] for a in journal["actions"]] == ["start", "end"]


async def test_steady_state_not_met_before_fails_without_deviating_and_breaks_nothing() -> None:
    world = World(FakeClock(), fault_on=True)
    journal = await run(make_drill(world), world, keeper=FakeKeeper())

    assert journal["status"] == "failed" and not journal["deviated"] and not journal["passed"]
    assert "inject" not in world.log  # the method never ran
    assert world.log == ["rollback"]  # rollbacks always run
    assert "steady state not met before the method" in journal["reasons"][0]
    assert "platform steady observed False, expected == True" in journal["reasons"][0]


async def test_no_recovery_within_the_timeout_deviates() -> None:
    world = World(FakeClock(), heals_after_s=60.0)
    journal = await run(make_drill(world, recovery_timeout_s=3.0), world)

    assert journal["status"] == "failed" and journal["deviated"]
    assert journal["recovered_at"] is None and journal["rto_s"] is None
    assert any("not recovered within 3 s of the fault's removal" in r for r in journal["reasons"])
    assert world.log[-1] == "rollback"


async def test_a_failing_action_aborts_and_still_rolls_back_and_cleans() -> None:
    world = World(FakeClock())

    async def broken(ctx: DrillContext) -> JsonValue:
        raise RuntimeError("kill: no such process")

    drill = make_drill(world)
    drill = drill.with_(method=(drill.method[0], Action("kill something", broken), drill.method[1]))
    keeper = FakeKeeper()
    journal = await run(drill, world, keeper=keeper)

    assert journal["status"] == "aborted" and not journal["deviated"] and not journal["passed"]
    assert journal["reasons"][0] == "action 'kill something' failed: RuntimeError: kill: no such process"
    assert world.log == ["inject", "rollback"]
    assert keeper.cleaned == 1
    assert [a["ok"] for a in journal["actions"]] == [True, False]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, asyncio.CancelledError])
async def test_an_interrupt_rolls_back_records_the_journal_and_reraises(interrupt: type[BaseException]) -> None:
    world = World(FakeClock())

    async def interrupted(ctx: DrillContext) -> JsonValue:
        raise interrupt()

    drill = make_drill(world)
    drill = drill.with_(method=(drill.method[0], Action("ctrl-c here", interrupted), drill.method[1]))
    keeper = FakeKeeper()
    seen: list[Journal] = []
    with pytest.raises(interrupt):
        await run(drill, world, keeper=keeper, on_done=seen.append)

    assert world.log == ["inject", "rollback"]
    assert keeper.cleaned == 1
    assert len(seen) == 1 and seen[0]["status"] == "interrupted" and not seen[0]["passed"]
    assert "interrupted" in seen[0]["reasons"][0]


async def run_then_cancel(drill: Drill, world: World, keeper: FakeKeeper, seen: list[Journal]) -> None:
    """Start the drill, cancel it 50 ms in (as Ctrl-C under asyncio.run does), and expect the cancellation."""
    task = asyncio.create_task(run(drill, world, keeper=keeper, on_done=seen.append))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancelled_run_rolls_back() -> None:
    """A real Ctrl-C under asyncio.run cancels the task mid-pause; rollbacks still run."""
    world = World(FakeClock())
    keeper = FakeKeeper()
    seen: list[Journal] = []

    async def stall(ctx: DrillContext) -> JsonValue:
        await asyncio.sleep(30)  # real time: the test cancels it
        return None

    drill = make_drill(world)
    drill = drill.with_(method=(drill.method[0], Action("stall", stall), drill.method[1]))
    await run_then_cancel(drill, world, keeper, seen)
    assert world.log == ["inject", "rollback"] and keeper.cleaned == 1
    assert seen[0]["status"] == "interrupted"


async def test_an_instant_fault_measures_rto_from_injection() -> None:
    world = World(FakeClock(), heals_after_s=1.5)

    async def crash(ctx: DrillContext) -> JsonValue:
        world.removed_at = world.clock.time()  # a kill: nothing removes it, the platform heals itself
        return None

    drill = make_drill(world).with_(method=(Action("crash", crash, fault="start"),))
    journal = await run(drill, world)

    assert journal["passed"]
    assert journal["fault_window"]["end"] is None
    assert journal["rto_s"] == pytest.approx(1.5)
    assert journal["time_to_detect_s"] == 0.0  # the first recovery poll already saw it


async def test_failed_and_skipped_invariants() -> None:
    world = World(FakeClock())

    async def lost(ctx: DrillContext) -> InvariantResult:
        return InvariantResult.check(False, 3, 0, "3 items lost")

    async def absent(ctx: DrillContext) -> InvariantResult:
        return InvariantResult.skipped("table absent")

    async def crashes(ctx: DrillContext) -> InvariantResult:
        raise ValueError("bad SQL")

    drill = make_drill(world).with_(
        invariants=(Invariant("nothing lost", lost), Invariant("ledger", absent), Invariant("broken", crashes))
    )
    journal = await run(drill, world)

    assert journal["status"] == "failed" and journal["deviated"]
    by_name = {i["name"]: i for i in journal["invariants"]}
    assert by_name["nothing lost"]["passed"] is False and by_name["nothing lost"]["observed"] == 3
    assert by_name["ledger"]["passed"] is None and by_name["ledger"]["status"] == "skipped"
    assert by_name["broken"]["passed"] is False
    assert "the check itself failed: ValueError: bad SQL" in by_name["broken"]["message"]
    assert "invariant nothing lost failed: 3 items lost" in journal["reasons"]


async def test_a_skipped_invariant_alone_does_not_fail_the_drill() -> None:
    world = World(FakeClock())

    async def absent(ctx: DrillContext) -> InvariantResult:
        return InvariantResult.skipped("table absent")

    journal = await run(make_drill(world).with_(invariants=(Invariant("ledger", absent),)), world)
    assert journal["passed"]


async def test_the_error_budget_counts_only_its_groups_and_windows() -> None:
    world = World(FakeClock(), heals_after_s=0.0)
    # The fault starts at +2 s (before_s) and ends at +4 s: errors in writes during it are allowed
    # (the budget counts replica reads only); a replica read error during it is not.
    load = FakeLoad(
        world.clock,
        samples_at=[
            (0.5, 200, "replica_read"),
            (2.5, 503, "write"),
            (2.6, 503, "write"),
            (2.7, 200, "replica_read"),
            (3.0, 200, "replica_read"),
            (4.5, 200, "write"),
        ],
    )
    ctx = context()
    ctx.load = load
    drill = make_drill(world).with_(
        load=LoadSpec(before_s=2.0, after_s=1.0),
        error_budget=ErrorBudget(during_error_rate=0.0, groups=frozenset({"replica_read"})),
    )
    journal = await run_drill(drill, ctx, clock=world.clock)

    assert load.started and load.stopped
    assert journal["passed"], journal["reasons"]
    assert journal["windows"]["before"]["requests"] == 1
    assert journal["windows"]["during"]["requests"] == 4 and journal["windows"]["during"]["errors"] == 2
    assert journal["windows"]["during"]["by_group"]["write"]["error_rate"] == 1.0
    assert journal["windows"]["after"]["requests"] == 1

    load.samples_at.append((3.5, 503, "replica_read"))
    world2 = World(FakeClock(), heals_after_s=0.0)
    load.clock = world2.clock
    ctx2 = context()
    ctx2.load = load
    failed = await run_drill(
        make_drill(world2).with_(load=drill.load, error_budget=drill.error_budget), ctx2, clock=world2.clock
    )
    assert failed["deviated"] and failed["status"] == "failed"
    assert any(r.startswith("error budget exceeded during the fault: error_rate 0.333") for r in failed["reasons"])
    during = next(b for b in failed["budget"] if b["window"] == "during")
    assert during["groups"] == ["replica_read"] and not during["passed"]


async def test_a_latency_budget() -> None:
    world = World(FakeClock(), heals_after_s=0.0)
    load = FakeLoad(world.clock, samples_at=[(2.5, 200, "write")])
    ctx = context()
    ctx.load = load
    drill = make_drill(world).with_(
        load=LoadSpec(before_s=2.0, after_s=0.0), error_budget=ErrorBudget(during_p99_ms=5.0)
    )
    journal = await run_drill(drill, ctx, clock=world.clock)
    assert not journal["passed"]
    assert any("p99_ms 10 ms > 5 ms" in r for r in journal["reasons"])


async def test_a_failing_rollback_or_an_unclean_stack_fails_the_run() -> None:
    world = World(FakeClock())

    async def broken(ctx: DrillContext) -> JsonValue:
        raise OSError("proxy API down")

    journal = await run(make_drill(world).with_(rollbacks=(Action("undo", broken),)), world)
    assert journal["status"] == "failed" and not journal["deviated"]
    assert journal["reasons"] == ["rollback action 'undo' failed: OSError: proxy API down"]

    world2 = World(FakeClock())
    unclean = await run(make_drill(world2), world2, keeper=FakeKeeper(passed=False))
    assert unclean["status"] == "failed"
    assert unclean["reasons"] == ["stack not clean after the drill: api: down"]


async def test_a_hanging_probe_is_out_of_tolerance() -> None:
    world = World(FakeClock())

    async def hangs(ctx: DrillContext) -> JsonValue:
        await asyncio.sleep(10)  # real time, cut by the probe's timeout
        return True

    drill = make_drill(world).with_(steady_state=(Probe("hangs", hangs, equals(True), timeout_s=0.05),))
    journal = await run(drill, world)
    assert journal["status"] == "failed"
    assert journal["probes"][0]["error"] == "no answer within 0.05 s"


async def test_settings_are_applied_before_the_method() -> None:
    world = World(FakeClock())
    keeper = FakeKeeper()
    settings = {"worker_queue_1": {"GAUNTLET_LEASE_TTL_SECONDS": "3"}}
    journal = await run(make_drill(world, settings=settings), world, keeper=keeper)
    assert keeper.applied == [settings]
    assert journal["actions"][0]["name"] == "apply platform settings"
    assert journal["settings"] == settings


async def test_each_step_is_reported_as_it_begins() -> None:
    world = World(FakeClock(), heals_after_s=1.0)
    steps: list[str] = []
    drill = make_drill(world, invariants=(Invariant("nothing lost", _holds),))
    await run(drill, world, keeper=FakeKeeper(), on_step=steps.append)
    assert steps == [
        "checking the steady state before the fault",
        "injecting the fault: inject",
        "fault injected (inject): probing the steady state during the fault",
        "removing the fault: remove",
        "recovering: waiting for the steady state",
        "verifying: nothing lost",
        "rolling back: undo",
        "verifying the stack is clean",
        "passed (completed)",
    ]


async def _holds(ctx: DrillContext) -> InvariantResult:
    return InvariantResult("passed", 1, 1, "held")


async def test_an_interrupt_while_injecting_records_the_fault_window_from_the_injection() -> None:
    """Ctrl-C after the proxy took the toxic but before it answered: the fault may be on, so it has a window."""
    world = World(FakeClock())
    keeper = FakeKeeper()
    seen: list[Journal] = []

    async def inject_then_hang(ctx: DrillContext) -> JsonValue:
        world.fault_on = True
        world.log.append("inject")
        await asyncio.sleep(30)  # real time: the test cancels it while the answer is awaited
        return None

    drill = make_drill(world)
    drill = drill.with_(method=(Action("inject", inject_then_hang, fault="start"), drill.method[1]))
    await run_then_cancel(drill, world, keeper, seen)
    assert world.log == ["inject", "rollback"] and keeper.cleaned == 1
    journal = seen[0]
    assert journal["status"] == "interrupted" and not journal["passed"]
    assert journal["fault_window"]["start"] is not None
    (inject,) = journal["actions"]
    assert inject["fault"] == "start" and not inject["ok"] and inject["error"] == "interrupted before it answered"
