"""`gauntlet load -f FILE.py`: a plain Locust file runs with Gauntlet's shape, HDR percentiles and thresholds.

The example locustfile (examples/locustfile.py) against the embedded stack, in one process and with a
master and a worker; and k6's abortOnFail stopping a run early, against the calibration target.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet.load.calibration_target import CalibrationTarget
from gauntlet.load.hdr import decode
from gauntlet.stack.ports import free_ports
from gauntlet.stack.state import StackState
from tests.integration.load.loadrun import RunLoad

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "locustfile.py"
GAUNTLET = [sys.executable, "-m", "gauntlet"]
# The example's own requests, with latency limits a shared 2-core test machine meets: what this checks
# is that each threshold is evaluated on samples, not the machine's milliseconds.
K6_SLO = """\
thresholds:
  http_req_duration: ["p(95)<10000", "p(99)<10000"]
  http_req_failed: ["rate<0.01"]
  http_reqs: ["count>=5"]
  "http_req_duration{name:rpc:feed_fusion_home}": ["p(95)<10000"]
  "http_req_duration{name:rpc:interest_catalog_browse}": ["p(95)<10000"]
  "http_req_failed{name:auth:signup}":
    - threshold: "rate<0.5"
      abortOnFail: true
"""


@pytest.mark.parametrize("workers", [0, 1])
def test_the_example_locustfile_runs_against_the_stack(
    run_load: RunLoad, gauntlet_stack: StackState, tmp_path: Path, workers: int
) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text(K6_SLO)
    run = run_load(
        "-f", str(EXAMPLE), "-u", "2", "-r", "2", "-t", "10s", "-H", gauntlet_stack.api_url,
        "--tags", "anonymous,signed_in", "--slo", str(slo), "--workers", str(workers),
    )  # fmt: skip
    assert run.exit_code == 0, run.output + run.locust_log()
    result = run.result
    assert result["run"]["profile"] == "locustfile"
    # The smoke mix: one user of each class, so both the visitor's and the reader's requests are made.
    assert {"auth:signup", "rpc:feed_fusion_home", "rpc:interest_catalog_browse"} <= set(result["requests"])
    overall = result["overall"]
    assert 0 < overall["p50_ms"] <= overall["p95_ms"] <= overall["p99_ms"] <= overall["max_ms"]
    assert decode(overall["hdr"]).get_total_count() == overall["requests"] - overall["failures"]
    verdicts = result["thresholds"]
    assert len(verdicts) == 7
    assert all(v["observed"] is not None and v["passed"] for v in verdicts), verdicts
    assert result["aborted"] is None


def test_k6_abort_on_fail_stops_the_run_early(
    run_load: RunLoad, slow_target: CalibrationTarget, tmp_path: Path
) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("thresholds:\n  http_req_duration:\n    - threshold: 'p(95)<10'\n      abortOnFail: true\n")
    run = run_load(
        "suggestions", "-H", slow_target.url, "-t", "60s", "-u", "3", "--think-time", "0.05", "--slo", str(slo)
    )
    assert run.exit_code == 1, run.output
    result = run.result
    assert result["aborted"] is not None and "p95_ms < 10 ms" in result["aborted"]["reason"]
    assert result["run"]["duration_s"] < 20  # not the 60 s asked for


def test_the_example_locustfile_with_a_master_and_a_worker_started_by_hand(
    run_load: RunLoad, gauntlet_stack: StackState, tmp_path: Path
) -> None:
    """`-f FILE` on both sides, as on two machines (here: loopback): the worker runs the file's users."""
    (port,) = free_ports(1)
    worker_log = tmp_path / "worker.out"
    with worker_log.open("wb") as log:
        worker = subprocess.Popen(
            [*GAUNTLET, "load", "-f", str(EXAMPLE), "--worker", "--master-host", "127.0.0.1",
             "--master-port", str(port), "--out", str(tmp_path / "worker")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            run = run_load(
                "-f", str(EXAMPLE), "--master", "--expect-workers", "1", "--master-port", str(port),
                "-u", "2", "-r", "2", "-t", "8s", "-H", gauntlet_stack.api_url, "--tags", "anonymous,signed_in",
            )  # fmt: skip
            worker_exit = worker.wait(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    assert run.exit_code in (0, 1), run.output + run.locust_log() + worker_log.read_text()  # 1: an SLO on a busy box
    assert worker_exit == 0, worker_log.read_text()
    result = run.result
    assert result["run"]["profile"] == "locustfile" and result["run"]["workers"] == 1
    assert result["checks"]["consistent"], result["checks"]
    assert {"rpc:feed_fusion_home", "rpc:interest_catalog_browse"} <= set(result["requests"])
    assert result["overall"]["requests"] > 0


def test_a_built_in_profile_is_a_locustfile_too(run_load: RunLoad, gauntlet_stack: StackState) -> None:
    profile = Path(__file__).resolve().parents[3] / "load" / "profiles" / "suggestions.py"
    run = run_load("-f", str(profile), "-u", "2", "-r", "2", "-t", "6s", "-H", gauntlet_stack.api_url)
    assert run.exit_code in (0, 1), run.output + run.locust_log()  # 1: an SLO on a busy machine
    result = run.result
    assert result["run"]["profile"] == "suggestions"  # the file is known as the profile it is
    assert "rpc:marketplace_suggestions_for_user" in result["requests"], sorted(result["requests"])
    assert result["overall"]["requests"] > 0 and result["overall"]["failures"] == 0, result["overall"]
