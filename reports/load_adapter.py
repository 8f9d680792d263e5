"""Ingest `gauntlet load`'s own `results.json` (schema `gauntlet.load.result` v1, load/RESULTS.md) as a Run.

The load area owns that file and its schema; this module only reads it, field
by field, so a corrupt or half-written results.json is a clear error here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from gauntlet.reports.budgets import slo_record
from gauntlet.reports.entries import Breakpoint, LoadError
from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.jsonfields import Fields
from gauntlet.reports.model import Check, LoadEntry, RequestStats, Run, SeriesPoint, SloRecord

LOAD_SCHEMA = "gauntlet.load.result"
LOAD_VERSION = 1
OVERALL = "overall"
_RATES = ("error_rate", "late_arrival_rate")


def is_load_result(raw: object) -> bool:
    return isinstance(raw, Mapping) and raw.get("schema") == LOAD_SCHEMA


def format_metric(metric: str, value: float) -> str:
    """A threshold value in its unit, as load/thresholds.py writes limits (612 ms, 0.1 %, 20 req/s)."""
    if metric.endswith("_ms"):
        return f"{value:.4g} ms"
    if metric in _RATES:
        return f"{value * 100:.4g} %"
    if metric == "rps":
        return f"{value:.4g} req/s"
    return f"{value:g}"


def _stats(f: Fields) -> RequestStats:
    requests, failures = f.count("requests"), f.count("failures")
    f.ensure(failures <= requests, "failures", f"{failures} failures among {requests} requests is impossible")
    return RequestStats(
        count=requests,
        failures=failures,
        rps=f.number("rps"),
        p50_ms=f.number("p50_ms"),
        p90_ms=f.number("p90_ms"),
        p95_ms=f.number("p95_ms"),
        p99_ms=f.number("p99_ms"),
        p999_ms=f.number("p99_9_ms"),
        max_ms=f.number("max_ms"),
        hdr=f.optional_text("hdr"),
    )


def _point(f: Fields) -> SeriesPoint:
    return SeriesPoint(
        t_s=f.number("t_s"),
        users=f.count("users"),
        requests=f.count("requests"),
        failures=f.count("failures"),
        p50_ms=f.number("p50_ms"),
        p95_ms=f.number("p95_ms"),
        p99_ms=f.number("p99_ms"),
    )


@dataclass(frozen=True, kw_only=True)
class _Threshold:
    check: Check
    scope: str
    metric: str
    op: str
    limit: float


def _threshold(f: Fields) -> _Threshold:
    scope, metric, op = f.text("scope"), f.text("metric"), f.choice("op", ("<", "<=", ">", ">="))
    limit = f.number("limit")
    observed = f.optional_number("observed")
    passed = f.flag("passed")
    expected = f"{op} {format_metric(metric, limit)}"
    check = Check(
        name=f"{scope} {metric} {expected}",
        passed=passed,
        observed=None if observed is None else format_metric(metric, observed),
        expected=expected,
        message="no samples: a threshold that sees no data fails" if observed is None else "",
    )
    return _Threshold(check=check, scope=scope, metric=metric, op=op, limit=limit)


_COMPARISON_STATUSES = ("regressed", "ok", "not compared")


def _comparison(factor: float, percentile: str) -> Callable[[Fields], Check]:
    """One request's regression check against the baseline (load/baseline.py); `not compared` is a note."""

    def parse(f: Fields) -> Check:
        request, status = f.text("request"), f.choice("status", _COMPARISON_STATUSES)
        current, ratio = f.optional_number("current_ms"), f.optional_number("ratio")
        observed = f"{format_metric('p_ms', current or 0.0)} ({ratio:.2f}x)" if ratio is not None else None
        if status == "not compared":
            # Too few samples (or a request only one run made): proved nothing, so shown as skipped, never
            # as passed; not a failure either, since a baseline comparison covers what it can.
            return Check(
                name=f"{request} {percentile} <= {factor:g}x baseline",
                passed=False,
                skipped=True,
                waived=True,
                message=f.text("text", allow_empty=True),
            )
        return Check(
            name=f"{request} {percentile} <= {factor:g}x baseline",
            passed=status != "regressed",
            observed=observed,
            expected=f"<= {factor:g}x baseline, or within noise",
            message=f.text("text", allow_empty=True),
        )

    return parse


