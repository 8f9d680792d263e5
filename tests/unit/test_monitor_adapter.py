"""The adapter reads what the journeys really write (`JourneyResult.to_json()`), field for field."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gauntlet.journeys.framework import JourneyResult, StepResult
from gauntlet.journeys.monitor.journey_adapter import attempt_from_json, journey_names, journey_timeout_s
from gauntlet.journeys.monitor.model import JourneyOutcome

STARTED = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)


def result(ok: bool) -> JourneyResult:
    steps = [
        StepResult("signup", True, "passed", 812.5, 5000),
        StepResult(
            "publish", ok, "passed" if ok else "failed", 1200.0 if ok else 2100.0, 2000,
            error=None if ok else "step took 2100 ms, over its budget of 2000 ms",
            screenshot=None if ok else "/a/seller-x/02-publish.png",
            trace=None if ok else "/a/seller-x/trace.zip",
        ),
        StepResult("notify", ok, "passed" if ok else "skipped", 10.0 if ok else 0.0, 3000),
    ]  # fmt: skip
    return JourneyResult(
        name="seller",
        ok=ok,
        started_at=STARTED,
        duration_ms=2922.5,
        total_budget_ms=45000,
        target="http://127.0.0.1:8000",
        steps=steps,
        console_errors=["http://x/: uncaught TypeError"] if not ok else [],
        error=None if ok else "step 'publish' failed: step took 2100 ms, over its budget of 2000 ms",
        artifacts_dir="/a/seller-x",
    )


def test_a_failed_result_converts_with_steps_evidence_and_skips() -> None:
    data = json.loads(json.dumps(result(False).to_json()))  # exactly what the child writes
    attempt = attempt_from_json(data)
    assert (attempt.name, attempt.ok, attempt.duration_ms) == ("seller", False, 2922.5)
    assert attempt.started_at == STARTED.timestamp()
    assert [(s.name, s.ok, s.skipped) for s in attempt.steps] == [
        ("signup", True, False),
        ("publish", False, False),
        ("notify", False, True),
    ]
    publish = attempt.steps[1]
    assert (publish.budget_ms, publish.screenshot, publish.trace) == (
        2000.0,
        "/a/seller-x/02-publish.png",
        "/a/seller-x/trace.zip",
    )
    assert attempt.console_errors == ("http://x/: uncaught TypeError",)
    assert attempt.artifacts_dir == "/a/seller-x"
    assert JourneyOutcome(name="seller", attempts=(attempt,)).reasons() == (
        "step publish: step took 2100 ms, over its budget of 2000 ms",
    )


def test_a_passing_result_converts_and_judges_as_a_pass() -> None:
    attempt = attempt_from_json(result(True).to_json())
    assert attempt.ok and JourneyOutcome(name="seller", attempts=(attempt,)).verdict == "pass"


@pytest.mark.parametrize("started", [STARTED.timestamp(), STARTED.isoformat(), STARTED])
def test_started_at_in_any_reasonable_form(started: object) -> None:
    data = {**result(True).to_json(), "started_at": started}
    assert attempt_from_json(data).started_at == STARTED.timestamp()


def test_the_catalog_is_what_the_monitor_runs() -> None:
    assert set(journey_names()) >= {"signup_to_notification", "returning_user", "seller"}
    assert journey_timeout_s("seller") == 45 + 30
