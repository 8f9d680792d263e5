"""`gauntlet gate`: the one command a CI pipeline runs before a release."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from gauntlet.errors import GauntletError
from gauntlet.gate.config import DEFAULT_CONFIG, load_profile
from gauntlet.gate.runner import EXIT_INTERRUPTED, GateOptions, run_gate
from gauntlet.stack.current import resolve_state_dir

console = Console(stderr=True)


gate_app = typer.Typer(
    invoke_without_command=True,
    help="Smoke, load with SLO thresholds, drills under load and journeys; then reports. "
    "`gauntlet gate canary` is the seeds' auto-rollback gate.\n\n"
    "Exit codes: 0 passed, 1 something failed, 2 could not run, 130 interrupted.\n\n"
    "Example: gauntlet gate --profile ci --out reports-out",
)


def register(app: typer.Typer) -> None:
    app.add_typer(gate_app, name="gate")


@gate_app.callback()
def gate(
    ctx: typer.Context,
    profile: Annotated[str, typer.Option(help="ci, nightly, full, or one of your config file's")] = "ci",
    target: Annotated[
        str | None,
        typer.Option(
            help="Platform URL or target file (gauntlet-target.toml); default: the embedded stack (started if not "
            "running)"
        ),
    ] = None,
    target_file: Annotated[
        Path | None, typer.Option("--target-file", help="The target file [env GAUNTLET_TARGET_FILE]")
    ] = None,
    config: Annotated[Path | None, typer.Option(help=f"Gate profiles file [default {DEFAULT_CONFIG.name}]")] = None,
    out: Annotated[Path, typer.Option(help="Where the reports go")] = Path("reports-out"),
    keep_stack: Annotated[bool, typer.Option(help="Leave a stack the gate started running")] = False,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip",
            help="A phase to leave out (smoke, acceptance, load, drills, journeys); repeatable. "
            "Without it, a phase that cannot run fails the gate.",
        ),
    ] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="The embedded stack's state dir")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="Load p95 baseline: a results.json (or a gate's reports folder), `last` (the last passing run of "
            "this profile here) or `none`; default: the profile's `baseline`"
        ),
    ] = None,
) -> None:
    """Smoke test, load with SLO thresholds, drills under load and journeys; then reports.

    Exit 0 all passed, 1 any SLO, drill or journey failed, 2 something could not run.

    Example: gauntlet gate --profile ci --out reports-out
    """
    if ctx.invoked_subcommand is not None:
        return
    chosen = load_profile(profile, config)
    if baseline not in (None, "last", "none"):
        from gauntlet.load.baseline import read_baseline

        read_baseline(Path(baseline))  # a missing or wrong file: exit 2 now, before any stack or load
    from gauntlet.target import resolve_target

    described = resolve_target(target, target_file)  # a bad target file: exit 2 now, naming the key
    options = GateOptions(
        profile=chosen,
        out_dir=out.resolve(),
        state_dir=resolve_state_dir(state_dir),
        target=described.api_url if described else None,
        target_spec=described,
        keep_stack=keep_stack,
        skip=frozenset(_phases(skip or [])),
        baseline=baseline,
    )
    rows: dict[str, tuple[str, str, float]] = {}
    started = time.monotonic()

    def table() -> Table:
        view = Table(title=f"gauntlet gate --profile {chosen.name}  ({time.monotonic() - started:.0f}s)")
        for column in ("phase", "status", "seconds", "figures"):
            view.add_column(column)
        colours = {"passed": "green", "failed": "red", "error": "red", "running": "yellow", "skipped": "yellow"}
        for name, (status, figure, since) in rows.items():
            seconds = f"{time.monotonic() - since:.0f}" if status == "running" else ""
            view.add_row(name, f"[{colours.get(status, 'white')}]{status}[/]", seconds, figure)
        return view

    with Live(table(), console=console, refresh_per_second=2, transient=False) as live:

        def progress(phase: str, status: str, figure: str) -> None:
            since = rows.get(phase, ("", "", time.monotonic()))[2] if status != "running" else time.monotonic()
            rows[phase] = (status, figure, since)
            live.update(table())

        outcome = run_gate(options, progress)
        live.update(table())
    for culprit in outcome.run.culprits():
        console.print(f"[red]FAILED[/] {culprit.sentence()}", soft_wrap=True)
    if outcome.exit_code == EXIT_INTERRUPTED:
        console.print(f"[yellow]gate interrupted[/]: a partial report of what finished is in {options.out_dir}")
        raise typer.Exit(outcome.exit_code)
    console.print(f"gate {outcome.run.verdict}: reports in {options.out_dir} (report.html, junit.xml, summary.md)")
    raise typer.Exit(outcome.exit_code)


def _phases(names: list[str]) -> list[str]:
    known = ("smoke", "acceptance", "load", "drills", "journeys")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise GauntletError(f"--skip {unknown[0]}: not a gate phase; phases are {', '.join(known)}")
    return names


@gate_app.command("canary")
def canary(
    target: Annotated[
        str | None, typer.Option(help="Platform URL or target file (default: the running stack's API)")
    ] = None,
    service_key: Annotated[
        str | None, typer.Option(help="service_role key (default: the running stack's)", envvar="GAUNTLET_SERVICE_KEY")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Evaluate only; never flip safe mode")] = False,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="The stack to target")] = None,
) -> None:
    """Error rate > 2 %, burn rate > 2.0 or exploration drift > 50 % of epsilon => turn global.safe_mode on.

    Exit 0 healthy, 1 breached (safe mode turned on, unless --dry-run), 2 usage/environment.

    Example: gauntlet gate canary --dry-run
    """
    from gauntlet.gate.canary import PlatformClient, evaluate, read_metrics, roll_back
    from gauntlet.stack.current import running_state
    from gauntlet.target import resolve_target

    described = resolve_target(target)
    if described is None:
        state = running_state(state_dir)
        target, service_key = state.api_url, service_key or state.service_key
    else:
        target = described.api_url
        service_key = service_key or described.require("service_key", "gate canary")
    with PlatformClient(target, service_key) as client:
        metrics = read_metrics(client)
        rules = evaluate(metrics)
        view = Table(title=f"canary gate against {target}")
        for column in ("rule", "verdict", "observed", "limit", "note"):
            view.add_column(column)
        for rule in rules:
            verdict = "[red]BREACHED[/]" if rule.breached else "[green]ok[/]"
            view.add_row(rule.name, verdict, rule.observed, rule.limit, rule.note)
        Console().print(view)
        if not any(r.breached for r in rules):
            console.print("canary healthy: no rollback")
            raise typer.Exit(0)
        if metrics.safe_mode:
            console.print("[red]canary breached[/]; global.safe_mode is already on")
        elif dry_run:
            console.print("[red]canary breached[/]; --dry-run: global.safe_mode left off")
        else:
            roll_back(client, rules)
            console.print("[red]canary breached[/]: global.safe_mode turned ON (recorded in ai_action_ledger)")
    raise typer.Exit(1)
