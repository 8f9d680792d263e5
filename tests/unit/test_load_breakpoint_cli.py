"""`gauntlet load --scenario breakpoint` usage errors: exit 2 with one line naming the problem, before any step."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.load.cli import register
from tests.cli_area import area_app

TARGET = ("--target", "http://127.0.0.1:9")
BREAKPOINT = ("suggestions", "--scenario", "breakpoint", *TARGET)


@pytest.fixture
def app() -> typer.Typer:
    return area_app(register)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("suggestions", "--start", "5", *TARGET), "--start applies only to --scenario breakpoint"),
        (("suggestions", "-s", "rate", "--max", "5", *TARGET), "--max applies only to --scenario breakpoint"),
        ((*BREAKPOINT, "--rate", "5"), "--rate does not apply to --scenario breakpoint"),
        ((*BREAKPOINT, "--duration", "5s"), "--duration does not apply to --scenario breakpoint"),
        ((*BREAKPOINT, "--every", "soon"), "--every 'soon'"),
        ((*BREAKPOINT, "--every", "0"), "--every"),
        ((*BREAKPOINT, "--start", "0"), "--start must be a positive number"),
        ((*BREAKPOINT, "--step", "-2"), "--step must be a positive number"),
        ((*BREAKPOINT, "--start", "50", "--max", "10"), "--max 10 is below --start 50"),
        ((*BREAKPOINT, "--repeats", "0"), "--repeats must be a whole number of runs per step, at least 1"),
        (("suggestions", "-s", "rate", "--repeats", "3", *TARGET), "--repeats applies only to --scenario breakpoint"),
        ((*BREAKPOINT, "--ui"), "--ui cannot drive --scenario breakpoint"),
        (("nope", "--scenario", "breakpoint", *TARGET), "unknown profile 'nope'"),
        (("suggestions", "--scenario", "breakpoint", "--target", "localhost:1"), "is not an http(s) URL"),
    ],
)
def test_breakpoint_usage_errors_exit_2_before_any_step(
    app: typer.Typer, args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["load", *args, "--state-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    output = result.stderr + result.stdout
    assert result.exit_code == 2, output
    assert message in output and output.strip().startswith("error:") and "Traceback" not in output
    assert not (tmp_path / "out").exists()  # refused before any step ran or wrote anything
