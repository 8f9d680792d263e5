"""Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs") over synthetic series."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gauntlet.reports.errors import SloInputError
from gauntlet.reports.slo import (
    SLO_PERIOD,
    WORKBOOK_RULES,
    BurnRateRule,
    SloSample,
    ensure_rule_is_valid,
    evaluate_burn_rate_alerts,
)

END = datetime(2025, 2, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
PER_STEP = 10_000
OBJECTIVE = 0.999
PAGE_FAST, PAGE_SLOW, TICKET_DAY, TICKET_3D = (r.name for r in WORKBOOK_RULES)


def series(burn_at: Callable[[timedelta], float], span: timedelta = timedelta(days=3)) -> list[SloSample]:
    """Five-minute samples over `span` ending at END; `burn_at(age)` is the burn rate of the sample that age."""
    count = int(span / STEP)
    samples = []
    for i in range(count):
        age = STEP * (count - 1 - i)
        bad = round(burn_at(age) * PER_STEP * (1 - OBJECTIVE))
        samples.append(SloSample(at=END - age, good=PER_STEP - bad, total=PER_STEP))
    return samples


def firing(samples: list[SloSample], **kwargs: object) -> list[str]:
    evaluation = evaluate_burn_rate_alerts(samples, objective=OBJECTIVE, **kwargs)  # type: ignore[arg-type]
    return [r.rule.name for r in evaluation.firing]


def test_the_workbook_rules_for_a_30_day_slo() -> None:
    table = [(r.severity, r.factor, r.long_window, r.short_window) for r in WORKBOOK_RULES]
    assert table == [
        ("page", 14.4, timedelta(hours=1), timedelta(minutes=5)),
        ("page", 6.0, timedelta(hours=6), timedelta(minutes=30)),
        ("ticket", 3.0, timedelta(days=1), timedelta(hours=2)),
        ("ticket", 1.0, timedelta(days=3), timedelta(hours=6)),
    ]
    # Budget spent when each fires: the workbook's 2 %, 5 %, 10 %, 10 %.
    assert [r.budget_consumed(SLO_PERIOD) for r in WORKBOOK_RULES] == pytest.approx([0.02, 0.05, 0.10, 0.10])
    assert [r.name for r in WORKBOOK_RULES] == [
        "page 14.4x over 1h/5m",
        "page 6x over 6h/30m",
        "ticket 3x over 1d/2h",
        "ticket 1x over 3d/6h",
    ]
    for rule in WORKBOOK_RULES:
        assert rule.short_window * 12 == rule.long_window  # the workbook's 1/12 short windows
        ensure_rule_is_valid(rule)


def healthy(age: timedelta) -> float:
    return 0.5


@pytest.mark.parametrize(
    ("name", "burn_at", "expected", "severity"),
    [
        ("healthy for three days", healthy, [], None),
        ("an hour at 20x: fast burn pages", lambda age: 20.0 if age < timedelta(hours=1) else 0.5, [PAGE_FAST],
         "page"),
        # 50 minutes at 20x, then 10 healthy: the 1h window still burns > 14.4 but the 5m one has
        # recovered, so the page resets quickly (the point of the short window).
        ("fast burn that has stopped", lambda age: 20.0 if timedelta(minutes=10) <= age < timedelta(hours=1) else 0.5,
         [], None),
        # Five minutes at 100x: the short window is hot, the hour is not (8.8x): no page for a blip.
        ("a five-minute blip", lambda age: 100.0 if age < STEP else 0.5, [], None),
        # 6h at 8x: the day burns (18 x 0.5 + 6 x 8) / 24 = 2.4x (< 3), three days 1.125x (> 1).
        ("six hours at 8x: slow burn pages", lambda age: 8.0 if age < timedelta(hours=6) else 0.5,
         [PAGE_SLOW, TICKET_3D], "page"),
        ("a day at 4x: tickets", lambda age: 4.0 if age < timedelta(days=1) else 0.5, [TICKET_DAY, TICKET_3D],
         "ticket"),
        ("three days at 1.5x: the slowest ticket", lambda age: 1.5, [TICKET_3D], "ticket"),
        # An hour at 100x is 17x over 6h, 4.6x over a day and 1.9x over three: every rule fires.
        ("an hour at 100x: everything fires", lambda age: 100.0 if age < timedelta(hours=1) else 0.5,
         [PAGE_FAST, PAGE_SLOW, TICKET_DAY, TICKET_3D], "page"),
        ("exactly 14.4x is not above 14.4x", lambda age: 14.4 if age < timedelta(hours=1) else 0.5, [], None),
        ("a total outage for three days", lambda age: 1000.0, [PAGE_FAST, PAGE_SLOW, TICKET_DAY, TICKET_3D],
         "page"),
    ],
)  # fmt: skip
def test_which_rules_fire(
    name: str, burn_at: Callable[[timedelta], float], expected: list[str], severity: str | None
) -> None:
    evaluation = evaluate_burn_rate_alerts(series(burn_at), objective=OBJECTIVE)
    assert [r.rule.name for r in evaluation.firing] == expected, name
    assert evaluation.severity == severity, name


def test_each_rule_reports_both_windows() -> None:
    evaluation = evaluate_burn_rate_alerts(
        series(lambda age: 20.0 if age < timedelta(hours=1) else 0.5), objective=OBJECTIVE
    )
    fast = evaluation.rules[0]
    assert fast.long.burn_rate == pytest.approx(20.0)
    assert fast.short.burn_rate == pytest.approx(20.0)
    assert fast.long.total == 12 * PER_STEP and fast.short.total == PER_STEP
    assert fast.long.coverage == 1.0
    slow = evaluation.rules[1]
    assert slow.long.burn_rate == pytest.approx((5 * 0.5 + 20.0) / 6)
    assert evaluation.at == END


def test_zero_traffic_fires_nothing() -> None:
    quiet = [SloSample(at=END - STEP * i, good=0, total=0) for i in range(864, -1, -1)]
    evaluation = evaluate_burn_rate_alerts(quiet, objective=OBJECTIVE)
    assert evaluation.firing == ()
    assert all(r.long.burn_rate == 0.0 and r.short.burn_rate == 0.0 for r in evaluation.rules)


def test_an_empty_series_needs_an_evaluation_time() -> None:
    with pytest.raises(SloInputError, match="pass `at`"):
        evaluate_burn_rate_alerts([], objective=OBJECTIVE)
    evaluation = evaluate_burn_rate_alerts([], objective=OBJECTIVE, at=END)
    assert evaluation.firing == () and evaluation.severity is None
    assert all(r.long.coverage == 0.0 for r in evaluation.rules)


def test_a_series_shorter_than_a_window_uses_what_there_is() -> None:
    # Thirty minutes of data at 20x: the 1h window is half covered and still fires.
    evaluation = evaluate_burn_rate_alerts(series(lambda age: 20.0, span=timedelta(minutes=30)), objective=OBJECTIVE)
    assert [r.rule.name for r in evaluation.firing] == [PAGE_FAST, PAGE_SLOW, TICKET_DAY, TICKET_3D]
    assert evaluation.rules[0].long.coverage == pytest.approx(0.5)
    assert evaluation.rules[3].long.coverage == pytest.approx(0.5 / 72)


def test_evaluating_in_the_past_ignores_later_samples() -> None:
    samples = series(lambda age: 20.0 if age < timedelta(hours=1) else 0.5)
    assert firing(samples, at=END - timedelta(hours=2)) == []
    assert firing(samples, at=END) == [PAGE_FAST]


def test_a_window_shorter_than_the_series_step_is_refused() -> None:
    hourly = [SloSample(at=END - timedelta(hours=h), good=100, total=100) for h in range(72, -1, -1)]
    with pytest.raises(SloInputError, match=r"5m short window is shorter than the series step 1h.*resample"):
        evaluate_burn_rate_alerts(hourly, objective=OBJECTIVE)
    # Rules whose windows the step can measure are fine.
    slow_only = [r for r in WORKBOOK_RULES if r.short_window >= timedelta(hours=1)]
    assert evaluate_burn_rate_alerts(hourly, objective=OBJECTIVE, rules=slow_only).firing == ()


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        ([SloSample(at=END, good=1, total=1), SloSample(at=END - STEP, good=1, total=1)], "not after the one before"),
        ([SloSample(at=END, good=1, total=1), SloSample(at=END, good=1, total=1)], "merge samples with equal"),
        ([SloSample(at=END, good=2, total=1)], "need 0 <= good <= total"),
        ([SloSample(at=END, good=-1, total=1)], "need 0 <= good <= total"),
        ([SloSample(at=END.replace(tzinfo=None), good=1, total=1)], "timezone-aware"),
    ],
)
def test_bad_series_are_refused(samples: list[SloSample], message: str) -> None:
    with pytest.raises(SloInputError, match=message):
        evaluate_burn_rate_alerts(samples, objective=OBJECTIVE)


def test_a_naive_evaluation_time_is_refused() -> None:
    with pytest.raises(SloInputError, match=r"evaluation time .* timezone-aware"):
        evaluate_burn_rate_alerts([], objective=OBJECTIVE, at=END.replace(tzinfo=None))


def test_the_objective_is_validated_first() -> None:
    with pytest.raises(SloInputError, match="no error budget"):
        evaluate_burn_rate_alerts(series(healthy), objective=1.0)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (BurnRateRule(severity="page", factor=14.4, long_window=timedelta(minutes=5), short_window=timedelta(hours=1)),
         "short window 1h must be shorter than the long window 5m"),
        (BurnRateRule(severity="page", factor=0.0, long_window=timedelta(hours=1), short_window=timedelta(minutes=5)),
         "factor 0.0 must be a finite number above 0"),
        (BurnRateRule(severity="ticket", factor=1.0, long_window=timedelta(days=31), short_window=timedelta(hours=6)),
         "longer than the SLO period 30d"),
        (BurnRateRule(severity="sms", factor=1.0, long_window=timedelta(days=1), short_window=timedelta(hours=1)),  # type: ignore[arg-type]
         "severity 'sms'"),
        (BurnRateRule(severity="page", factor=2.0, long_window=timedelta(hours=1), short_window=timedelta(0)),
         "short window 0:00:00 must be longer than zero"),
    ],
)  # fmt: skip
def test_custom_rules_are_validated(rule: BurnRateRule, message: str) -> None:
    with pytest.raises(SloInputError, match=message):
        evaluate_burn_rate_alerts(series(healthy, span=timedelta(hours=2)), objective=OBJECTIVE, rules=[rule])


def test_custom_rules_and_periods_work() -> None:
    week = timedelta(days=7)
    rule = BurnRateRule(severity="page", factor=2.0, long_window=timedelta(hours=2), short_window=timedelta(minutes=10))
    evaluation = evaluate_burn_rate_alerts(
        series(lambda age: 3.0, span=timedelta(hours=3)), objective=OBJECTIVE, rules=[rule], period=week
    )
    assert [r.rule for r in evaluation.firing] == [rule]
    assert rule.budget_consumed(week) == pytest.approx(2.0 * 2 / (7 * 24))
