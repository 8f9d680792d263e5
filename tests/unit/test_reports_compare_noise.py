"""`report compare` says when the plans differ, and counts a change only beyond the two runs' noise."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from gauntlet.reports.compare import OVERALL, compare_runs, comparison_html, comparison_markdown
from gauntlet.reports.example import example_run
from gauntlet.reports.model import Run, SeriesPoint

BASE = example_run(run_id="a")


def with_seconds(run: Run, run_id: str, p95s: list[float], *, overall_p95: float, users: int = 10) -> Run:
    """The run with a per-second series of these p95s and this overall p95 (its histogram kept)."""
    entry = run.load[0]
    series = [
        SeriesPoint(t_s=float(i), requests=25, failures=0, users=users, p50_ms=v / 2, p95_ms=v, p99_ms=v * 1.3)
        for i, v in enumerate(p95s)
    ]
    assert entry.overall is not None
    overall = dataclasses.replace(entry.overall, p95_ms=overall_p95)
    finished = entry.started_at + timedelta(seconds=len(p95s))
    load = dataclasses.replace(entry, series=series, overall=overall, finished_at=finished)
    return dataclasses.replace(run, id=run_id, load=[load], finished_at=finished)


def noisy_seconds(seed: int, n: int = 60, scale: float = 1.0) -> list[float]:
    """A shared machine: most seconds 30-60 ms, a few stalled ones at 300-900 ms."""
    rng = random.Random(seed)
    return [scale * (rng.uniform(300, 900) if rng.random() < 0.08 else rng.uniform(30, 60)) for _ in range(n)]


def overall_delta(a: Run, b: Run, metric: str = "p95_ms") -> tuple[str, bool, bool]:
    (d,) = [d for d in compare_runs(a, b).deltas if d.request == OVERALL and d.metric == metric]
    return d.noise, d.regression, d.improvement


def test_a_p95_change_from_machine_noise_is_not_called_better_or_worse() -> None:
    a = with_seconds(BASE, "a", noisy_seconds(1), overall_p95=100.0)
    b = with_seconds(BASE, "b", noisy_seconds(2), overall_p95=19.0)  # -81 %: a few stalled seconds in A only
    noise, regression, improvement = overall_delta(a, b)
    assert (noise, regression, improvement) == ("within noise", False, False)
    c = compare_runs(a, b)
    assert c.plan_differences == [] and c.regressions == []
    markdown = comparison_markdown(c)
    (line,) = [line for line in markdown.splitlines() if "| overall | p95_ms |" in line]
    assert "within noise" in line and "better" not in line
    # ... and the other way round: not a regression either.
    assert overall_delta(b, a)[:2] == ("within noise", False)


def test_a_real_slowdown_is_beyond_the_noise() -> None:
    a = with_seconds(BASE, "a", noisy_seconds(1), overall_p95=100.0)
    b = with_seconds(BASE, "b", noisy_seconds(2, scale=3.0), overall_p95=300.0)
    assert overall_delta(a, b)[:2] == ("beyond noise", True)
    assert any("overall p95_ms" in r for r in compare_runs(a, b).regressions)


def test_runs_of_different_plans_are_said_to_differ_and_not_called_regressions() -> None:
    a = with_seconds(BASE, "a", noisy_seconds(1, n=30), overall_p95=100.0, users=10)
    b = with_seconds(BASE, "b", noisy_seconds(2, n=60, scale=3.0), overall_p95=300.0, users=20)
    c = compare_runs(a, b)
    (sentence,) = c.plan_differences
    assert "plans differ" in sentence and "peak 10 users, 30 s" in sentence and "peak 20 users, 60 s" in sentence
    assert not any(d.regression or d.improvement for d in c.deltas)
    assert all(d.plans_differ for d in c.deltas)
    assert "The runs' plans differ" in comparison_markdown(c)
    assert 'data-testid="plans-differ"' in comparison_html(c)


def test_the_same_plan_within_a_few_seconds_is_the_same_plan() -> None:
    a = with_seconds(BASE, "a", noisy_seconds(1, n=60), overall_p95=100.0)
    b = with_seconds(BASE, "b", noisy_seconds(2, n=62), overall_p95=100.0)
    assert compare_runs(a, b).plan_differences == []
