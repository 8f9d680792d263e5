"""Error budgets and burn rates (reports/slo.py): the formulas, their edges, and the validation messages."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from gauntlet.reports.errors import ReportError, SloInputError
from gauntlet.reports.slo import (
    SLO_PERIOD,
    budget_consumed,
    budget_fraction,
    burn_rate,
    ensure_objective_is_valid,
    error_budget,
)


@pytest.mark.parametrize(
    ("objective", "window", "allowed"),
    [
        (0.999, SLO_PERIOD, timedelta(minutes=43, seconds=12)),
        (0.99, SLO_PERIOD, timedelta(hours=7, minutes=12)),
        (0.9999, SLO_PERIOD, timedelta(minutes=4, seconds=19.2)),
        (0.95, timedelta(days=1), timedelta(minutes=72)),
        (0.999, timedelta(days=7), timedelta(minutes=10, seconds=4.8)),
        (0.5, timedelta(hours=2), timedelta(hours=1)),
    ],
)
def test_error_budget_is_the_time_the_objective_allows_fully_down(
    objective: float, window: timedelta, allowed: timedelta
) -> None:
    budget = error_budget(objective, window)
    assert budget.allowed_bad_time == allowed
    assert budget.window == window


def test_the_default_window_is_the_30_day_slo_period() -> None:
    assert error_budget(0.999).window == timedelta(days=30)


@pytest.mark.parametrize(
    ("objective", "fraction"), [(0.999, 0.001), (0.95, 0.05), (0.9999, 0.0001), (0.99, 0.01), (0.5, 0.5)]
)
def test_budget_fraction_is_exact_for_decimal_objectives(objective: float, fraction: float) -> None:
    # 1 - 0.999 is 0.0010000000000000009 in binary floating point; the budget must be 0.001.
    assert budget_fraction(objective) == fraction
    assert error_budget(objective).fraction == fraction


@pytest.mark.parametrize(("total", "allowed"), [(0, 0.0), (1000, 1.0), (1_000_000, 1000.0), (2500, 2.5)])
def test_allowed_bad_events_are_the_budget_share_of_the_total(total: int, allowed: float) -> None:
    assert error_budget(0.999).allowed_bad(total) == pytest.approx(allowed)


def test_allowed_bad_refuses_a_negative_total() -> None:
    with pytest.raises(SloInputError, match="total count -1"):
        error_budget(0.999).allowed_bad(-1)


@pytest.mark.parametrize(
    ("bad", "total", "objective", "expected"),
    [
        (0, 0, 0.999, 0.0),  # zero traffic burns nothing
        (0, 1000, 0.999, 0.0),
        (1, 1000, 0.999, 1.0),  # exactly on budget
        (144, 10_000, 0.999, 14.4),  # the workbook's fast-burn page factor, exactly
        (6, 1000, 0.999, 6.0),
        (3, 1000, 0.999, 3.0),
        (1000, 1000, 0.999, 1000.0),  # a total outage burns 1 / (1 - objective)
        (5, 100, 0.95, 1.0),
        (10, 100, 0.95, 2.0),
        (1, 2, 0.5, 1.0),
        (1, 10_000, 0.9999, 1.0),
        (0.5, 100.0, 0.99, 0.5),  # rates (floats) work as well as counts
    ],
)
def test_burn_rate_is_error_ratio_over_budget(bad: float, total: float, objective: float, expected: float) -> None:
    assert burn_rate(bad, total, objective) == pytest.approx(expected)


def test_burn_rate_lands_exactly_on_the_workbook_factors() -> None:
    # Alert rules compare with `>`: a burn of exactly 14.4 must not read as 14.399999999999999.
    assert burn_rate(144, 10_000, 0.999) == 14.4
    assert burn_rate(60, 10_000, 0.999) == 6.0


@pytest.mark.parametrize(
    ("bad", "total", "message"),
    [
        (2, 1, "bad count 2 exceeds total 1"),
        (-1, 10, "bad count -1 must be a finite number >= 0"),
        (0, -10, "total count -10 must be a finite number >= 0"),
        (math.nan, 10, "bad count nan"),
        (1, math.inf, "total count inf"),
        (True, 10, "bad count True"),
    ],
)
def test_burn_rate_refuses_impossible_counts(bad: float, total: float, message: str) -> None:
    with pytest.raises(SloInputError, match=message):
        burn_rate(bad, total, 0.999)


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        (1.0, "leaves no error budget"),
        (1, "leaves no error budget"),
        (99.9, r"write 0.999 for 99.9 %"),
        (100, r"objectives are fractions"),
        (0.0, "must be above 0"),
        (-0.5, "must be above 0"),
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (True, "not a finite number"),
        ("0.999", "not a finite number"),
    ],
)
def test_objectives_without_a_budget_are_refused_with_a_fix(objective: object, message: str) -> None:
    for call in (
        lambda: ensure_objective_is_valid(objective),  # type: ignore[arg-type]
        lambda: error_budget(objective),  # type: ignore[arg-type]
        lambda: burn_rate(1, 10, objective),  # type: ignore[arg-type]
    ):
        with pytest.raises(SloInputError, match=message):
            call()


def test_objective_100_percent_is_invalid_even_with_no_bad_events() -> None:
    # A 100 % objective has no budget: one bad event would be an infinite burn, so refuse it up front.
    with pytest.raises(SloInputError, match="no error budget"):
        burn_rate(0, 1000, 1.0)


@pytest.mark.parametrize("window", [timedelta(0), timedelta(seconds=-1), 3600])
def test_windows_must_be_positive_timedeltas(window: object) -> None:
    with pytest.raises(SloInputError, match="window"):
        error_budget(0.999, window)  # type: ignore[arg-type]


def test_slo_errors_share_the_reports_base_exception_and_exit_code_2() -> None:
    with pytest.raises(ReportError) as caught:
        burn_rate(2, 1, 0.999)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("bad", "total", "elapsed", "consumed"),
    [
        # The workbook's table: budget spent by the time each rule's long window fires.
        (144, 10_000, timedelta(hours=1), 0.02),
        (6, 1000, timedelta(hours=6), 0.05),
        (3, 1000, timedelta(days=1), 0.10),
        (1, 1000, timedelta(days=3), 0.10),
        (1, 1000, SLO_PERIOD, 1.0),  # burning at 1x for the whole period spends exactly the budget
        (2, 1000, timedelta(days=15), 1.0),
        (0, 1000, SLO_PERIOD, 0.0),
        (0, 0, SLO_PERIOD, 0.0),
    ],
)
def test_budget_consumed_is_burn_rate_times_the_share_of_the_period(
    bad: int, total: int, elapsed: timedelta, consumed: float
) -> None:
    assert budget_consumed(bad, total, 0.999, elapsed=elapsed, period=SLO_PERIOD) == pytest.approx(consumed)


def test_budget_consumed_needs_positive_durations() -> None:
    with pytest.raises(SloInputError, match="elapsed time"):
        budget_consumed(1, 10, 0.9, elapsed=timedelta(0), period=SLO_PERIOD)
    with pytest.raises(SloInputError, match="SLO period"):
        budget_consumed(1, 10, 0.9, elapsed=timedelta(hours=1), period=timedelta(0))
