"""`gauntlet chaos list`, `run` and `export`: failure drills and experiment files from the command line.

`run` takes built-in drill names and experiment files (chaostoolkit's format, JSON or YAML:
experiment_file.py); `export` writes a built-in drill in that format.

Exit codes: 0 every run passed; 1 a run failed, deviated or aborted; 2 usage
or environment (unknown drill, no running stack, a target that cannot run the
drill); 130 interrupted (Ctrl-C: the drill rolled back and wrote its journal). Journals go to `--journal-dir` (default
`<state dir>/chaos/journals`), one JSON file per run.
"""

from __future__ import annotations

import asyncio
import functools
import platform
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gauntlet.base.errors import EXIT_FAILED
from gauntlet.chaos.drills import drill_specs, get_drill
from gauntlet.chaos.experiment import Drill, DrillError, JsonValue, UnknownDrill, ensure_target_supports
from gauntlet.chaos.experiment_file import experiment_document, load_experiment, looks_like_experiment_file
from gauntlet.chaos.export import dump_experiment, export_drill
from gauntlet.chaos.journal import Journal, journal_file_name, write_journal
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
    "Example: gauntlet chaos run replica-loss worker-crash examples/experiments/primary-latency.yaml",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


class JournalFormat(StrEnum):
    gauntlet = "gauntlet"
    chaostoolkit = "chaostoolkit"


class ExportFormat(StrEnum):
    yaml = "yaml"
    json = "json"


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
    drills: Annotated[
        list[str] | None,
        typer.Argument(
            help="Drill names (see `gauntlet chaos list`) or experiment files (chaostoolkit format, .json/.yaml)"
        ),
    ] = None,
    all_drills: Annotated[bool, typer.Option("--all", help="Run every drill, in `list` order")] = False,
    repeat: Annotated[int, typer.Option(help="Run each drill N times and report flakiness", min=1)] = 1,
    variant: Annotated[str | None, typer.Option(help="A drill's variant (with one drill only)")] = None,
    journal_dir: Annotated[
        Path | None, typer.Option(help="Where journals go [default: <state dir>/chaos/journals]")
    ] = None,
    journal_format: Annotated[
        JournalFormat,
        typer.Option(
            "--journal-format",
            help="gauntlet (chaos/JOURNAL.md) or chaostoolkit (journal.json that `chaos report` reads; "
            "Gauntlet's journal rides along under extensions)",
        ),
    ] = JournalFormat.gauntlet,
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
    """Run drills or experiment files against the running stack (or --target); exit 1 unless all pass.

    An experiment file is chaostoolkit's format (JSON or YAML) with Gauntlet's providers; it runs with
    the same journal, RTO and verdicts as a drill. A bad file exits 2 naming the line, key and fix.

    Example: gauntlet chaos run replica-loss worker-crash

    Example: gauntlet chaos run examples/experiments/primary-latency.yaml --journal-format chaostoolkit
    """
    names = _names(drills or [], all_drills, variant)
    outputs = _outputs(out_specs)
    if repeat > MAX_REPEAT:
        raise DrillError(f"--repeat {repeat} is too many: at most {MAX_REPEAT} runs per drill")
    planned = [_plan(name, variant) for name in names]  # bad files and unknown variants fail here
    resolved_target = _target(state_dir, target, service_key, toxiproxy_url, dsn)
    for plan in planned:  # refuse before breaking anything, not half-way through --all
        drill = plan.build()
        ensure_target_supports(drill, resolved_target.capabilities, resolved_target.label, resolved_target.proxies)
    directory = journal_dir or _default_journal_dir(resolved_target)
    report = step_reporter()  # each step to $GAUNTLET_PROGRESS_FILE (the gate's live table), if set
    with _request_outputs(outputs) as on_sample:
        journals = _run_all(planned, repeat, resolved_target, directory, report, on_sample, journal_format)
    if repeat > 1 or len(names) > 1:
        out.print(repeat_summary(journals))
    if not all(j["passed"] for j in journals):
        raise typer.Exit(EXIT_FAILED)


