"""Compare two runs side by side: per request latency, error rate and throughput deltas, and verdict changes.

A change is a regression (or an improvement) only when it is beyond a tolerance
*and* beyond the noise of the two runs. Tolerance: latency worse by more than
10 % *and* 1 ms, error rate by more than 0.1 percentage points, throughput lower
by more than 10 %. Noise, at 95 % confidence, with load/baseline.py's
distribution-free order-statistic intervals (one method for both commands):

- sampling noise of a percentile: its interval from each run's HDR histogram
  (every sample), so a p95 of 40 requests cannot claim a change;
- the machine's drift within a run (10-30 % over seconds on a shared runner):
  the interval of the *median second* of each run's per-second series (p95,
  p99, requests/s), so a few stalled seconds in one run are not a regression;
- error rate: a two-proportion z-test on the failed and total request counts.

The two intervals of a metric must not overlap for the change to count. Where
neither can be estimated (no histogram, a short series) the tolerance alone
decides and the comparison says "noise not estimated".

Load entries are matched by name, and request names within them. Runs of
different plans (scenario, peak users or duration differ) are compared and
shown, but their metric changes are never called regressions: the comparison
says the plans differ and how.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from statistics import NormalDist
from typing import Literal

from gauntlet.load.baseline import DEFAULT_CONFIDENCE, quantile_interval, quantile_ranks
from gauntlet.load.hdr import percentile_of_metric
from gauntlet.reports.errors import ReportError
from gauntlet.reports.formatting import entry_kind, ms, percent
from gauntlet.reports.histogram import decode_histogram
from gauntlet.reports.html import html_table, page
from gauntlet.reports.markdown import table
from gauntlet.reports.model import Entry, LoadEntry, RequestStats, Run

Metric = Literal["p95_ms", "p99_ms", "error_rate", "rps"]
METRICS: tuple[Metric, ...] = ("p95_ms", "p99_ms", "error_rate", "rps")
OVERALL = "overall"
Noise = Literal["beyond noise", "within noise", "noise not estimated"]


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
    noise: Noise = "noise not estimated"
    plans_differ: bool = False

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
    # One sentence per load entry whose plan differs between A and B.
    plan_differences: list[str] = field(default_factory=list)

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


Interval = tuple[float, float]


def _sampling_interval(stats: RequestStats | None, metric: Metric, value: float) -> Interval | None:
    """The percentile's order-statistic interval from the histogram, around the reported value."""
    percentile = percentile_of_metric(metric)
    if stats is None or percentile is None or not stats.hdr:
        return None
    try:
        found = quantile_interval(decode_histogram(stats.hdr), percentile, DEFAULT_CONFIDENCE)
    except ReportError:
        return None
    if found.low_ms is None or found.high_ms is None or found.estimate_ms <= 0:
        return None
    # Relative to the histogram's own estimate, applied to the value the run reports.
    return value * found.low_ms / found.estimate_ms, value * found.high_ms / found.estimate_ms


def _seconds_interval(entry: LoadEntry, metric: Metric) -> Interval | None:
    """The interval of the median second (per-second p95, p99 or requests), from the run's series."""
    if metric == "error_rate":
        return None
    points = [p for p in entry.series if p.requests > 0]
    values = sorted(float(p.requests) if metric == "rps" else float(getattr(p, metric)) for p in points)
    if metric != "rps" and not any(values):
        return None  # the series has no latency columns
    low, high = quantile_ranks(len(values), 0.5, DEFAULT_CONFIDENCE)
    if low is None or high is None:
        return None
    return values[low - 1], values[high - 1]


def _disjoint(a: Interval | None, b: Interval | None) -> bool | None:
    """True when the intervals do not overlap, None when either is unknown."""
    if a is None or b is None:
        return None
    return a[1] < b[0] or b[1] < a[0]


