"""`gauntlet load`'s results.json read as a Run: checks naming the threshold, and exact SLO budgets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gauntlet.load import results as r
from gauntlet.load.hdr import LatencyRecorder
from gauntlet.load.plan import RunPlan, StageDict, UserConfig, thresholds_from_dicts
from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.load_adapter import format_metric, run_from_load_result
from gauntlet.reports.markdown import summary_markdown
from gauntlet.reports.resultfile import ensure_result_is_valid, read_result


def _plan() -> RunPlan:
    return RunPlan(
        run_id="load-7",
        profile="home_for_you",
        scenario="smoke",
        target="http://127.0.0.1:8000",
        stages=[StageDict(until_s=10.0, users=2, spawn_rate=1.0)],
        thresholds=[],
        abort_on_fail=False,
        abort_min_samples=50,
        abort_grace_s=5.0,
        measurements_file="m.json",
        progress_file="p.jsonl",
        expect_workers=1,
        users=UserConfig(
            run_id="load-7",
            api_key=None,
            accounts_file=None,
            think_time_s=(0.0, 0.0),
            rate_per_s=None,
            rate_duration_s=None,
            generators=1,
            late_after_s=0.01,
            give_up_after_s=1.0,
        ),
    )


def load_result(*specs: tuple[str, str, str, float], aborted: r.AbortRecord | None = None) -> r.LoadResult:
    """A real `gauntlet load` result: rpc:feed at 100..199 ms (2 failed), auth:token at 5 ms."""
    recorder = LatencyRecorder()
    for i in range(100):
        recorder.record("rpc:feed_fusion_home", 100.0 + i, failed=i < 2, at_s=1000.5 + i / 20)
    for _ in range(100):
        recorder.record("auth:token", 5.0, failed=False, at_s=1001.2)
    m = r.Measurements(
        version=r.MEASUREMENTS_VERSION,
        role="local",
        workers=1,
        started_at=1000.0,
        load_ended_at=1010.0,
        ended_at=1010.5,
        names=recorder.snapshot()["names"],
        series=recorder.series(),
        users=[r.UsersSample(second=1000, users=2)],
        arrivals=None,
        clamped=0,
        late_series_samples=0,
        locust=r.LocustTotals(requests=200, failures=2),
        errors=[],
        aborted=aborted,
    )
    thresholds = thresholds_from_dicts([{"scope": s, "metric": k, "op": o, "limit": v} for s, k, o, v in specs])  # type: ignore[typeddict-item]
    return r.build_result(_plan(), m, r.judge(m, thresholds))


def as_raw(result: r.LoadResult) -> Any:
    return json.loads(json.dumps(result))


def test_a_load_result_becomes_a_run_with_one_load_entry() -> None:
    run = run_from_load_result(as_raw(load_result(("overall", "p95_ms", "<", 500.0))), source="results.json")
    assert (run.id, run.profile, run.target) == ("load-7", "home_for_you", "http://127.0.0.1:8000")
    (entry,) = run.load
    assert entry.name == "home_for_you/smoke"
    assert entry.duration_s == pytest.approx(10.5)
    assert set(entry.requests) == {"rpc:feed_fusion_home", "auth:token"}
    feed = entry.requests["rpc:feed_fusion_home"]
    assert (feed.count, feed.failures, feed.error_rate) == (100, 2, 0.02)
    assert feed.p999_ms == pytest.approx(199.0, rel=1e-3)
    assert entry.overall is not None and entry.overall.count == 200
    assert len(entry.series) == 11 and sum(p.requests for p in entry.series) == 200
    assert run.verdict == "passed"


def test_a_missed_threshold_is_named_with_observed_and_expected() -> None:
    raw = as_raw(load_result(("rpc:feed_fusion_home", "p95_ms", "<", 150.0), ("overall", "error_rate", "<", 0.1)))
    run = run_from_load_result(raw, source="results.json")
    (culprit,) = run.culprits()
    assert culprit.sentence() == (
        "load home_for_you/smoke: threshold `rpc:feed_fusion_home p95_ms < 150 ms` missed: "
        "observed 194 ms, expected < 150 ms"
    )
    assert "`rpc:feed_fusion_home p95_ms < 150 ms` missed" in summary_markdown(run)


def test_a_threshold_without_samples_fails_and_says_so() -> None:
    run = run_from_load_result(as_raw(load_result(("rpc:nothing", "p95_ms", "<", 100.0))), source="x")
    (culprit,) = run.culprits()
    assert "observed none, expected < 100 ms (no samples: a threshold that sees no data fails)" in culprit.sentence()


def test_an_aborted_run_names_the_abort() -> None:
    aborted = r.AbortRecord(at_s=4.2, reason="overall p95_ms < 1 ms: MISSED")
    run = run_from_load_result(as_raw(load_result(aborted=aborted)), source="x")
    (culprit,) = run.culprits()
    assert culprit.sentence() == (
        "load home_for_you/smoke: threshold `run not aborted` missed: observed aborted after 4.2 s, "
        "expected ran to the end (overall p95_ms < 1 ms: MISSED)"
    )


def test_slo_budgets_are_computed_from_the_histograms() -> None:
    raw = as_raw(
        load_result(
            ("overall", "error_rate", "<", 0.001),
            ("rpc:feed_fusion_home", "p95_ms", "<", 150.0),
            ("auth:token", "p99_ms", "<=", 500.0),
            ("overall", "rps", ">=", 5.0),  # a floor: no error budget
            ("overall", "max_ms", "<", 5000.0),  # no budget either
        )
    )
    slos = {s.name: s for s in run_from_load_result(raw, source="x").slos}
    assert set(slos) == {
        "overall error_rate < 0.1 %",
        "rpc:feed_fusion_home p95_ms < 150 ms",
        "auth:token p99_ms <= 500 ms",
    }
    errors = slos["overall error_rate < 0.1 %"]
    assert (errors.objective, errors.good, errors.total) == (0.999, 198, 200)
    assert errors.burn_rate == pytest.approx(10.0)  # 1 % failed against a 0.1 % budget
    assert errors.budget_consumed == pytest.approx(10.0 * 10 / (30 * 86400))
    assert errors.alerts == ["page 6x over 6h/30m", "ticket 3x over 1d/2h", "ticket 1x over 3d/6h"]
    assert errors.passed is False
    slow = slos["rpc:feed_fusion_home p95_ms < 150 ms"]
    # Latency counts the 98 successful requests (102..199 ms): 50 at or above the limit, against 5 % allowed.
    assert (slow.objective, slow.good, slow.total) == (0.95, 48, 98)
    assert slow.burn_rate == pytest.approx(50 / 98 / 0.05)
    token = slos["auth:token p99_ms <= 500 ms"]
    assert (token.objective, token.good, token.burn_rate, token.passed) == (0.99, 100, 0.0, True)


def test_read_result_recognises_a_load_result_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    r.write_json(path, load_result(("overall", "p95_ms", "<", 1.0)))
    run = read_result(path)
    assert run.verdict == "failed" and run.load[0].name == "home_for_you/smoke"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("version", 2, "version: only version 1 is understood"),
        ("run", None, "run: expected a JSON object, got null"),
        ("overall", {"requests": 1}, "overall.failures: missing"),
        ("thresholds", [{"scope": "overall"}], "thresholds[0].metric: missing"),
    ],
)
def test_corrupt_load_results_are_named(key: str, value: object, message: str) -> None:
    raw = as_raw(load_result())
    raw[key] = value
    with pytest.raises(ResultFileError) as caught:
        ensure_result_is_valid(raw, source="load/results.json")
    text = str(caught.value)
    assert text.startswith("load/results.json: ") and message in text and "a `gauntlet load` results.json" in text


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("p95_ms", 612.345, "612.3 ms"),
        ("error_rate", 0.0012, "0.12 %"),
        ("rps", 20.0, "20 req/s"),
        ("requests", 5, "5"),
    ],
)
def test_values_keep_their_units(metric: str, value: float, text: str) -> None:
    assert format_metric(metric, value) == text


def test_a_baseline_regression_is_a_failed_check_and_not_compared_is_a_note() -> None:
    from gauntlet.load.baseline import RegressionRule, build_report, with_baseline

    baseline = load_result()
    recorder = LatencyRecorder()
    for i in range(100):
        recorder.record("rpc:feed_fusion_home", 1000.0 + 10 * i, failed=False, at_s=1000.5 + i / 20)
    for _ in range(50):  # too few to compare
        recorder.record("auth:token", 5.0, failed=False, at_s=1001.2)
    slower = dict(load_result())
    slower["requests"] = {
        name: {**stats, "hdr": recorder.snapshot()["names"][name]["hdr"]}
        for name, stats in baseline["requests"].items()
    }
    current: r.LoadResult = slower  # type: ignore[assignment]
    report = build_report(current, baseline, RegressionRule(min_samples=90), source="base/results.json")
    judged = with_baseline(current, report)
    run = run_from_load_result(as_raw(judged), source="results.json")
    (culprit,) = run.culprits()
    assert culprit.sentence().startswith(
        "load home_for_you/smoke: threshold `rpc:feed_fusion_home p95 <= 2x baseline` missed: observed 1940 ms (10.00x)"
    )
    checks = {c.name: c for c in run.load[0].checks}
    summary = checks["p95 compared with baseline run load-7"]
    assert summary.passed and summary.observed == "2 of 3 requests compared"  # overall, feed; not auth:token
    token = checks["auth:token p95 <= 2x baseline"]
    assert token.skipped and token.waived and not token.passed and "at least 90" in token.message
    assert run.verdict == "failed"