@app.command("export")
def export(
    drill: Annotated[str, typer.Argument(help="A built-in drill (see `gauntlet chaos list`)")],
    variant: Annotated[str | None, typer.Option(help="The drill's variant [default: its first]")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="yaml or json")] = ExportFormat.yaml,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file [default: standard output]")
    ] = None,
) -> None:
    """Write a built-in drill as a chaostoolkit experiment file; `gauntlet chaos run FILE` runs it to the same verdict.

    Example: gauntlet chaos export db-latency -o db-latency.yaml

    Example: gauntlet chaos export db-partition --variant reset-peer --format json
    """
    built = get_drill(drill, variant)
    text = dump_experiment(export_drill(built, variant), fmt.value)
    if output is None:
        print(text, end="")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DrillError(f"cannot write {output}: {exc.strerror or exc}; give a writable path with --output") from exc
    err.print(f"wrote {output}")


@dataclass(frozen=True, slots=True)
class _Planned:
    """One thing `run` was asked for: a built-in drill or an experiment file, built afresh per run."""

    label: str
    build: Callable[[], Drill]
    document: Callable[[], dict[str, JsonValue]]  # the experiment, for a chaostoolkit journal


def _plan(name: str, variant: str | None) -> _Planned:
    if looks_like_experiment_file(name):
        path = Path(name)
        drill = load_experiment(path)  # checked now, before the target is touched
        return _Planned(drill.name, lambda: load_experiment(path), lambda: experiment_document(path))
    get_drill(name, variant)
    return _Planned(name, lambda: get_drill(name, variant), lambda: export_drill(get_drill(name, variant), variant))


def _writer(plan: _Planned, journal_format: JournalFormat) -> Callable[[Journal, Path], Path]:
    if journal_format is JournalFormat.gauntlet:
        return write_journal
    from gauntlet.chaos.chaostoolkit_journal import write_chaostoolkit_journal

    return functools.partial(
        write_chaostoolkit_journal, experiment=plan.document(), node=platform.node(), platform=platform.platform()
    )


def _journal_name(journal: Journal, journal_format: JournalFormat) -> str:
    if journal_format is JournalFormat.gauntlet:
        return journal_file_name(journal)
    from gauntlet.chaos.chaostoolkit_journal import chaostoolkit_file_name

    return chaostoolkit_file_name(journal)


def _run_all(
    planned: list[_Planned],
    repeat: int,
    resolved_target: DrillTarget,
    directory: Path,
    report: StepCallback,
    on_sample: Callable[[Sample], None] | None,
    journal_format: JournalFormat = JournalFormat.gauntlet,
) -> list[Journal]:
    journals: list[Journal] = []
    for round_ in range(1, repeat + 1):
        for index, plan in enumerate(planned, start=1):
            name = plan.label
            label = f"{name} ({round_}/{repeat})" if repeat > 1 else name
            err.print(f"[bold]running[/] {label} against {resolved_target.label}")
            place = f"{name} ({(round_ - 1) * len(planned) + index}/{repeat * len(planned)})"
            try:
                journal = asyncio.run(
                    run_one(
                        plan.build(),
                        resolved_target,
                        journal_dir=directory,
                        on_step=functools.partial(report, place),
                        on_sample=on_sample,
                        write=_writer(plan, journal_format),
                    )
                )
            except KeyboardInterrupt:
                # The runner rolled back and wrote the journal (status "interrupted") before this.
                err.print(f"[yellow]interrupted[/]: {name} rolled back; its journal is in {directory}")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            journals.append(journal)
            out.print(drill_summary(journal))
            out.print(f"journal: {directory / _journal_name(journal, journal_format)}\n", highlight=False)
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
    files = [name for name in drills if looks_like_experiment_file(name)]
    unknown = [name for name in drills if name not in known and name not in files]
    if unknown:
        raise UnknownDrill(
            f"unknown drill {unknown[0]!r}; known drills: {', '.join(known)} "
            "(or give an experiment file: a path ending in .json, .yaml or .yml)"
        )
    if variant is not None and len(drills) > 1:
        raise DrillError("--variant applies to one drill; run the drills one at a time")
    if variant is not None and files:
        raise DrillError("--variant applies to a built-in drill, not to an experiment file; drop it")
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
