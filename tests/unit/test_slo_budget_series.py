"""Budget consumed and remaining over a (timestamp, good, total) series within one SLO period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gauntlet.reports.errors import SloInputError
from gauntlet.reports.slo import SLO_PERIOD, SloSample, budget_over_series

START = datetime(2025, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def daily(bad_per_day: list[int], total: int = 100_000) -> list[SloSample]:
    """One sample per day; each covers the day ending at its timestamp."""
    return [SloSample(at=START + DAY * (i + 1), good=total - bad, total=total) for i, bad in enumerate(bad_per_day)]


def test_burning_at_one_for_the_whole_period_spends_exactly_the_budget() -> None:
    points = budget_over_series(daily([100] * 30), objective=0.999)
    assert points[-1].consumed == pytest.approx(1.0)
    assert points[-1].remaining == pytest.approx(0.0)
    assert points[14].consumed == pytest.approx(0.5)  # half way through, half spent
    assert all(p.burn_rate == pytest.approx(1.0) for p in points)


def test_double_burn_spends_the_budget_in_half_the_period_then_overspends() -> None:
    points = budget_over_series(daily([200] * 20), objective=0.999)
    assert points[14].consumed == pytest.approx(1.0)
    assert points[19].consumed == pytest.approx(20 / 15)
    assert points[19].remaining == pytest.approx(1 - 20 / 15)  # negative: overspent


def test_a_bad_day_then_good_days() -> None:
    points = budget_over_series(daily([1500] + [0] * 29), objective=0.999)
    # 1,500 bad among 3,000,000 events against a budget of 3,000: half the budget.
    assert points[-1].consumed == pytest.approx(0.5)
    assert points[-1].good == 3_000_000 - 1500 and points[-1].total == 3_000_000
    # Good days that follow do not give budget back: with even traffic the spend stays at half.
    assert [p.consumed for p in points] == pytest.approx([0.5] * 30)


def test_no_bad_events_and_no_traffic_spend_nothing() -> None:
    assert [p.consumed for p in budget_over_series(daily([0] * 5), objective=0.99)] == [0.0] * 5
    assert [p.remaining for p in budget_over_series(daily([0] * 5, total=0), objective=0.99)] == [1.0] * 5


def test_empty_series_has_no_points() -> None:
    assert budget_over_series([], objective=0.999) == []


def test_one_sample_needs_its_step() -> None:
    one = daily([100])
    with pytest.raises(SloInputError, match="pass step="):
        budget_over_series(one, objective=0.999)
    (point,) = budget_over_series(one, objective=0.999, step=DAY)
    assert point.consumed == pytest.approx(1 / 30)


def test_a_series_longer_than_the_period_is_refused() -> None:
    with pytest.raises(SloInputError, match="spans 31d, longer than the SLO period 30d"):
        budget_over_series(daily([0] * 31), objective=0.999)


def test_the_period_can_be_shorter() -> None:
    points = budget_over_series(daily([100] * 7), objective=0.999, period=timedelta(days=7))
    assert points[-1].consumed == pytest.approx(1.0)
    assert timedelta(days=30) == SLO_PERIOD


def test_a_step_longer_than_the_gaps_is_refused() -> None:
    with pytest.raises(SloInputError, match="longer than the series' smallest gap"):
        budget_over_series(daily([0, 0]), objective=0.999, step=timedelta(days=2))


def test_invalid_objective_and_series_are_refused() -> None:
    with pytest.raises(SloInputError, match="no error budget"):
        budget_over_series(daily([0]), objective=1.0, step=DAY)
    with pytest.raises(SloInputError, match="good <= total"):
        budget_over_series([SloSample(at=START, good=5, total=4)], objective=0.9, step=DAY)
