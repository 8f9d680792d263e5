"""Running a drill: hypothesis before -> method -> recovery -> invariants; rollbacks always.

The order, as in chaostoolkit: the steady-state hypothesis must hold before
anything is broken (else the run *fails* without deviating: the platform was
not steady to begin with). The method runs its actions; from the action that
injects the fault, every pause polls the hypothesis, and the first probe that
fails is the *detection*. After the method, the hypothesis is polled until it
holds again (*recovery*; RTO is measured from the fault's removal, or from
its injection when nothing removes it, like a kill) or the recovery timeout
passes. Then the error budget is checked against the load's windows and the
invariants run. Rollbacks and the clean-stack check run in `finally`, also on
Ctrl-C (status `interrupted`) and when an action fails (status `aborted`).

The runner is sequential on purpose: probes run only in the pauses between
actions, so a run is deterministic under a fake clock and easy to test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.evidence import FaultEvidence, effect_seen, inconclusive_reasons, moved
from gauntlet.chaos.experiment import (
    Action,
    Drill,
    FaultMark,
    Invariant,
    InvariantResult,
    JsonValue,
    Probe,
    ensure_drill_is_valid,
)
from gauntlet.chaos.journal import (
    SCHEMA,
    ActionPhase,
    ActionRecord,
    BudgetCheck,
    CleanStack,
    Evidence,
    InvariantRecord,
    Journal,
    Phase,
    ProbeRecord,
    Status,
    TrafficEvidence,
    iso,
)
from gauntlet.chaos.verdict import Bounds, Moments, budget_checks, budget_reason, window_bounds, windows
from gauntlet.chaos.windows import Sample, timeline

# Reads the fault proxy's byte counters per proxy (None: this Toxiproxy has none).
TrafficReader = Callable[[], Awaitable[dict[str, int] | None]]
SETTLE_TIMEOUT_S = 5.0  # how long the steady state may take to appear before the method (fresh restarts)


class Clock(Protocol):
    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class StackKeeper(Protocol):
    """Applies a drill's platform settings and, at the end, leaves the stack as it found it."""

    async def apply_settings(self, settings: Mapping[str, Mapping[str, str]]) -> None: ...

    async def make_clean(self) -> CleanStack: ...


class _ActionFailed(Exception):
    def __init__(self, action: str, error: str) -> None:
        super().__init__(f"action {action!r} failed: {error}")


