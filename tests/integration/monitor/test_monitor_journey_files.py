"""The monitor's journey child runs a journey file by its `PATH::test_name`, steps and evidence as for a built-in."""

from __future__ import annotations

import subprocess
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


@pytest.mark.timeout(300)
def test_the_monitor_runs_the_example_journey_file_with_history_and_page(
    gauntlet_stack_dir: Path, tmp_path: Path
) -> None:
    from tests.integration.journeys.apisettings import RAISED_LIMITS, api_settings
    from tests.integration.monitor.test_monitor_command import history_rows, monitor_argv

    example = Path(__file__).resolve().parents[3] / "examples" / "journeys" / "shop_visit.py"
    history = tmp_path / "history.sqlite3"
    argv = [
        *monitor_argv(),
        "--journeys", str(example), "--every", "1s", "--jitter", "0s", "--max-runs", "1", "--no-probes",
        "--history", str(history), "--page", str(tmp_path / "status.html"),
        "--artifacts", str(tmp_path / "artifacts"), "--state-dir", str(gauntlet_stack_dir),
    ]  # fmt: skip
    with api_settings(gauntlet_stack_dir, RAISED_LIMITS):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL)
    errors = history_rows(history, "SELECT journey, attempt, error FROM journey_attempts WHERE ok = 0")
    assert done.returncode == 0, f"{done.stderr}\nfailed attempts: {errors}"
    steps = history_rows(
        history,
        "SELECT a.journey, s.name, s.ok FROM steps s JOIN journey_attempts a ON a.id = s.attempt_id ORDER BY s.id",
    )
    assert steps == [("shop_visit", name, 1) for name in ("account", "login", "shop_lane", "earnings")]
    assert 'data-testid="journey-shop_visit"' in (tmp_path / "status.html").read_text()
