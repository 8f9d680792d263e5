"""`gauntlet journey run` reports each step as it begins (the gate's live table reads them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from gauntlet.journeys.cli import register
from gauntlet.progress import PROGRESS_ENV
from tests.cli_area import area_app

if TYPE_CHECKING:
    from gauntlet.stack.state import StackState

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120)]


def test_each_step_of_a_journey_arrives_in_the_progress_file(
    journey_stack: StackState, gauntlet_stack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps_file = tmp_path / "progress" / "journeys.jsonl"
    monkeypatch.setenv(PROGRESS_ENV, str(steps_file))
    app = area_app(register)

    args = ["journey", "run", "returning_user", "--state-dir", str(gauntlet_stack_dir), "--artifacts", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    [ran] = json.loads(result.stdout)
    events = [json.loads(line) for line in steps_file.read_text().splitlines()]
    assert {e["item"] for e in events} == {"returning_user (1/1)"}
    assert [e["step"] for e in events] == [s["name"] for s in ran["steps"]] + ["passed"]
    assert all(isinstance(e["at"], float) for e in events)
