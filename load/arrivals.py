"""The open model: arrivals at a constant rate, independent of response time.

A closed model (N users, each waiting for its last response) slows down with
the system under test and so hides that slowness (coordinated omission). In
the `rate` scenario arrival *i* is due at `i / rate` seconds whatever happened
before; a free load-generator slot picks it up. If it starts more than
`late_after_s` after it was due it counts as late; if no slot could take it
within `give_up_after_s` (or the run ended first) it counts as missed.

Pure: the gevent pacer in `gauntlet.load.pacing` feeds it the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, NotRequired, TypedDict

Start = Literal["on_time", "late", "missed"]
DEFAULT_LATE_AFTER_S = 0.010
DEFAULT_GIVE_UP_AFTER_S = 1.0
# A scheduler wake-up this late is the load generator's own lag (its CPU or event loop), not the target's.
DEFAULT_LAG_AFTER_S = 0.100
# Slots that sign in before the schedule starts (breakpoint steps) get this long to do it.
SIGN_IN_WARM_UP_S = 5.0


@dataclass(frozen=True, kw_only=True)
class ArrivalSchedule:
    rate_per_s: float
    duration_s: float

    def __post_init__(self) -> None:
        if not (self.rate_per_s > 0 and math.isfinite(self.rate_per_s)):
            raise ValueError(f"rate_per_s must be a positive number, got {self.rate_per_s!r}")
        if not (self.duration_s > 0 and math.isfinite(self.duration_s)):
            raise ValueError(f"duration_s must be a positive number, got {self.duration_s!r}")

    @property
    def total(self) -> int:
        """Arrivals in the whole schedule: those due in [0, duration)."""
        return max(1, math.ceil(self.rate_per_s * self.duration_s - 1e-9))

    def due_at(self, index: int) -> float:
        """Seconds after the schedule's start that arrival `index` (from 0) is due."""
        return index / self.rate_per_s

    def due_by(self, elapsed_s: float) -> int:
        """How many arrivals are due by `elapsed_s` (arrival 0 is due at 0)."""
        if elapsed_s < 0:
            return 0
        # The epsilon keeps an arrival due exactly now from slipping to the next wake-up.
        return min(self.total, math.floor(elapsed_s * self.rate_per_s + 1e-9) + 1)

    def release(self, released: int, elapsed_s: float) -> range:
        """Indices that have fallen due since `released` were released."""
        return range(released, max(released, self.due_by(elapsed_s)))

    def next_due(self, released: int) -> float | None:
        """When the next unreleased arrival is due, or None when the schedule is done."""
        return self.due_at(released) if released < self.total else None


@dataclass(frozen=True, kw_only=True)
class StartPolicy:
    late_after_s: float = DEFAULT_LATE_AFTER_S
    give_up_after_s: float = DEFAULT_GIVE_UP_AFTER_S

    def __post_init__(self) -> None:
        if not 0 <= self.late_after_s <= self.give_up_after_s:
            raise ValueError("need 0 <= late_after_s <= give_up_after_s")

    def classify(self, lateness_s: float) -> Start:
        """How an arrival picked up `lateness_s` after it was due counts."""
        if lateness_s > self.give_up_after_s:
            return "missed"
        if lateness_s > self.late_after_s:
            return "late"
        return "on_time"


class ArrivalReport(TypedDict):
    scheduled: int
    on_time: int
    late: int
    missed: int
    max_lateness_ms: float
    # The scheduler's own wake-ups, and those more than `lag_after_s` late: the generator's lag, not the target's.
    wakeups: NotRequired[int]
    lagged_wakeups: NotRequired[int]


@dataclass(frozen=True, kw_only=True)
class ArrivalTally:
    scheduled: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    max_lateness_s: float = 0.0
    wakeups: int = 0
    lagged_wakeups: int = 0

    def released(self, count: int) -> ArrivalTally:
        return replace(self, scheduled=self.scheduled + count)

    def woke(self, lag_s: float, *, lag_after_s: float) -> ArrivalTally:
        """Count one wake-up of the scheduler, `lag_s` after it meant to wake."""
        return replace(self, wakeups=self.wakeups + 1, lagged_wakeups=self.lagged_wakeups + (lag_s > lag_after_s))

    def started(self, start: Start, lateness_s: float) -> ArrivalTally:
        """Count one arrival that a slot picked up (or dropped, if `start` is missed)."""
        return replace(
            self,
            on_time=self.on_time + (start == "on_time"),
            late=self.late + (start == "late"),
            missed=self.missed + (start == "missed"),
            max_lateness_s=max(self.max_lateness_s, lateness_s),
        )

    def never_started(self, count: int) -> ArrivalTally:
        """Arrivals still waiting when the run ended, and those never released: missed."""
        return replace(self, missed=self.missed + count)

    @property
    def not_on_time(self) -> int:
        return self.late + self.missed

    def report(self) -> ArrivalReport:
        return ArrivalReport(
            scheduled=self.scheduled,
            on_time=self.on_time,
            late=self.late,
            missed=self.missed,
            max_lateness_ms=round(self.max_lateness_s * 1000.0, 3),
            wakeups=self.wakeups,
            lagged_wakeups=self.lagged_wakeups,
        )


def merge_reports(reports: list[ArrivalReport]) -> ArrivalReport | None:
    """Sum the reports of several load generators (None when there are none)."""
    if not reports:
        return None
    return ArrivalReport(
        scheduled=sum(r["scheduled"] for r in reports),
        on_time=sum(r["on_time"] for r in reports),
        late=sum(r["late"] for r in reports),
        missed=sum(r["missed"] for r in reports),
        max_lateness_ms=max(r["max_lateness_ms"] for r in reports),
        wakeups=sum(r.get("wakeups", 0) for r in reports),
        lagged_wakeups=sum(r.get("lagged_wakeups", 0) for r in reports),
    )


def end_of_run(tally: ArrivalTally, schedule: ArrivalSchedule, *, waiting: int) -> ArrivalTally:
    """Close the books: arrivals still queued and arrivals never released count as missed."""
    unreleased = schedule.total - tally.scheduled
    return tally.released(unreleased).never_started(waiting + unreleased)
