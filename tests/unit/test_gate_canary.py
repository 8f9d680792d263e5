"""The seeds' auto-rollback rules, evaluated without a platform."""

from __future__ import annotations

import dataclasses

import pytest

from gauntlet.gate.canary import MIN_IMPRESSIONS, CanaryMetrics, evaluate

HEALTHY = CanaryMetrics(
    requests=1000,
    error_rate=0.001,
    burn_rates={"rpc:feed_fusion_home": 1.1},
    epsilon=0.08,
    exploration_rate=0.08,
    impressions=5000,
    safe_mode=False,
)


def _breached(m: CanaryMetrics) -> list[str]:
    return [r.name for r in evaluate(m) if r.breached]


def test_healthy_platform_breaches_nothing() -> None:
    assert _breached(HEALTHY) == []


@pytest.mark.parametrize(("error_rate", "breached"), [(0.02, False), (0.0201, True), (0.5, True)])
def test_error_rate_above_two_percent_breaches(error_rate: float, breached: bool) -> None:
    assert ("error rate (5 min)" in _breached(dataclasses.replace(HEALTHY, error_rate=error_rate))) is breached


@pytest.mark.parametrize(("burn", "breached"), [(2.0, False), (2.01, True)])
def test_worst_surface_burn_rate_above_two_breaches(burn: float, breached: bool) -> None:
    m = dataclasses.replace(HEALTHY, burn_rates={"a": 0.5, "b": burn})
    assert ("burn rate (5 min vs 24 h p95)" in _breached(m)) is breached


@pytest.mark.parametrize(
    ("rate", "breached"), [(0.04, False), (0.12, False), (0.0399, True), (0.1201, True), (0.0, True)]
)
def test_exploration_drifting_more_than_half_of_epsilon_breaches(rate: float, breached: bool) -> None:
    assert ("exploration drift" in _breached(dataclasses.replace(HEALTHY, exploration_rate=rate))) is breached


def test_too_few_impressions_cannot_breach_exploration_and_says_why() -> None:
    m = dataclasses.replace(HEALTHY, exploration_rate=0.5, impressions=MIN_IMPRESSIONS - 1)
    rule = next(r for r in evaluate(m) if r.name == "exploration drift")
    assert not rule.breached
    assert "impressions" in rule.note


def test_in_safe_mode_exploration_is_expected_to_be_off() -> None:
    m = dataclasses.replace(HEALTHY, exploration_rate=0.0, safe_mode=True)
    assert _breached(m) == []


def test_no_data_breaches_nothing_but_is_noted() -> None:
    m = dataclasses.replace(HEALTHY, requests=0, error_rate=0.0, burn_rates={}, exploration_rate=None, impressions=0)
    rules = evaluate(m)
    assert not any(r.breached for r in rules)
    assert all(r.note for r in rules)
