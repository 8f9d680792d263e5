"""Interrupting `gauntlet load`: exit 2 with the partial results kept, and Locust never outlives it.

Also: the API key never appears on a command line (`ps` shows those to every user), and the
files that hold it are readable by their owner only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from gauntlet.load.calibration_target import CalibrationTarget
from gauntlet.stack.ports import free_ports
from tests.acceptance.cli_harness import GAUNTLET, Cli, default_sigint

pytestmark = pytest.mark.acceptance

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture
def target() -> Iterator[CalibrationTarget]:
    with CalibrationTarget() as server:
        yield server


def _spawn_load(out: Path, *args: str) -> subprocess.Popen[str]:
    plan = ["suggestions", "--scenario", "ramp", "--users", "3", "--duration", "120"]
    return subprocess.Popen(
        [*GAUNTLET, "load", *plan, "--out", str(out), "--api-key", SECRET, "--no-progress", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        preexec_fn=default_sigint,  # Ctrl-C as a terminal delivers it, even from a backgrounded suite
    )


def _wait_for_requests(load: subprocess.Popen[str], out: Path, timeout: float = 90) -> None:
    """Until the progress file shows requests (the run is under way)."""
    deadline = time.monotonic() + timeout
    progress = out / "progress.jsonl"
    while True:
        assert load.poll() is None, f"the load ended early: {load.communicate()}"
        assert time.monotonic() < deadline, "no requests were made"
        if progress.exists():
            lines = [json.loads(line) for line in progress.read_text().splitlines() if line.endswith("}")]
            if lines and lines[-1].get("requests", 0) > 0:
                return
        time.sleep(0.2)


def _wait_for_children(load: subprocess.Popen[str], timeout: float = 60) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [p for p in psutil.Process(load.pid).children(recursive=True) if _is_locust(p)]
        if children:
            return children
        time.sleep(0.1)
    pytest.fail("no Locust child process appeared")


def _wait_for_web_ui(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"Locust's web UI never answered on port {port}")


def _is_locust(proc: psutil.Process) -> bool:
    try:
        return "locust" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def _alive(procs: list[psutil.Process], within_s: float = 10) -> list[int]:
    _, alive = psutil.wait_procs(procs, timeout=within_s)
    return [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def test_ctrl_c_exits_2_keeps_partial_results_and_no_secret_on_a_command_line(
    target: CalibrationTarget, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    load = _spawn_load(out, "--target", target.url)
    children = _wait_for_children(load)
    _wait_for_requests(load, out)
    for child in children:
        assert SECRET not in " ".join(child.cmdline()), "the API key is on Locust's command line"
        # Its own process group (and session): a terminal's Ctrl-C reaches only `gauntlet`.
        assert os.getpgid(child.pid) == child.pid != os.getpgid(load.pid)
    assert (out / "plan.json").stat().st_mode & 0o777 == 0o600
    for path in out.iterdir():
        if path.is_file() and SECRET in path.read_text(errors="replace"):
            assert path.stat().st_mode & 0o077 == 0, f"{path.name} holds the API key and others can read it"

    load.send_signal(signal.SIGINT)
    stdout, stderr = load.communicate(timeout=60)
    assert load.returncode == 2, stdout + stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert "INTERRUPTED" in stdout and "SLO MISSED" not in stdout
    result = json.loads((out / "results.json").read_text())
    assert result["aborted"]["reason"] == "interrupted" and not result["passed"]
    assert result["overall"]["requests"] > 0  # what was measured is kept
    assert _alive(children) == []


def test_sigterm_to_load_with_the_web_ui_stops_locust_and_exits_2(target: CalibrationTarget, tmp_path: Path) -> None:
    out = tmp_path / "run"
    (web_port,) = free_ports(1)
    load = _spawn_load(out, "--target", target.url, "--ui", "--web-port", str(web_port))
    children = _wait_for_children(load)
    _wait_for_web_ui(web_port)  # Locust is up and waiting for a run to be started from its web UI
    load.send_signal(signal.SIGTERM)
    stdout, stderr = load.communicate(timeout=60)
    assert load.returncode == 2, stdout + stderr
    assert "interrupted" in stderr and "SIGTERM" in stderr and "Traceback" not in stderr
    assert _alive(children) == []


def test_locust_dies_with_a_killed_gauntlet(target: CalibrationTarget, tmp_path: Path) -> None:
    out = tmp_path / "run"
    load = _spawn_load(out, "--target", target.url)
    children = _wait_for_children(load)
    _wait_for_requests(load, out)
    load.kill()
    load.communicate(timeout=30)
    assert _alive(children) == [], "Locust outlived a SIGKILLed `gauntlet load`"


def test_gauntlet_down_sweeps_a_load_run_against_the_stack(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("up").returncode == 0
    out = tmp_path / "run"
    load = _spawn_load(out, "--state-dir", str(cli.state_dir))
    children = _wait_for_children(load)
    _wait_for_requests(load, out)
    # While the stack is up: `gauntlet logs api` says why it shows so little.
    logs = cli.run("logs", "api")
    assert logs.returncode == 0 and "access log is off" in " ".join(logs.stderr.split()), logs.stderr
    down = cli.run("down")
    assert down.returncode == 0, down.stderr
    assert _alive(children) == [], "`gauntlet down` left a Locust process of this stack running"
    load.communicate(timeout=60)
    assert cli.leftovers() == []
