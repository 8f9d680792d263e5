"""Journey files against the embedded stack: the example runs green, and a failing step keeps its evidence.

`gauntlet journey run examples/journeys/shop_visit.py` is what the README shows; the broken
journeys are written here, a sync and an async one, so the failure is certain and its step known.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from gauntlet.journeys.cli import register
from gauntlet.journeys.framework import JourneyResult
from gauntlet.journeys.runner import run_journey
from tests.cli_area import area_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from gauntlet.stack.state import StackState

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120)]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "journeys" / "shop_visit.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

BROKEN_SYNC = """
BUDGET_MS = 20000

def test_broken_login(page, journey):
    with journey.step("open_login", budget_ms=8000):
        page.goto(journey.url("/login"))
        page.wait_for_selector('body[data-ready="1"]', state="attached")
    with journey.step("find_the_missing_button", budget_ms=1500):
        page.get_by_test_id("no-such-button").click()
    with journey.step("never_reached", budget_ms=1000):
        raise AssertionError("a step after a failed one ran")
"""

BROKEN_ASYNC = """
from playwright.async_api import expect

BUDGET_MS = 20000

async def test_broken_login_async(page, journey):
    with journey.step("open_login", budget_ms=8000):
        await page.goto(journey.url("/login"))
    with journey.step("expect_a_missing_heading", budget_ms=1500):
        await expect(page.get_by_test_id("no-such-heading")).to_be_visible()
"""


def invoke(*args: str) -> tuple[int, str, str]:
    app = area_app(register)

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_example_journey_file_passes_through_the_cli(
    gauntlet_stack_dir: Path, journey_stack: StackState, tmp_path: Path
) -> None:
    code, out, err = invoke(
        "journey", "run", str(EXAMPLE), "--state-dir", str(gauntlet_stack_dir), "--artifacts", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, out + err
    [result] = json.loads(out)
    assert (result["name"], result["ok"], result["target"]) == ("shop_visit", True, journey_stack.api_url)
    assert [(s["name"], s["status"]) for s in result["steps"]] == [
        (name, "passed") for name in ("account", "login", "shop_lane", "earnings")
    ]
    assert all(0 < s["duration_ms"] <= s["budget_ms"] for s in result["steps"])
    run_dir = Path(result["artifacts_dir"])
    assert json.loads((run_dir / "result.json").read_text())["ok"] is True
    assert not list(run_dir.glob("*.png")) and not (run_dir / "trace.zip").exists()


def assert_failed_with_evidence(result: JourneyResult, step: str, passed_before: list[str]) -> None:
    assert not result.ok
    failed = result.failed_step
    assert failed is not None and failed.name == step, [(s.name, s.status, s.error) for s in result.steps]
    assert [s.name for s in result.steps] == [*passed_before, step]  # nothing after the failure ran
    assert all(s.status == "passed" for s in result.steps[:-1])
    assert failed.error and "no-such" in failed.error and result.error and step in result.error
    assert failed.screenshot is not None and Path(failed.screenshot).read_bytes().startswith(PNG_MAGIC)
    assert failed.trace is not None
    with zipfile.ZipFile(failed.trace) as trace:
        assert any(name.endswith(".trace") for name in trace.namelist())
    run_dir = Path(result.artifacts_dir or "")
    assert (run_dir / "console-errors.txt").exists()
    assert json.loads((run_dir / "result.json").read_text())["ok"] is False


def test_a_failing_step_of_a_sync_file_journey_is_recorded_with_a_screenshot_and_a_trace(
    journey_stack: StackState, browser: Browser, tmp_path: Path
) -> None:
    path = tmp_path / "broken.py"
    path.write_text(BROKEN_SYNC, encoding="utf-8")
    result = run_journey(str(path), target=journey_stack.api_url, artifacts_dir=tmp_path / "runs", browser=browser)
    assert result.name == "broken_login"
    assert_failed_with_evidence(result, "find_the_missing_button", ["open_login"])


def test_a_failing_step_of_an_async_file_journey_is_recorded_the_same_way(
    journey_stack: StackState, tmp_path: Path
) -> None:
    path = tmp_path / "broken_async.py"
    path.write_text(BROKEN_ASYNC, encoding="utf-8")
    result = run_journey(f"{path}::test_broken_login_async", target=journey_stack.api_url, artifacts_dir=tmp_path)
    assert result.name == "broken_login_async"
    assert_failed_with_evidence(result, "expect_a_missing_heading", ["open_login"])
