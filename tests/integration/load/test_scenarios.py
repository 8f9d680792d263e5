"""Each scenario runs briefly: the users follow the stage table, and `rate` keeps an open-model pace."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.load.calibration_target import CalibrationTarget
from tests.integration.load.loadrun import RunLoad

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
FAST = ("--think-time", "0.05")


def users_series(result: dict[str, object]) -> list[int]:
    return [p["users"] for p in result["series"]]  # type: ignore[attr-defined, index]


def test_ramp_climbs_to_n_users_over_t(run_load: RunLoad, target: CalibrationTarget) -> None:
    run = run_load("suggestions", "-s", "ramp", "--users", "6", "--duration", "6s", "--target", target.url, *FAST)
    assert run.exit_code == 0, run.output + run.locust_log()
    users = users_series(run.result)
    assert run.result["run"]["peak_users"] == 6
    assert users[1] <= 2  # one user per second
    climbing = users[: users.index(6) + 1]
    assert climbing == sorted(climbing)
    assert run.result["run"]["stages"] == [{"until_s": 6.0, "users": 6, "spawn_rate": 1.0}]


def test_spike_goes_to_ten_times_and_back(run_load: RunLoad, target: CalibrationTarget) -> None:
    run = run_load("suggestions", "-s", "spike", "--users", "2", "--duration", "12s", "--target", target.url, *FAST)
    assert run.exit_code == 0, run.output + run.locust_log()
    users = users_series(run.result)
    assert run.result["run"]["peak_users"] == 20
    peak_at = users.index(20)
    assert 1 <= max(users[:3]) <= 2  # the warm-up level first
    assert min(users[peak_at:]) <= 2  # and back down after the spike


def test_soak_holds_steady(run_load: RunLoad, target: CalibrationTarget) -> None:
    run = run_load("home_for_you", "-s", "soak", "--users", "3", "--duration", "5s", "--target", target.url, *FAST)
    assert run.exit_code == 0, run.output + run.locust_log()
    users = users_series(run.result)
    assert users[2:5] == [3, 3, 3]
    per_second = [p["requests"] for p in run.result["series"][1:4]]
    assert min(per_second) > 0


def test_rate_is_an_exact_open_model_pace(run_load: RunLoad, target: CalibrationTarget) -> None:
    run = run_load("suggestions", "-s", "rate", "--rate", "100", "--duration", "3s", "--target", target.url)
    assert run.exit_code == 0, run.output + run.locust_log()
    result = run.result
    arrivals = result["arrivals"]
    assert arrivals["scheduled"] == 300
    # Every arrival that started is exactly one request, no more, no less.
    assert result["overall"]["requests"] == 300 - arrivals["missed"]
    # A fast target: (almost) everything starts on time; a busy shared machine may delay a few.
    assert arrivals["missed"] <= 3
    assert arrivals["on_time"] >= 240
    assert result["run"]["latency_basis"] == "intended_start"
    assert result["overall"]["rps"] == pytest.approx(100, rel=0.02)


def test_rate_reports_arrivals_a_slow_server_kept_from_starting(run_load: RunLoad, tmp_path: Path) -> None:
    """5 slots x 100 ms = 50/s of capacity for 100/s of arrivals: the open model must say so."""
    slo = tmp_path / "slo.yaml"
    slo.write_text("overall:\n  late_arrival_rate: '<= 1%'\n")
    with CalibrationTarget(delay_s=0.1) as server:
        run = run_load(
            "suggestions", "-s", "rate", "--rate", "100", "--users", "5", "--duration", "3s",
            "--target", server.url, "--slo", str(slo),
        )  # fmt: skip
    assert run.exit_code == 1, run.output
    result = run.result
    arrivals = result["arrivals"]
    assert arrivals["scheduled"] == 300
    assert arrivals["late"] + arrivals["missed"] > 100
    assert arrivals["on_time"] + arrivals["late"] + arrivals["missed"] == 300
    # Latency counts from when each arrival was due, so the queueing shows: far above the 100 ms service time.
    assert result["overall"]["p95_ms"] > 400
    (verdict,) = result["thresholds"]
    assert verdict["metric"] == "late_arrival_rate" and not verdict["passed"]
    assert "could not start" in run.output
