"""Ctrl-C on a gate keeps what finished: a partial report marked interrupted, a line saying so, exit 130."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.acceptance.cli_harness import Cli

pytestmark = pytest.mark.acceptance

PROFILE = """
[profile.interrupted]
smoke = true
acceptance = ["onboarding", "feed"]
"""


def test_ctrl_c_after_smoke_writes_a_partial_report_and_exits_130(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("up").returncode == 0
    config = tmp_path / "profiles.toml"
    config.write_text(PROFILE)
    out = tmp_path / "out"
    gate = cli.spawn("gate", "--profile", "interrupted", "--config", str(config), "--out", str(out))
    deadline = time.monotonic() + 120
    while not (out / "acceptance.json").exists() and not (out / "logs" / "acceptance.log").exists():
        assert gate.poll() is None, f"the gate ended before the acceptance phase: {gate.communicate()}"
        assert time.monotonic() < deadline, "the acceptance phase never started"
        time.sleep(0.1)
    gate.send_signal(signal.SIGINT)
    _, stderr = gate.communicate(timeout=60)
    assert gate.returncode == 130, stderr
    assert "gate interrupted" in stderr and "Traceback" not in stderr
    result = json.loads((out / "result.json").read_text())
    assert result["verdict"] == "failed"
    (check,) = [c for c in result["checks"] if c["name"] == "the gate ran every phase"]
    assert "finished: smoke" in check["message"] and "acceptance" in check["message"]
    assert result["sections"]["smoke"]["passed"] is True  # what finished is kept
    assert (out / "report.html").exists() and (out / "junit.xml").exists()
