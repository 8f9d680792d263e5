"""The journey child process: results come back, hangs are killed with their whole session, crashes are failures."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psutil
import pytest

from gauntlet.journeys.monitor.journey_adapter import SubprocessJourneys

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
STANDIN = [sys.executable, str(Path(__file__).with_name("journey_standin.py"))]


def journeys(**kwargs: object) -> SubprocessJourneys:
    return SubprocessJourneys(child=STANDIN, **kwargs)  # type: ignore[arg-type]


def test_a_passing_result_comes_back_and_the_key_stays_off_the_command_line(tmp_path: Path) -> None:
    attempt = journeys(service_key="sekrit", timeout_s=30).run(
        "pass", target="http://127.0.0.1:9", artifacts_dir=tmp_path
    )
    assert attempt.ok and attempt.name == "pass" and [s.name for s in attempt.steps] == ["open"]
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["target"] == "http://127.0.0.1:9" and seen["service_key"] == "sekrit"
    assert "sekrit" not in " ".join(seen["argv"])


def test_a_failing_result_keeps_its_step_error(tmp_path: Path) -> None:
    attempt = journeys(timeout_s=30).run("fail", target="http://127.0.0.1:9", artifacts_dir=tmp_path)
    assert not attempt.ok and attempt.failure_summary() == "step open: page showed a 500"


def test_a_hung_journey_is_killed_at_the_deadline_with_everything_it_started(tmp_path: Path) -> None:
    started = time.monotonic()
    attempt = journeys(timeout_s=1.5).run("hang", target="http://127.0.0.1:9", artifacts_dir=tmp_path)
    assert 1.5 <= time.monotonic() - started < 10
    assert not attempt.ok and attempt.error == "timed out after 1.5s (the journey process was killed)"
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the journey's grandchild {grandchild} outlived the kill")


def test_a_crashing_child_is_a_failed_attempt_with_its_last_words(tmp_path: Path) -> None:
    attempt = journeys(timeout_s=30).run("crash", target="http://127.0.0.1:9", artifacts_dir=tmp_path)
    assert not attempt.ok
    assert attempt.error is not None and attempt.error.startswith("journey process exited 3: ")
    assert "cannot start Chromium" in attempt.error


def test_an_unreadable_result_is_a_failed_attempt(tmp_path: Path) -> None:
    attempt = journeys(timeout_s=30).run("garbage", target="http://127.0.0.1:9", artifacts_dir=tmp_path)
    assert not attempt.ok and attempt.error is not None and attempt.error.startswith("unreadable journey result")


def test_the_real_child_refuses_an_unknown_journey_with_the_catalog(tmp_path: Path) -> None:
    attempt = SubprocessJourneys(timeout_s=60).run(
        "no_such_journey", target="http://127.0.0.1:9", artifacts_dir=tmp_path
    )
    assert not attempt.ok and attempt.error is not None
    assert "journey process exited 2" in attempt.error and "no journey named 'no_such_journey'" in attempt.error
