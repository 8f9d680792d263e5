"""Latency regressions against a baseline (load/baseline.py): order-statistic intervals, verdicts, plans."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any, cast

import pytest
from hdrh.histogram import HdrHistogram

from gauntlet.load import baseline as b
from gauntlet.load.hdr import encode, new_histogram
from gauntlet.load.results import LoadResult, RunInfo

RULE = b.RegressionRule()


def hist_of(values_ms: list[float]) -> HdrHistogram:
    hist = new_histogram()
    for v in values_ms:
        hist.record_value(max(1, int(v * 1000)))
    return hist


def lognormal(n: int, median_ms: float, seed: int, sigma: float = 0.5) -> list[float]:
    rng = random.Random(seed)
    return [median_ms * rng.lognormvariate(0.0, sigma) for _ in range(n)]


def run_info(**changes: Any) -> RunInfo:
    info: dict[str, Any] = {
        "id": "base-1",
        "profile": "mixed",
        "scenario": "ramp",
        "target": "http://127.0.0.1:1",
        "started_at": "2024-01-01T00:00:00.000Z",
        "ended_at": "2024-01-01T00:01:00.000Z",
        "duration_s": 60.0,
        "workers": 1,
        "peak_users": 20,
        "stages": [{"until_s": 60.0, "users": 20, "spawn_rate": 0.333}],
        "rate_per_s": None,
        "latency_basis": "response",
        "host": "ci-1",
    }
    info.update(changes)
    return cast(RunInfo, info)


def result_of(requests: dict[str, list[float]], *, passed: bool = True, **run: Any) -> LoadResult:
    return cast(
        LoadResult,
        {
            "schema": "gauntlet.load.result",
            "version": 1,
            "run": run_info(**run),
            "passed": passed,
            "overall": {"hdr": encode(hist_of([v for values in requests.values() for v in values]))},
            "requests": {name: {"hdr": encode(hist_of(values))} for name, values in requests.items()},
        },
    )


def by_name(comparisons: list[Any]) -> dict[str, Any]:
    return {c["request"]: c for c in comparisons}


# -- the interval ------------------------------------------------------------------------------------------


def test_order_statistic_ranks_match_the_binomial_bounds() -> None:
    assert b.quantile_ranks(1000, 0.95, 0.95) == (936, 964)
    assert b.quantile_ranks(100, 0.95, 0.95) == (90, 100)
    assert b.quantile_ranks(50, 0.95, 0.95)[1] is None  # even the max is not a 95 % upper bound of a p95
    assert b.min_samples_for(0.95, 0.95) == 72
    # The normal approximation above the exact range agrees with the exact ranks at its edge.
    exact = b.quantile_ranks(b.EXACT_UP_TO, 0.95, 0.95)
    approx = b.quantile_ranks(b.EXACT_UP_TO + 1, 0.95, 0.95)
    assert exact[0] is not None and approx[0] is not None and abs(exact[0] - approx[0]) <= 2


def test_the_interval_covers_the_true_p95_at_least_95_percent_of_the_time() -> None:
    rng = random.Random(7)
    n, trials, true_p95 = 300, 400, -50.0 * math.log(0.05)  # exponential, mean 50 ms
    low, high = b.quantile_ranks(n, 0.95, 0.95)
    assert low is not None and high is not None
    covered = 0
    for _ in range(trials):
        sample = sorted(rng.expovariate(1 / 50.0) for _ in range(n))
        covered += sample[low - 1] <= true_p95 <= sample[high - 1]
    assert covered / trials >= 0.93  # >= 95 % in theory; 400 trials leave about 1 % of sampling slack


def test_interval_values_are_read_off_the_histogram() -> None:
    interval = b.quantile_interval(hist_of([float(v) for v in range(1, 1001)]), 95.0, 0.95)
    assert interval.samples == 1000
    assert interval.estimate_ms == pytest.approx(950, rel=2e-3)
    assert interval.low_ms == pytest.approx(936, rel=2e-3) and interval.high_ms == pytest.approx(964, rel=2e-3)


# -- verdicts ----------------------------------------------------------------------------------------------


def test_a_request_ten_times_slower_is_flagged() -> None:
    base = result_of({"rpc:feed_fusion_home": lognormal(400, 20.0, seed=1)})
    now = result_of({"rpc:feed_fusion_home": lognormal(400, 200.0, seed=2)})
    found = by_name(b.compare_results(now, base, RULE))
    assert list(found) == ["overall", "rpc:feed_fusion_home"]  # all requests together first
    assert found["overall"]["status"] == "regressed"
    c = found["rpc:feed_fusion_home"]
    assert c["status"] == "regressed" and not c["passed"]
    assert c["ratio"] is not None and 7.0 < c["ratio"] < 14.0
    assert c["current_low_ms"] is not None and c["baseline_high_ms"] is not None
    assert c["current_low_ms"] > 2 * c["baseline_high_ms"]
    assert "beyond the noise" in c["text"] and c["text"].startswith("rpc:feed_fusion_home p95:")


def test_noise_sized_differences_are_not_flagged() -> None:
    base = result_of({"same": lognormal(300, 20.0, seed=3), "slower": lognormal(300, 20.0, seed=4)})
    now = result_of({"same": lognormal(300, 20.0, seed=5), "slower": lognormal(300, 30.0, seed=6)})
    found = by_name(b.compare_results(now, base, RULE))
    assert found["same"]["status"] == "ok" and found["same"]["reason"] == "within factor"
    assert found["slower"]["status"] == "ok"  # 1.5x: slower, but not the rollback rule's 2x


def test_above_the_factor_but_within_the_noise_is_not_flagged() -> None:
    # 100 samples: the baseline p95's upper bound is its maximum (200 ms), so 2.5x at the p95 proves nothing.
    base_values = [10.0] * 94 + [20.0, 30.0, 60.0, 100.0, 150.0, 200.0]
    now_values = [10.0] * 94 + [50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    c = by_name(b.compare_results(result_of({"x": now_values}), result_of({"x": base_values}), RULE))["x"]
    assert c["ratio"] is not None and c["ratio"] > 2.0
    assert (c["status"], c["reason"]) == ("ok", "within noise")
    assert "within the noise" in c["text"]


def test_too_few_samples_is_not_compared_never_passed_silently() -> None:
    base = result_of({"auth:token": lognormal(20, 20.0, seed=7), "gone": lognormal(500, 5.0, seed=8)})
    now = result_of({"auth:token": lognormal(20, 400.0, seed=9), "new": lognormal(500, 5.0, seed=10)})
    found = by_name(b.compare_results(now, base, RULE))
    token = found["auth:token"]
    assert (token["status"], token["reason"]) == ("not compared", "too few samples")
    assert "20 successful samples here, 20 in the baseline; at least 72" in token["text"]
    assert (found["gone"]["status"], found["gone"]["reason"]) == ("not compared", "not in this run")
    assert (found["new"]["status"], found["new"]["reason"]) == ("not compared", "not in the baseline")


def test_a_change_under_the_minimum_delta_is_not_a_regression() -> None:
    base = result_of({"fast": [1.0] * 500})
    now = result_of({"fast": [3.0] * 500})
    c = by_name(b.compare_results(now, base, RULE))["fast"]
    assert (c["status"], c["reason"]) == ("ok", "below min delta")
    strict = by_name(b.compare_results(now, base, b.RegressionRule(min_delta_ms=0.0)))["fast"]
    assert strict["status"] == "regressed"


def test_the_factor_is_configurable() -> None:
    base = result_of({"x": lognormal(500, 20.0, seed=11, sigma=0.1)})
    now = result_of({"x": lognormal(500, 50.0, seed=12, sigma=0.1)})
    assert by_name(b.compare_results(now, base, b.RegressionRule(factor=2.0)))["x"]["status"] == "regressed"
    assert by_name(b.compare_results(now, base, b.RegressionRule(factor=3.0)))["x"]["status"] == "ok"
    with pytest.raises(b.BaselineError, match="factor must be a number > 1"):
        b.RegressionRule(factor=1.0)


def test_a_regression_fails_the_run_and_the_report_says_how_it_was_judged() -> None:
    base = result_of({"x": lognormal(400, 10.0, seed=13)})
    now = result_of({"x": lognormal(400, 100.0, seed=14)}, host="ci-2")
    report = b.build_report(now, base, RULE, source="base/results.json")
    assert (report["factor"], report["percentile"], report["confidence"], report["min_samples"]) == (
        2.0,
        95.0,
        0.95,
        72,
    )
    assert report["run_id"] == "base-1" and report["source"] == "base/results.json"
    assert any("ran on ci-1, this run on ci-2" in w for w in report["warnings"])
    judged = b.with_baseline(now, report)
    assert judged["passed"] is False and [c["request"] for c in b.regressions(judged)] == ["overall", "x"]
    healthy = b.with_baseline(base, b.build_report(base, base, RULE, source="same"))
    assert healthy["passed"] is True and b.regressions(healthy) == []


# -- is the baseline usable --------------------------------------------------------------------------------


def test_a_baseline_of_another_plan_is_refused() -> None:
    base = result_of({"x": [1.0]})
    same = b.PlanKey.of_run(run_info())
    b.ensure_comparable(base, same, source="b.json")
    other = b.PlanKey.of_run(
        run_info(profile="following", stages=[{"until_s": 30.0, "users": 5, "spawn_rate": 1.0}], workers=2)
    )
    with pytest.raises(b.BaselineError) as caught:
        b.ensure_comparable(base, other, source="b.json")
    message = str(caught.value)
    assert "profile mixed -> following" in message
    assert "stages 20 users over 60 s -> 5 users over 30 s" in message
    assert "load generators 1 -> 2" in message and "\n" not in message


def test_read_baseline_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(b.BaselineError, match="no such file"):
        b.read_baseline(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(b.BaselineError, match="not readable JSON"):
        b.read_baseline(bad)
    bad.write_text(json.dumps({"schema": "gauntlet.result", "version": 1}))
    with pytest.raises(b.BaselineError, match=r"not a `gauntlet load` results\.json"):
        b.read_baseline(bad)
    with pytest.raises(b.BaselineError, match=r"no results\.json in that folder"):
        b.read_baseline(tmp_path)
    gate_out = tmp_path / "reports-out"
    (gate_out / "load").mkdir(parents=True)
    (gate_out / "load" / "results.json").write_text(json.dumps(result_of({"x": [1.0]})))
    assert b.read_baseline(gate_out)["run"]["id"] == "base-1"
