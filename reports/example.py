"""A synthetic, fully populated Run: the example in SCHEMA.md, and the input of the writers' tests.

With `failing=True` it fails in each way a culprit must be named: a missed load
threshold, a broken drill invariant and a failed journey step. Deterministic
(fixed times, a seeded generator) so reports built from it can be compared.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gauntlet.load.hdr import encode, new_histogram
from gauntlet.reports.budgets import slo_record
from gauntlet.reports.histogram import percentiles_of
from gauntlet.reports.model import (
    Activity,
    Check,
    ChecklistEntry,
    DrillEntry,
    JourneyEntry,
    JourneyStep,
    LoadEntry,
    RequestStats,
    Run,
    SeriesPoint,
    SloRecord,
)

T0 = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)
LOAD_SECONDS = 120


def request_stats(latencies_ms: list[float], failures: int, duration_s: float) -> RequestStats:
    """RequestStats exactly as `gauntlet load` would measure these latencies."""
    histogram = new_histogram()
    for ms in latencies_ms:
        histogram.record_value(max(1, round(ms * 1000)))
    p = percentiles_of(histogram)
    return RequestStats(
        count=len(latencies_ms),
        failures=failures,
        rps=round(len(latencies_ms) / duration_s, 3),
        p50_ms=p.p50_ms,
        p90_ms=p.p90_ms,
        p95_ms=p.p95_ms,
        p99_ms=p.p99_ms,
        p999_ms=p.p999_ms,
        max_ms=p.max_ms,
        hdr=encode(histogram),
    )


def _threshold(entry: str, scope: str, metric: str, limit: float, stats: RequestStats) -> tuple[Check, SloRecord]:
    """A ceiling threshold as a Check, and its error budget, the way the load adapter builds them."""
    if metric == "error_rate":
        observed, shown = stats.error_rate, f"{stats.error_rate * 100:.4g} %"
        expected = f"< {limit * 100:g} %"
    else:
        observed, shown = stats.p95_ms, f"{stats.p95_ms:.4g} ms"
        expected = f"< {limit:g} ms"
    check = Check(name=f"{scope} {metric} {expected}", passed=observed < limit, observed=shown, expected=expected)
    record = slo_record(
        name=check.name,
        entry=entry,
        metric=metric,
        op="<",
        limit=limit,
        passed=check.passed,
        stats=stats,
        duration=timedelta(seconds=LOAD_SECONDS),
    )
    assert record is not None
    return check, record


def example_load(
    *, failing: bool, rng: random.Random, name: str = "home_for_you/ramp"
) -> tuple[LoadEntry, list[SloRecord]]:
    slow_feed = 2.0 if failing else 1.0  # the failing run's feed misses its 800 ms objective
    feed = [rng.lognormvariate(5.6, 0.35) * slow_feed for _ in range(2400)]
    token = [rng.lognormvariate(4.0, 0.3) for _ in range(600)]
    stats = {
        "rpc:feed_fusion_home": request_stats(feed, 2, LOAD_SECONDS),
        "auth:token": request_stats(token, 0, LOAD_SECONDS),
    }
    overall = request_stats(feed + token, 2, LOAD_SECONDS)
    series = []
    for t in range(LOAD_SECONDS):
        series.append(
            SeriesPoint(
                t_s=float(t),
                users=min(50, 5 + t // 2),
                requests=25,
                failures=1 if t in (40, 90) else 0,
                p50_ms=270.0 * slow_feed + rng.uniform(-20, 20),
                p95_ms=480.0 * slow_feed + rng.uniform(-40, 60),
                p99_ms=620.0 * slow_feed + rng.uniform(-40, 90),
            )
        )
    thresholds = [
        _threshold(name, "overall", "p95_ms", 500.0, overall),
        _threshold(name, "overall", "error_rate", 0.001, overall),
        _threshold(name, "rpc:feed_fusion_home", "p95_ms", 800.0, stats["rpc:feed_fusion_home"]),
        _threshold(name, "auth:token", "p95_ms", 500.0, stats["auth:token"]),
    ]
    entry = LoadEntry(
        name=name,
        profile=name.split("/")[0],
        scenario=name.split("/")[-1],
        started_at=T0,
        finished_at=T0 + timedelta(seconds=LOAD_SECONDS),
        checks=[check for check, _ in thresholds],
        requests=stats,
        overall=overall,
        series=series,
    )
    return entry, [record for _, record in thresholds]


def example_drill(*, failing: bool) -> DrillEntry:
    start = T0 + timedelta(minutes=3)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    lost = 3 if failing else 0
    series = [
        SeriesPoint(
            t_s=float(t), requests=20, failures=8 if 12 <= t < 19 else 0, p99_ms=900.0 if 10 <= t < 20 else 60.0
        )
        for t in range(40)
    ]
    return DrillEntry(
        name="worker_crash",
        description="kill -9 a queue worker mid-batch; its leased items must requeue after the lease TTL",
        status="completed",
        deviated=False,
        started_at=start,
        finished_at=at(40),
        fault_started_at=at(10),
        fault_ended_at=at(20),
        detected_at=at(12.5),
        recovered_at=at(24),
        invariants=[
            Check(
                name="jobs enqueued = done + dead-lettered",
                passed=not failing,
                observed=f"{1000 - lost} of 1000",
                expected="1000 of 1000",
                message=f"{lost} jobs lost after the worker crash" if failing else "",
            ),
            Check(name="no duplicate effects", passed=True, observed=0, expected=0),
        ],
        checks=[Check(name="recovered within 30 s", passed=True, observed="11.5 s", expected="<= 30 s")],
        activities=[
            Activity(
                kind="probe",
                name="queue drains",
                phase="steady-state-before",
                started_at=at(0),
                finished_at=at(1),
                status="succeeded",
            ),
            Activity(
                kind="action",
                name="kill -9 queue-worker-1",
                phase="method",
                started_at=at(10),
                finished_at=at(10.2),
                status="succeeded",
            ),
            Activity(
                kind="probe",
                name="queue drains",
                phase="steady-state-after",
                started_at=at(30),
                finished_at=at(35),
                status="succeeded",
            ),
        ],
        series=series,
    )


def example_journey(*, failing: bool) -> JourneyEntry:
    start = T0 + timedelta(minutes=5)
    names = ["open signup", "create account", "pick interests", "submit onboarding", "home feed renders"]
    durations = [420.0, 810.0, 650.0, 30000.0 if failing else 900.0, 700.0]
    steps, offset = [], 0.0
    for i, (name, ms) in enumerate(zip(names, durations, strict=True)):
        broken = failing and i == 3
        steps.append(
            JourneyStep(
                name=name,
                started_at=start + timedelta(milliseconds=offset),
                duration_ms=ms,
                ok=not broken,
                error="TimeoutError: waiting for 'Continue' to be enabled (30000 ms)" if broken else None,
                screenshot="journeys/signup_onboarding/04-submit-onboarding.png" if broken else None,
                trace="journeys/signup_onboarding/trace.zip" if broken else None,
            )
        )
        offset += ms
        if broken:
            break
    return JourneyEntry(
        name="signup_onboarding",
        started_at=start,
        finished_at=start + timedelta(milliseconds=offset),
        steps=steps,
    )


def example_run(*, failing: bool = False, run_id: str | None = None, seed: int = 7) -> Run:
    """A run with one load entry, one drill, one journey and a smoke test; failing in each of them if asked."""
    load, slos = example_load(failing=failing, rng=random.Random(seed))
    return Run(
        id=run_id or ("run-failing" if failing else "run-passing"),
        started_at=T0,
        finished_at=T0 + timedelta(minutes=6),
        target="http://127.0.0.1:8000",
        profile="ci",
        load=[load],
        drills=[example_drill(failing=failing)],
        journeys=[example_journey(failing=failing)],
        smoke=ChecklistEntry(
            name="smoke",
            checks=[
                Check(name="2A health ok", passed=True, observed="ok", expected="ok"),
                Check(name="2B signup and login", passed=True, observed=200, expected=200),
            ],
        ),
        slos=slos,
    )
