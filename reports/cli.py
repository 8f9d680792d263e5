"""`gauntlet report OUT_DIR` renders a run's reports; `gauntlet report compare A B` diffs two runs.

    gauntlet report reports-out                          # reads reports-out/result.json
    gauntlet report reports-out --from a.json --from b.json
    gauntlet report compare baseline/ candidate/result.json --out compare-out

Exit codes: `report`: 0 the run passed, 1 it failed (the culprits are printed),
2 bad input (one line naming the file and the problem). `compare`: 0 no
regression, 1 a regression, 2 bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK
from gauntlet.base.files import write_atomically
from gauntlet.cliutil import DefaultSubcommandGroup
from gauntlet.reports.errors import ReportError
from gauntlet.reports.resultfile import read_result, read_results

T = TypeVar("T")
RESULT_FILE = "result.json"


class _RenderByDefault(DefaultSubcommandGroup):
    """`gauntlet report OUT_DIR ...` means `gauntlet report render OUT_DIR ...`; only compare needs its name.

    Usage errors are shown (one `error:` line) and turned into exit code 2 here rather than left to
    the caller: under `standalone_mode=False` they would otherwise escape as tracebacks.
    """

    default_command = "render"


report_app = typer.Typer(
    cls=_RenderByDefault,
    name="report",
    help="Render a run's reports: `gauntlet report OUT_DIR [--from FILE...]` (the long form is "
    "`gauntlet report render OUT_DIR`); compare two runs: `gauntlet report compare A B`.\n\n"
    "Exit codes: 0 passed (no regression), 1 the run failed (a regression), 2 bad input.\n\n"
    "Example: gauntlet report reports-out && gauntlet report compare baseline/ reports-out/",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(app: typer.Typer) -> None:
    """Add `gauntlet report` (render, compare) to the main `gauntlet` app."""
    app.add_typer(report_app, name="report")


def _run_command(body: Callable[[], int]) -> None:
    raise typer.Exit(body())  # a GauntletError is shown by the root group (gauntlet.cliutil)


def _write(out_dir: Path, files: dict[str, str]) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            write_atomically(out_dir / name, text)
    except OSError as exc:
        raise ReportError(f"cannot write reports into {out_dir}: {exc.strerror or exc}") from None


@report_app.command("render")
def render(
    out_dir: Annotated[Path, typer.Argument(help="Folder for junit.xml, report.html and summary.md")],
    inputs: Annotated[
        list[Path] | None,
        typer.Option(
            "--from",
            help="Result JSON: gauntlet.result/1, a `gauntlet load` results.json, a drill journal or journey "
            "results; repeat to merge runs [default: OUT_DIR/result.json]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write junit.xml, report.html and summary.md for a run. Exit 1 when the run failed.

    Example: gauntlet report reports-out --from load/results.json
    """
    _run_command(lambda: _render(out_dir, list(inputs or [])))


def _render(out_dir: Path, inputs: list[Path]) -> int:
    # Imported here: matplotlib is heavy, and `gauntlet --help` should not pay for it.
    from gauntlet.reports.html import report_html
    from gauntlet.reports.junit import junit_xml
    from gauntlet.reports.markdown import summary_markdown

    result_path = out_dir / RESULT_FILE
    run = read_results(inputs or [result_path])
    # Render everything before writing anything: a failure halfway leaves the folder as it was.
    files = {"junit.xml": junit_xml(run), "report.html": report_html(run), "summary.md": summary_markdown(run)}
    if inputs and all(p.resolve() != result_path.resolve() for p in inputs):
        files[RESULT_FILE] = json.dumps(run.to_json(), indent=2) + "\n"  # the merged run, for a later compare
    _write(out_dir, files)
    culprits = run.culprits()
    typer.echo(f"run {run.id}: {run.verdict}; wrote {', '.join(str(out_dir / n) for n in files)}")
    for culprit in culprits:
        typer.echo(f"  FAILED {culprit.sentence()}")
    return EXIT_FAILED if culprits else EXIT_OK


def _result_of(path: Path) -> Path:
    """A report folder stands for the result.json inside it."""
    return path / RESULT_FILE if path.is_dir() else path


@report_app.command("compare")
def compare(
    baseline: Annotated[Path, typer.Argument(help="Run A, the baseline: a result JSON or a report folder")],
    candidate: Annotated[Path, typer.Argument(help="Run B, compared against A: a result JSON or a report folder")],
    out: Annotated[Path | None, typer.Option(help="Also write compare.md and compare.html into this folder")] = None,
    latency_tolerance: Annotated[
        float, typer.Option(help="Latency regression: worse by more than this fraction (and 1 ms)")
    ] = 0.10,
    error_rate_tolerance: Annotated[
        float, typer.Option(help="Error-rate regression: higher by more than this (0.001 = 0.1 points)")
    ] = 0.001,
    throughput_tolerance: Annotated[
        float, typer.Option(help="Throughput regression: lower by more than this fraction")
    ] = 0.10,
) -> None:
    """Side-by-side diff of two runs (Markdown on stdout). Exit 1 when B regressed from A.

    A change counts only beyond the tolerance and the two runs' noise; runs of different plans are said to differ.

    Example: gauntlet report compare baseline/ reports-out/ --out compare-out
    """

    def body() -> int:
        from gauntlet.reports.compare import Tolerance, compare_runs, comparison_html, comparison_markdown

        tolerance = Tolerance(
            latency_relative=latency_tolerance,
            error_rate_points=error_rate_tolerance,
            throughput_relative=throughput_tolerance,
        )
        comparison = compare_runs(read_result(_result_of(baseline)), read_result(_result_of(candidate)), tolerance)
        markdown = comparison_markdown(comparison)
        if out is not None:
            _write(out, {"compare.md": markdown, "compare.html": comparison_html(comparison)})
        typer.echo(markdown, nl=False)
        return EXIT_FAILED if comparison.regressions else EXIT_OK

    _run_command(body)
