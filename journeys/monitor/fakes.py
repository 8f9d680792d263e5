"""Recording fakes for the monitor's collaborators, for tests (ours, and yours of a monitor setup).

They satisfy the Protocols in runner.py, probes.py and alerts.py, record what they were
asked, and play back a script, so the loop's decisions can be asserted without a browser,
a network or real waiting.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet.journeys.monitor.alerts import Delivery
from gauntlet.journeys.monitor.model import JourneyAttempt, ProbeResult, StepRecord

START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC: a fixed, readable epoch for tests


class FakeClock:
    """Time moves only when the code sleeps or a fake journey says it took time."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.stop_after_sleeps: int | None = None

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        return self.stop_after_sleeps is not None and len(self.sleeps) >= self.stop_after_sleeps

    def advance(self, seconds: float) -> None:
        self.now += seconds


def attempt(
    name: str,
    ok: bool,
    *,
    at: float = START,
    steps: Sequence[tuple[str, float, float | None]] = (("load", 100.0, 1000.0),),
    error: str = "expected text not found",
    artifacts: Path | None = None,
) -> JourneyAttempt:
    """An attempt whose last step fails when `ok` is False (with a screenshot and trace path)."""
    records = []
    for index, (step, duration, budget) in enumerate(steps):
        failing = not ok and index == len(steps) - 1
        evidence = artifacts / f"{name}-{int(at)}" if artifacts is not None else None
        records.append(
            StepRecord(
                name=step,
                ok=not failing,
                duration_ms=duration,
                budget_ms=budget,
                error=error if failing else None,
                screenshot=str(evidence / f"{step}.png") if failing and evidence else None,
                trace=str(evidence / "trace.zip") if failing and evidence else None,
            )
        )
    return JourneyAttempt(
        name=name, ok=ok, started_at=at, duration_ms=sum(s.duration_ms for s in records), steps=tuple(records)
    )


@dataclass
class Call:
    name: str
    target: str
    artifacts_dir: Path
    at: float


@dataclass
class ScriptedJourneys:
    """Plays back outcomes per journey (True pass, False fail).

    With a FakeClock each attempt takes `takes_s` of fake time; with None it runs on the real clock.
    """

    clock: FakeClock | None
    script: dict[str, list[bool]]
    takes_s: float = 1.0
    steps: Sequence[tuple[str, float, float | None]] = (("load", 100.0, 1000.0),)
    calls: list[Call] = field(default_factory=list)
    write_evidence: bool = False

    def run(self, name: str, *, target: str, artifacts_dir: Path) -> JourneyAttempt:
        started = self.clock.now if self.clock is not None else time.time()
        self.calls.append(Call(name, target, artifacts_dir, started))
        outcomes = self.script[name]
        ok = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]  # the last outcome repeats
        if self.clock is not None:
            self.clock.advance(self.takes_s)
        result = attempt(name, ok, at=started, steps=self.steps, artifacts=artifacts_dir)
        if self.write_evidence:
            for step in result.steps:
                for path in (step.screenshot, step.trace):
                    if path:
                        Path(path).parent.mkdir(parents=True, exist_ok=True)
                        Path(path).write_bytes(b"evidence")
        return result


@dataclass
class StaticProber:
    """Returns the next scripted probe set (the last one repeats)."""

    script: list[tuple[ProbeResult, ...]] = field(
        default_factory=lambda: [(ProbeResult(name="health", status="ok", duration_ms=1.0),)]
    )
    calls: int = 0

    def probe(self) -> tuple[ProbeResult, ...]:
        self.calls += 1
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@dataclass
class RecordingSink:
    """Records every payload; `refuse` makes the next N sends fail as a down webhook would."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    refuse: int = 0

    def send(self, payload: dict[str, Any]) -> Delivery:
        self.payloads.append(payload)
        if self.refuse > 0:
            self.refuse -= 1
            return Delivery(delivered=False, error="HTTP 503: webhook down")
        return Delivery(delivered=True)

    def texts(self) -> list[str]:
        return [str(p["text"]) for p in self.payloads]


def outcomes(*flags: bool | int) -> list[bool]:
    """`outcomes(0, 0, 0, 1)` reads like the script it is."""
    return [bool(f) for f in flags]
