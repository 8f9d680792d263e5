"""SLO maths: error budgets, burn rates, the seeds' burn ratio and multi-window multi-burn-rate alerts.

Pure functions over numbers and (timestamp, good, total) series: no I/O, no
clock (the evaluation time is always passed in). Conventions:

- an objective is a fraction in (0, 1): 0.999 for "99.9 % of events good";
- the error budget is ``1 - objective`` of the events in the SLO period;
- the burn rate is how fast that budget goes: ``(bad / total) / (1 - objective)``.
  1.0 spends exactly the budget over the period, 14.4 spends a 30-day budget in 50 h;
- the alert rules are the Google SRE workbook's ("Alerting on SLOs", recommended
  multiwindow, multi-burn-rate configuration for a 30-day SLO): an alert fires
  when the burn rate over BOTH its long and its short window exceeds the factor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from gauntlet.reports.errors import SloInputError

Severity = Literal["page", "ticket"]
SLO_PERIOD = timedelta(days=30)
# The seeds' vw_slo_burnrate: the 5-minute figure over the 24-hour one, alert above 2.0.
BURN_RATIO_SHORT = timedelta(minutes=5)
BURN_RATIO_LONG = timedelta(hours=24)
BURN_RATIO_ALERT = 2.0


def ensure_objective_is_valid(objective: float) -> float:
    """The objective as a float, or SloInputError saying how to write one."""
    if isinstance(objective, bool) or not isinstance(objective, int | float) or not math.isfinite(objective):
        raise SloInputError(f"objective {objective!r} is not a finite number; write a fraction such as 0.999")
    if objective >= 1.0:
        hint = " (objectives are fractions: write 0.999 for 99.9 %)" if objective > 1.0 else ""
        raise SloInputError(
            f"objective {objective:g} leaves no error budget: with 100 % as the target one bad event is an "
            f"infinite burn rate{hint}; use e.g. 0.999"
        )
    if objective <= 0.0:
        raise SloInputError(f"objective {objective:g} must be above 0; write a fraction such as 0.999")
    return float(objective)


def ensure_window_is_valid(window: timedelta, *, what: str = "window") -> timedelta:
    if not isinstance(window, timedelta):
        raise SloInputError(f"{what} {window!r} is not a timedelta; write e.g. timedelta(hours=1)")
    if window <= timedelta(0):
        raise SloInputError(f"{what} {window} must be longer than zero")
    return window


def ensure_counts_are_valid(bad: float, total: float) -> None:
    for label, value in (("bad", bad), ("total", total)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise SloInputError(f"{label} count {value!r} must be a finite number >= 0")
    if bad > total:
        raise SloInputError(f"bad count {bad:g} exceeds total {total:g}: count bad events among all events")


def budget_fraction(objective: float) -> float:
    """``1 - objective``, exact for objectives written in decimal (1 - 0.999 is 0.001, not 0.0010000000000000009)."""
    # Burn rates are compared against factors like 14.4 at their edges; float noise would flip them.
    return float(Decimal(1) - Decimal(repr(ensure_objective_is_valid(objective))))


@dataclass(frozen=True, kw_only=True)
class ErrorBudget:
    """How much badness an objective allows over a window."""

    objective: float
    window: timedelta

    @property
    def fraction(self) -> float:
        return budget_fraction(self.objective)

    @property
    def allowed_bad_time(self) -> timedelta:
        """Time fully down the window allows (a 99.9 % 30-day objective: 43 min 12 s)."""
        return self.window * self.fraction

    def allowed_bad(self, total: float) -> float:
        """Bad events allowed among `total` events."""
        ensure_counts_are_valid(0, total)
        return total * self.fraction


def error_budget(objective: float, window: timedelta = SLO_PERIOD) -> ErrorBudget:
    """The error budget of `objective` over `window` (default: the 30-day SLO period)."""
    ensure_objective_is_valid(objective)
    ensure_window_is_valid(window)
    return ErrorBudget(objective=float(objective), window=window)


def burn_rate(bad: float, total: float, objective: float) -> float:
    """``(bad / total) / (1 - objective)``; zero traffic burns nothing (0.0)."""
    ensure_counts_are_valid(bad, total)
    fraction = budget_fraction(objective)
    if total == 0:
        return 0.0
    # bad / (total x budget) rather than (bad / total) / budget: one rounding fewer, so 144 bad in
    # 10,000 against 99.9 % is exactly 14.4 and lands on the workbook factor instead of just under it.
    return bad / (total * fraction)


def budget_consumed(bad: float, total: float, objective: float, *, elapsed: timedelta, period: timedelta) -> float:
    """Fraction of a `period`'s budget spent by burning at this rate for `elapsed` (traffic assumed even)."""
    ensure_window_is_valid(elapsed, what="elapsed time")
    ensure_window_is_valid(period, what="SLO period")
    return burn_rate(bad, total, objective) * (elapsed / period)


