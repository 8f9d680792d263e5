"""Uptime %, p95 step times over 1 h / 24 h / 7 d, and the chart's buckets: exact numbers."""

from __future__ import annotations

import pytest

from gauntlet.journeys.monitor.model import StepRecord, Verdict
from gauntlet.journeys.monitor.stats import (
    JourneySample,
    build_snapshot,
    chart_buckets,
    in_window,
    summarise_journey,
    uptime_percent,
)
from gauntlet.journeys.monitor.status import CheckState

NOW = 10_000_000.0
HOUR, DAY = 3600.0, 86400.0


def sample(
    age_s: float, duration_ms: float = 100.0, verdict: Verdict = "pass", journey: str = "seller"
) -> JourneySample:
    return JourneySample(journey=journey, at=NOW - age_s, duration_ms=duration_ms, verdict=verdict)


def test_p95_of_twenty_runs_is_the_nineteenth_in_every_window() -> None:
    """The journey p95 follows load/hdr.py's one percentile convention (tested there): rank 0.95 n rounded."""
    durations = [10.0] * 18 + [500.0, 9000.0]
    samples = [sample(60.0 * (i + 1), duration_ms=d) for i, d in enumerate(durations)]
    summary = summarise_journey("seller", state=None, samples=samples, step_p95={}, last_steps=(), now=NOW)
    assert summary.duration_p95_ms == {"1h": 500.0, "24h": 500.0, "7d": 500.0}


def test_uptime_counts_degraded_as_up() -> None:
    assert uptime_percent(["pass", "degraded", "fail", "pass"]) == 75.0
    assert uptime_percent(["fail"]) == 0.0
    assert uptime_percent([]) is None


def test_windows_include_their_end_and_exclude_their_start() -> None:
    assert in_window(NOW, NOW, HOUR)
    assert in_window(NOW - HOUR + 0.001, NOW, HOUR)
    assert not in_window(NOW - HOUR, NOW, HOUR)
    assert not in_window(NOW + 1, NOW, HOUR)  # a sample from the future is no sample


def test_uptime_and_p95_per_window() -> None:
    samples = [
        *[sample(60 * i, 100.0) for i in range(1, 11)],  # last hour: 10 passes at 100 ms
        sample(30 * 60, 900.0, "fail"),  # last hour: one failure (its time is not in p95)
        *[sample(5 * HOUR + i, 300.0) for i in range(9)],  # within 24 h
        *[sample(3 * DAY + i, 2000.0, "fail") for i in range(20)],  # within 7 d
        sample(8 * DAY, 1.0, "fail"),  # outside every window
    ]
    summary = summarise_journey("seller", state=None, samples=samples, step_p95={}, last_steps=(), now=NOW)
    assert summary.uptime["1h"] == pytest.approx(100 * 10 / 11)
    assert summary.uptime["24h"] == pytest.approx(100 * 19 / 20)
    assert summary.uptime["7d"] == pytest.approx(100 * 19 / 40)
    assert summary.duration_p95_ms == {"1h": 100.0, "24h": 300.0, "7d": 300.0}
    assert summary.last is not None and summary.last.at == NOW - 60
    assert summary.colour == "green"


def test_step_p95_from_history_fills_every_window() -> None:
    summary = summarise_journey(
        "seller", state=None, samples=[], step_p95={"login": {"7d": 19.0}}, last_steps=(), now=NOW
    )
    assert summary.step_p95_ms == {"login": {"1h": None, "24h": None, "7d": 19.0}}
    assert summary.uptime == {"1h": None, "24h": None, "7d": None}


def test_chart_buckets_cover_24h_in_equal_columns() -> None:
    samples = [
        sample(10, 100.0),
        sample(20, 300.0, "fail"),
        sample(DAY - 1, 50.0),  # the oldest column
        sample(DAY + 1, 999.0),  # before the chart
    ]
    buckets = chart_buckets(samples, now=NOW, span_s=DAY, buckets=96)
    assert len(buckets) == 96
    assert buckets[0].start == NOW - DAY
    assert (buckets[0].runs, buckets[0].p95_ms) == (1, 50.0)
    assert (buckets[-1].runs, buckets[-1].failures, buckets[-1].p95_ms) == (2, 1, 300.0)
    assert sum(b.runs for b in buckets) == 3
    assert all(b.p95_ms is None for b in buckets[1:-1])


def test_a_chart_needs_columns() -> None:
    with pytest.raises(ValueError, match="at least one bucket"):
        chart_buckets([], now=NOW, buckets=0)


def test_snapshot_orders_journeys_and_takes_colours_from_check_states() -> None:
    states = [CheckState(check="seller", colour="red"), CheckState(check="returning_user", colour="yellow")]
    samples = [sample(60, journey="returning_user"), sample(60, journey="retired_journey")]
    snapshot = build_snapshot(
        now=NOW,
        journeys=["seller", "returning_user"],
        states=states,
        samples=samples,
        step_p95={},
        last_steps={"seller": (StepRecord(name="login", ok=True, duration_ms=5.0),)},
        failures=[],
        probes=(),
        run_oks=[(NOW - 60, True), (NOW - 120, False), (NOW - 2 * DAY, True)],
    )
    assert [j.name for j in snapshot.journeys] == ["seller", "returning_user", "retired_journey"]
    assert [j.colour for j in snapshot.journeys] == ["red", "yellow", "green"]
    assert snapshot.overall == "red"
    assert snapshot.overall_uptime == {"1h": 50.0, "24h": 50.0, "7d": pytest.approx(200 / 3)}
    assert snapshot.last_run_at == NOW - 60
    assert snapshot.journeys[0].last_steps[0].name == "login"
