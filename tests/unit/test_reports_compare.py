"""`compare`: regressions beyond the tolerance are flagged, noise within it is not."""

from __future__ import annotations

import dataclasses

import pytest

from gauntlet.reports.compare import (
    Comparison,
    Tolerance,
    compare_runs,
    comparison_html,
    comparison_markdown,
    ensure_tolerance_is_valid,
)
from gauntlet.reports.errors import ReportError
from gauntlet.reports.example import example_run
from gauntlet.reports.model import RequestStats, Run

FEED = "rpc:feed_fusion_home"


def with_feed(run: Run, **changes: float) -> Run:
    """The run with the feed's stats changed (p95_ms=..., failures=..., rps=...)."""
    entry = run.load[0]
    stats: RequestStats = dataclasses.replace(entry.requests[FEED], **changes)  # type: ignore[arg-type]
    load = dataclasses.replace(entry, requests={**entry.requests, FEED: stats})
    return dataclasses.replace(run, id="b", load=[load])


def flagged(c: Comparison, request: str = FEED) -> dict[str, str]:
    return {
        d.metric: "regression" if d.regression else "better" if d.improvement else ""
        for d in c.deltas
        if d.request == request
    }


BASE = example_run(run_id="a")
P95 = BASE.load[0].requests[FEED].p95_ms


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {"p95_ms": "", "p99_ms": "", "error_rate": "", "rps": ""}),
        ({"p95_ms": P95 * 1.09}, {"p95_ms": ""}),  # within 10 %
        ({"p95_ms": P95 * 1.2}, {"p95_ms": "regression"}),
        ({"p95_ms": P95 * 0.5}, {"p95_ms": "better"}),
        ({"failures": 2 + 24}, {"error_rate": "regression"}),  # +1 percentage point
        ({"failures": 2 + 1}, {"error_rate": ""}),  # +0.04 points: noise
        ({"rps": 20.0 * 0.85}, {"rps": "regression"}),
        ({"rps": 20.0 * 0.95}, {"rps": ""}),
        ({"rps": 20.0 * 1.5}, {"rps": "better"}),
    ],
)
def test_metric_changes_against_the_tolerance(changes: dict[str, float], expected: dict[str, str]) -> None:
    found = flagged(compare_runs(BASE, with_feed(BASE, **changes)))
    for metric, flag in expected.items():
        assert found[metric] == flag, metric


def test_the_latency_floor_ignores_tiny_absolute_changes() -> None:
    fast = with_feed(BASE, p95_ms=2.0)
    slower = with_feed(BASE, p95_ms=2.9)  # +45 % but under a millisecond
    assert flagged(compare_runs(fast, slower))["p95_ms"] == ""
    assert flagged(compare_runs(fast, slower, Tolerance(latency_floor_ms=0.5)))["p95_ms"] == "regression"


def test_a_regression_is_listed_and_highlighted() -> None:
    c = compare_runs(BASE, with_feed(BASE, p95_ms=P95 * 2))
    assert c.regressions == [f"load home_for_you/ramp {FEED} p95_ms: {P95:,.0f} ms -> {P95 * 2:,.0f} ms"]
    md = comparison_markdown(c)
    assert md.startswith("## 🔴 Gauntlet compare: `a` (A) vs `b` (B)")
    assert f"| home_for_you/ramp | {FEED} | p95_ms |" in md and "🔴 regression" in md
    html = comparison_html(c)
    assert 'data-testid="regressions"' in html and "<tr class=bad>" in html


def test_verdict_changes_are_regressions_when_something_starts_failing() -> None:
    c = compare_runs(BASE, example_run(failing=True, run_id="b"))
    changes = {(ch.section, ch.entry): (ch.a, ch.b, ch.regression) for ch in c.changes}
    assert changes[("run", "verdict")] == ("passed", "failed", True)
    assert changes[("drill", "worker_crash")] == ("passed", "failed", True)
    assert changes[("journey", "signup_onboarding")] == ("passed", "failed", True)
    assert changes[("smoke", "smoke")] == ("passed", "passed", False)
    back = compare_runs(example_run(failing=True, run_id="b"), BASE)
    assert [ch for ch in back.changes if ch.regression] == []  # fixed is not a regression


def test_an_entry_that_disappears_is_a_regression() -> None:
    c = compare_runs(BASE, dataclasses.replace(BASE, id="b", drills=[]))
    (gone,) = [ch for ch in c.changes if ch.regression]
    assert (gone.section, gone.entry, gone.a, gone.b) == ("drill", "worker_crash", "passed", "absent")


def test_no_regression_reads_as_such() -> None:
    c = compare_runs(BASE, dataclasses.replace(BASE, id="b"))
    assert c.regressions == []
    assert "No regression beyond the tolerance." in comparison_markdown(c)


@pytest.mark.parametrize(
    ("tolerance", "message"),
    [
        (Tolerance(latency_relative=-0.1), "latency_relative must be a finite number >= 0"),
        (Tolerance(error_rate_points=float("nan")), "error_rate_points"),
        (Tolerance(throughput_relative=1.0), "must be below 1"),
    ],
)
def test_tolerances_are_validated(tolerance: Tolerance, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        ensure_tolerance_is_valid(tolerance)
