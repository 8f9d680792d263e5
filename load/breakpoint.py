"""Breakpoint testing: climb an open-model arrival rate in steps until an SLO breaks, and name the knee.

Each step is one `rate` run (the open model, `load/arrivals.py`) at one rate for
`every_s` seconds, judged on that step's own samples by the run's SLO
thresholds (the error budget is the `error_rate` threshold). The climb stops at
the first step that breaks a threshold, or at the first step where the load
generator itself fell behind its schedule (then the limit is the generator's,
not the target's), or at `max_per_s`.

The **knee** is the highest rate held with every threshold green. With one run
per step its band is the step's interval: the true limit lies between the knee
(held) and the next rate (broke), or above the knee when nothing broke. With
`repeats` runs per step (`--repeats N`) the knee is the highest rate that every
repeat held (and every repeat of every lower rate), and its band runs from there
to the highest rate that at least one repeat held: how far the same step's
verdict moves from one run to the next. The climb goes on while at least one
repeat of a step held.

Pure: `gauntlet.load.breakpoint_run` runs the steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

from gauntlet.load.arrivals import ArrivalReport
from gauntlet.load.shapes import ShapeError

SCENARIO = "breakpoint"
StepVerdict = Literal["held", "broke", "generator_saturated"]
LimitedBy = Literal["slo", "generator", "max"]
# The generator fell behind when more than this share of its scheduler's wake-ups were late
# (arrivals.DEFAULT_LAG_AFTER_S): its own CPU or event loop, whatever the target does.
GENERATOR_LAGGED_SHARE = 0.05
# Named defaults, times the run's --scale (0.01 on one machine: 10/s, +10/s every 30 s, up to 1,000/s).
START_PER_S = 1_000.0
STEP_PER_S = 1_000.0
EVERY_S = 30.0
MAX_PER_S = 100_000.0


@dataclass(frozen=True, kw_only=True)
class Ladder:
    """The rates to climb: start, start + step, ... up to max (inclusive), each held for every_s."""

    start_per_s: float
    step_per_s: float
    every_s: float
    max_per_s: float
    repeats: int = 1  # runs of each step

    def __post_init__(self) -> None:
        for flag, value in (("--start", self.start_per_s), ("--step", self.step_per_s), ("--max", self.max_per_s)):
            if not (value > 0 and math.isfinite(value)):
                raise ShapeError(f"{flag} must be a positive number of arrivals per second, got {value!r}")
        if not (self.every_s > 0 and math.isfinite(self.every_s)):
            raise ShapeError(f"--every must be a positive time, got {self.every_s!r}")
        if self.max_per_s < self.start_per_s:
            raise ShapeError(f"--max {self.max_per_s:g} is below --start {self.start_per_s:g}: raise --max")
        if self.repeats < 1:
            raise ShapeError(f"--repeats must be a whole number of runs per step, at least 1, got {self.repeats!r}")

    def rates(self) -> list[float]:
        count = math.floor((self.max_per_s - self.start_per_s) / self.step_per_s + 1e-9) + 1
        return [round(self.start_per_s + i * self.step_per_s, 6) for i in range(count)]


def ladder(
    *,
    start: float | None,
    step: float | None,
    every_s: float | None,
    max_per_s: float | None,
    scale: float,
    repeats: int | None = None,
) -> Ladder:
    """The ladder asked for; an unset option is its named default times `scale` (one run per step)."""
    return Ladder(
        start_per_s=start if start is not None else START_PER_S * scale,
        step_per_s=step if step is not None else STEP_PER_S * scale,
        every_s=every_s if every_s is not None else EVERY_S,
        max_per_s=max_per_s if max_per_s is not None else MAX_PER_S * scale,
        repeats=repeats if repeats is not None else 1,
    )


@dataclass(frozen=True, kw_only=True)
class StepOutcome:
    """What one step measured: its rate, its overall figures, the thresholds it missed (in SLO order)."""

    rate_per_s: float
    requests: int
    error_rate: float
    p95_ms: float
    p99_ms: float
    missed: tuple[str, ...]
    late_arrival_rate: float
    wakeups: int
    lagged_wakeups: int

    @property
    def generator_lagged_share(self) -> float:
        return self.lagged_wakeups / self.wakeups if self.wakeups else 0.0

    @property
    def verdict(self) -> StepVerdict:
        # A generator behind its schedule inflates every latency it measures: nothing can be blamed on the target.
        if self.generator_lagged_share > GENERATOR_LAGGED_SHARE:
            return "generator_saturated"
        return "broke" if self.missed else "held"


def generator_figures(arrivals: ArrivalReport | None) -> tuple[float, int, int]:
    """(late arrival rate, scheduler wake-ups, lagged wake-ups) of a step's arrival report."""
    if arrivals is None:
        return 0.0, 0, 0
    scheduled = arrivals["scheduled"]
    late = (arrivals["late"] + arrivals["missed"]) / scheduled if scheduled else 0.0
    return late, arrivals.get("wakeups", 0), arrivals.get("lagged_wakeups", 0)


