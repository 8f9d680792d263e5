"""Journey and health verdicts: pass, degraded (retry needed, slow step, health degraded), fail."""

from __future__ import annotations

import pytest

from gauntlet.journeys.monitor.fakes import attempt
from gauntlet.journeys.monitor.model import (
    HEALTH_CHECK,
    JourneyAttempt,
    JourneyOutcome,
    ProbeResult,
    RunRecord,
    StepRecord,
    health_observation,
    journey_observation,
)


def outcome(
    *oks: bool, steps: tuple[tuple[str, float, float | None], ...] = (("load", 100.0, 1000.0),)
) -> JourneyOutcome:
    return JourneyOutcome(name="seller", attempts=tuple(attempt("seller", ok, steps=steps) for ok in oks))


def test_a_first_time_pass_is_a_clean_pass() -> None:
    result = outcome(True)
    assert (result.ok, result.verdict, result.reasons()) == (True, "pass", ())


def test_a_pass_that_needed_a_retry_is_degraded() -> None:
    result = outcome(False, True)
    assert result.verdict == "degraded"
    assert result.reasons() == ("passed on attempt 2 (retry needed)",)


def test_a_step_close_to_its_budget_is_slow_and_degrades_the_journey() -> None:
    result = outcome(True, steps=(("login", 850.0, 1000.0), ("feed", 100.0, 1000.0)))
    assert result.verdict == "degraded"
    assert result.reasons() == ("slow step login: 850 ms of its 1000 ms budget",)


def test_the_slow_threshold_is_a_share_of_the_budget() -> None:
    steps = (("login", 850.0, 1000.0),)
    relaxed = JourneyOutcome(name="seller", attempts=(attempt("seller", True, steps=steps),), slow_fraction=0.9)
    assert relaxed.verdict == "pass"


def test_a_step_without_a_budget_is_never_slow() -> None:
    assert outcome(True, steps=(("login", 10_000.0, None),)).verdict == "pass"


def test_failure_when_the_last_attempt_fails_names_the_step() -> None:
    result = outcome(False, False)
    assert result.verdict == "fail"
    assert result.reasons() == ("step load: expected text not found",)


def test_a_failure_outside_any_step_uses_the_attempt_error() -> None:
    crashed = JourneyAttempt(name="seller", ok=False, started_at=0.0, duration_ms=5.0, error="timed out after 60s")
    assert JourneyOutcome(name="seller", attempts=(crashed,)).reasons() == ("timed out after 60s",)


def test_skipped_steps_are_not_blamed() -> None:
    steps = (
        StepRecord(name="a", ok=True, duration_ms=1.0),
        StepRecord(name="b", ok=False, duration_ms=0.0, skipped=True),
    )
    ran_out = JourneyAttempt(
        name="seller", ok=False, started_at=0.0, duration_ms=1.0, steps=steps, error="total budget ran out before b"
    )
    assert ran_out.failed_step() is None
    assert ran_out.failure_summary() == "total budget ran out before b"


def test_an_outcome_needs_an_attempt() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        JourneyOutcome(name="seller", attempts=())


def test_journey_observation_carries_verdict_and_reasons() -> None:
    observation = journey_observation(outcome(False, True))
    assert (observation.check, observation.verdict) == ("seller", "degraded")


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ((), "pass"),
        (("ok", "ok"), "pass"),
        (("ok", "degraded"), "degraded"),
        (("degraded", "down"), "fail"),
        (("down",), "fail"),
    ],
)
def test_the_worst_probe_decides_the_health_check(statuses: tuple[str, ...], verdict: str) -> None:
    probes = tuple(ProbeResult(name=f"p{i}", status=s, detail="why") for i, s in enumerate(statuses))  # type: ignore[arg-type]
    observation = health_observation(probes)
    assert (observation.check, observation.verdict) == (HEALTH_CHECK, verdict)
    assert len(observation.reasons) == sum(s != "ok" for s in statuses)


def test_a_run_is_up_unless_a_journey_failed_or_the_platform_was_down() -> None:
    up = RunRecord(started_at=0, finished_at=1, target="t", outcomes=(outcome(False, True),))
    down_journey = RunRecord(started_at=0, finished_at=1, target="t", outcomes=(outcome(False, False),))
    degraded = RunRecord(started_at=0, finished_at=1, target="t", probes=(ProbeResult(name="h", status="degraded"),))
    down = RunRecord(started_at=0, finished_at=1, target="t", probes=(ProbeResult(name="h", status="down"),))
    assert (up.ok, down_journey.ok, degraded.ok, down.ok) == (True, False, True, False)
