"""The report's charts, drawn in-process with matplotlib and returned as SVG text.

Figures are built with `matplotlib.figure.Figure` directly, never pyplot: no
figure registry to leak and no GUI backend. Text is drawn as paths (no font
needed where the report is opened) and the SVG ids are salted with a constant,
so the same run always renders the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from gauntlet.reports.formatting import drill_origin, expected_during_fault
from gauntlet.reports.model import DrillEntry, JourneyEntry, LoadEntry, SeriesPoint, SloRecord

MAX_POINTS = 1500  # a day-long soak has 86,400 seconds; a chart needs a trend, not every second
OK, BAD, FAULT, DETECT, RECOVER = "#2e7d32", "#c62828", "#ffb74d", "#ef6c00", "#1565c0"
EXPECTED = "#f9a825"  # a probe failing during the fault, as the drill intends
# An overall threshold check's name as the load adapter writes it: `overall p95_ms < 500 ms`, `... error_rate < 0.1 %`.
_THRESHOLD = re.compile(r"^overall (?P<metric>\S+) (?P<op><=?) (?P<value>\d+(?:\.\d+)?(?:e[+-]?\d+)?) (?P<unit>ms|%)$")
_PERCENTILE_COLORS = {"p50_ms": "#90caf9", "p95_ms": "#1e88e5", "p99_ms": "#0d47a1"}


def overall_thresholds(entry: LoadEntry) -> dict[str, float]:
    """The load entry's overall ceilings, metric -> limit (ms for latency, % for error rates)."""
    found: dict[str, float] = {}
    for check in entry.checks:
        match = _THRESHOLD.match(check.name)
        if match is not None:
            found[match["metric"]] = float(match["value"])
    return found


def _threshold_line(ax: Any, value: float, *, metric: str, label: str, color: str) -> None:
    """A dashed horizontal SLO line; its SVG group is `threshold-<metric>` so a reader (or a test) finds it."""
    line = ax.axhline(value, color=color, linestyle=(0, (5, 3)), linewidth=1.1, label=label)
    line.set_gid(f"threshold-{metric}")


