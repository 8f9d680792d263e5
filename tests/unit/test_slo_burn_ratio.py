"""The seeds' vw_slo_burnrate: the 5-minute figure over the 24-hour one, alerting above 2.0."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from gauntlet.reports.errors import SloInputError
from gauntlet.reports.slo import (
    BURN_RATIO_ALERT,
    BURN_RATIO_LONG,
    BURN_RATIO_SHORT,
    SloSample,
    burn_ratio,
    burn_ratio_alerts,
    series_burn_ratio,
)

END = datetime(2025, 2, 1, tzinfo=UTC)


def test_the_seed_constants() -> None:
    assert (timedelta(minutes=5), timedelta(hours=24), 2.0) == (BURN_RATIO_SHORT, BURN_RATIO_LONG, BURN_RATIO_ALERT)


@pytest.mark.parametrize(
    ("short", "long", "ratio", "alerts"),
    [
        (900.0, 300.0, 3.0, True),  # p95 of the last 5 min three times the day's: alert
        (10.0, 5.0, 2.0, False),  # exactly 2.0 is within the seeds' "<= 2.0"
        (2.01, 1.0, 2.01, True),
        (1.0, 4.0, 0.25, False),
        (5.0, 5.0, 1.0, False),
        (0.0, 0.0, 0.0, False),  # nothing anywhere: nothing to alert on
        (0.0, 5.0, 0.0, False),  # quiet now
        (5.0, 0.0, math.inf, True),  # anything against nothing is an unbounded rise
        (3, 1, 3.0, True),  # ints are fine
    ],
)
def test_burn_ratio_and_its_alert(short: float, long: float, ratio: float, alerts: bool) -> None:
    assert burn_ratio(short, long) == pytest.approx(ratio)
    assert burn_ratio_alerts(burn_ratio(short, long)) is alerts


def test_the_alert_threshold_can_be_given() -> None:
    assert burn_ratio_alerts(1.6, threshold=1.5)
    assert not burn_ratio_alerts(1.5, threshold=1.5)


@pytest.mark.parametrize(("short", "long"), [(-1.0, 1.0), (1.0, -1.0), (math.nan, 1.0), (True, 1.0)])
def test_burn_ratio_refuses_negative_or_non_numbers(short: float, long: float) -> None:
    with pytest.raises(SloInputError, match="burn ratio"):
        burn_ratio(short, long)


def day_of_minutes(last_five_bad: int, bad_per_minute: int = 1, per_minute: int = 1000) -> list[SloSample]:
    """24 hours of one-minute samples; the last five minutes have `last_five_bad` bad events each."""
    samples = []
    for i in range(24 * 60):
        bad = last_five_bad if i >= 24 * 60 - 5 else bad_per_minute
        samples.append(SloSample(at=END - timedelta(minutes=24 * 60 - 1 - i), good=per_minute - bad, total=per_minute))
    return samples


def test_a_steady_day_has_ratio_one() -> None:
    assert series_burn_ratio(day_of_minutes(1), objective=0.999, at=END) == pytest.approx(1.0)


def test_a_burst_in_the_last_five_minutes_alerts() -> None:
    ratio = series_burn_ratio(day_of_minutes(5), objective=0.999, at=END)
    # 5x in the short window against (1435 x 1 + 5 x 5) / 1440 over the day.
    assert ratio == pytest.approx(5 / ((1435 + 25) / 1440))
    assert burn_ratio_alerts(ratio)


def test_a_quiet_day_has_ratio_zero() -> None:
    assert series_burn_ratio(day_of_minutes(0, bad_per_minute=0), objective=0.999, at=END) == 0.0


def test_series_burn_ratio_refuses_windows_it_cannot_measure() -> None:
    hourly = [SloSample(at=END - timedelta(hours=h), good=10, total=10) for h in range(24, -1, -1)]
    with pytest.raises(SloInputError, match="short window 5m is shorter than the series step 1h"):
        series_burn_ratio(hourly, objective=0.999, at=END)
    with pytest.raises(SloInputError, match="must be shorter than the long window"):
        series_burn_ratio(day_of_minutes(1), objective=0.999, at=END, short=timedelta(hours=24))
