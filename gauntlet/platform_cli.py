"""`gauntlet migrate` and `gauntlet smoke`: the harness's commands that drive the platform.

They find the database and API (the running stack, a target, or flags) and then use the platform
only from outside: `migrate` runs the platform's own program (`python -m gauntlet.platform migrate`,
gauntlet/stack/program.py); `smoke` is the cutover guide's test over HTTP and SQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from gauntlet.base.errors import EXIT_FAILED, GauntletError, StackNotRunning
from gauntlet.settings import harness_settings


def default_primary_dsn(state_dir: Path | None = None) -> str:
    """The primary DSN for commands given no --dsn: GAUNTLET_PRIMARY_DSN, else the running stack's."""
    dsn = harness_settings().primary_dsn
    if dsn:
        return dsn
    from gauntlet.stack.current import running_state

    try:
        return running_state(state_dir).primary_dsn
    except StackNotRunning as exc:
        raise StackNotRunning(
            f"no database to migrate: {exc}; or pass --dsn postgresql://USER@HOST:PORT/rocker"
        ) from None


def migrate(
    dsn: Annotated[
        str | None,
        typer.Option("--dsn", help="Postgres DSN of the primary (default: the running stack's primary)."),
    ] = None,
    create_database: Annotated[
        bool, typer.Option("--create-database", help="Create the DSN's database first when it is missing.")
    ] = False,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="The stack to target")] = None,
) -> None:
    """Apply the platform's SQL migrations and load the seed data (both idempotent).

    Example: gauntlet migrate
    """
    from gauntlet.stack.program import run_migrate

    done = run_migrate(dsn or default_primary_dsn(state_dir), create_database=create_database)
    if done.stdout:
        typer.echo(done.stdout, nl=False)
    if done.returncode != 0:  # the platform's own `error:` line, through the root group like every error
        raise GauntletError(done.stderr.strip().removeprefix("error: ") or f"migrate exited {done.returncode}")


class SmokeFailed(GauntletError):
    """At least one smoke section failed (exit 1; the table printed before says which and why)."""

    exit_code = EXIT_FAILED


def smoke(
    target: Annotated[
        str | None,
        typer.Option("--target", "--api-url", help="Platform URL or target file (default: the running stack's API)"),
    ] = None,
    dsn: Annotated[
        str | None, typer.Option("--dsn", help="Primary Postgres DSN (default: the running stack's)")
    ] = None,
    service_key: Annotated[
        str | None, typer.Option("--service-key", help="service_role JWT (default: the running stack's)")
    ] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="The stack to target")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """The cutover guide's 15-minute smoke test (2A-2H) against a stack. Exit 1 if a section fails.

    Example: gauntlet smoke --json
    """
    import json
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from gauntlet.platform.smoke import run_smoke
    from gauntlet.target import resolve_target

    described = resolve_target(target)
    if described is None:
        from gauntlet.stack.current import running_state

        state = running_state(state_dir)
        api_url, dsn = state.api_url, dsn or state.primary_dsn
        service_key = service_key or state.service_key
    else:  # a target: what the smoke test needs must be given, never taken from a local stack
        api_url = described.api_url
        dsn = dsn or described.dsn
        service_key = service_key or described.service_key
        missing = [flag for flag, value in (("--dsn", dsn), ("--service-key", service_key)) if not value]
        if missing:
            raise GauntletError(
                f"smoke against {described.label} needs {' and '.join(missing)} (the primary's direct DSN and "
                "the service_role key; or dsn/service_key in the target file, GAUNTLET_DSN/GAUNTLET_SERVICE_KEY)"
            )
    assert dsn and service_key
    report = asyncio.run(run_smoke(dsn, api_url, service_key))
    if as_json:
        sections = [asdict(s) for s in report.sections]
        typer.echo(json.dumps({"ok": report.ok, "api_url": report.api_url, "sections": sections}, indent=2))
    else:
        table = Table(title=f"smoke test against {report.api_url}")
        for column in ("section", "check", "result", "seconds", "detail"):
            table.add_column(column)
        for s in report.sections:
            result = "[green]ok[/]" if s.ok else "[red]FAILED[/]"
            table.add_row(s.section, s.title, result, f"{s.seconds:.2f}", s.detail)
        Console().print(table)
    if not report.ok:
        # A GauntletError carries its exit code through gauntlet.cli.main (typer.Exit does not,
        # with standalone_mode=False).
        failed = ", ".join(s.section for s in report.failed())
        raise SmokeFailed(f"smoke test failed in section(s) {failed}; see the details above")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main `gauntlet` app."""
    app.command("migrate")(migrate)
    app.command("smoke")(smoke)