def _baseline_checks(f: Fields) -> list[Check]:
    """The regression checks of a run compared with a baseline, plus one line saying which baseline."""
    report = f.optional_obj("baseline")
    if report is None:
        return []
    factor = report.number("factor")
    percentile = f"p{report.number('percentile'):g}"
    comparisons = report.items("comparisons", _comparison(factor, percentile))
    raw_warnings = report.raw.get("warnings")
    warnings = [str(w) for w in raw_warnings] if isinstance(raw_warnings, list) else []
    compared = sum(1 for c in comparisons if not c.skipped)
    summary = Check(
        name=f"{percentile} compared with baseline run {report.text('run_id')}",
        passed=True,
        observed=f"{compared} of {len(comparisons)} requests compared",
        expected=report.text("source"),
        message="; ".join(warnings),
    )
    return [summary, *comparisons]


def run_from_load_result(raw: object, *, source: str) -> Run:
    """A Run with one load entry (and its SLO budgets) from a `gauntlet load` results.json."""
    try:
        return _run(Fields(raw, ""))
    except ResultFileError as exc:
        raise ResultFileError(f"{source}: {exc} (a `gauntlet load` results.json)") from None


def _run(f: Fields) -> Run:
    f.ensure(f.raw.get("version") == LOAD_VERSION, "version", f"only version {LOAD_VERSION} is understood")
    info = f.obj("run")
    profile, scenario = info.text("profile"), info.text("scenario")
    started, finished = info.moment("started_at"), info.moment("ended_at")
    duration = timedelta(seconds=info.number("duration_s"))
    name = f"{profile}/{scenario}"
    requests = f.mapping("requests", _stats)
    overall = _stats(f.obj(OVERALL))
    thresholds = f.items("thresholds", _threshold)
    checks = [t.check for t in thresholds] + _baseline_checks(f)
    aborted = f.optional_obj("aborted")
    if aborted is not None:
        checks.append(
            Check(
                name="run not aborted",
                passed=False,
                observed=f"aborted after {aborted.number('at_s'):.1f} s",
                expected="ran to the end",
                message=aborted.text("reason", allow_empty=True),
            )
        )
    if not f.flag("passed") and all(c.passed for c in checks):
        checks.append(
            Check(
                name="load run passed",
                passed=False,
                observed="failed",
                expected="passed",
                message="results.json says the run failed but names no missed threshold",
            )
        )
    entry = LoadEntry(
        name=name,
        profile=profile,
        scenario=scenario,
        started_at=started,
        finished_at=max(finished, started),
        checks=checks,
        requests=requests,
        overall=overall,
        series=f.items("series", _point),
        errors=sorted(f.items("errors", LoadError.from_json), key=lambda e: -e.occurrences),
        breakpoint=Breakpoint.from_json(climb) if (climb := f.optional_obj("breakpoint")) else None,
    )
    slos: list[SloRecord] = []
    for t in thresholds:
        stats = overall if t.scope == OVERALL else requests.get(t.scope)
        if stats is not None and t.metric.endswith("_ms"):
            # Latency is measured over successful requests only: they are the budget's total.
            stats = dataclasses.replace(stats, count=stats.count - stats.failures, failures=0)
        record = slo_record(
            name=t.check.name,
            entry=name,
            metric=t.metric,
            op=t.op,
            limit=t.limit,
            passed=t.check.passed,
            stats=stats,
            duration=duration,
        )
        if record is not None:
            slos.append(record)
    return Run(
        id=info.text("id"),
        started_at=started,
        finished_at=entry.finished_at,
        target=info.text("target", allow_empty=True),
        profile=profile,
        load=[entry],
        slos=slos,
    )