@dataclass
class _Run:
    drill: Drill
    ctx: DrillContext
    clock: Clock
    keeper: StackKeeper | None
    traffic: TrafficReader | None = None
    on_step: Callable[[str], None] = lambda step: None  # what the run is doing now, for a live view
    status: Status = "completed"
    deviated: bool = False
    reasons: list[str] = field(default_factory=list)
    probes: list[ProbeRecord] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    rollbacks: list[ActionRecord] = field(default_factory=list)
    invariants: list[InvariantRecord] = field(default_factory=list)
    budget: list[BudgetCheck] = field(default_factory=list)
    clean_stack: CleanStack | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    load_started_at: float | None = None
    load_stopped_at: float | None = None
    fault_start: float | None = None
    fault_end: float | None = None
    detected_at: float | None = None
    recovered_at: float | None = None
    method_done: bool = False
    samples: list[Sample] = field(default_factory=list)
    # The proxies' byte counters when the load started, when the fault was injected and before it was removed.
    bytes_at_load: dict[str, int] | None = None
    bytes_at_start: dict[str, int] | None = None
    bytes_at_end: dict[str, int] | None = None
    verdict: str = "passed"
    evidence: Evidence | None = None

    async def read_traffic(self) -> dict[str, int] | None:
        if self.traffic is None:
            return None
        try:
            return await self.traffic()
        except Exception:  # evidence we cannot read is evidence missing, not a crashed drill
            return None

    # -- the phases ------------------------------------------------------------------------------

    async def execute(self) -> None:
        self.started_at = self.ctx.started_at = self.clock.time()
        try:
            if self.drill.settings and self.keeper is not None:
                await self._step("apply platform settings", "setup", self._apply_settings)
            for action in self.drill.setup:
                await self.action(action, "setup")
            load = self.ctx.load
            if load is not None:
                self.on_step("starting the background load")
                await load.start()
                self.load_started_at = self.clock.time()
            self.bytes_at_load = await self.read_traffic()
            self.on_step("checking the steady state before the fault")
            if not await self.settle():
                return
            if load is not None and self.drill.load is not None and self.load_started_at is not None:
                self.on_step("load baseline before the fault")
                await self.pause(self.drill.load.before_s - (self.clock.time() - self.load_started_at))
            for action in self.drill.method:
                await self.action(action, "method")
            self.method_done = True
            if self.bytes_at_end is None:  # nothing removed the fault (a kill): up to the end of the method
                self.bytes_at_end = await self.read_traffic()
            self.on_step("recovering: waiting for the steady state")
            await self.await_recovery()
            if load is not None and self.drill.load is not None:
                self.on_step("load after recovery")
                await self.clock.sleep(self.drill.load.after_s)
        except _ActionFailed as exc:
            self.status = "aborted"
            self.reasons.append(str(exc))
            return
        await self.stop_load()
        await self.check_invariants()

    async def _apply_settings(self) -> JsonValue:
        assert self.keeper is not None
        await self.keeper.apply_settings(self.drill.settings)
        return {service: dict(env) for service, env in self.drill.settings.items()}

    async def settle(self) -> bool:
        """The hypothesis before the method: polled briefly, since a service may have just restarted."""
        deadline = self.clock.time() + SETTLE_TIMEOUT_S
        while not await self.hypothesis("before"):
            if self.clock.time() >= deadline:
                failing = self._failing("before")
                self.status = "failed"
                self.reasons.append(f"steady state not met before the method, so nothing was broken: {failing}")
                return False
            await self.clock.sleep(self.drill.probe_interval_s)
        return True

    async def await_recovery(self) -> None:
        reference = self.fault_end if self.fault_end is not None else self.fault_start
        assert reference is not None  # validation guarantees a fault='start' action
        deadline = reference + self.drill.recovery_timeout_s
        while True:
            if await self.hypothesis("after"):
                self.recovered_at = self.clock.time()
                return
            now = self.clock.time()
            if now >= deadline:
                self.deviated = True
                since = "removal" if self.fault_end is not None else "injection"
                self.reasons.append(
                    f"not recovered within {self.drill.recovery_timeout_s:g} s of the fault's {since}: "
                    + self._failing("after")
                )
                return
            await self.clock.sleep(min(self.drill.probe_interval_s, deadline - now))

    async def stop_load(self) -> None:
        load = self.ctx.load
        if load is None or self.load_started_at is None or self.load_stopped_at is not None:
            return
        self.load_stopped_at = self.clock.time()
        await load.stop()
        self.samples = load.samples()

    async def check_invariants(self) -> None:
        if not self.method_done:
            return
        for invariant in self.drill.invariants:
            self.on_step(f"verifying: {invariant.name}")
            result = await self._invariant(invariant)
            self.invariants.append(
                InvariantRecord(
                    name=invariant.name,
                    status=result.status,
                    passed=None if result.status == "skipped" else result.status == "passed",
                    observed=result.observed,
                    expected=result.expected,
                    message=result.message,
                )
            )
            if result.status == "failed":
                self.deviated = True
                self.reasons.append(f"invariant {invariant.name} failed: {result.message}")

    async def _invariant(self, invariant: Invariant) -> InvariantResult:
        try:
            async with asyncio.timeout(invariant.timeout_s):
                return await invariant.fn(self.ctx)
        except TimeoutError:
            return InvariantResult("failed", None, None, f"did not finish within {invariant.timeout_s:g} s")
        except Exception as exc:  # a check that crashes proves nothing: it fails, and says why
            return InvariantResult("failed", None, None, f"the check itself failed: {type(exc).__name__}: {exc}")

    async def finish(self) -> None:
        """Always: stop the load, run the rollbacks, leave the stack clean. Each step is isolated."""
        try:
            await self.stop_load()
        except Exception as exc:
            self.reasons.append(f"stopping the background load failed: {type(exc).__name__}: {exc}")
        for action in self.drill.rollbacks:
            self.on_step(f"rolling back: {action.name}")
            try:
                await self._step(action.name, "rollback", _bound(action, self.ctx), timeout_s=action.timeout_s)
            except _ActionFailed as exc:
                self.reasons.append(f"rollback {exc}")
                if self.status == "completed":
                    self.status = "failed"
        if self.keeper is not None:
            self.on_step("verifying the stack is clean")
            try:
                self.clean_stack = await self.keeper.make_clean()
            except Exception as exc:
                self.clean_stack = _unclean(f"the clean-stack check crashed: {type(exc).__name__}: {exc}")
            if not self.clean_stack["passed"]:
                self.reasons.append(f"stack not clean after the drill: {self.clean_stack['message']}")
                if self.status == "completed":
                    self.status = "failed"
        self.ended_at = self.clock.time()

    # -- activities ------------------------------------------------------------------------------

    async def action(self, action: Action, phase: ActionPhase) -> None:
        await self.pause(action.pause_before_s)
        await self._step(action.name, phase, _bound(action, self.ctx), timeout_s=action.timeout_s, mark=action)
        await self.pause(action.pause_after_s)

    async def _step(
        self,
        name: str,
        phase: ActionPhase,
        fn: Callable[[], Awaitable[JsonValue]],
        *,
        timeout_s: float = 120.0,
        mark: Action | None = None,
    ) -> None:
        fault = mark.fault if mark is not None else None
        if phase != "rollback":
            self.on_step(_step_label(name, phase, fault, fault_on=self.fault_start is not None))
        if fault == "end":
            self.bytes_at_end = await self.read_traffic()
        started = self.clock.time()
        output: JsonValue = None
        error: str | None = None
        try:
            async with asyncio.timeout(timeout_s):
                output = await fn()
        except TimeoutError:
            error = f"did not finish within {timeout_s:g} s"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        except (asyncio.CancelledError, KeyboardInterrupt):
            # Ctrl-C mid-action: recorded as such. An injection may have landed before its answer came
            # back (the proxy holds the toxic), so the fault's window starts where the injection began.
            self._record(name, phase, fault, started, None, "interrupted before it answered")
            if fault == "start":
                self.fault_start = self.ctx.fault_started_at = started
            raise
        ended = self._record(name, phase, fault, started, output, error)
        if error is not None:
            raise _ActionFailed(name, error)
        if fault == "start":
            self.fault_start = self.ctx.fault_started_at = ended
            self.bytes_at_start = await self.read_traffic()
            self.on_step(f"fault injected ({name}): probing the steady state during the fault")
        elif fault == "end":
            self.fault_end = self.ctx.fault_ended_at = ended

    def _record(
        self,
        name: str,
        phase: ActionPhase,
        fault: FaultMark | None,
        started: float,
        output: JsonValue,
        error: str | None,
    ) -> float:
        """Journal one action (a rollback among the rollbacks) as ending now; returns when it ended."""
        ended = self.clock.time()
        record = ActionRecord(
            name=name,
            phase=phase,
            fault=fault,
            started_at=iso(started) or "",
            ended_at=iso(ended) or "",
            ok=error is None,
            output=output,
            error=error,
        )
        (self.rollbacks if phase == "rollback" else self.actions).append(record)
        return ended

    async def pause(self, seconds: float) -> None:
        """Wait; while the fault is on, poll the hypothesis meanwhile (that is how detection is timed)."""
        if seconds <= 0:
            return
        end = self.clock.time() + seconds
        if self.fault_start is None:
            await self.clock.sleep(seconds)
            return
        while (remaining := end - self.clock.time()) > 0:
            await self.hypothesis("during")
            remaining = end - self.clock.time()
            if remaining > 0:
                await self.clock.sleep(min(self.drill.probe_interval_s, remaining))

    async def hypothesis(self, phase: Phase) -> bool:
        results = [await self.probe(probe, phase) for probe in self.drill.steady_state]
        return all(results)

    async def probe(self, probe: Probe, phase: Phase) -> bool:
        started = self.clock.time()
        observed: JsonValue = None
        error: str | None = None
        try:
            async with asyncio.timeout(probe.timeout_s):
                observed = await probe.fn(self.ctx)
        except TimeoutError:
            error = f"no answer within {probe.timeout_s:g} s"
        except Exception as exc:  # a probe that cannot observe is a probe out of tolerance
            error = f"{type(exc).__name__}: {exc}"
        ended = self.clock.time()
        ok = error is None and probe.tolerance.accepts(observed)
        self.probes.append(
            ProbeRecord(
                name=probe.name,
                phase=phase,
                at=iso(ended) or "",
                duration_ms=round((ended - started) * 1000, 3),
                observed=observed,
                expected=probe.tolerance.description,
                within_tolerance=ok,
                error=error,
            )
        )
        if not ok and phase != "before" and self.fault_start is not None and self.detected_at is None:
            self.detected_at = ended
        return ok

    def _failing(self, phase: Phase) -> str:
        """The probes of the last round of `phase` that were out of tolerance, for a reason line."""
        latest: dict[str, ProbeRecord] = {}
        for record in self.probes:
            if record["phase"] == phase:
                latest[record["name"]] = record
        parts = [
            f"{r['name']} observed {r['error'] or r['observed']!r}, expected {r['expected']}"
            for r in latest.values()
            if not r["within_tolerance"]
        ]
        return "; ".join(parts) or "no probe ran"

    # -- verdict ---------------------------------------------------------------------------------

    def bounds(self) -> Bounds:
        stop = self.load_stopped_at if self.load_stopped_at is not None else self.clock.time()
        return window_bounds(Moments(self.load_started_at, stop, self.fault_start, self.fault_end, self.recovered_at))

    def check_budget(self) -> None:
        if self.ctx.load is None or not self.method_done or self.status == "interrupted":
            return
        for check, requests in budget_checks(self.samples, self.bounds(), self.drill.error_budget):
            self.budget.append(check)
            if not check["passed"]:
                self.deviated = True
                self.reasons.append(budget_reason(check, requests))

    def check_evidence(self) -> None:
        """A drill that faulted a proxy must show the fault landed; without that it is inconclusive."""
        if not self.ctx.faulted or not self.method_done or self.status == "interrupted":
            return
        traffic = [
            FaultEvidence(
                proxy=proxy,
                kind=kind,
                bytes_before=moved(self.bytes_at_load, self.bytes_at_start, proxy),
                bytes_during=moved(self.bytes_at_start, self.bytes_at_end, proxy),
            )
            for proxy, kind in self.ctx.faulted.items()
        ]
        bounds = self.bounds()
        cut = windows(self.samples, bounds)
        seen = effect_seen(
            detected=self.detected_at is not None,
            before=cast(Mapping[str, object], cut["before"]),
            during=cast(Mapping[str, object], cut["during"]),
        )
        self.evidence = Evidence(
            traffic=[
                TrafficEvidence(
                    proxy=e.proxy,
                    kind=e.kind,
                    bytes_before=e.bytes_before,
                    bytes_during=e.bytes_during,
                    landed=e.landed,
                )
                for e in traffic
            ],
            effect_seen=seen,
        )
        reasons = inconclusive_reasons(traffic, effect=seen)
        if reasons:
            self.reasons.extend(reasons)
            if self.status == "completed" and not self.deviated:
                self.verdict = "inconclusive"
                self.status = "failed"

    def journal(self) -> Journal:
        self.check_budget()
        self.check_evidence()
        if self.deviated and self.status == "completed":
            self.status = "failed"
        if self.verdict != "inconclusive":
            self.verdict = "passed" if self.status == "completed" and not self.deviated else "failed"
        reference = self.fault_end if self.fault_end is not None else self.fault_start
        return Journal(
            schema=SCHEMA,
            drill=self.drill.name,
            title=self.drill.title,
            run_id=self.ctx.run_id,
            target=self.ctx.target.label,
            status=self.status,
            deviated=self.deviated,
            passed=self.status == "completed" and not self.deviated,
            reasons=self.reasons,
            started_at=iso(self.started_at) or "",
            ended_at=iso(self.ended_at) or "",
            duration_s=round(self.ended_at - self.started_at, 3),
            fault_window={"start": iso(self.fault_start), "end": iso(self.fault_end)},
            detected_at=iso(self.detected_at),
            time_to_detect_s=_elapsed(self.fault_start, self.detected_at),
            recovered_at=iso(self.recovered_at),
            rto_s=_elapsed(reference, self.recovered_at),
            recovery_timeout_s=self.drill.recovery_timeout_s,
            windows=windows(self.samples, self.bounds()),
            budget=self.budget,
            probes=self.probes,
            actions=self.actions,
            rollbacks=self.rollbacks,
            invariants=self.invariants,
            clean_stack=self.clean_stack,
            settings={service: dict(env) for service, env in self.drill.settings.items()},
            timeline=timeline(self.samples, self.load_started_at) if self.load_started_at is not None else [],
            verdict=self.verdict,
            evidence=self.evidence or Evidence(traffic=[], effect_seen=None),
        )