def _proportions_differ(a: RequestStats, b: RequestStats) -> bool | None:
    if a.count == 0 or b.count == 0:
        return None
    pooled = (a.failures + b.failures) / (a.count + b.count)
    if pooled in (0.0, 1.0):
        return False
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.count + 1 / b.count))
    z = NormalDist().inv_cdf(1 - (1 - DEFAULT_CONFIDENCE) / 2)
    return abs(b.error_rate - a.error_rate) > z * spread


def _noise(
    metric: Metric,
    request: str,
    entries: tuple[LoadEntry, LoadEntry],
    stats: tuple[RequestStats | None, RequestStats | None],
    values: tuple[float | None, float | None],
) -> Noise:
    """Whether the change from A to B is beyond the noise of the two runs (see the module's docstring)."""
    va, vb = values
    sa, sb = stats
    if va is None or vb is None or sa is None or sb is None:
        return "noise not estimated"
    verdicts: list[bool | None] = []
    if metric == "error_rate":
        verdicts.append(_proportions_differ(sa, sb))
    else:
        verdicts.append(_disjoint(_sampling_interval(sa, metric, va), _sampling_interval(sb, metric, vb)))
        if request == OVERALL:  # the series is of all requests together
            verdicts.append(_disjoint(_seconds_interval(entries[0], metric), _seconds_interval(entries[1], metric)))
    known = [v for v in verdicts if v is not None]
    if not known:
        return "noise not estimated"
    return "beyond noise" if all(known) else "within noise"


@dataclass(frozen=True, kw_only=True)
class PlanKey:
    """What a load entry was asked to do, as far as the result shows it."""

    profile: str
    scenario: str
    peak_users: int
    duration_s: int

    @classmethod
    def of(cls, entry: LoadEntry) -> PlanKey:
        return cls(
            profile=entry.profile,
            scenario=entry.scenario,
            peak_users=max((p.users for p in entry.series), default=0),
            duration_s=round(entry.duration_s),
        )

    def describe(self) -> str:
        return f"{self.profile}/{self.scenario}, peak {self.peak_users} users, {self.duration_s} s"


def plan_difference(a: LoadEntry, b: LoadEntry) -> str | None:
    """A sentence when the two entries ran different plans (durations within 10 % or 5 s count as equal)."""
    pa, pb = PlanKey.of(a), PlanKey.of(b)
    tolerance_s = max(5.0, 0.1 * max(pa.duration_s, pb.duration_s))
    same = (pa.profile, pa.scenario, pa.peak_users) == (pb.profile, pb.scenario, pb.peak_users) and abs(
        pa.duration_s - pb.duration_s
    ) <= tolerance_s
    if same:
        return None
    return (
        f"load {a.name}: the plans differ (A: {pa.describe()}; B: {pb.describe()}), so its numbers are not comparable"
    )


def _verdict(entry: Entry | None) -> str:
    return "absent" if entry is None else ("failed" if entry.culprits() else "passed")


def compare_runs(a: Run, b: Run, tolerance: Tolerance | None = None) -> Comparison:
    """What changed from run A (the baseline) to run B."""
    tol = ensure_tolerance_is_valid(tolerance or Tolerance())
    deltas: list[MetricDelta] = []
    plan_differences: list[str] = []
    b_load = {e.name: e for e in b.load}
    for entry_a in a.load:
        entry_b = b_load.get(entry_a.name)
        if entry_b is None:
            continue
        differs = plan_difference(entry_a, entry_b)
        if differs is not None:
            plan_differences.append(differs)
        stats_a = {OVERALL: entry_a.overall, **entry_a.requests}
        stats_b = {OVERALL: entry_b.overall, **entry_b.requests}
        for request in [OVERALL, *sorted((set(stats_a) | set(stats_b)) - {OVERALL})]:
            for metric in METRICS:
                sa, sb = stats_a.get(request), stats_b.get(request)
                va, vb = _value(sa, metric), _value(sb, metric)
                if va is None and vb is None:
                    continue
                regression, improvement = _judge(metric, va, vb, tol)
                noise = _noise(metric, request, (entry_a, entry_b), (sa, sb), (va, vb))
                counted = noise != "within noise" and differs is None
                deltas.append(
                    MetricDelta(
                        entry=entry_a.name,
                        request=request,
                        metric=metric,
                        a=va,
                        b=vb,
                        regression=regression and counted,
                        improvement=improvement and counted,
                        noise=noise,
                        plans_differ=differs is not None,
                    )
                )
    changes = [VerdictChange(section="run", entry="verdict", a=a.verdict, b=b.verdict)]
    keyed_a = {(entry_kind(e), e.name): e for e in a.entries}
    keyed_b = {(entry_kind(e), e.name): e for e in b.entries}
    for key in [*keyed_a, *(k for k in keyed_b if k not in keyed_a)]:
        changes.append(
            VerdictChange(section=key[0], entry=key[1], a=_verdict(keyed_a.get(key)), b=_verdict(keyed_b.get(key)))
        )
    return Comparison(a=a, b=b, tolerance=tol, deltas=deltas, changes=changes, plan_differences=plan_differences)


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


