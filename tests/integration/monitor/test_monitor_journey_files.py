"""The monitor's journey child runs a journey file by its `PATH::test_name`, steps and evidence as for a built-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.journeys.monitor.journey_adapter import SubprocessJourneys, journey_sources

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(90)]

JOURNEY = """
BUDGET_MS = 15000

def test_front_door(page, journey):
    with journey.step("open", budget_ms=5000):
        page.goto(journey.url("/login"))
"""


def test_a_journey_file_runs_in_the_child_and_its_failed_step_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "front_door.py"
    path.write_text(JOURNEY, encoding="utf-8")
    sources = journey_sources([str(path)])
    assert sources == {"front_door": f"{path.resolve()}::test_front_door"}
    # Chromium refuses port 9: the step fails, and the monitor sees it as the journey's own.
    attempt = SubprocessJourneys(timeout_s=60, sources=sources).run(
        "front_door", target="http://127.0.0.1:9", artifacts_dir=tmp_path / "runs"
    )
    assert attempt.name == "front_door" and not attempt.ok, attempt.error
    [step] = attempt.steps
    assert step.name == "open" and not step.ok and step.error and "Page.goto" in step.error
    assert step.screenshot is not None and Path(step.screenshot).exists()
    assert step.trace is not None and Path(step.trace).exists()
