"""The result of a load run: the JSON schema (documented in load/RESULTS.md) and its writer.

Two files: `measurements.json` is what the Locust master (or single process)
measured, raw; `results.json` is the published result built from it plus the
plan and the threshold verdicts. The reports module reads `results.json`.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from gauntlet.base.files import write_atomically
from gauntlet.load.arrivals import ArrivalReport
from gauntlet.load.breakpoint import BreakpointRecord
from gauntlet.load.hdr import NameSnapshot, SecondRow, decode, encode, new_histogram, summarize
from gauntlet.load.plan import RunPlan, StageDict
from gauntlet.load.thresholds import (
    OVERALL,
    ArrivalCounts,
    HistogramMetrics,
    Op,
    Threshold,
    Verdict,
    all_met,
    evaluate,
)

SCHEMA = "gauntlet.load.result"
SCHEMA_VERSION = 1
MEASUREMENTS_VERSION = 1


class UsersSample(TypedDict):
    second: int
    users: int


class ErrorRecord(TypedDict):
    name: str
    method: str
    error: str
    occurrences: int


class AbortRecord(TypedDict):
    at_s: float
    reason: str


class LocustTotals(TypedDict):
    requests: int
    failures: int


class LocustPercentiles(TypedDict):
    """Locust's own percentiles (its rounded buckets) of the same requests, for cross-checking."""

    p50_ms: float
    p95_ms: float
    p99_ms: float


class Measurements(TypedDict):
    """Written by the Locust master/single process when it quits."""

    version: int
    role: str
    workers: int
    started_at: float
    load_ended_at: float
    ended_at: float
    names: dict[str, NameSnapshot]
    series: list[SecondRow]
    users: list[UsersSample]
    arrivals: ArrivalReport | None
    clamped: int
    late_series_samples: int
    locust: LocustTotals
    # Added after v1 shipped: optional, so older measurements (and their writers) stay valid.
    locust_percentiles: NotRequired[dict[str, LocustPercentiles]]
    errors: list[ErrorRecord]
    aborted: AbortRecord | None


class RequestStats(TypedDict):
    requests: int
    failures: int
    error_rate: float
    rps: float
    min_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p99_9_ms: float
    max_ms: float
    hdr: str


class SeriesPoint(TypedDict):
    t_s: int
    users: int
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class VerdictRecord(TypedDict):
    scope: str
    metric: str
    op: Op
    limit: float
    observed: float | None
    passed: bool
    reason: str
    text: str


class RunInfo(TypedDict):
    id: str
    profile: str
    scenario: str
    target: str
    started_at: str
    ended_at: str
    duration_s: float
    workers: int
    peak_users: int
    stages: list[StageDict]
    rate_per_s: float | None
    latency_basis: Literal["response", "intended_start"]
    # Added after v1 shipped (optional): the machine that generated the load, for baselines.
    host: NotRequired[str]


ComparisonStatus = Literal["regressed", "ok", "not compared"]


class BaselineComparison(TypedDict):
    """One request name's latency percentile against the baseline's (load/baseline.py)."""

    request: str
    status: ComparisonStatus
    passed: bool
    reason: str
    current_samples: int
    baseline_samples: int
    current_ms: float | None
    baseline_ms: float | None
    ratio: float | None
    current_low_ms: float | None
    baseline_high_ms: float | None
    text: str


class BaselineReport(TypedDict):
    """The regression check against a baseline run (`gauntlet load --baseline FILE`)."""

    source: str
    run_id: str
    started_at: str
    percentile: float
    factor: float
    confidence: float
    min_samples: int
    min_delta_ms: float
    warnings: list[str]
    comparisons: list[BaselineComparison]


class Checks(TypedDict):
    locust_requests: int
    hdr_requests: int
    consistent: bool
    clamped: int
    late_series_samples: int


class LoadResult(TypedDict):
    schema: str
    version: int
    run: RunInfo
    passed: bool
    aborted: AbortRecord | None
    overall: RequestStats
    requests: dict[str, RequestStats]
    thresholds: list[VerdictRecord]
    series: list[SeriesPoint]
    arrivals: ArrivalReport | None
    checks: Checks
    errors: list[ErrorRecord]
    # Added after v1 shipped (optional): set when the run was compared with a baseline.
    baseline: NotRequired[BaselineReport]
    # `--scenario breakpoint`: the per-step table and the knee (load/breakpoint.py).
    breakpoint: NotRequired[BreakpointRecord]


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{int(epoch_s % 1 * 1000):03d}Z"


def _request_stats(metrics: HistogramMetrics, duration_s: float, hdr_text: str) -> RequestStats:
    summary = summarize(metrics.histogram)
    return RequestStats(
        requests=metrics.requests,
        failures=metrics.failures,
        error_rate=metrics.failures / metrics.requests if metrics.requests else 0.0,
        rps=round(metrics.requests / duration_s, 3) if duration_s > 0 else 0.0,
        hdr=hdr_text,
        **summary,
    )


