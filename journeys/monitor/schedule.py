"""When the monitor runs next: a fixed grid with jitter, never overlapping, always bounded.

Runs sit on a grid (start + k * every) plus a random offset in [0, jitter), so many
monitors started together do not hit the platform in the same second. A run that
overruns its slot makes the loop skip the slots it covered instead of starting late runs
back to back (no overlap, no catch-up burst); the skipped count is reported. Everything
takes the time and the random draw as arguments, so it is pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Gauntlet's one duration grammar (plain seconds or 30s, 5m, 1h30m, 1d), shared with load and the gate.
from gauntlet.durations import DurationError, parse_duration

__all__ = ["DurationError", "Schedule", "first_run", "next_run", "parse_duration", "should_stop"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    every_s: float
    jitter_s: float = 0.0
    max_runs: int | None = None
    max_duration_s: float | None = None

    def __post_init__(self) -> None:
        if self.every_s <= 0:
            raise DurationError(f"--every must be more than zero, got {self.every_s}s")
        # Jitter as large as the period would let two runs share a slot's worth of time.
        if not 0 <= self.jitter_s < self.every_s:
            raise DurationError(
                f"--jitter {self.jitter_s:g}s must be at least 0 and less than --every ({self.every_s:g}s)"
            )
        if self.max_runs is not None and self.max_runs < 1:
            raise DurationError(f"--max-runs must be at least 1, got {self.max_runs}")
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise DurationError("--for must be more than zero")


@dataclass(frozen=True, slots=True, kw_only=True)
class NextRun:
    """The slot after a run: its index on the grid, when to start, how many slots were skipped."""

    slot: int
    start_at: float
    skipped: int


def first_run(schedule: Schedule, started: float, draw: float) -> NextRun:
    """Slot 0 starts at once plus jitter; `draw` is a random number in [0, 1)."""
    return NextRun(slot=0, start_at=started + _jitter(schedule, draw), skipped=0)


def next_run(schedule: Schedule, *, started: float, previous_slot: int, finished_at: float, draw: float) -> NextRun:
    """The first slot whose grid time is not before `finished_at`, after `previous_slot`."""
    slot = previous_slot + 1
    slot_time = started + slot * schedule.every_s
    if finished_at > slot_time:
        # The run overran: jump to the first grid time at or after it finished.
        slot = max(slot, math.ceil((finished_at - started) / schedule.every_s))
    return NextRun(
        slot=slot,
        start_at=max(finished_at, started + slot * schedule.every_s + _jitter(schedule, draw)),
        skipped=slot - previous_slot - 1,
    )


def _jitter(schedule: Schedule, draw: float) -> float:
    if not 0 <= draw < 1:
        raise ValueError(f"the random draw must be in [0, 1), got {draw}")
    return draw * schedule.jitter_s


def should_stop(schedule: Schedule, *, runs_done: int, started: float, next_start: float) -> bool:
    """True when the run count is reached or the next run would start at or after the `--for` deadline.

    The first run always happens, however short `--for` is: a bounded monitor that never ran
    would report green having checked nothing.
    """
    if schedule.max_runs is not None and runs_done >= schedule.max_runs:
        return True
    if runs_done == 0:
        return False
    return schedule.max_duration_s is not None and next_start >= started + schedule.max_duration_s