def _styled() -> AbstractContextManager[None]:
    """The report's chart style, for the duration of one figure (rcParams are process-global)."""
    return matplotlib.rc_context(
        {
            "svg.fonttype": "path",
            "svg.hashsalt": "gauntlet",
            "font.size": 9,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: the SVG is embedded


def _figure(height: float = 2.6) -> Figure:
    return Figure(figsize=(8.0, height), dpi=100, layout="constrained")


def downsample(points: Sequence[SeriesPoint], limit: int = MAX_POINTS) -> list[SeriesPoint]:
    """At most `limit` points: each bucket keeps its summed counts (per second) and its worst latencies."""
    if len(points) <= limit:
        return list(points)
    size = -(-len(points) // limit)
    merged = []
    for start in range(0, len(points), size):
        bucket = points[start : start + size]
        merged.append(
            SeriesPoint(
                t_s=bucket[0].t_s,
                requests=round(sum(p.requests for p in bucket) / len(bucket)),
                failures=round(sum(p.failures for p in bucket) / len(bucket)),
                users=max(p.users for p in bucket),
                p50_ms=max(p.p50_ms for p in bucket),
                p95_ms=max(p.p95_ms for p in bucket),
                p99_ms=max(p.p99_ms for p in bucket),
            )
        )
    return merged


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} recorded", ha="center", va="center", transform=ax.transAxes, color="#777")


def load_latency_chart(entry: LoadEntry) -> str:
    """p50 / p95 / p99 per second."""
    with _styled():
        fig = _figure()
        ax = fig.add_subplot()
        points = downsample(entry.series)
        if points:
            t = [p.t_s for p in points]
            for label, values, color in (
                ("p50", [p.p50_ms for p in points], "#90caf9"),
                ("p95", [p.p95_ms for p in points], "#1e88e5"),
                ("p99", [p.p99_ms for p in points], "#0d47a1"),
            ):
                ax.plot(t, values, label=label, color=color, linewidth=1.2)
            for metric, limit in overall_thresholds(entry).items():
                if metric.endswith("_ms") and metric.startswith("p"):
                    color = _PERCENTILE_COLORS.get(metric, "#616161")
                    name = metric.removesuffix("_ms")
                    _threshold_line(ax, limit, metric=metric, label=f"{name} SLO {limit:g} ms", color=color)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
            ax.set_ylim(bottom=0)
        else:
            _empty(ax, "series")
        ax.set(title=f"{entry.name}: latency percentiles", xlabel="seconds", ylabel="ms")
        return _svg(fig)


def load_throughput_chart(entry: LoadEntry) -> str:
    """Requests per second, with the users driving them on a second axis."""
    with _styled():
        fig = _figure()
        ax = fig.add_subplot()
        points = downsample(entry.series)
        if points:
            t = [p.t_s for p in points]
            ax.plot(t, [p.requests for p in points], color="#1e88e5", linewidth=1.2, label="requests/s")
            users = ax.twinx()
            users.plot(t, [p.users for p in points], color="#9e9e9e", linewidth=1.0, linestyle="--", label="users")
            users.set_ylabel("users")
            users.grid(False)
            ax.set_ylim(bottom=0)
            users.set_ylim(bottom=0)
            ax.legend(
                handles=[*ax.get_lines(), *users.get_lines()],
                loc="upper left",
                bbox_to_anchor=(1.08, 1.0),
                frameon=False,
            )
        else:
            _empty(ax, "series")
        ax.set(title=f"{entry.name}: throughput", xlabel="seconds", ylabel="requests/s")
        return _svg(fig)


def load_error_chart(entry: LoadEntry) -> str:
    """Failed requests as a percentage of each second's requests."""
    with _styled():
        fig = _figure(2.2)
        ax = fig.add_subplot()
        points = downsample(entry.series)
        if points:
            rates = [100.0 * p.failures / p.requests if p.requests else 0.0 for p in points]
            ax.fill_between([p.t_s for p in points], rates, color=BAD, alpha=0.35, linewidth=0)
            ax.plot([p.t_s for p in points], rates, color=BAD, linewidth=1.0, label="% failed")
            limit = overall_thresholds(entry).get("error_rate")
            if limit is not None:
                _threshold_line(ax, limit, metric="error_rate", label=f"SLO {limit:g} %", color="#424242")
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
            ax.set_ylim(bottom=0)
        else:
            _empty(ax, "series")
        ax.set(title=f"{entry.name}: error rate", xlabel="seconds", ylabel="% failed")
        return _svg(fig)


def load_breakpoint_chart(entry: LoadEntry) -> str:
    """A breakpoint climb: each step's rate against its p95, p99 and % failed, the knee marked."""
    with _styled():
        fig = _figure(3.0)
        ax = fig.add_subplot()
        climb = entry.breakpoint
        if climb is not None and climb.steps:
            rates = [s.rate_per_s for s in climb.steps]
            ax.plot(rates, [s.p95_ms for s in climb.steps], marker="o", color="#1e88e5", label="p95", linewidth=1.2)
            ax.plot(rates, [s.p99_ms for s in climb.steps], marker="o", color="#0d47a1", label="p99", linewidth=1.2)
            for metric, limit in overall_thresholds(entry).items():
                if metric in _PERCENTILE_COLORS:
                    name = metric.removesuffix("_ms")
                    _threshold_line(ax, limit, metric=metric, label=f"{name} SLO {limit:g} ms", color="#616161")
            errors = ax.twinx()
            failed = [100.0 * s.error_rate for s in climb.steps]
            errors.plot(
                rates,
                failed,
                marker="s",
                color=BAD,
                linestyle=":",
                linewidth=1.0,
                label="% failed",
            )
            errors.set_ylabel("% failed")
            errors.grid(False)
            errors.set_ylim(0, max(1.0, *failed) * 1.1)  # at least 0-1 %: no error is flat, not a scale of noise
            if climb.knee_per_s is not None:
                knee = ax.axvline(climb.knee_per_s, color=OK, linewidth=1.6, label=f"knee {climb.knee_per_s:g}/s")
                knee.set_gid("breakpoint-knee")
            if climb.broke_at_per_s is not None:
                why = "generator limit" if climb.limited_by == "generator" else "broke"
                broke = ax.axvline(
                    climb.broke_at_per_s, color=BAD, linestyle=(0, (5, 3)), linewidth=1.1,
                    label=f"{why} {climb.broke_at_per_s:g}/s",
                )  # fmt: skip
                broke.set_gid("breakpoint-broke")
            ax.set_ylim(bottom=0)
            ax.legend(
                handles=[*ax.get_lines(), *errors.get_lines()],
                loc="upper left",
                bbox_to_anchor=(1.1, 1.0),
                frameon=False,
            )
        else:
            _empty(ax, "breakpoint steps")
        ax.set(title=f"{entry.name}: latency and errors by arrival rate", xlabel="arrivals/s", ylabel="ms")
        return _svg(fig)


def drill_marks(drill: DrillEntry) -> list[tuple[str, float]]:
    """The chart's `detected` and `recovered` marks, in seconds from the drill's origin (the fault's start)."""
    origin, _ = drill_origin(drill)
    return [
        (label, (moment - origin).total_seconds())
        for label, moment in (("detected", drill.detected_at), ("recovered", drill.recovered_at))
        if moment is not None
    ]


def drill_timeline_chart(drill: DrillEntry) -> str:
    """Error rate and p99 through the drill, the fault window shaded, detection and recovery marked.

    Time is counted from one origin, the fault's start (drill_origin), as the report's header counts
    time to detect and to recover: the `recovered (5.0 s)` mark is the header's time to recover.
    """
    origin, origin_name = drill_origin(drill)
    shift = (drill.started_at - origin).total_seconds()  # series t_s count from the drill's start

    def offset(moment: Any) -> float | None:
        return None if moment is None else (moment - origin).total_seconds()

    with _styled():
        fig = _figure(2.8)
        ax = fig.add_subplot()
        points = downsample(drill.series)
        handles: list[Any] = []
        if points:
            t = [p.t_s + shift for p in points]
            ax.plot(
                t,
                [100.0 * p.failures / p.requests if p.requests else 0.0 for p in points],
                color=BAD,
                linewidth=1.2,
                label="% failed",
            )
            ax.set_ylabel("% failed")
            # p99: a fault shows in the tail first (and drill journals record p50 and p99 only).
            latency = ax.twinx()
            latency.plot(t, [p.p99_ms for p in points], color="#1e88e5", linewidth=1.0, label="p99 ms")
            latency.set_ylabel("p99 ms")
            latency.set_ylim(bottom=0)
            latency.grid(False)
            handles += latency.get_lines()
        fault_start, fault_end = offset(drill.fault_started_at), offset(drill.fault_ended_at)
        if fault_start is not None:
            end = fault_end if fault_end is not None else offset(drill.finished_at) or fault_start
            ax.axvspan(fault_start, end, color=FAULT, alpha=0.3, label="fault")
        for label, at in drill_marks(drill):
            color = DETECT if label == "detected" else RECOVER
            ax.axvline(at, color=color, linestyle="--", linewidth=1.5, label=f"{label} ({at:.1f} s)")
        for activity in drill.activities:
            at = (activity.started_at - origin).total_seconds()
            marker = "v" if activity.kind == "action" else "o"
            expected = expected_during_fault(drill, activity)
            color = EXPECTED if expected else BAD if activity.status == "failed" else "#616161"
            ax.plot([at], [0], marker=marker, color=color, linestyle="none", clip_on=False)
        if not points and fault_start is None and not drill.activities:
            _empty(ax, "timeline")
        start = offset(drill.started_at) or 0.0
        ax.set_xlim(start, max(offset(drill.finished_at) or 0.0, start + 1.0))
        if fault_start is not None:
            ax.axvline(0, color="#424242", linewidth=0.8)
        ax.set_ylim(bottom=0)
        handles = [*ax.get_legend_handles_labels()[0], *handles]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.1, 1.0), frameon=False)
        ax.set(title=f"drill {drill.name}: {drill.status}", xlabel=f"seconds since the {origin_name} (t = 0)")
        return _svg(fig)