def scopes_of(names: Mapping[str, NameSnapshot]) -> dict[str, HistogramMetrics]:
    """HistogramMetrics per request name and for "overall" (all names merged)."""
    scopes: dict[str, HistogramMetrics] = {}
    overall = new_histogram()
    for name, part in names.items():
        hist = decode(part["hdr"])
        scopes[name] = HistogramMetrics(hist, part["requests"], part["failures"])
        if part["requests"]:
            overall.add(hist)
    scopes[OVERALL] = HistogramMetrics(
        overall,
        sum(p["requests"] for p in names.values()),
        sum(p["failures"] for p in names.values()),
    )
    return scopes


def load_duration_s(m: Measurements) -> float:
    return max(m["load_ended_at"] - m["started_at"], 0.0)


def arrival_counts(report: ArrivalReport | None) -> ArrivalCounts | None:
    if report is None:
        return None
    return ArrivalCounts(scheduled=report["scheduled"], late=report["late"], missed=report["missed"])


def judge(m: Measurements, thresholds: tuple[Threshold, ...]) -> list[Verdict]:
    return evaluate(
        thresholds, scopes_of(m["names"]), duration_s=load_duration_s(m), arrivals=arrival_counts(m["arrivals"])
    )


def _series(m: Measurements) -> list[SeriesPoint]:
    start = int(m["started_at"])
    users_at = {u["second"]: u["users"] for u in m["users"]}
    rows = {r["second"]: r for r in m["series"]}
    last_users = 0
    points = []
    for second in range(start, int(m["ended_at"]) + 1):
        last_users = users_at.get(second, last_users)
        row = rows.get(second)
        points.append(
            SeriesPoint(
                t_s=second - start,
                users=last_users,
                requests=row["requests"] if row else 0,
                failures=row["failures"] if row else 0,
                p50_ms=row["p50_ms"] if row else 0.0,
                p95_ms=row["p95_ms"] if row else 0.0,
                p99_ms=row["p99_ms"] if row else 0.0,
                max_ms=row["max_ms"] if row else 0.0,
            )
        )
    return points


def _verdict_record(v: Verdict) -> VerdictRecord:
    t = v.threshold
    return VerdictRecord(
        scope=t.scope,
        metric=t.metric,
        op=t.op,
        limit=t.limit,
        observed=v.observed,
        passed=v.passed,
        reason=v.reason,
        text=v.describe(),
    )


def build_result(plan: RunPlan, m: Measurements, verdicts: list[Verdict]) -> LoadResult:
    """The published result of a run; `passed` is false if any threshold was missed."""
    duration = load_duration_s(m)
    scopes = scopes_of(m["names"])
    overall_hist = scopes[OVERALL].histogram
    requests = {name: _request_stats(scopes[name], duration, part["hdr"]) for name, part in sorted(m["names"].items())}
    hdr_total = scopes[OVERALL].requests
    locust_total = m["locust"]["requests"]
    return LoadResult(
        schema=SCHEMA,
        version=SCHEMA_VERSION,
        run=RunInfo(
            id=plan["run_id"],
            profile=plan["profile"],
            scenario=plan["scenario"],
            target=plan["target"],
            started_at=_iso(m["started_at"]),
            ended_at=_iso(m["ended_at"]),
            duration_s=round(duration, 3),
            workers=m["workers"],
            peak_users=max((u["users"] for u in m["users"]), default=0),
            stages=plan["stages"],
            rate_per_s=plan["users"]["rate_per_s"],
            latency_basis="intended_start" if plan["users"]["rate_per_s"] else "response",
            host=socket.gethostname(),
        ),
        passed=all_met(verdicts) and m["aborted"] is None,
        aborted=m["aborted"],
        overall=_request_stats(scopes[OVERALL], duration, encode(overall_hist)),
        requests=requests,
        thresholds=[_verdict_record(v) for v in verdicts],
        series=_series(m),
        arrivals=m["arrivals"],
        checks=Checks(
            locust_requests=locust_total,
            hdr_requests=hdr_total,
            consistent=locust_total == hdr_total,
            clamped=m["clamped"],
            late_series_samples=m["late_series_samples"],
        ),
        errors=m["errors"],
    )


def write_json(path: Path, data: Mapping[str, object]) -> None:
    """Write atomically: a reader never sees half a file."""
    write_atomically(path, json.dumps(data, indent=2, sort_keys=False))


def read_measurements(path: Path) -> Measurements:
    raw: Measurements = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("version") != MEASUREMENTS_VERSION:
        raise ValueError(f"{path}: unsupported measurements version {raw.get('version')!r}")
    return raw


def read_result(path: Path) -> LoadResult:
    raw: LoadResult = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("schema") != SCHEMA or raw.get("version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: not a {SCHEMA} v{SCHEMA_VERSION} file")
    return raw
