"""Journey results (`JourneyResult.to_json()`) read as a Run: the failed step is the named culprit.

Built with journeys/framework.py's own classes, so a change there shows up here.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from gauntlet.journeys.framework import JourneyResult, StepResult, journey_verdict
from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.junit import junit_xml
from gauntlet.reports.resultfile import ensure_result_is_valid

START = dt.datetime(2025, 1, 31, 12, 5, tzinfo=dt.UTC)


def result(steps: list[StepResult], total_budget_ms: int = 20_000, name: str = "signup_to_notification") -> Any:
    duration = sum(s.duration_ms for s in steps)
    ok, error = journey_verdict(steps, duration, total_budget_ms)
    journey = JourneyResult(
        name=name,
        ok=ok,
        started_at=START,
        duration_ms=duration,
        total_budget_ms=total_budget_ms,
        target="http://127.0.0.1:8000",
        steps=steps,
        error=error,
    )
    return json.loads(json.dumps(journey.to_json()))


PASSED = [
    StepResult("open signup", True, "passed", 400.0, 2000),
    StepResult("create account", True, "passed", 800.0, 3000),
]


def test_a_passing_journey() -> None:
    run = ensure_result_is_valid(result(PASSED), source="r.json")
    (journey,) = run.journeys
    assert run.verdict == "passed" and run.target == "http://127.0.0.1:8000"
    assert [s.name for s in journey.steps] == ["open signup", "create account"]
    assert journey.steps[1].started_at == START + dt.timedelta(milliseconds=400)
    assert journey.finished_at == START + dt.timedelta(milliseconds=1200)
    assert [(c.name, c.passed) for c in journey.checks] == [("journey within 20000 ms", True)]


def test_a_failed_step_is_the_culprit_and_skipped_steps_are_left_out() -> None:
    steps = [
        *PASSED,
        StepResult(
            "submit onboarding",
            False,
            "failed",
            5000.0,
            3000,
            "TimeoutError: 'Continue' never enabled",
            screenshot="artifacts/03.png",
            trace="artifacts/trace.zip",
        ),
        StepResult("see notification", False, "skipped", 0.0, 3000),
    ]
    run = ensure_result_is_valid(result(steps), source="r.json")
    (culprit,) = run.culprits()
    assert culprit.sentence() == (
        "journey signup_to_notification: step `submit onboarding` failed: TimeoutError: 'Continue' never enabled "
        "(screenshot artifacts/03.png)"
    )
    assert [s.name for s in run.journeys[0].steps] == ["open signup", "create account", "submit onboarding"]
    assert "[[ATTACHMENT|artifacts/trace.zip]]" in junit_xml(run)


def test_running_out_of_total_budget_is_named_too() -> None:
    steps = [*PASSED, StepResult("see notification", False, "skipped", 0.0, 3000)]
    run = ensure_result_is_valid(result(steps, total_budget_ms=1000), source="r.json")
    (culprit,) = run.culprits()
    assert culprit.sentence().startswith(
        "journey signup_to_notification: check `journey within 1000 ms` failed: "
        "observed 1200 ms, never reached see notification, expected <= 1000 ms, every step run"
    )


def test_a_list_of_results_becomes_several_entries() -> None:
    raw = [result(PASSED), result(PASSED), result(PASSED, name="seller")]
    run = ensure_result_is_valid(raw, source="r.json")
    assert [j.name for j in run.journeys] == ["signup_to_notification#1", "signup_to_notification#2", "seller"]


def test_corrupt_journey_results_are_named() -> None:
    raw = result(PASSED)
    raw["steps"][1]["status"] = "meh"
    with pytest.raises(ResultFileError) as caught:
        ensure_result_is_valid(raw, source="r.json")
    assert str(caught.value) == (
        "r.json: steps[1].status: expected one of passed, failed, skipped, got 'meh' "
        "(a journey result, journeys/framework.py)"
    )
