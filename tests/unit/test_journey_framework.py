"""The journey framework's pure rules: step verdicts, budgets, skipping, and the journey verdict."""

from __future__ import annotations

import datetime as dt

import pytest

from gauntlet.journeys.framework import (
    MIN_ACTION_TIMEOUT_MS,
    JourneyCheckFailed,
    JourneyResult,
    StepResult,
    action_timeout_ms,
    describe,
    journey_verdict,
    judge_step,
    skipped,
    total_budget_left,
)


def passed(name: str = "s", ms: float = 10.0, budget: int = 100) -> StepResult:
    return judge_step(name, ms, budget, None)


class TestJudgeStep:
    def test_within_budget_passes(self) -> None:
        result = judge_step("signup", 99.0, 100, None)
        assert (result.ok, result.status, result.error) == (True, "passed", None)

    def test_exactly_on_budget_passes(self) -> None:
        assert judge_step("signup", 100.0, 100, None).ok

    def test_over_budget_fails_naming_both_figures(self) -> None:
        result = judge_step("signup", 100.4, 100, None)
        assert not result.ok and result.status == "failed"
        assert result.error == "step took 100 ms, over its budget of 100 ms"

    def test_an_error_fails_even_within_budget_and_wins_over_the_budget_message(self) -> None:
        assert judge_step("signup", 5.0, 100, "no badge").error == "no badge"
        assert judge_step("signup", 500.0, 100, "no badge").error == "no badge"

    def test_records_duration_and_budget(self) -> None:
        result = judge_step("feed", 42.5, 6000, None)
        assert (result.name, result.duration_ms, result.budget_ms) == ("feed", 42.5, 6000)


class TestActionTimeout:
    def test_is_the_step_budget_when_the_total_has_room(self) -> None:
        assert action_timeout_ms(4000, 30000, 1000.0) == 4000

    def test_is_capped_by_what_is_left_of_the_total(self) -> None:
        assert action_timeout_ms(4000, 30000, 28500.0) == 1500

    def test_never_below_the_floor(self) -> None:
        assert action_timeout_ms(4000, 30000, 29990.0) == MIN_ACTION_TIMEOUT_MS
        assert action_timeout_ms(4000, 30000, 40000.0) == MIN_ACTION_TIMEOUT_MS
        assert action_timeout_ms(10, 30000, 0.0) == MIN_ACTION_TIMEOUT_MS


class TestTotalBudget:
    @pytest.mark.parametrize(("elapsed", "left"), [(0.0, True), (29999.9, True), (30000.0, False), (31000.0, False)])
    def test_a_step_may_start_only_while_budget_remains(self, elapsed: float, left: bool) -> None:
        assert total_budget_left(30000, elapsed) is left


class TestJourneyVerdict:
    def test_all_passed_within_total(self) -> None:
        assert journey_verdict([passed("a"), passed("b")], 20.0, 1000) == (True, None)

    def test_first_failed_step_is_the_reason(self) -> None:
        steps = [passed("a"), judge_step("b", 5.0, 100, "boom"), judge_step("c", 5.0, 100, "later")]
        assert journey_verdict(steps, 20.0, 1000) == (False, "step 'b' failed: boom")

    def test_skipped_steps_without_a_failure_mean_the_total_ran_out(self) -> None:
        ok, why = journey_verdict([passed("a"), skipped("c", 100)], 1200.0, 1000)
        assert not ok and why == "total budget of 1000 ms ran out before step 'c'"

    def test_every_step_in_budget_but_the_sum_over_the_total_fails(self) -> None:
        ok, why = journey_verdict([passed("a", 600.0, 1000), passed("b", 600.0, 1000)], 1200.0, 1000)
        assert not ok and why == "journey took 1200 ms, over its total budget of 1000 ms"

    def test_no_steps_passes_vacuously_only_within_total(self) -> None:
        assert journey_verdict([], 0.0, 1000) == (True, None)


class TestSkipped:
    def test_keeps_the_budget_and_is_not_ok(self) -> None:
        result = skipped("calendar", 4000)
        assert (result.name, result.ok, result.status, result.duration_ms, result.budget_ms) == (
            "calendar",
            False,
            "skipped",
            0.0,
            4000,
        )


class TestDescribe:
    def test_check_failures_are_shown_as_written(self) -> None:
        assert describe(JourneyCheckFailed("the feed repeated items")) == "the feed repeated items"

    def test_other_errors_are_prefixed_with_their_type(self) -> None:
        assert describe(ValueError("bad")) == "ValueError: bad"

    def test_long_call_logs_are_cut_to_the_first_lines(self) -> None:
        error = TimeoutError(
            "Locator.click: Timeout 3000ms exceeded.\nCall log:\n  - waiting for x\n  - a\n  - b\n  - c"
        )
        assert describe(error) == "TimeoutError: Locator.click: Timeout 3000ms exceeded. | - waiting for x | - a | - b"

    def test_empty_message_falls_back_to_the_type(self) -> None:
        assert describe(RuntimeError()) == "RuntimeError"


class TestJourneyResult:
    def test_json_has_the_interface_fields_and_an_iso_start(self) -> None:
        started = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        failed = judge_step("b", 5.0, 100, "boom")
        result = JourneyResult("j", False, started, 12.5, 1000, "http://x", [passed("a"), failed], ["e1"], "why")
        data = result.to_json()
        assert data["started_at"] == "2025-01-02T03:04:05+00:00"
        assert {"name", "ok", "duration_ms", "steps", "console_errors"} <= set(data)
        assert set(data["steps"][0]) >= {"name", "ok", "duration_ms", "budget_ms", "error", "screenshot", "trace"}
        assert result.failed_step is failed