def _note(d: MetricDelta) -> str:
    """Why a change that looks large is not flagged, or how sure a flagged one is."""
    if d.delta is None:
        return ""
    if d.plans_differ:
        return "plans differ"
    return d.noise


def comparison_markdown(c: Comparison) -> str:
    """The comparison as Markdown: regressions first, then the side-by-side tables."""
    regressions = c.regressions
    icon = "🔴" if regressions else "✅"
    lines = [f"## {icon} Gauntlet compare: `{c.a.id}` (A) vs `{c.b.id}` (B)", ""]
    if c.plan_differences:
        lines += ["**⚠️ The runs' plans differ:** metric changes below are shown, never counted as regressions.", ""]
        lines += [f"- {p}" for p in c.plan_differences] + [""]
    if regressions:
        lines += [f"**{len(regressions)} regression{'s' if len(regressions) != 1 else ''}:**", ""]
        lines += [f"- {r}" for r in regressions] + [""]
    else:
        lines += ["No regression beyond the tolerance. Changes within the noise are not counted.", ""]
    lines += ["### Verdicts", ""]
    lines += table(
        ["section", "entry", "A", "B", ""],
        [[ch.section, ch.entry, ch.a, ch.b, "🔴 regression" if ch.regression else ""] for ch in c.changes],
    )
    if c.deltas:
        lines += ["", "### Load", ""]
        lines += table(
            ["run", "request", "metric", "A", "B", "change", "", "noise"],
            [
                [
                    d.entry,
                    d.request,
                    d.metric,
                    _show(d.metric, d.a),
                    _show(d.metric, d.b),
                    _change(d),
                    _flag(d),
                    _note(d),
                ]
                for d in c.deltas
            ],
        )
    t = c.tolerance
    lines += [
        "",
        f"Tolerance: latency +{t.latency_relative * 100:g} % and +{t.latency_floor_ms:g} ms, error rate "
        f"+{t.error_rate_points * 100:g} pp, throughput -{t.throughput_relative * 100:g} %. A change counts only "
        f"beyond the noise too: {DEFAULT_CONFIDENCE:.0%} intervals of each run's percentiles (histograms) and of "
        "its median second (series) must not overlap; error rates by a two-proportion test.",
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
        else '<section data-testid="regressions"><p>No regression beyond the tolerance. '
        "Changes within the noise are not counted.</p></section>"
    )
    if c.plan_differences:
        plans = "".join(f"<li>{escape(p)}</li>" for p in c.plan_differences)
        summary = (
            '<section class="culprits" data-testid="plans-differ"><h2>The plans differ</h2>'
            f"<p>Metric changes are shown, never counted as regressions.</p><ul>{plans}</ul></section>{summary}"
        )
    verdicts = html_table(
        ["section", "entry", "A", "B"],
        [([escape(ch.section), escape(ch.entry), escape(ch.a), escape(ch.b)], ch.regression) for ch in c.changes],
        testid="compare-verdicts",
    )
    deltas = html_table(
        ["run", "request", "metric", "A", "B", "change", "", "noise"],
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
                    escape(_note(d)),
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