def burn_ratio(short: float, long: float) -> float:
    """The seeds' vw_slo_burnrate: a short-window figure over the long-window one (5 min vs 24 h p95).

    0.0 when the short window saw nothing; infinity when only the long one saw
    nothing (any rise from nothing is unbounded, and should alert).
    """
    for label, value in (("short", short), ("long", long)):
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
            raise SloInputError(f"burn ratio: {label} value {value!r} must be a number >= 0")
    if short == 0:
        return 0.0
    if long == 0:
        return math.inf
    return short / long


def burn_ratio_alerts(ratio: float, threshold: float = BURN_RATIO_ALERT) -> bool:
    """The seeds' rule: alert (and enable safe mode) when the ratio is above 2.0."""
    return ratio > threshold


@dataclass(frozen=True, kw_only=True)
class BurnRateRule:
    """Fire when the burn rate over both windows is above `factor`."""

    severity: Severity
    factor: float
    long_window: timedelta
    short_window: timedelta

    @property
    def name(self) -> str:
        return f"{self.severity} {self.factor:g}x over {_span(self.long_window)}/{_span(self.short_window)}"

    def budget_consumed(self, period: timedelta = SLO_PERIOD) -> float:
        """Budget spent by the time the long window fires (workbook: 2 %, 5 %, 10 %, 10 %)."""
        return self.factor * (self.long_window / period)


WORKBOOK_RULES: tuple[BurnRateRule, ...] = (
    BurnRateRule(severity="page", factor=14.4, long_window=timedelta(hours=1), short_window=timedelta(minutes=5)),
    BurnRateRule(severity="page", factor=6.0, long_window=timedelta(hours=6), short_window=timedelta(minutes=30)),
    BurnRateRule(severity="ticket", factor=3.0, long_window=timedelta(days=1), short_window=timedelta(hours=2)),
    BurnRateRule(severity="ticket", factor=1.0, long_window=timedelta(days=3), short_window=timedelta(hours=6)),
)


def ensure_rule_is_valid(rule: BurnRateRule, period: timedelta = SLO_PERIOD) -> BurnRateRule:
    if rule.severity not in ("page", "ticket"):
        raise SloInputError(f"rule severity {rule.severity!r} must be 'page' or 'ticket'")
    if isinstance(rule.factor, bool) or not math.isfinite(rule.factor) or rule.factor <= 0:
        raise SloInputError(f"rule factor {rule.factor!r} must be a finite number above 0")
    ensure_window_is_valid(rule.long_window, what="long window")
    ensure_window_is_valid(rule.short_window, what="short window")
    if rule.short_window >= rule.long_window:
        raise SloInputError(
            f"rule {rule.factor:g}x: short window {_span(rule.short_window)} must be shorter than the long window "
            f"{_span(rule.long_window)} (the workbook uses 1/12 of it)"
        )
    if rule.long_window > period:
        raise SloInputError(
            f"rule {rule.factor:g}x: long window {_span(rule.long_window)} is longer than the SLO period "
            f"{_span(period)}"
        )
    return rule


