"""`--workers 2`: a Locust master and two workers; histograms shipped with each report and merged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet.load.calibration_target import CalibrationTarget
from gauntlet.load.hdr import decode
from gauntlet.stack.ports import free_ports
from tests.integration.load.loadrun import RunLoad, assert_counts_match_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_two_workers_histograms_merge_exactly(run_load: RunLoad) -> None:
    with CalibrationTarget(delay_s=0.02) as server:
        run = run_load(
            "mixed", "--workers", "2", "--users", "10", "--duration", "5s", "--think-time", "0.05",
            "--target", server.url,
        )  # fmt: skip
        counts = dict(server.counts)
    assert run.exit_code == 0, run.output + run.locust_log()
    result = run.result
    assert result["run"]["workers"] == 2
    assert result["checks"]["consistent"], result["checks"]  # Locust's merged count == merged HDR count
    assert_counts_match_server(run, counts, users=10)
    total = timed = 0
    for name, stats in result["requests"].items():
        hist = decode(stats["hdr"])
        assert hist.get_total_count() == stats["requests"] - stats["failures"], name  # successes are timed
        assert stats["p50_ms"] >= 20.0, name
        total += stats["requests"]
        timed += stats["requests"] - stats["failures"]
    overall = decode(result["overall"]["hdr"])
    assert overall.get_total_count() == timed
    assert total == result["overall"]["requests"]
    assert sum(p["requests"] for p in result["series"]) == total
    assert (run.out_dir / "locust-worker-0.log").exists() and (run.out_dir / "locust-worker-1.log").exists()


def test_two_workers_share_an_open_model_rate(run_load: RunLoad, target: CalibrationTarget) -> None:
    run = run_load(
        "suggestions", "-s", "rate", "--rate", "60", "--duration", "3s", "--workers", "2", "--target", target.url
    )
    assert run.exit_code == 0, run.output + run.locust_log()
    result = run.result
    assert result["arrivals"]["scheduled"] == 180  # 30/s on each worker
    assert result["overall"]["requests"] == 180 - result["arrivals"]["missed"]
    assert result["arrivals"]["missed"] <= 3


WORKER_CLI = """
import typer
from gauntlet.load.cli import register
app = typer.Typer()
register(app)
app.command("noop")(lambda: None)
app()
"""


def test_master_and_worker_as_on_two_machines(run_load: RunLoad, target: CalibrationTarget, tmp_path: Path) -> None:
    """`gauntlet load --master` here and `gauntlet load --worker --master-host H` elsewhere (here: loopback)."""
    (port,) = free_ports(1)
    worker_log = tmp_path / "worker.out"
    with worker_log.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER_CLI, "load", "--worker", "--master-host", "127.0.0.1",
             "--master-port", str(port), "--out", str(tmp_path / "worker")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            run = run_load(
                "suggestions", "--master", "--expect-workers", "1", "--master-port", str(port),
                "--users", "2", "--duration", "3s", "--think-time", "0.05", "--target", target.url,
            )  # fmt: skip
            worker_exit = worker.wait(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    assert run.exit_code == 0, run.output + run.locust_log() + worker_log.read_text()
    assert worker_exit == 0, worker_log.read_text()
    result = run.result
    assert result["run"]["workers"] == 1
    assert result["checks"]["consistent"]
    assert_counts_match_server(run, dict(target.counts), users=2)
