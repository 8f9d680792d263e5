"""Real Locust runs for `gauntlet load`, short and on loopback.

Most tests drive the calibration target (gauntlet.load.calibration_target), a
fast stand-in for the platform with a known injected delay and its own request
counts, so the measurement claims are checked against something exactly known.
Tests that take `gauntlet_stack` drive the embedded stack (all carry the tier marker `integration`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gauntlet.load.calibration_target import CalibrationTarget
from gauntlet.load.cli import register
from tests.cli_area import area_app
from tests.integration.load.loadrun import LoadRun, RunLoad


@pytest.fixture
def run_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunLoad:
    """Run `gauntlet load ARGS` (in this process; Locust itself runs in child processes).

    The targets here are the harness's own (the calibration target, the test stack by URL): load may
    sign up users on them (GAUNTLET_ALLOW_SIGNUPS=1); a test of the refusal removes it.
    """
    monkeypatch.setenv("GAUNTLET_ALLOW_SIGNUPS", "1")
    app = area_app(register)

    counter = iter(range(1000))

    def run(*args: str) -> LoadRun:
        out_dir = tmp_path / f"run{next(counter)}"
        result = CliRunner().invoke(app, ["load", *args, "--out", str(out_dir), "--no-progress"])
        return LoadRun(exit_code=result.exit_code, output=result.stderr + result.stdout, out_dir=out_dir)

    return run


@pytest.fixture
def target() -> Iterator[CalibrationTarget]:
    with CalibrationTarget() as server:
        yield server


@pytest.fixture
def slow_target() -> Iterator[CalibrationTarget]:
    """Answers every request after exactly 50 ms."""
    with CalibrationTarget(delay_s=0.050) as server:
        yield server