@dataclass(frozen=True, kw_only=True)
class SloSample:
    """Events in the interval of one series step that ends at `at`."""

    at: datetime
    good: int
    total: int

    @property
    def bad(self) -> int:
        return self.total - self.good


def ensure_series_is_valid(samples: Sequence[SloSample]) -> timedelta | None:
    """Check the series; return its step (the smallest gap), or None with fewer than two samples."""
    step: timedelta | None = None
    for i, sample in enumerate(samples):
        if sample.at.tzinfo is None:
            raise SloInputError(f"sample {i} at {sample.at.isoformat()}: timestamps must be timezone-aware (UTC)")
        if sample.good < 0 or sample.total < 0 or sample.good > sample.total:
            raise SloInputError(
                f"sample {i} at {sample.at.isoformat()}: need 0 <= good <= total, got good={sample.good} "
                f"total={sample.total}"
            )
        if i:
            gap = sample.at - samples[i - 1].at
            if gap <= timedelta(0):
                raise SloInputError(
                    f"sample {i} at {sample.at.isoformat()} is not after the one before it: sort the series by "
                    "time and merge samples with equal timestamps"
                )
            step = gap if step is None else min(step, gap)
    return step


@dataclass(frozen=True, kw_only=True)
class WindowBurn:
    """The burn rate over one window ending at the evaluation time."""

    window: timedelta
    good: int
    total: int
    burn_rate: float
    coverage: float  # fraction of the window the series covers (< 1 when the series is shorter)


def window_burn(
    samples: Sequence[SloSample], *, objective: float, at: datetime, window: timedelta, step: timedelta | None
) -> WindowBurn:
    """Burn rate over (at - window, at]: the samples whose interval ends inside it."""
    inside = [s for s in samples if at - window < s.at <= at]
    good = sum(s.good for s in inside)
    total = sum(s.total for s in inside)
    coverage = min(1.0, len(inside) * step / window) if step is not None else (1.0 if inside else 0.0)
    return WindowBurn(
        window=window, good=good, total=total, burn_rate=burn_rate(total - good, total, objective), coverage=coverage
    )


@dataclass(frozen=True, kw_only=True)
class RuleEvaluation:
    rule: BurnRateRule
    long: WindowBurn
    short: WindowBurn

    @property
    def firing(self) -> bool:
        return self.long.burn_rate > self.rule.factor and self.short.burn_rate > self.rule.factor


@dataclass(frozen=True, kw_only=True)
class AlertEvaluation:
    at: datetime
    objective: float
    rules: tuple[RuleEvaluation, ...]

    @property
    def firing(self) -> tuple[RuleEvaluation, ...]:
        return tuple(r for r in self.rules if r.firing)

    @property
    def severity(self) -> Severity | None:
        """The most urgent severity firing: page over ticket, None when quiet."""
        kinds = {r.rule.severity for r in self.firing}
        return "page" if "page" in kinds else "ticket" if "ticket" in kinds else None


def evaluate_burn_rate_alerts(
    samples: Sequence[SloSample],
    *,
    objective: float,
    at: datetime | None = None,
    rules: Sequence[BurnRateRule] = WORKBOOK_RULES,
    period: timedelta = SLO_PERIOD,
) -> AlertEvaluation:
    """Evaluate each rule at `at` (default: the last sample); which fire, with what severity.

    A window longer than the series uses what there is (see WindowBurn.coverage);
    a window shorter than the series step cannot be measured and is refused.
    """
    ensure_objective_is_valid(objective)
    ensure_window_is_valid(period, what="SLO period")
    step = ensure_series_is_valid(samples)
    if at is None:
        if not samples:
            raise SloInputError("an empty series has no last sample: pass `at`, the time to evaluate the rules at")
        at = samples[-1].at
    elif at.tzinfo is None:
        raise SloInputError(f"evaluation time {at.isoformat()} must be timezone-aware (UTC)")
    evaluations = []
    for rule in rules:
        ensure_rule_is_valid(rule, period)
        if step is not None and rule.short_window < step:
            raise SloInputError(
                f"rule {rule.name}: the {_span(rule.short_window)} short window is shorter than the series step "
                f"{_span(step)}, so it cannot be measured; resample the series to a step of at most "
                f"{_span(rule.short_window)}"
            )
        evaluations.append(
            RuleEvaluation(
                rule=rule,
                long=window_burn(samples, objective=objective, at=at, window=rule.long_window, step=step),
                short=window_burn(samples, objective=objective, at=at, window=rule.short_window, step=step),
            )
        )
    return AlertEvaluation(at=at, objective=float(objective), rules=tuple(evaluations))


