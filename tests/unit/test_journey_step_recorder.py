"""`with journey.step(...)`: each step timed against its budget; the first failure stops the journey (fake clock)."""

from __future__ import annotations

import pytest

from gauntlet.journeys.framework import JourneyStopped, StepMisuse, StepRecorder, journey_verdict


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += ms / 1000


def recorder(total_ms: int = 10000) -> tuple[StepRecorder, Clock, list[tuple[str, int]]]:
    clock, started = Clock(), []
    steps = StepRecorder("shop", total_ms, on_step=lambda name, timeout: started.append((name, timeout)), clock=clock)
    return steps, clock, started


def test_steps_within_budget_pass_in_order_and_report_their_wait_timeout() -> None:
    steps, clock, started = recorder()
    with steps.step("open", 3000):
        clock.advance_ms(1000)
    with steps.step("buy", 4000):
        clock.advance_ms(500)
    result = steps.finish(None)
    assert [(s.name, s.status, s.duration_ms, s.budget_ms) for s in result] == [
        ("open", "passed", 1000.0, 3000),
        ("buy", "passed", 500.0, 4000),
    ]
    assert started == [("open", 3000), ("buy", 4000)]


def test_a_step_that_raises_fails_with_the_error_and_the_exception_goes_on() -> None:
    steps, clock, _ = recorder()
    with pytest.raises(AssertionError, match="no badge"), steps.step("badge", 3000):
        clock.advance_ms(10)
        raise AssertionError("no badge")
    [failed] = steps.finish(AssertionError("no badge"))
    assert (failed.name, failed.status, failed.error) == ("badge", "failed", "AssertionError: no badge")


def test_a_step_over_its_budget_fails_and_stops_the_journey() -> None:
    steps, clock, _ = recorder()
    with pytest.raises(JourneyStopped, match="over its budget of 100 ms"), steps.step("slow", 100):
        clock.advance_ms(150)
    [failed] = steps.finish(JourneyStopped())
    assert failed.status == "failed" and failed.error == "step took 150 ms, over its budget of 100 ms"


def test_a_step_after_a_caught_failure_is_skipped_and_stops_the_journey() -> None:
    steps, _, started = recorder()
    with pytest.raises(ValueError), steps.step("first", 100):
        raise ValueError("x")
    with pytest.raises(JourneyStopped, match="step 'first' already failed"), steps.step("second", 100):
        pass
    assert [s.status for s in steps.finish(None)] == ["failed", "skipped"]
    assert [name for name, _ in started] == ["first"]


def test_no_step_starts_once_the_total_budget_is_spent() -> None:
    steps, clock, _ = recorder(total_ms=1000)
    with steps.step("a", 2000):
        clock.advance_ms(1000)
    with pytest.raises(JourneyStopped, match="total budget of 1000 ms ran out before step 'b'"), steps.step("b", 500):
        pass
    result = steps.finish(JourneyStopped())
    assert [s.status for s in result] == ["passed", "skipped"]
    assert journey_verdict(result, steps.elapsed_ms(), 1000) == (
        False,
        "total budget of 1000 ms ran out before step 'b'",
    )


def test_a_waits_timeout_is_capped_by_what_is_left_of_the_total() -> None:
    steps, clock, started = recorder(total_ms=5000)
    clock.advance_ms(4000)
    with steps.step("late", 3000):
        pass
    assert started == [("late", 1000)]


def test_without_a_budget_a_step_gets_the_whole_journeys() -> None:
    steps, _, _ = recorder(total_ms=7000)
    with steps.step("any"):
        pass
    assert steps.finish(None)[0].budget_ms == 7000


def test_a_plain_test_without_steps_is_one_step_named_after_the_journey() -> None:
    steps, clock, _ = recorder()
    clock.advance_ms(40)
    [only] = steps.finish(None)
    assert (only.name, only.status, only.duration_ms, only.budget_ms) == ("shop", "passed", 40.0, 10000)


def test_an_error_outside_every_step_fails_a_step_named_after_the_journey() -> None:
    steps, clock, _ = recorder()
    with steps.step("open", 1000):
        pass
    clock.advance_ms(20)
    result = steps.finish(KeyError("cart"))
    assert [(s.name, s.status) for s in result] == [("open", "passed"), ("shop", "failed")]
    assert result[-1].error == "KeyError: 'cart'"
    assert journey_verdict(result, 20.0, 10000) == (False, "step 'shop' failed: KeyError: 'cart'")


def test_steps_do_not_nest() -> None:
    steps, _, _ = recorder()
    with pytest.raises(StepMisuse, match="steps do not nest"), steps.step("outer", 1000), steps.step("inner", 10):
        pass


@pytest.mark.parametrize("budget", [0, -5, 1.5, True])
def test_a_budget_is_a_whole_positive_number_of_ms(budget: object) -> None:
    steps, _, _ = recorder()
    with pytest.raises(StepMisuse, match="whole number of ms"), steps.step("x", budget):  # type: ignore[arg-type]
        pass
