"""Uptime, p95 step times and chart buckets over 1 h / 24 h / 7 d, from history's raw rows.

Module-level pure functions: history.py fetches rows, this turns them into the numbers the
status page and /metrics show, and nothing here prints or touches a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gauntlet.journeys.monitor.model import Colour, ProbeResult, StepRecord, Verdict
from gauntlet.journeys.monitor.status import CheckState, overall_colour
from gauntlet.load.hdr import nearest_rank

WINDOWS: dict[str, float] = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
CHART_SPAN_S = 86400.0
CHART_BUCKETS = 96  # 15-minute columns over the last 24 h


@dataclass(frozen=True, slots=True, kw_only=True)
class JourneySample:
    """A journey's final attempt in one run."""

    journey: str
    at: float
    duration_ms: float
    verdict: Verdict


# step -> window -> p95 ms (history computes these in SQL: a week of steps is too many rows to ship)
StepP95 = dict[str, dict[str, float | None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureRow:
    """A failed attempt (also one a retry rescued), with where its evidence is."""

    run_id: int
    at: float
    journey: str
    attempt: int
    rescued: bool  # a later attempt in the same run passed
    summary: str
    step: str | None
    screenshot: str | None
    trace: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartBucket:
    start: float
    runs: int
    failures: int
    p95_ms: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JourneySummary:
    name: str
    colour: Colour
    uptime: dict[str, float | None]
    duration_p95_ms: dict[str, float | None]
    step_p95_ms: dict[str, dict[str, float | None]]
    chart: tuple[ChartBucket, ...]
    last: JourneySample | None
    last_steps: tuple[StepRecord, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusSnapshot:
    """Everything the page and /metrics show, as of `generated_at`."""

    generated_at: float
    overall: Colour
    checks: tuple[CheckState, ...]
    journeys: tuple[JourneySummary, ...]
    failures: tuple[FailureRow, ...]
    probes: tuple[ProbeResult, ...]
    overall_uptime: dict[str, float | None]
    last_run_at: float | None


def uptime_percent(verdicts: Iterable[Verdict]) -> float | None:
    """Share of runs that did not fail (degraded counts as up), in percent; None with no runs."""
    total = up = 0
    for verdict in verdicts:
        total += 1
        up += verdict != "fail"
    return None if total == 0 else 100.0 * up / total


def in_window(at: float, now: float, window_s: float) -> bool:
    return now - window_s < at <= now


def chart_buckets(
    samples: Sequence[JourneySample], *, now: float, span_s: float = CHART_SPAN_S, buckets: int = CHART_BUCKETS
) -> tuple[ChartBucket, ...]:
    """Equal time columns ending at `now`: runs, failures and the p95 duration of each."""
    if buckets < 1 or span_s <= 0:
        raise ValueError("a chart needs at least one bucket and a positive span")
    width = span_s / buckets
    start = now - span_s
    durations: list[list[float]] = [[] for _ in range(buckets)]
    failures = [0] * buckets
    for sample in samples:
        if not in_window(sample.at, now, span_s):
            continue
        index = min(buckets - 1, int((sample.at - start) / width))
        durations[index].append(sample.duration_ms)
        failures[index] += sample.verdict == "fail"
    return tuple(
        ChartBucket(
            start=start + i * width,
            runs=len(durations[i]),
            failures=failures[i],
            p95_ms=nearest_rank(durations[i], 95.0),
        )
        for i in range(buckets)
    )


def summarise_journey(
    name: str,
    *,
    state: CheckState | None,
    samples: Sequence[JourneySample],
    step_p95: StepP95,
    last_steps: tuple[StepRecord, ...],
    now: float,
) -> JourneySummary:
    """One journey's uptime and duration p95 per window; the p95 counts runs that did not fail.

    A failed run's time is usually a timeout, which would make p95 say "slow" when the truth
    is "failed"; failures show in uptime instead.
    """
    uptime = {
        w: uptime_percent(s.verdict for s in samples if in_window(s.at, now, span)) for w, span in WINDOWS.items()
    }
    duration_p95 = {
        w: nearest_rank([s.duration_ms for s in samples if in_window(s.at, now, span) and s.verdict != "fail"], 95.0)
        for w, span in WINDOWS.items()
    }
    return JourneySummary(
        name=name,
        colour=state.colour if state is not None else "green",
        uptime=uptime,
        duration_p95_ms=duration_p95,
        step_p95_ms={step: {w: windows.get(w) for w in WINDOWS} for step, windows in step_p95.items()},
        chart=chart_buckets(samples, now=now),
        last=max(samples, key=lambda s: s.at, default=None),
        last_steps=last_steps,
    )


def build_snapshot(
    *,
    now: float,
    journeys: Sequence[str],
    states: Sequence[CheckState],
    samples: Sequence[JourneySample],
    step_p95: dict[str, StepP95],
    last_steps: dict[str, tuple[StepRecord, ...]],
    failures: Sequence[FailureRow],
    probes: tuple[ProbeResult, ...],
    run_oks: Sequence[tuple[float, bool]],
) -> StatusSnapshot:
    """Assemble the page's numbers; `journeys` orders them (journeys seen only in history follow)."""
    by_check = {s.check: s for s in states}
    names = list(journeys) + sorted({s.journey for s in samples} - set(journeys))
    summaries = tuple(
        summarise_journey(
            name,
            state=by_check.get(name),
            samples=[s for s in samples if s.journey == name],
            step_p95=step_p95.get(name, {}),
            last_steps=last_steps.get(name, ()),
            now=now,
        )
        for name in names
    )
    overall_uptime = {
        w: uptime_percent("pass" if ok else "fail" for at, ok in run_oks if in_window(at, now, span))
        for w, span in WINDOWS.items()
    }
    return StatusSnapshot(
        generated_at=now,
        overall=overall_colour(states),
        checks=tuple(states),
        journeys=summaries,
        failures=tuple(failures),
        probes=probes,
        overall_uptime=overall_uptime,
        last_run_at=max((at for at, _ in run_oks), default=None),
    )