def series_burn_ratio(
    samples: Sequence[SloSample],
    *,
    objective: float,
    at: datetime,
    short: timedelta = BURN_RATIO_SHORT,
    long: timedelta = BURN_RATIO_LONG,
) -> float:
    """burn_ratio of the burn rates over the last 5 minutes and the last 24 hours of a series."""
    step = ensure_series_is_valid(samples)
    for label, window in (("short", short), ("long", long)):
        ensure_window_is_valid(window, what=f"{label} window")
        if step is not None and window < step:
            raise SloInputError(f"{label} window {_span(window)} is shorter than the series step {_span(step)}")
    if short >= long:
        raise SloInputError(f"short window {_span(short)} must be shorter than the long window {_span(long)}")
    s = window_burn(samples, objective=objective, at=at, window=short, step=step)
    lg = window_burn(samples, objective=objective, at=at, window=long, step=step)
    return burn_ratio(s.burn_rate, lg.burn_rate)


@dataclass(frozen=True, kw_only=True)
class BudgetPoint:
    """The budget after the samples up to `at` (cumulative from the start of the series)."""

    at: datetime
    good: int
    total: int
    burn_rate: float
    consumed: float  # fraction of the period's budget spent so far
    remaining: float  # 1 - consumed; negative once the budget is overspent


def budget_over_series(
    samples: Sequence[SloSample],
    *,
    objective: float,
    period: timedelta = SLO_PERIOD,
    step: timedelta | None = None,
) -> list[BudgetPoint]:
    """Budget consumed and remaining after each sample, for a series lying within one SLO period.

    consumed = cumulative burn rate x elapsed / period: the budget is a share of
    the period's events, and the events so far stand for their share of the period.
    """
    ensure_objective_is_valid(objective)
    ensure_window_is_valid(period, what="SLO period")
    inferred = ensure_series_is_valid(samples)
    if not samples:
        return []
    if step is None:
        if inferred is None:
            raise SloInputError("cannot infer the step of a one-sample series: pass step=, the interval it covers")
        step = inferred
    ensure_window_is_valid(step, what="step")
    if inferred is not None and step > inferred:
        raise SloInputError(f"step {_span(step)} is longer than the series' smallest gap {_span(inferred)}")
    start = samples[0].at - step
    if samples[-1].at - start > period:
        raise SloInputError(
            f"the series spans {_span(samples[-1].at - start)}, longer than the SLO period {_span(period)}: "
            "pass the samples of one period"
        )
    points = []
    good = total = 0
    for s in samples:
        good += s.good
        total += s.total
        rate = burn_rate(total - good, total, objective)
        consumed = rate * ((s.at - start) / period)
        points.append(
            BudgetPoint(at=s.at, good=good, total=total, burn_rate=rate, consumed=consumed, remaining=1.0 - consumed)
        )
    return points


def _span(window: timedelta) -> str:
    """1h, 30m, 3d, 90s: the shortest exact unit, as alert rules are written."""
    seconds = int(window.total_seconds())
    if seconds != window.total_seconds():
        return f"{window.total_seconds():g}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
