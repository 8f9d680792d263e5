"""Compare two runs side by side: per request latency, error rate and throughput deltas, and verdict changes.

A change is a regression only beyond a tolerance, so run-to-run noise does not
fail a comparison: latency must be worse by more than 10 % *and* 1 ms, error
rate by more than 0.1 percentage points, throughput lower by more than 10 %.
Load entries are matched by name, and request names within them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Literal

from gauntlet.reports.errors import ReportError
from gauntlet.reports.formatting import entry_kind, ms, percent
from gauntlet.reports.html import html_table, page
from gauntlet.reports.markdown import table
from gauntlet.reports.model import Entry, RequestStats, Run

Metric = Literal["p95_ms", "p99_ms", "error_rate", "rps"]
METRICS: tuple[Metric, ...] = ("p95_ms", "p99_ms", "error_rate", "rps")
OVERALL = "overall"


@dataclass(frozen=True, kw_only=True)
class Tolerance:
    latency_relative: float = 0.10
    latency_floor_ms: float = 1.0
    error_rate_points: float = 0.001  # absolute: 0.001 = 0.1 percentage points
    throughput_relative: float = 0.10


def ensure_tolerance_is_valid(tolerance: Tolerance) -> Tolerance:
    for name in ("latency_relative", "latency_floor_ms", "error_rate_points", "throughput_relative"):
        value = getattr(tolerance, name)
        if not math.isfinite(value) or value < 0:
            raise ReportError(f"tolerance {name} must be a finite number >= 0, got {value!r}")
    if tolerance.throughput_relative >= 1:
        raise ReportError("tolerance throughput_relative must be below 1 (a 100 % drop is no throughput at all)")
    return tolerance


@dataclass(frozen=True, kw_only=True)
class MetricDelta:
    entry: str
    request: str
    metric: Metric
    a: float | None  # None: not measured in that run
    b: float | None
    regression: bool
    improvement: bool

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def relative(self) -> float | None:
        if self.a is None or self.b is None or self.a == 0:
            return None
        return (self.b - self.a) / self.a


@dataclass(frozen=True, kw_only=True)
class VerdictChange:
    section: str
    entry: str
    a: str  # passed, failed, or absent
    b: str

    @property
    def regression(self) -> bool:
        return self.a == "passed" and self.b in ("failed", "absent")


@dataclass(frozen=True, kw_only=True)
class Comparison:
    a: Run
    b: Run
    tolerance: Tolerance
    deltas: list[MetricDelta] = field(default_factory=list)
    changes: list[VerdictChange] = field(default_factory=list)

    @property
    def regressions(self) -> list[str]:
        """One sentence per regression, for a person and for an exit code."""
        found = [f"{c.section} {c.entry}: {c.a} -> {c.b}" for c in self.changes if c.regression]
        found += [
            f"load {d.entry} {d.request} {d.metric}: {_show(d.metric, d.a)} -> {_show(d.metric, d.b)}"
            for d in self.deltas
            if d.regression
        ]
        return found


def _value(stats: RequestStats | None, metric: Metric) -> float | None:
    if stats is None or stats.count == 0:
        return None
    return stats.error_rate if metric == "error_rate" else float(getattr(stats, metric))


def _judge(metric: Metric, a: float | None, b: float | None, tol: Tolerance) -> tuple[bool, bool]:
    """(regression, improvement) of a change from a to b."""
    if a is None or b is None:
        return False, False
    if metric == "error_rate":
        return b - a > tol.error_rate_points, a - b > tol.error_rate_points
    if metric == "rps":
        return b < a * (1 - tol.throughput_relative), b > a * (1 + tol.throughput_relative)

    def worse(x: float, y: float) -> bool:
        return y - x > tol.latency_floor_ms and y > x * (1 + tol.latency_relative)

    return worse(a, b), worse(b, a)


def _verdict(entry: Entry | None) -> str:
    return "absent" if entry is None else ("failed" if entry.culprits() else "passed")


def compare_runs(a: Run, b: Run, tolerance: Tolerance | None = None) -> Comparison:
    """What changed from run A (the baseline) to run B."""
    tol = ensure_tolerance_is_valid(tolerance or Tolerance())
    deltas: list[MetricDelta] = []
    b_load = {e.name: e for e in b.load}
    for entry_a in a.load:
        entry_b = b_load.get(entry_a.name)
        if entry_b is None:
            continue
        stats_a = {OVERALL: entry_a.overall, **entry_a.requests}
        stats_b = {OVERALL: entry_b.overall, **entry_b.requests}
        for request in [OVERALL, *sorted((set(stats_a) | set(stats_b)) - {OVERALL})]:
            for metric in METRICS:
                va, vb = _value(stats_a.get(request), metric), _value(stats_b.get(request), metric)
                if va is None and vb is None:
                    continue
                regression, improvement = _judge(metric, va, vb, tol)
                deltas.append(
                    MetricDelta(
                        entry=entry_a.name,
                        request=request,
                        metric=metric,
                        a=va,
                        b=vb,
                        regression=regression,
                        improvement=improvement,
                    )
                )
    changes = [VerdictChange(section="run", entry="verdict", a=a.verdict, b=b.verdict)]
    keyed_a = {(entry_kind(e), e.name): e for e in a.entries}
    keyed_b = {(entry_kind(e), e.name): e for e in b.entries}
    for key in [*keyed_a, *(k for k in keyed_b if k not in keyed_a)]:
        changes.append(
            VerdictChange(section=key[0], entry=key[1], a=_verdict(keyed_a.get(key)), b=_verdict(keyed_b.get(key)))
        )
    return Comparison(a=a, b=b, tolerance=tol, deltas=deltas, changes=changes)


def _show(metric: Metric, value: float | None) -> str:
    if value is None:
        return "-"
    if metric == "error_rate":
        return percent(value)
    if metric == "rps":
        return f"{value:.1f}"
    return ms(value)


def _change(d: MetricDelta) -> str:
    if d.delta is None:
        return "only in " + ("B" if d.a is None else "A")
    relative = f" ({d.relative * 100:+.1f} %)" if d.relative is not None else ""
    if d.metric == "error_rate":
        return f"{d.delta * 100:+.3g} pp"
    return f"{d.delta:+.1f}{relative}"


def _flag(d: MetricDelta) -> str:
    return "🔴 regression" if d.regression else "🟢 better" if d.improvement else ""


def comparison_markdown(c: Comparison) -> str:
    """The comparison as Markdown: regressions first, then the side-by-side tables."""
    regressions = c.regressions
    icon = "🔴" if regressions else "✅"
    lines = [f"## {icon} Gauntlet compare: `{c.a.id}` (A) vs `{c.b.id}` (B)", ""]
    if regressions:
        lines += [f"**{len(regressions)} regression{'s' if len(regressions) != 1 else ''}:**", ""]
        lines += [f"- {r}" for r in regressions] + [""]
    else:
        lines += ["No regression beyond the tolerance.", ""]
    lines += ["### Verdicts", ""]
    lines += table(
        ["section", "entry", "A", "B", ""],
        [[ch.section, ch.entry, ch.a, ch.b, "🔴 regression" if ch.regression else ""] for ch in c.changes],
    )
    if c.deltas:
        lines += ["", "### Load", ""]
        lines += table(
            ["run", "request", "metric", "A", "B", "change", ""],
            [
                [d.entry, d.request, d.metric, _show(d.metric, d.a), _show(d.metric, d.b), _change(d), _flag(d)]
                for d in c.deltas
            ],
        )
    t = c.tolerance
    lines += [
        "",
        f"Tolerance: latency +{t.latency_relative * 100:g} % and +{t.latency_floor_ms:g} ms, error rate "
        f"+{t.error_rate_points * 100:g} pp, throughput -{t.throughput_relative * 100:g} %.",
    ]
    return "\n".join(lines) + "\n"


def comparison_html(c: Comparison) -> str:
    """The comparison as one self-contained HTML page, A and B side by side, regressions highlighted."""
    regressions = c.regressions
    verdict = "failed" if regressions else "passed"
    items = "".join(f"<li>{escape(r)}</li>" for r in regressions)
    summary = (
        f'<section class="culprits" data-testid="regressions"><h2>Regressions ({len(regressions)})</h2>'
        f"<ul>{items}</ul></section>"
        if regressions
        else '<section data-testid="regressions"><p>No regression beyond the tolerance.</p></section>'
    )
    verdicts = html_table(
        ["section", "entry", "A", "B"],
        [([escape(ch.section), escape(ch.entry), escape(ch.a), escape(ch.b)], ch.regression) for ch in c.changes],
        testid="compare-verdicts",
    )
    deltas = html_table(
        ["run", "request", "metric", "A", "B", "change", ""],
        [
            (
                [
                    escape(d.entry),
                    escape(d.request),
                    d.metric,
                    _show(d.metric, d.a),
                    _show(d.metric, d.b),
                    escape(_change(d)),
                    "regression" if d.regression else "better" if d.improvement else "",
                ],
                d.regression,
            )
            for d in c.deltas
        ],
        testid="compare-load",
    )
    body = (
        f"<header><h1>Gauntlet compare <code>{escape(c.a.id)}</code> (A) vs <code>{escape(c.b.id)}</code> (B) "
        f'<span class="verdict {verdict}">{len(regressions)} regression(s)</span></h1></header>'
        f"{summary}<h2>Verdicts</h2>{verdicts}<h2>Load</h2>{deltas}"
    )
    return page(f"Gauntlet compare {c.a.id} vs {c.b.id}", body)
