"""Cutting the load into before / during / after windows, and judging them against the error budget.

Pure functions of the run's moments and the load's samples, so the runner
stays about sequencing and these stay easy to test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from gauntlet.chaos.experiment import ErrorBudget
from gauntlet.chaos.journal import BudgetCheck, WindowRecord, Windows, empty_window, iso
from gauntlet.chaos.windows import Sample, by_group, in_window, only_groups, stats

Span = tuple[float, float]


class Bounds(TypedDict):
    before: Span | None
    during: Span | None
    after: Span | None


@dataclass(frozen=True, slots=True)
class Moments:
    """When things happened in a run (epoch seconds; None: it did not happen)."""

    load_started: float | None
    load_stopped: float
    fault_start: float | None
    fault_end: float | None
    recovered: float | None


def window_bounds(m: Moments) -> Bounds:
    """[start, end) of each window.

    During is the fault window: injection to removal, or, when nothing removes the fault (a
    kill), injection to recovery (or the end of the load, if it never recovered). After runs
    from there to the end of the load, so it includes the recovery tail.
    """
    if m.load_started is None:
        return Bounds(before=None, during=None, after=None)
    if m.fault_start is None:
        return Bounds(before=(m.load_started, m.load_stopped), during=None, after=None)
    ends = (m.fault_end, m.recovered, m.load_stopped)  # removal, else recovery, else the end of the load
    during_end = next(moment for moment in ends if moment is not None)
    return Bounds(
        before=(m.load_started, m.fault_start),
        during=(m.fault_start, during_end),
        after=(during_end, m.load_stopped),
    )


def windows(samples: list[Sample], bounds: Bounds) -> Windows:
    return Windows(
        before=_window(samples, bounds["before"]),
        during=_window(samples, bounds["during"]),
        after=_window(samples, bounds["after"]),
    )


def _window(samples: list[Sample], span: Span | None) -> WindowRecord:
    if span is None:
        return empty_window()
    members = in_window(samples, *span)
    return WindowRecord(**stats(members), start=iso(span[0]), end=iso(span[1]), by_group=by_group(members))


def budget_checks(samples: list[Sample], bounds: Bounds, budget: ErrorBudget) -> list[tuple[BudgetCheck, int]]:
    """Each check of `budget` against its window, with how many requests it counted."""
    plan: list[tuple[Literal["during", "after"], Literal["error_rate", "p99_ms"], float]] = [
        ("during", "error_rate", budget.during_error_rate),
        ("after", "error_rate", budget.after_error_rate),
    ]
    if budget.during_p99_ms is not None:
        plan.append(("during", "p99_ms", budget.during_p99_ms))
    checks: list[tuple[BudgetCheck, int]] = []
    for window, metric, limit in plan:
        span = bounds[window]
        groups = budget.groups if window == "during" else budget.after_groups
        counted = stats(only_groups(in_window(samples, *span) if span is not None else [], groups))
        observed = counted["error_rate"] if metric == "error_rate" else counted["p99"]
        check = BudgetCheck(
            window=window,
            metric=metric,
            groups=sorted(groups),
            observed=observed,
            limit=limit,
            passed=observed is None or observed <= limit,
            counted=counted,
        )
        checks.append((check, counted["requests"]))
    return checks


def budget_reason(check: BudgetCheck, requests: int) -> str:
    unit = "" if check["metric"] == "error_rate" else " ms"
    return (
        f"error budget exceeded {check['window']} the fault: {check['metric']} {check['observed']:g}{unit} > "
        f"{check['limit']:g}{unit} over {requests} requests ({', '.join(check['groups'])})"
    )
