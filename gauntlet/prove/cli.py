"""`gauntlet prove`: the gate against every seeded fault of the catalogue, each on a scratch copy and its own stack.

Exit codes: 0 the detection score reached --min-score and no clean run failed;
1 it did not, or a clean run failed (a false alarm); 2 usage or environment (a
fault that no longer applies to the code is named, with what to fix).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, GauntletError
from gauntlet.gate.config import DEFAULT_CONFIG, load_profile
from gauntlet.prove.catalogue import FAULTS_DIR, Fault, load_catalogue
from gauntlet.prove.runner import ProveOptions, ensure_fault_is_on_platform, project_root, prove
from gauntlet.reports.entries import ProveEntry
from gauntlet.reports.model import Run

err = Console(stderr=True)
out = Console() if sys.stdout.isatty() else Console(width=200)  # a CI log: no columns squeezed to 80


def register(app: typer.Typer) -> None:
    app.command("prove")(prove_command)


def prove_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Fault names (the same as --faults)", show_default=False)
    ] = None,
    profile: Annotated[str, typer.Option(help="Gate profile to prove: ci, nightly, full or yours")] = "ci",
    config: Annotated[Path | None, typer.Option(help=f"Gate profiles file [default {DEFAULT_CONFIG.name}]")] = None,
    faults: Annotated[
        list[str] | None,
        typer.Option("--faults", help="Only these faults: --faults A B, --faults A --faults B or A,B [default all]"),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Run only the phases, checks, drills and journeys each fault names")
    ] = False,
    clean_runs: Annotated[
        int, typer.Option(help="Gate runs of the unmutated platform; any failure is a false alarm")
    ] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the reports go")] = Path("prove-out"),
    min_score: Annotated[float, typer.Option(help="Detection score needed to pass (0-1)")] = 0.95,
    jobs: Annotated[int, typer.Option(help="Mutants run at once, each on its own stack")] = 1,
    list_only: Annotated[bool, typer.Option("--list", help="List the catalogue and exit")] = False,
) -> None:
    """Break the reference platform one protection at a time (scratch copies only) and see whether the gate notices.

    Prints, per fault, caught/missed and by which check; then the detection score and the false
    alarms of the clean runs. Writes result.json, report.html, junit.xml and summary.md to --out.

    Example: gauntlet prove --quick --faults onboarding-accepts-two-interests --clean-runs 1
    """
    if not 0.0 <= min_score <= 1.0:
        raise GauntletError(f"--min-score {min_score:g}: give a fraction between 0 and 1, e.g. 0.95")
    if jobs < 1:
        raise GauntletError(f"--jobs {jobs}: give a whole number >= 1")
    if clean_runs < 0:
        raise GauntletError(f"--clean-runs {clean_runs}: give a whole number >= 0")
    catalogue = load_catalogue()
    if not catalogue:
        raise GauntletError(f"no faults in {FAULTS_DIR}: add [[fault]] tables to a *.toml there")
    for fault in catalogue.values():
        ensure_fault_is_on_platform(fault)
    if list_only:
        _list(catalogue)
        raise typer.Exit(EXIT_OK)
    chosen = _choose(catalogue, [*(faults or []), *(names or [])])
    gate_profile = load_profile(profile, config)
    options = ProveOptions(
        profile=gate_profile,
        config=config or DEFAULT_CONFIG,
        faults=chosen,
        quick=quick,
        clean_runs=clean_runs,
        out_dir=out_dir.resolve(),
        min_score=min_score,
        jobs=jobs,
        source=project_root(),
    )
    started_at, started = datetime.now(UTC), time.monotonic()
    entry = prove(options, progress=lambda line: err.print(line, soft_wrap=True, highlight=False))
    run = Run(
        id=f"prove-{gate_profile.name}-{started_at:%Y%m%dT%H%M%SZ}",
        started_at=started_at,
        finished_at=datetime.now(UTC),
        target="mutants of the embedded reference platform",
        profile=gate_profile.name,
        prove=entry,
    )
    _render(run, options.out_dir)
    _print(entry, time.monotonic() - started)
    err.print(f"reports in {options.out_dir} (report.html, junit.xml, summary.md, result.json)")
    raise typer.Exit(EXIT_OK if not entry.culprits() else EXIT_FAILED)


def _choose(catalogue: dict[str, Fault], wanted: list[str]) -> list[Fault]:
    names = [n.strip() for item in wanted for n in item.split(",") if n.strip()]
    if not names:
        return list(catalogue.values())
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise GauntletError(
            f"no fault named {', '.join(unknown)} in the catalogue; `gauntlet prove --list` shows the "
            f"{len(catalogue)} there are"
        )
    return [catalogue[n] for n in dict.fromkeys(names)]


def _list(catalogue: dict[str, Fault]) -> None:
    for f in catalogue.values():
        catchers = ", ".join([*f.checks, *f.drills, *f.journeys]) or "any check of its phases"
        out.print(
            f"[bold]{f.name}[/] [dim]({f.source}; {f.file} {f.scope}; phases {', '.join(f.phases)})[/]\n"
            f"    {f.protects} [dim]-> {catchers}[/]",
            soft_wrap=True,
            highlight=False,
        )
    out.print(f"{len(catalogue)} seeded faults in {FAULTS_DIR}", highlight=False)


def _print(entry: ProveEntry, seconds: float) -> None:
    table = Table(title=f"gauntlet prove --profile {entry.name} ({seconds:.0f}s)")
    for column in ("fault", "protects", "verdict", "caught by", "expected?", "seconds"):
        table.add_column(column)
    colours = {"caught": "green", "missed": "red", "error": "red"}
    for f in entry.faults:
        caught_by = ", ".join(f.caught_by) if f.verdict == "caught" else (f.detail or "-")
        expected = {True: "yes", False: "no", None: "-"}[f.expected_caught]
        table.add_row(
            f.name, f.protects, f"[{colours[f.verdict]}]{f.verdict}[/]", caught_by, expected, f"{f.seconds:.0f}"
        )
    out.print(table)
    errors = sum(1 for f in entry.faults if f.verdict == "error")
    note = f"; {errors} could not run (counted as not caught)" if errors else ""
    out.print(f"detection score {entry.caught}/{len(entry.faults)} ({entry.score:.0%}){note}", highlight=False)
    out.print(f"false alarms: {len(entry.false_alarms)} of {len(entry.clean_runs)} clean runs", highlight=False)
    for run in entry.false_alarms:
        out.print(f"  clean run {run.index}: {', '.join(run.culprits) or run.detail}", highlight=False)


def _render(run: Run, out_dir: Path) -> None:
    from gauntlet.base.files import write_atomically
    from gauntlet.reports.html import report_html
    from gauntlet.reports.junit import junit_xml
    from gauntlet.reports.markdown import summary_markdown
    from gauntlet.reports.resultfile import write_result

    write_result(out_dir / "result.json", run)
    write_atomically(out_dir / "junit.xml", junit_xml(run))
    write_atomically(out_dir / "summary.md", summary_markdown(run))
    write_atomically(out_dir / "report.html", report_html(run))
