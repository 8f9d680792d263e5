"""`gauntlet load PROFILE --scenario breakpoint`: run the ladder's steps as `rate` runs, then name the knee.

Each step is a whole `rate` run of its own (its own folder under `steps/`, its
own results.json, judged by the run's thresholds on that step's samples only),
so a step is measured exactly as any open-model run is. The climb stops at the
first step that did not hold; the knee maths is the pure `load/breakpoint.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from gauntlet.load.breakpoint import (
    SCENARIO,
    Knee,
    Ladder,
    StepOutcome,
    StepRecord,
    breakpoint_record,
    find_knee,
    generator_figures,
    keep_climbing,
    step_record,
)
from gauntlet.load.results import LoadResult, read_result, write_json

# Runs one `rate` step at this many arrivals per second into this folder; returns the run's exit code.
RunStep = Callable[[float, Path], int]


def outcome_of(result: LoadResult, rate_per_s: float) -> StepOutcome:
    """A step's figures and the thresholds it missed, from its results.json."""
    overall = result["overall"]
    missed = [v["text"] for v in result["thresholds"] if not v["passed"]]
    if result["aborted"] is not None and not missed:
        missed.append(f"run aborted: {result['aborted']['reason']}")
    late, wakeups, lagged = generator_figures(result["arrivals"])
    return StepOutcome(
        rate_per_s=rate_per_s,
        requests=overall["requests"],
        error_rate=overall["error_rate"],
        p95_ms=overall["p95_ms"],
        p99_ms=overall["p99_ms"],
        missed=tuple(missed),
        late_arrival_rate=late,
        wakeups=wakeups,
        lagged_wakeups=lagged,
    )


def step_dir_name(index: int, rate_per_s: float, repeat: int = 1, repeats: int = 1) -> str:
    return f"{index:02d}-{rate_per_s:g}" + (f"-r{repeat}" if repeats > 1 else "")


def climb(ladder: Ladder, run_step: RunStep, out_dir: Path, *, out: Console, err: Console) -> int:
    """Run the steps until one does not hold; write the knee into results.json and print it. Returns the exit code."""
    outcomes: list[StepOutcome] = []
    records: list[StepRecord] = []
    results: list[LoadResult] = []
    rates = ladder.rates()
    stopped_by: int | None = None
    for index, rate in enumerate(rates, start=1):
        runs: list[StepOutcome] = []
        for repeat in range(1, ladder.repeats + 1):
            step_dir = out_dir / "steps" / step_dir_name(index, rate, repeat, ladder.repeats)
            which = f" (repeat {repeat}/{ladder.repeats})" if ladder.repeats > 1 else ""
            err.print(
                f"breakpoint step {index}/{len(rates)}: {rate:g}/s for {ladder.every_s:g} s{which}", highlight=False
            )
            code = run_step(rate, step_dir)
            path = step_dir / "results.json"
            if code not in (EXIT_OK, EXIT_FAILED) or not path.exists():
                stopped_by = code if code != EXIT_OK else EXIT_USAGE
                break
            result = read_result(path)
            outcome = outcome_of(result, rate)
            runs.append(outcome)
            outcomes.append(outcome)
            results.append(result)
            relative = str(path.relative_to(out_dir))
            records.append(step_record(outcome, duration_s=ladder.every_s, results=relative, repeat=repeat))
            err.print(
                f"breakpoint step {index}: {rate:g}/s{which} {outcome.verdict.replace('_', ' ')}", highlight=False
            )
            if outcome.verdict == "generator_saturated":
                break  # the generator's limit: another run at this rate would measure the generator again
        if stopped_by is not None or not keep_climbing(runs):
            break
    if not outcomes:
        err.print("[red]error:[/] the first breakpoint step did not run to the end; nothing to judge")
        return stopped_by if stopped_by is not None else EXIT_USAGE
    knee = find_knee(outcomes, repeats=ladder.repeats)
    top = _published(results, outcomes, knee)
    top["breakpoint"] = breakpoint_record(ladder, knee, records)
    write_json(out_dir / "results.json", top)
    out.print(step_table(records, knee))
    err.print(f"results: {out_dir / 'results.json'}")
    if stopped_by is not None:
        err.print(f"[yellow]stopped[/] before the climb ended (a step exited {stopped_by}): the knee is a lower bound")
        out.print(f"breakpoint {knee.describe()}", highlight=False)
        return EXIT_USAGE
    out.print(f"breakpoint {knee.describe()}", highlight=False)
    return EXIT_OK if knee.knee_per_s is not None else EXIT_FAILED


def _published(results: list[LoadResult], outcomes: list[StepOutcome], knee: Knee) -> LoadResult:
    """The top-level result: the knee step's (every threshold green), or the first step's when none held."""
    rates = [o.rate_per_s for o in outcomes]
    chosen = results[rates.index(knee.knee_per_s)] if knee.knee_per_s is not None else results[0]  # its 1st run
    top = copy.copy(chosen)
    run = copy.copy(chosen["run"])
    run["scenario"] = SCENARIO
    top["run"] = run
    return top


def step_table(records: list[StepRecord], knee: Knee) -> Table:
    table = Table(title="breakpoint: one row per step (that step's samples only)", title_justify="left")
    repeated = knee.repeats > 1
    columns = ("rate/s", *(("run",) if repeated else ()), "requests", "errors", "p95 ms", "p99 ms", "late", "gen. lag")
    for column in (*columns, "verdict"):
        table.add_column(column, justify="left" if column == "verdict" else "right")
    for r in records:
        mark = " <- knee" if r["rate_per_s"] == knee.knee_per_s else ""
        verdict = r["verdict"].replace("_", " ") + (f": {r['missed'][0]}" if r["missed"] else "") + mark
        table.add_row(
            f"{r['rate_per_s']:g}",
            *((f"{r.get('repeat', 1)}/{knee.repeats}",) if repeated else ()),
            f"{r['requests']:,}",
            f"{r['error_rate'] * 100:.2f} %",
            f"{r['p95_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['late_arrival_rate'] * 100:.1f} %",
            f"{r['generator_lagged_share'] * 100:.1f} %",
            verdict,
        )
    return table