@dataclass(frozen=True, kw_only=True)
class Knee:
    knee_per_s: float | None  # None: even the first step did not hold (in every repeat)
    # One run per step: the step's interval (knee, next rate), high None when nothing broke.
    # Repeated steps: (knee, the highest rate at least one repeat held).
    band_per_s: tuple[float, float | None] | None
    limited_by: LimitedBy
    broke_at_per_s: float | None  # the first rate not held (by every repeat)
    first_broken: str | None  # the first threshold missed there (SLO order); None for the generator or max
    repeats: int = 1
    broke_in: int = 0  # how many of the repeats at broke_at did not hold

    def describe(self) -> str:
        if self.knee_per_s is None:
            assert self.broke_at_per_s is not None
            if self.limited_by == "generator":
                return f"no knee: at the first step ({self.broke_at_per_s:g}/s) {self._why()}; start lower (--start)"
            return f"no knee: the first step ({self.broke_at_per_s:g}/s) already {self._why()}; start lower (--start)"
        every = f" in all {self.repeats} repeats" if self.repeats > 1 else ""
        text = f"knee: {self.knee_per_s:g}/s held with every SLO green{every}"
        if self.limited_by == "max":
            return text + f"; nothing broke up to {self.knee_per_s:g}/s, the last step run: the limit is higher"
        assert self.broke_at_per_s is not None
        return text + f"; at {self.broke_at_per_s:g}/s {self._why()}{self._band()}"

    def _band(self) -> str:
        assert self.band_per_s is not None and self.knee_per_s is not None
        if self.repeats == 1:
            return f" (band {self.knee_per_s:g}-{self.broke_at_per_s:g}/s: the step's interval, steps not repeated)"
        low, high = self.band_per_s
        spread = (
            f"at least one repeat held up to {high:g}/s"
            if high is not None and high > low
            else f"the repeats agreed, no rate above {low:g}/s held in any"
        )
        return f" (band {low:g}-{high:g}/s across {self.repeats} repeats of each step: {spread})"

    def _why(self) -> str:
        if self.limited_by == "generator":
            return (
                "the load generator fell behind its own schedule: that is the generator's limit, not the target's"
                " (add --workers)"
            )
        times = f" in {self.broke_in} of {self.repeats} repeats" if self.repeats > 1 else ""
        return f"broke {self.first_broken}{times}"


def by_rate(steps: list[StepOutcome]) -> list[tuple[float, list[StepOutcome]]]:
    """The steps grouped by rate, in climbing order (a step's repeats are run one after another)."""
    groups: list[tuple[float, list[StepOutcome]]] = []
    for step in steps:
        if groups and groups[-1][0] == step.rate_per_s:
            groups[-1][1].append(step)
        else:
            groups.append((step.rate_per_s, [step]))
    return groups