def journey_waterfall_chart(journey: JourneyEntry) -> str:
    """One bar per step, from when it started to when it ended; failed steps red."""
    with _styled():
        steps = journey.steps
        fig = _figure(max(1.6, 0.45 * len(steps) + 0.9))
        ax = fig.add_subplot()
        starts = [(s.started_at - journey.started_at).total_seconds() for s in steps]
        widths = [s.duration_ms / 1000.0 for s in steps]
        colors = [OK if s.ok else BAD for s in steps]
        ax.barh(range(len(steps)), widths, left=starts, color=colors, height=0.6)
        ax.set_yticks(range(len(steps)), [s.name for s in steps])
        ax.invert_yaxis()  # first step on top, like a browser's network waterfall
        for i, (start, width) in enumerate(zip(starts, widths, strict=True)):
            ax.text(start + width, i, f" {width:.2f} s", va="center", fontsize=8)
        ax.set(title=f"journey {journey.name}", xlabel="seconds since the journey started")
        ax.grid(axis="y", visible=False)
        return _svg(fig)


def slo_burn_chart(records: Sequence[SloRecord]) -> str:
    """Burn rate per SLO against 1.0 (exactly on budget)."""
    with _styled():
        fig = _figure(max(1.6, 0.4 * len(records) + 0.9))
        ax = fig.add_subplot()
        if records:
            labels = [f"{r.entry}: {r.name}" for r in records]
            ax.barh(
                range(len(records)),
                [r.burn_rate for r in records],
                color=[OK if r.passed else BAD for r in records],
                height=0.6,
            )
            ax.set_yticks(range(len(records)), labels)
            ax.invert_yaxis()
            ax.axvline(1.0, color="#424242", linestyle="--", linewidth=1.0, label="on budget (1x)")
            ax.legend(loc="lower right", frameon=False)
        else:
            _empty(ax, "SLO budgets")
        ax.set(title="SLO burn rates over the run", xlabel="burn rate (x budget)")
        ax.grid(axis="y", visible=False)
        return _svg(fig)
