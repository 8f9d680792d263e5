"""`gauntlet chaos list` and `gauntlet chaos run`: failure drills from the command line.

Exit codes: 0 every run passed; 1 a run failed, deviated or aborted; 2 usage
or environment (unknown drill, no running stack, a target that cannot run the
drill); 130 interrupted (Ctrl-C: the drill rolled back and wrote its journal). Journals go to `--journal-dir` (default
`<state dir>/chaos/journals`), one JSON file per run.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gauntlet.base.errors import EXIT_FAILED
from gauntlet.chaos.drills import drill_specs, get_drill
from gauntlet.chaos.experiment import DrillError, UnknownDrill, ensure_target_supports
from gauntlet.chaos.journal import Journal, journal_file_name
from gauntlet.chaos.session import run_one
from gauntlet.chaos.summary import drill_summary, repeat_summary
from gauntlet.chaos.target import DrillTarget, remote_target, target_from_state
from gauntlet.chaos.windows import Sample
from gauntlet.load.outputs import OutputDict, RequestOutputs, streams_only
from gauntlet.progress import StepCallback, step_reporter
from gauntlet.settings import harness_settings
from gauntlet.stack.current import resolve_state_dir, running_state

MAX_REPEAT = 100
EXIT_INTERRUPTED = 130  # Ctrl-C, as everywhere in the gauntlet CLI

app = typer.Typer(
    name="chaos",
    help="Failure drills: break the stack under load, prove it recovered and lost nothing.\n\n"
    "Example: gauntlet chaos run replica-loss worker-crash",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


@app.command("list")
def list_drills() -> None:
    """The drills `gauntlet chaos run` knows, with their variants and what they need.

    Example: gauntlet chaos list
    """
    table = Table(title="chaos drills")
    table.add_column("drill", no_wrap=True)
    for column in ("variants", "needs", "what it breaks"):
        table.add_column(column)
    for spec in drill_specs().values():
        drill = spec.build(None)
        table.add_row(spec.name, ", ".join(spec.variants) or "-", ", ".join(sorted(drill.requires)) or "-", spec.title)
    out.print(table)


@app.command("run")
def run(
    drills: Annotated[list[str] | None, typer.Argument(help="Drill names (see `gauntlet chaos list`)")] = None,
    all_drills: Annotated[bool, typer.Option("--all", help="Run every drill, in `list` order")] = False,
    repeat: Annotated[int, typer.Option(help="Run each drill N times and report flakiness", min=1)] = 1,
    variant: Annotated[str | None, typer.Option(help="A drill's variant (with one drill only)")] = None,
    journal_dir: Annotated[
        Path | None, typer.Option(help="Where journals go [default: <state dir>/chaos/journals]")
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="The embedded stack's state dir [env GAUNTLET_STATE_DIR]")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="A deployed platform's URL, or a target file (gauntlet-target.toml: keys, DSN, accounts, "
            "Toxiproxy and its proxy names), instead of the embedded stack [env GAUNTLET_TARGET_FILE]"
        ),
    ] = None,
    service_key: Annotated[
        str | None, typer.Option(help="service_role key for --target [env GAUNTLET_SERVICE_KEY]")
    ] = None,
    toxiproxy_url: Annotated[str | None, typer.Option(help="Toxiproxy API for --target [env TOXIPROXY_URL]")] = None,
    dsn: Annotated[
        str | None, typer.Option(help="Primary database DSN for --target's invariants [env GAUNTLET_CHAOS_DSN]")
    ] = None,
    out_specs: Annotated[
        list[str] | None,
        typer.Option(
            "--out",
            help="Metrics of the background load during the run (repeatable): json=FILE (a JSON line per request), "
            "prometheus[=HOST:PORT] (/metrics, default 127.0.0.1:9646), otlp[=URL] (OTLP/HTTP metrics)",
        ),
    ] = None,
) -> None:
    """Run drills against the running stack (or --target) and print each verdict; exit 1 unless all pass.

    Example: gauntlet chaos run replica-loss worker-crash
    """
    names = _names(drills or [], all_drills, variant)
    outputs = _outputs(out_specs)
    if repeat > MAX_REPEAT:
        raise DrillError(f"--repeat {repeat} is too many: at most {MAX_REPEAT} runs per drill")
    planned = [get_drill(name, variant) for name in names]  # unknown variants fail here, before the target
    resolved_target = _target(state_dir, target, service_key, toxiproxy_url, dsn)
    for drill in planned:  # refuse before breaking anything, not half-way through --all
        ensure_target_supports(drill, resolved_target.capabilities, resolved_target.label, resolved_target.proxies)
    directory = journal_dir or _default_journal_dir(resolved_target)
    report = step_reporter()  # each step to $GAUNTLET_PROGRESS_FILE (the gate's live table), if set
    with _request_outputs(outputs) as on_sample:
        journals = _run_all(names, variant, repeat, resolved_target, directory, report, on_sample)
    if repeat > 1 or len(names) > 1:
        out.print(repeat_summary(journals))
    if not all(j["passed"] for j in journals):
        raise typer.Exit(EXIT_FAILED)


def _run_all(
    names: list[str],
    variant: str | None,
    repeat: int,
    resolved_target: DrillTarget,
    directory: Path,
    report: StepCallback,
    on_sample: Callable[[Sample], None] | None,
) -> list[Journal]:
    journals: list[Journal] = []
    for round_ in range(1, repeat + 1):
        for index, name in enumerate(names, start=1):
            label = f"{name} ({round_}/{repeat})" if repeat > 1 else name
            err.print(f"[bold]running[/] {label} against {resolved_target.label}")
            place = f"{name} ({(round_ - 1) * len(names) + index}/{repeat * len(names)})"
            try:
                journal = asyncio.run(
                    run_one(
                        get_drill(name, variant),
                        resolved_target,
                        journal_dir=directory,
                        on_step=functools.partial(report, place),
                        on_sample=on_sample,
                    )
                )
            except KeyboardInterrupt:
                # The runner rolled back and wrote the journal (status "interrupted") before this.
                err.print(f"[yellow]interrupted[/]: {name} rolled back; its journal is in {directory}")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            journals.append(journal)
            out.print(drill_summary(journal))
            out.print(f"journal: {directory / journal_file_name(journal)}\n", highlight=False)
    return journals


def _outputs(values: list[str] | None) -> tuple[OutputDict, ...]:
    """`--out json=FILE` / `--out prometheus[=HOST:PORT]`, checked before any drill (load/outputs.py)."""
    return streams_only(values, files_go_to="journals go to --journal-dir")


@contextmanager
def _request_outputs(outputs: tuple[OutputDict, ...]) -> Iterator[Callable[[Sample], None] | None]:
    """Each background-load request to the `--out` outputs, for every drill of this command."""
    if not outputs:
        yield None
        return
    sinks = RequestOutputs(outputs)

    def on_sample(sample: Sample) -> None:
        sinks.record(
            at_s=sample.at + sample.latency_ms / 1000.0, name=sample.kind, latency_ms=sample.latency_ms, ok=sample.ok
        )

    try:
        yield on_sample
    finally:
        sinks.close()


def _names(drills: list[str], all_drills: bool, variant: str | None) -> list[str]:
    known = drill_specs()
    if all_drills and drills:
        raise DrillError("give drill names or --all, not both")
    if all_drills:
        if variant is not None:
            raise DrillError("--variant applies to one drill; drop it when running --all")
        return list(known)
    if not drills:
        raise DrillError(f"name a drill to run, or --all; known drills: {', '.join(known)}")
    unknown = [name for name in drills if name not in known]
    if unknown:
        raise UnknownDrill(f"unknown drill {unknown[0]!r}; known drills: {', '.join(known)}")
    if variant is not None and len(drills) > 1:
        raise DrillError("--variant applies to one drill; run the drills one at a time")
    return drills


def _target(
    state_dir: Path | None, url: str | None, service_key: str | None, toxiproxy_url: str | None, dsn: str | None
) -> DrillTarget:
    from gauntlet.target import resolve_target

    described = resolve_target(url)
    if described is None:
        return target_from_state(running_state(state_dir))
    key = service_key or described.service_key
    if not key:
        raise DrillError(
            f"--target {described.label} needs its service_role key: set service_key in the target file, "
            "pass --service-key or set GAUNTLET_SERVICE_KEY"
        )
    accounts: tuple[tuple[str, str], ...] = ()
    if described.accounts_file is not None:
        from gauntlet.load.profiles.accounts import load_accounts

        accounts = tuple((a.email, a.password) for a in load_accounts(described.accounts_file))
    return remote_target(
        described.api_url,
        key,
        toxiproxy_url=toxiproxy_url or described.toxiproxy_url,
        primary_dsn=dsn or harness_settings().chaos_dsn or described.dsn,
        proxies=described.proxies,
        accounts=accounts,
        label=described.label,
    )


def _default_journal_dir(target: DrillTarget) -> Path:
    if target.state_dir is not None:
        return target.state_dir / "chaos" / "journals"
    return resolve_state_dir(None).parent / "chaos-journals"
