"""`gauntlet journey run [NAME ...]`: run synthetic journeys in Chromium against the platform.

A journey is a built-in's name or a journey file (a Playwright test, journeys/files.py):
`PATH` runs every test function in it, `PATH::test_name` one.

Exit codes: 0 every journey passed, 1 a journey failed (its screenshot, console
errors and trace are in the artifacts directory), 2 usage or environment error
(an unknown journey, a journey file that cannot run, no running stack, no Chromium).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK
from gauntlet.journeys.framework import JourneyResult

err = Console(stderr=True)
out = Console()

DEFAULT_ARTIFACTS = Path(".gauntlet-journeys")

journey_app = typer.Typer(
    name="journey",
    help="Synthetic journeys in a real Chromium: the built-ins, or your own Playwright test files.\n\n"
    "Example: gauntlet journey run signup_to_notification\n\n"
    "Example: gauntlet journey run examples/journeys/shop_visit.py",
    no_args_is_help=True,
    add_completion=False,
)


def register(app: typer.Typer) -> None:
    """Add the `journey` commands to the main `gauntlet` app."""
    app.add_typer(journey_app, name="journey")


@journey_app.command("list")
def list_journeys(
    specs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Journey files to check and list instead (PATH or PATH::test_name)",
            show_default=False,
            metavar="PATH",
        ),
    ] = None,
) -> None:
    """The built-in journeys (or a journey file's), with their budgets and the file each is; nothing runs.

    A journey file that cannot run exits 2 naming its line and the fix, as `journey run` would.

    Example: gauntlet journey list

    Example: gauntlet journey list examples/journeys/shop_visit.py
    """
    from gauntlet.journeys.catalog import JOURNEYS, select

    for journey in select(specs) if specs else JOURNEYS.values():
        out.print(
            f"[bold]{journey.name}[/] (total budget {journey.total_budget_ms / 1000:.0f} s): {journey.description}",
            highlight=False,
        )
        out.print(f"  {journey.source}", soft_wrap=True, highlight=False)


@journey_app.command("run")
def run(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Built-in journeys by name, or journey files: PATH (every test_* in it) or PATH::test_name "
            "(default: every built-in)",
            show_default=False,
            metavar="NAME|PATH",
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Platform URL or target file (default: the running stack's API)")
    ] = None,
    headed: Annotated[bool, typer.Option("--headed", help="Show the browser (local debugging)")] = False,
    artifacts: Annotated[
        Path, typer.Option("--artifacts", help="Where runs write results, screenshots and traces")
    ] = DEFAULT_ARTIFACTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON")] = False,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="The stack to target")] = None,
) -> None:
    """Run journeys (every built-in by default); exit 1 if any failed, 2 if a file cannot run.

    A journey file is a plain Playwright test (pytest-playwright style, sync or async).

    Each `def test_NAME(page, journey)` in it is a journey; `BUDGET_MS = 30000` is its total budget.

    Its steps are `with journey.step("name", budget_ms=5000):` blocks.

    Fixtures: page, context, browser, base_url, journey (see journeys/README.md).

    Example: gauntlet journey run signup_to_notification

    Example: gauntlet journey run examples/journeys/shop_visit.py --artifacts /tmp/journeys
    """
    raise typer.Exit(_run(names or [], target, headed, artifacts, as_json, state_dir))


def _run(
    names: list[str], target: str | None, headed: bool, artifacts: Path, as_json: bool, state_dir: Path | None
) -> int:
    from playwright.sync_api import sync_playwright

    from gauntlet.journeys.browser import launch
    from gauntlet.journeys.catalog import JOURNEYS, select
    from gauntlet.journeys.runner import run_journey
    from gauntlet.progress import step_reporter

    chosen = select(names or list(JOURNEYS))  # a bad name or file: exit 2 before anything starts
    import os

    from gauntlet.journeys.accounts import ACCOUNTS_ENV
    from gauntlet.target import resolve_target

    service_key: str | None = None
    described = resolve_target(target)
    if described is None:
        from gauntlet.stack.current import running_state

        state = running_state(state_dir)
        target, service_key = state.api_url, state.service_key or None
    else:
        # The reference serves pages and API on one origin; journeys open pages at web_url.
        target, service_key = described.pages_url, described.service_key
        if described.accounts_file is not None:
            os.environ[ACCOUNTS_ENV] = str(described.accounts_file)
    results: list[JourneyResult] = []
    report = step_reporter()  # each step to $GAUNTLET_PROGRESS_FILE (the gate's live table), if set
    with sync_playwright() as playwright:
        browser = launch(playwright, headed=headed)
        try:
            for index, journey in enumerate(chosen, start=1):
                result = run_journey(
                    journey,
                    target=target,
                    artifacts_dir=artifacts,
                    browser=browser,
                    service_key=service_key,
                    on_step=functools.partial(report, f"{journey.name} ({index}/{len(chosen)})"),
                )
                results.append(result)
                if not as_json:
                    _print_result(result)
        finally:
            browser.close()
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], indent=2) + "\n")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _print_result(result: JourneyResult) -> None:
    table = Table(title=f"{result.name}: {'passed' if result.ok else 'FAILED'} in {result.duration_ms / 1000:.2f} s")
    for column in ("step", "status", "ms", "budget ms", "detail"):
        table.add_column(column)
    for step in result.steps:
        colour = {"passed": "green", "failed": "red", "skipped": "yellow"}[step.status]
        table.add_row(
            step.name, f"[{colour}]{step.status}[/]", f"{step.duration_ms:.0f}", str(step.budget_ms), step.error or ""
        )
    out.print(table)
    if not result.ok:
        failed = result.failed_step
        err.print(f"[red]{result.error}[/]", soft_wrap=True, highlight=False)
        if failed is not None and failed.screenshot:
            err.print(f"  screenshot: {failed.screenshot}")
        if failed is not None and failed.trace:
            err.print(f"  trace: {failed.trace} (playwright show-trace {failed.trace})")
        if result.console_errors:
            err.print(f"  console errors: {len(result.console_errors)} (in {result.artifacts_dir}/console-errors.txt)")
