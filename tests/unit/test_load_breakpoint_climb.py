"""The breakpoint climb over real step results: where it stops, what results.json says, and the report's chart."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from gauntlet.load import results as r
from gauntlet.load.breakpoint import Ladder
from gauntlet.load.breakpoint_run import RunStep, climb
from gauntlet.reports.charts import load_breakpoint_chart
from gauntlet.reports.html import report_html
from gauntlet.reports.load_adapter import run_from_load_result
from tests.unit.test_reports_load_adapter import load_result

LADDER = Ladder(start_per_s=5, step_per_s=5, every_s=3, max_per_s=20)


def steps_that_break_above(limit_per_s: float, ran: list[float]) -> RunStep:
    """Steps writing a real results.json (overall p95 about 190 ms): ceiling 1 s up to `limit_per_s`, then 50 ms."""

    def run_step(rate: float, step_dir: Path) -> int:
        ran.append(rate)
        ceiling = 1000.0 if rate <= limit_per_s else 50.0
        result = load_result(("overall", "p95_ms", "<", ceiling), ("overall", "error_rate", "<", 0.5))
        step_dir.mkdir(parents=True)
        r.write_json(step_dir / "results.json", result)
        return EXIT_OK if result["passed"] else EXIT_FAILED

    return run_step


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def test_the_climb_stops_at_the_first_broken_step_and_publishes_the_knee(tmp_path: Path) -> None:
    ran: list[float] = []
    code = climb(LADDER, steps_that_break_above(10, ran), tmp_path, out=quiet(), err=quiet())
    assert code == EXIT_OK
    assert ran == [5, 10, 15]  # 20 is never run: the climb stopped at the first break
    result = json.loads((tmp_path / "results.json").read_text())
    climbed = result["breakpoint"]
    assert (climbed["knee_per_s"], climbed["broke_at_per_s"], climbed["limited_by"]) == (10, 15, "slo")
    assert climbed["first_broken"].startswith("overall p95_ms < 50 ms")
    assert climbed["band_per_s"] == [10, 15] and "steps not repeated" in climbed["band_basis"]
    assert [s["verdict"] for s in climbed["steps"]] == ["held", "held", "broke"]
    assert climbed["steps"][2]["results"] == "steps/03-15/results.json"
    # The published result is the knee step's: every threshold green, and named as the breakpoint run.
    assert result["passed"] and result["run"]["scenario"] == "breakpoint"

    entry = run_from_load_result(result, source="results.json").load[0]
    assert entry.breakpoint is not None and entry.breakpoint.knee_per_s == 10
    html = report_html(run_from_load_result(result, source="results.json"))
    assert 'data-testid="chart-load-breakpoint-0"' in html and 'data-testid="breakpoint-steps-0"' in html
    assert "knee: 10/s held" in html and "10/s (knee)" in html
    chart = load_breakpoint_chart(entry)
    assert 'id="breakpoint-knee"' in chart and 'id="breakpoint-broke"' in chart and 'id="threshold-p95_ms"' in chart


def test_the_chart_has_no_knee_mark_without_a_knee(tmp_path: Path) -> None:
    climb(LADDER, steps_that_break_above(1, []), tmp_path, out=quiet(), err=quiet())
    result = json.loads((tmp_path / "results.json").read_text())
    chart = load_breakpoint_chart(run_from_load_result(result, source="results.json").load[0])
    assert 'id="breakpoint-knee"' not in chart and 'id="breakpoint-broke"' in chart


def test_no_knee_when_the_first_step_breaks_fails_the_run(tmp_path: Path) -> None:
    ran: list[float] = []
    code = climb(LADDER, steps_that_break_above(1, ran), tmp_path, out=quiet(), err=quiet())
    assert code == EXIT_FAILED and ran == [5]
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["breakpoint"]["knee_per_s"] is None and not result["passed"]


def test_a_climb_that_never_breaks_reports_a_lower_bound(tmp_path: Path) -> None:
    ran: list[float] = []
    code = climb(LADDER, steps_that_break_above(100, ran), tmp_path, out=quiet(), err=quiet())
    assert code == EXIT_OK and ran == [5, 10, 15, 20]
    climbed = json.loads((tmp_path / "results.json").read_text())["breakpoint"]
    assert (climbed["knee_per_s"], climbed["limited_by"], climbed["band_per_s"]) == (20, "max", [20, None])


def test_a_step_that_could_not_run_ends_the_climb_with_exit_2(tmp_path: Path) -> None:
    def broken_step(rate: float, step_dir: Path) -> int:
        return EXIT_USAGE

    assert climb(LADDER, broken_step, tmp_path, out=quiet(), err=quiet()) == EXIT_USAGE
    assert not (tmp_path / "results.json").exists()


def test_repeated_steps_run_each_rate_n_times_and_publish_the_band(tmp_path: Path) -> None:
    ran: list[float] = []

    def run_step(rate: float, step_dir: Path) -> int:
        ran.append(rate)
        # 10/s breaks in its second run only (the band's high end is above the knee); above 15/s every run breaks.
        breaks = rate > 15 or (rate == 10 and ran.count(10) == 2)
        result = load_result(("overall", "p95_ms", "<", 50.0 if breaks else 1000.0))
        step_dir.mkdir(parents=True)
        r.write_json(step_dir / "results.json", result)
        return EXIT_OK if result["passed"] else EXIT_FAILED

    ladder = Ladder(start_per_s=5, step_per_s=5, every_s=3, max_per_s=30, repeats=2)
    out = io.StringIO()
    code = climb(ladder, run_step, tmp_path, out=Console(file=out, width=300), err=quiet())
    assert code == EXIT_OK
    assert ran == [5, 5, 10, 10, 15, 15, 20, 20]  # 20/s held in no repeat: the climb stops there
    climbed = json.loads((tmp_path / "results.json").read_text())["breakpoint"]
    assert (climbed["knee_per_s"], climbed["band_per_s"], climbed["broke_at_per_s"]) == (5, [5, 15], 10)
    assert climbed["repeats"] == 2 and "across 2 repeats" in climbed["band_basis"]
    assert [s["repeat"] for s in climbed["steps"]] == [1, 2] * 4
    assert climbed["steps"][3]["results"] == "steps/02-10-r2/results.json"
    printed = out.getvalue()
    assert "band 5-15/s across 2 repeats" in printed and "in 1 of 2 repeats" in printed and "2/2" in printed
