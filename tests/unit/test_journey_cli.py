"""`gauntlet journey`: usage and environment errors exit 2 naming the problem, before any browser starts."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gauntlet.journeys.catalog import JOURNEYS
from gauntlet.journeys.cli import register
from tests.cli_area import area_app


def invoke(*args: str) -> tuple[int, str]:
    app = area_app(register)

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


def test_an_unknown_journey_is_a_usage_error_listing_the_known_ones() -> None:
    code, output = invoke("journey", "run", "signup_to_notification", "nope", "--target", "http://127.0.0.1:9")
    assert code == 2
    assert "no journey named 'nope'" in output
    assert all(name in output for name in JOURNEYS)


def test_no_target_and_no_running_stack_is_an_environment_error(tmp_path: Path) -> None:
    code, output = invoke("journey", "run", "--state-dir", str(tmp_path))
    assert code == 2
    assert "gauntlet up" in output


def test_list_names_every_journey_with_its_budget() -> None:
    code, output = invoke("journey", "list")
    assert code == 0
    for journey in JOURNEYS.values():
        assert journey.name in output and f"{journey.total_budget_ms / 1000:.0f} s" in output
