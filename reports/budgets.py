"""Error budgets of a run's thresholds: which thresholds are SLOs, and how much budget the run burned.

A ceiling on the error rate (`error_rate < 0.1 %`) is an SLO of 99.9 % good
requests; a ceiling on a percentile (`p95_ms < 500`) is an SLO of 95 % of
requests faster than the limit, and the HDR histogram counts the slow ones
exactly. Other thresholds (throughput floors, max, mean) have no error budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from gauntlet.load.hdr import percentile_of_metric
from gauntlet.reports.errors import SloInputError
from gauntlet.reports.histogram import count_at_or_above_ms, decode_histogram
from gauntlet.reports.model import RequestStats, SloRecord
from gauntlet.reports.slo import SLO_PERIOD, WORKBOOK_RULES, BurnRateRule, budget_consumed, burn_rate

_CEILINGS = ("<", "<=")


def objective_of(metric: str, op: str, limit: float) -> float | None:
    """The objective a threshold implies (error_rate < 0.001 -> 0.999, p95_ms -> 0.95), or None for no budget."""
    if op not in _CEILINGS:
        return None
    if metric == "error_rate":
        objective = Decimal(1) - Decimal(repr(limit))
    else:
        percentile = percentile_of_metric(metric)
        if percentile is None:
            return None
        objective = Decimal(repr(percentile)) / 100
    return float(objective) if 0 < objective < 1 else None


def rules_exceeded(rate: float, rules: Sequence[BurnRateRule] = WORKBOOK_RULES) -> list[str]:
    """The burn-rate alert rules a burn sustained over both their windows would fire."""
    return [rule.name for rule in rules if rate > rule.factor]


def slo_record(
    *,
    name: str,
    entry: str,
    metric: str,
    op: str,
    limit: float,
    passed: bool,
    stats: RequestStats | None,
    duration: timedelta,
    period: timedelta = SLO_PERIOD,
) -> SloRecord | None:
    """The budget record of one threshold over `stats`, or None when it has no budget or nothing was measured."""
    objective = objective_of(metric, op, limit)
    if objective is None or stats is None or stats.count == 0:
        return None
    if metric == "error_rate":
        bad = stats.failures
    else:
        if not stats.hdr:
            return None
        histogram = decode_histogram(stats.hdr, where=f"{entry}: {name}: hdr")
        bad = min(count_at_or_above_ms(histogram, limit, inclusive=op == "<"), stats.count)
    try:
        rate = burn_rate(bad, stats.count, objective)
        spent = (
            budget_consumed(bad, stats.count, objective, elapsed=duration, period=period)
            if duration > timedelta(0)
            else 0.0
        )
    except SloInputError:
        return None
    return SloRecord(
        name=name,
        entry=entry,
        objective=objective,
        good=stats.count - bad,
        total=stats.count,
        burn_rate=rate,
        budget_consumed=spent,
        passed=passed,
        alerts=rules_exceeded(rate),
    )