def _step_label(name: str, phase: ActionPhase, fault: str | None, *, fault_on: bool) -> str:
    """Pure: the live view's words for an action about to run."""
    if fault == "start":
        return f"injecting the fault: {name}"
    if fault == "end":
        return f"removing the fault: {name}"
    if phase == "setup":
        return f"setting up: {name}"
    return f"during the fault: {name}" if fault_on else name


def _bound(action: Action, ctx: DrillContext) -> Callable[[], Awaitable[JsonValue]]:
    return lambda: action.fn(ctx)


def _elapsed(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, end - start), 3)


def _unclean(message: str) -> CleanStack:
    return CleanStack(
        passed=False,
        toxiproxy_reset=False,
        settings_restored={},
        restarted=[],
        unhealthy=[],
        replicas={},
        message=message,
    )


async def run_drill(
    drill: Drill,
    ctx: DrillContext,
    *,
    keeper: StackKeeper | None = None,
    clock: Clock | None = None,
    on_done: Callable[[Journal], None] | None = None,
    traffic: TrafficReader | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Journal:
    """Run one drill end to end and return its journal.

    On Ctrl-C (KeyboardInterrupt, or the task being cancelled) the rollbacks and the clean-stack
    check still run, `on_done` gets the journal (status `interrupted`), and the interrupt is
    raised again so the caller stops. `on_step` hears each step as it begins (fault injected,
    recovering, verifying, rolling back...), for a live view.
    """
    ensure_drill_is_valid(drill)
    run = _Run(drill, ctx, clock or SystemClock(), keeper, traffic)
    if on_step is not None:
        run.on_step = on_step
    interrupt: BaseException | None = None
    try:
        await run.execute()
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        run.status = "interrupted"
        run.reasons.append("interrupted (Ctrl-C): rolled back without a verdict")
        interrupt = exc
    finally:
        try:
            await run.finish()
        except (KeyboardInterrupt, asyncio.CancelledError) as exc:
            run.status = "interrupted"
            run.reasons.append("interrupted again while rolling back: the stack may not be clean")
            run.ended_at = run.clock.time()
            interrupt = interrupt or exc
    journal = run.journal()
    run.on_step(f"{journal['verdict']} ({journal['status']})")
    if on_done is not None:
        on_done(journal)
    if interrupt is not None:
        raise interrupt
    return journal
