"""The numbers are right: HDR percentiles against a known injected latency, and SLO verdicts and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from gauntlet.load.calibration_target import CalibrationTarget
from gauntlet.load.hdr import decode
from tests.integration.load.loadrun import RunLoad, assert_counts_match_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
FAST = ("--think-time", "0.05")


def test_hdr_percentiles_match_an_injected_latency(run_load: RunLoad, slow_target: CalibrationTarget) -> None:
    run = run_load("home_for_you", "--target", slow_target.url, "--duration", "4s", "--users", "3", *FAST)
    assert run.exit_code == 0, run.output + run.locust_log()
    result = run.result
    overall = result["overall"]
    for name, stats in result["requests"].items():
        assert stats["min_ms"] >= 50.0, name  # nothing can be faster than the injected delay
    # The median is the delay plus loopback HTTP; a loaded machine can add a few ms of scheduling.
    assert 50.0 <= overall["p50_ms"] <= 60.0
    assert overall["p50_ms"] <= overall["p95_ms"] <= overall["p99_ms"] <= overall["max_ms"]
    # The shipped histogram is the full distribution (in microseconds), not a summary.
    hist = decode(overall["hdr"])
    assert hist.get_total_count() == overall["requests"] - overall["failures"]  # successful requests are timed
    assert 50_000 <= hist.get_value_at_percentile(50) <= 60_000
    assert_counts_match_server(run, dict(slow_target.counts), users=3)


def at_rank(hist: HdrHistogram, rank: int) -> float:
    """The HDR sample at `rank` (1 = the fastest; clamped to the samples there are), in ms."""
    n = hist.get_total_count()
    return float(hist.get_value_at_percentile(100 * min(max(rank, 1), n) / n)) / 1000


def test_hdr_agrees_with_locusts_own_percentiles_of_the_same_requests(
    run_load: RunLoad, slow_target: CalibrationTarget
) -> None:
    """Same samples, two methods: HDR (exact to 0.1 %) and Locust's rounded buckets (1 ms steps under 100 ms,
    10 ms under 1 s: a loaded CI machine can push this target's p95 past 100 ms).

    Whatever a loaded machine does to the latencies, it does to both. The two define a percentile's
    rank a little differently (HDR rounds p * n, Locust counts from the top), so Locust's value is
    checked against HDR's own samples one rank either side: on a sparse tail two neighbouring
    samples can be ms apart. (Locust's percentiles are taken from its final statistics at quit;
    its CSV can be up to a second behind.)
    """
    run = run_load("suggestions", "--target", slow_target.url, "--duration", "4s", "--users", "4", *FAST)
    assert run.exit_code == 0, run.output + run.locust_log()
    locust = json.loads((run.out_dir / "measurements.json").read_text())["locust_percentiles"]
    compared = 0
    for name, stats in run.result["requests"].items():
        if stats["requests"] < 50:
            continue
        hist = decode(stats["hdr"])
        n = hist.get_total_count()
        for key, percentile in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
            reference = locust[name][key]
            # Locust keeps response times rounded: to 1 ms under 100 ms, 10 ms under 1 s, 100 ms above.
            step = 1.0 if reference < 100 else 10.0 if reference < 1000 else 100.0
            rank = int(percentile * n / 100 + 0.5)  # HdrHistogram's rank of a percentile
            assert abs(stats[key] - at_rank(hist, rank)) <= 0.001 * stats[key] + 0.001, (name, key, stats[key])
            low, high = at_rank(hist, rank - 1), at_rank(hist, rank + 1)
            assert low * 0.999 - step <= reference <= high * 1.001 + step, (name, key, low, high, reference)
            compared += 1
    assert compared >= 3


def test_per_second_series_adds_up(run_load: RunLoad, target: CalibrationTarget) -> None:
    run = run_load("suggestions", "--target", target.url, "--duration", "4s", "--users", "2", *FAST)
    series = run.result["series"]
    assert sum(p["requests"] for p in series) == run.result["overall"]["requests"]
    assert [p["t_s"] for p in series] == list(range(len(series)))
    assert any(p["p95_ms"] > 0 for p in series)


def test_slo_met_exits_0_and_missed_exits_1(run_load: RunLoad, slow_target: CalibrationTarget, tmp_path: Path) -> None:
    generous = tmp_path / "generous.yaml"
    generous.write_text("overall:\n  p95_ms: '< 200ms'\n  error_rate: '< 1%'\n")
    ok = run_load(
        "suggestions", "--target", slow_target.url, "--duration", "3s", "--users", "2", "--slo", str(generous)
    )
    assert ok.exit_code == 0, ok.output
    assert all(v["passed"] for v in ok.result["thresholds"])

    strict = tmp_path / "strict.toml"
    strict.write_text('[overall]\np95_ms = "< 20ms"\n')  # the server takes 50 ms
    missed = run_load(
        "suggestions", "--target", slow_target.url, "--duration", "3s", "--users", "2", "--slo", str(strict)
    )
    assert missed.exit_code == 1, missed.output
    (verdict,) = missed.result["thresholds"]
    assert verdict["reason"] == "missed" and verdict["observed"] >= 50.0
    assert missed.result["passed"] is False
    assert "SLO MISSED" in missed.output


def test_a_threshold_on_a_request_never_made_fails_loudly(
    run_load: RunLoad, target: CalibrationTarget, tmp_path: Path
) -> None:
    """A request the profile cannot make is refused before the run (exit 2, nothing measured); one it
    can make but never reached still fails after the run with "no samples" (test_load_thresholds)."""
    slo = tmp_path / "slo.yaml"
    slo.write_text("scope: all\noverall:\n  p95_ms: 500\nrequests:\n  'rpc:complete_onboarding':\n    p95_ms: 1000\n")
    run = run_load("suggestions", "--target", target.url, "--duration", "3s", "--users", "2", *FAST, "--slo", str(slo))
    assert run.exit_code == 2, run.output
    assert "'rpc:complete_onboarding p95_ms < 1000 ms' names a request no user of this run makes" in run.output
    assert not (run.out_dir / "results.json").exists()


def test_abort_on_fail_stops_early(run_load: RunLoad, slow_target: CalibrationTarget, tmp_path: Path) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("overall:\n  p95_ms: '< 10ms'\n")
    run = run_load(
        "suggestions", "--target", slow_target.url, "--duration", "60s", "--users", "3",
        *FAST, "--slo", str(slo), "--abort-on-fail",
    )  # fmt: skip
    assert run.exit_code == 1, run.output
    result = run.result
    assert result["aborted"] is not None
    assert "p95_ms < 10 ms" in result["aborted"]["reason"]
    assert result["run"]["duration_s"] < 20  # not the 60 s asked for
    assert "aborted at" in run.output
