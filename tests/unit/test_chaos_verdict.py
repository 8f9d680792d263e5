"""Window bounds and error-budget checks: the verdict maths, apart from the runner."""

from __future__ import annotations

from gauntlet.chaos.experiment import ErrorBudget
from gauntlet.chaos.verdict import Moments, budget_checks, budget_reason, window_bounds, windows
from gauntlet.chaos.windows import Sample


def _sample(at: float, status: int, group: str) -> Sample:
    return Sample(at, 100.0, status, "kind", group)  # type: ignore[arg-type]


def test_a_removed_fault_bounds_during_by_injection_and_removal() -> None:
    bounds = window_bounds(Moments(0.0, 20.0, fault_start=5.0, fault_end=9.0, recovered=12.0))
    assert bounds == {"before": (0.0, 5.0), "during": (5.0, 9.0), "after": (9.0, 20.0)}


def test_an_instant_fault_lasts_until_recovery_or_the_end_of_the_load() -> None:
    assert window_bounds(Moments(0.0, 20.0, 5.0, None, 8.0))["during"] == (5.0, 8.0)
    assert window_bounds(Moments(0.0, 20.0, 5.0, None, None))["during"] == (5.0, 20.0)


def test_no_load_or_no_fault() -> None:
    assert window_bounds(Moments(None, 20.0, 5.0, 9.0, 10.0)) == {"before": None, "during": None, "after": None}
    assert window_bounds(Moments(0.0, 20.0, None, None, None)) == {"before": (0.0, 20.0), "during": None, "after": None}


def test_budget_windows_count_their_own_groups() -> None:
    samples = [
        _sample(6.0, 503, "write"),
        _sample(6.5, 200, "replica_read"),
        _sample(10.0, 503, "write"),
        _sample(11.0, 200, "write"),
    ]
    bounds = window_bounds(Moments(0.0, 20.0, 5.0, 9.0, 10.0))
    budget = ErrorBudget(during_error_rate=0.0, after_error_rate=0.4, groups=frozenset({"replica_read"}))
    checks = budget_checks(samples, bounds, budget)
    during, after = checks[0][0], checks[1][0]
    assert during["passed"] and during["observed"] == 0.0 and checks[0][1] == 1  # the write error is not counted
    assert not after["passed"] and after["observed"] == 0.5 and checks[1][1] == 2
    assert budget_reason(after, 2) == (
        "error budget exceeded after the fault: error_rate 0.5 > 0.4 over 2 requests "
        "(primary_read, replica_read, write)"
    )
    assert windows(samples, bounds)["during"]["requests"] == 2


def test_a_latency_limit_on_an_empty_window_passes() -> None:
    bounds = window_bounds(Moments(0.0, 20.0, 5.0, 9.0, 10.0))
    checks = budget_checks([], bounds, ErrorBudget(during_p99_ms=100.0))
    assert [c["metric"] for c, _ in checks] == ["error_rate", "error_rate", "p99_ms"]
    assert all(c["passed"] for c, _ in checks) and checks[2][0]["observed"] is None
