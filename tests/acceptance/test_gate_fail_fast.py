"""`gauntlet gate --fail-fast` stops at the first failed phase; the phases after it are not run and are
reported as skipped with the reason (never as passed), and the failed phase stays the gate's culprit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli_harness import Cli

pytestmark = pytest.mark.acceptance

# Load fails on purpose (no platform serves a million requests a second from 5 users); drills come after it.
PROFILE = """
[profile.failfast]
smoke = false
acceptance = false
drills = ["worker-crash"]
slo = "slo.yaml"

[profile.failfast.load]
profile = "mixed"
scenario = "smoke"
users = 5
duration = "5s"
"""
SLO = """
version: 1
overall:
  rps: ">= 1000000"
"""


def test_fail_fast_stops_after_the_failed_phase_and_reports_the_rest_as_not_run(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("up").returncode == 0
    (tmp_path / "profiles.toml").write_text(PROFILE)
    (tmp_path / "slo.yaml").write_text(SLO)
    out = tmp_path / "out"
    gate = cli.run(
        "gate", "--profile", "failfast", "--config", str(tmp_path / "profiles.toml"), "--out", str(out), "--fail-fast"
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "Traceback" not in gate.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["verdict"] == "failed"
    checks = {c["name"]: c for c in result["checks"]}
    drills = checks["gate phase drills"]
    assert drills["skipped"] is True and drills["passed"] is False
    assert "--fail-fast stopped the gate after load failed" in drills["message"]
    assert not (out / "drills").exists(), "a drill ran after --fail-fast should have stopped the gate"
    assert checks["gate phase load ran"]["passed"] is True
    failed = [line for line in gate.stderr.splitlines() if line.startswith("FAILED")]
    assert failed and all("rps" in line for line in failed), gate.stderr  # the load threshold, nothing else
    junit = (out / "junit.xml").read_text()
    assert "--fail-fast stopped the gate after load failed" in junit
