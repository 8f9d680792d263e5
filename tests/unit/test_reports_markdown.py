"""The Markdown summary: the verdict, every culprit by name, and tables that survive odd names."""

from __future__ import annotations

import dataclasses

from gauntlet.reports.checks import Check
from gauntlet.reports.example import example_run
from gauntlet.reports.markdown import MAX_CULPRITS, cell, summary_markdown


def test_a_passing_summary_says_so() -> None:
    text = summary_markdown(example_run())
    assert text.startswith("## ✅ Gauntlet passed: run `run-passing`")
    assert "failure" not in text.split("### SLOs")[0]
    for heading in ("### SLOs", "### Load", "### Drills", "### Journeys"):
        assert heading in text
    assert "Smoke test: 2/2 checks passed." in text


def test_a_failing_summary_names_each_culprit() -> None:
    text = summary_markdown(example_run(failing=True))
    assert text.startswith("## ❌ Gauntlet failed: run `run-failing`")
    assert "**4 failures:**" in text
    assert (
        "- load home_for_you/ramp: threshold `rpc:feed_fusion_home p95_ms < 800 ms` missed: observed 953.9 ms, "
        "expected < 800 ms"
    ) in text
    assert "- drill worker_crash: invariant `jobs enqueued = done + dead-lettered` broken: observed 997 of 1000" in text
    assert "- journey signup_onboarding: step `submit onboarding` failed: TimeoutError" in text
    assert "| worker_crash | completed | 2.5 s | 14.0 s | 1/2 | FAILED |" in text
    assert "| signup_onboarding | 3/4 | 31.9 s | FAILED |" in text


def test_the_slo_table_shows_budgets_burned() -> None:
    text = summary_markdown(example_run(failing=True))
    row = next(line for line in text.splitlines() if line.startswith("| rpc:feed_fusion_home p95_ms < 800 ms"))
    assert "| 95 % |" in row and "| 2.59x |" in row and "ticket 1x over 3d/6h" in row and row.endswith("| FAILED |")


def test_long_lists_of_culprits_are_cut_short() -> None:
    run = example_run()
    many = [Check(name=f"check {i}", passed=False, observed=i, expected=0) for i in range(MAX_CULPRITS + 5)]
    text = summary_markdown(dataclasses.replace(run, checks=many))
    assert f"**{MAX_CULPRITS + 5} failures:**" in text
    assert "- ... and 5 more (see report.html or junit.xml)" in text
    assert "check 19" in text and "check 20`" not in text


def test_table_cells_cannot_break_the_table() -> None:
    assert cell("a|b\nc\\d") == "a\\|b c\\\\d"
