"""`gauntlet journey run` end to end (in-process): exit 0 when the journeys pass, 1 when one fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from gauntlet.journeys.cli import register
from tests.cli_area import area_app

if TYPE_CHECKING:
    from gauntlet.stack.state import StackState

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120)]


def invoke(*args: str) -> tuple[int, str, str]:
    app = area_app(register)

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_passing_journey_exits_0_and_prints_its_result_as_json(
    journey_stack: StackState, gauntlet_stack_dir: Path, tmp_path: Path
) -> None:
    """No --target: the running stack's API (and its service key) is the target."""
    code, out, err = invoke(
        "journey", "run", "returning_user", "--state-dir", str(gauntlet_stack_dir),
        "--artifacts", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, out + err
    [result] = json.loads(out)
    assert result["name"] == "returning_user" and result["ok"] is True
    assert result["target"] == journey_stack.api_url


def test_a_failing_journey_exits_1_and_says_where_the_evidence_is(tmp_path: Path) -> None:
    code, out, err = invoke(
        "journey", "run", "signup_to_notification", "--target", "http://127.0.0.1:9", "--artifacts", str(tmp_path)
    )
    assert code == 1, out + err
    assert "FAILED" in out
    assert "screenshot:" in err and "trace:" in err and str(tmp_path) in err