def find_knee(steps: list[StepOutcome], *, repeats: int = 1) -> Knee:
    """The knee of the steps run so far, in climbing order, each rate's `repeats` runs together.

    The climb stops at the first rate no repeat held (or where the generator fell behind).
    """
    if not steps:
        raise ValueError("no steps: nothing to find a knee in")
    knee: float | None = None  # every repeat held, and every repeat of every lower rate
    held_by_some: float | None = None  # the highest rate at least one repeat held, before the climb stopped
    broke: StepOutcome | None = None  # the first run that did not hold, at the first rate not held by all
    broke_in = 0
    for rate, runs in by_rate(steps):
        held = sum(run.verdict == "held" for run in runs)
        saturated = any(run.verdict == "generator_saturated" for run in runs)
        if broke is None:
            if held == len(runs):
                knee = rate
            else:
                broke = (
                    next(run for run in runs if run.verdict == "generator_saturated")
                    if saturated
                    else next(run for run in runs if run.verdict != "held")
                )
                broke_in = len(runs) - held
        if saturated or held == 0:
            break
        held_by_some = rate
    if broke is None:
        return Knee(knee_per_s=knee, band_per_s=(knee, None) if knee is not None else None, limited_by="max",
                    broke_at_per_s=None, first_broken=None, repeats=repeats)  # fmt: skip
    limited: LimitedBy = "generator" if broke.verdict == "generator_saturated" else "slo"
    band: tuple[float, float | None] | None = None
    if knee is not None:
        band = (knee, broke.rate_per_s) if repeats == 1 else (knee, max(knee, held_by_some or knee))
    return Knee(
        knee_per_s=knee,
        band_per_s=band,
        limited_by=limited,
        broke_at_per_s=broke.rate_per_s,
        first_broken=broke.missed[0] if limited == "slo" else None,
        repeats=repeats,
        broke_in=broke_in,
    )


def keep_climbing(runs: list[StepOutcome]) -> bool:
    """After a rate's runs so far: climb on while the generator kept up and at least one run held."""
    return (
        bool(runs) and any(r.verdict == "held" for r in runs) and all(r.verdict != "generator_saturated" for r in runs)
    )


class StepRecord(TypedDict):
    """One row of `breakpoint.steps` in results.json."""

    rate_per_s: float
    duration_s: float
    requests: int
    error_rate: float
    p95_ms: float
    p99_ms: float
    late_arrival_rate: float
    generator_lagged_share: float
    verdict: StepVerdict
    missed: list[str]
    results: str  # the step's own results.json, relative to the run's folder
    repeat: NotRequired[int]  # which run of this rate (1..repeats)


class BreakpointRecord(TypedDict):
    """`breakpoint` in results.json."""

    start_per_s: float
    step_per_s: float
    every_s: float
    max_per_s: float
    repeats: NotRequired[int]
    knee_per_s: float | None
    band_per_s: list[float | None] | None
    band_basis: str
    limited_by: LimitedBy
    broke_at_per_s: float | None
    first_broken: str | None
    summary: str
    steps: list[StepRecord]


def step_record(step: StepOutcome, *, duration_s: float, results: str, repeat: int = 1) -> StepRecord:
    return StepRecord(
        rate_per_s=step.rate_per_s,
        duration_s=duration_s,
        requests=step.requests,
        error_rate=step.error_rate,
        p95_ms=step.p95_ms,
        p99_ms=step.p99_ms,
        late_arrival_rate=round(step.late_arrival_rate, 6),
        generator_lagged_share=round(step.generator_lagged_share, 6),
        verdict=step.verdict,
        missed=list(step.missed),
        results=results,
        repeat=repeat,
    )


def breakpoint_record(plan: Ladder, knee: Knee, steps: list[StepRecord]) -> BreakpointRecord:
    return BreakpointRecord(
        start_per_s=plan.start_per_s,
        step_per_s=plan.step_per_s,
        every_s=plan.every_s,
        max_per_s=plan.max_per_s,
        repeats=plan.repeats,
        knee_per_s=knee.knee_per_s,
        band_per_s=list(knee.band_per_s) if knee.band_per_s is not None else None,
        band_basis=band_basis(plan.repeats),
        limited_by=knee.limited_by,
        broke_at_per_s=knee.broke_at_per_s,
        first_broken=knee.first_broken,
        summary=knee.describe(),
        steps=steps,
    )


def band_basis(repeats: int) -> str:
    if repeats == 1:
        return "step interval (steps not repeated)"
    return f"lowest/highest rate held across {repeats} repeats of each step (low: every repeat held; high: one did)"
