"""The `gauntlet` command. Exit codes: 0 pass, 1 an SLO, drill or journey failed, 2 usage or environment."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, GauntletError
from gauntlet.cliutil import GauntletGroup, flags_without_type, show_error, show_usage_error
from gauntlet.stack import supervisor
from gauntlet.stack.current import resolve_state_dir, running_state
from gauntlet.stack.development import describe as describe_limits
from gauntlet.stack.development import development_env
from gauntlet.stack.state import load_state
from gauntlet.stack.status import ServiceStatus, as_json, stack_status

app = typer.Typer(
    name="gauntlet",
    help="Load, chaos and synthetic-journey test harness for the Rocker platform.\n\n"
    "Exit codes: 0 passed; 1 an SLO, check, drill or journey failed (or was skipped); "
    "2 usage or environment error (the message names the problem and the fix); 130 interrupted.\n\n"
    "Example: gauntlet up && gauntlet gate --profile ci --out reports-out && gauntlet down",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=GauntletGroup,
)
console = Console(stderr=True)
out = Console()
flags_without_type()

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where the stack keeps ports, pids, logs and data [env GAUNTLET_STATE_DIR, default .gauntlet]",
    ),
]


def _print_version(value: bool) -> None:
    if value:
        from gauntlet import __version__

        out.print(f"gauntlet {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit"),
    ] = False,
) -> None:
    """Load, chaos and synthetic-journey test harness for the Rocker platform."""


@app.command()
def up(
    state_dir: StateDir = None,
    replicas: Annotated[int, typer.Option(help="Streaming replicas of the primary")] = 1,
    queue_workers: Annotated[int, typer.Option(help="Queue worker processes")] = 2,
    api_port: Annotated[int, typer.Option(help="Port for the API (0 = a free one)")] = 0,
    toxiproxy_port: Annotated[int, typer.Option(help="Port for the Toxiproxy API (0 = a free one)")] = 0,
    migrate: Annotated[bool, typer.Option(help="Apply migrations and seed data")] = True,
    backend: Annotated[
        str,
        typer.Option(
            envvar="GAUNTLET_BACKEND",
            help="embedded (local processes) or docker (containers, through testcontainers)",
        ),
    ] = "embedded",
) -> None:
    """Start Postgres (primary + replicas), Redis, Toxiproxy, the API and the workers.

    Example: gauntlet up --replicas 2
    """
    if backend not in ("embedded", "docker"):
        raise GauntletError(f"--backend {backend!r} is not a backend: use embedded or docker")
    resolved = resolve_state_dir(state_dir)
    recorded = load_state(resolved)
    if recorded is not None and recorded.backend != backend:
        raise GauntletError(
            f"a {recorded.backend} stack is recorded in {resolved}: "
            "`gauntlet down` it first, or use another --state-dir"
        )
    options = supervisor.UpOptions.from_env(
        replicas=replicas,
        queue_workers=queue_workers,
        api_port=api_port,
        toxiproxy_port=toxiproxy_port,
        migrate=migrate,
        platform_env=development_env(os.environ),  # one machine: every user comes from 127.0.0.1
    )
    start = supervisor.up
    if backend == "docker":
        from gauntlet.stack.docker import backend as docker_backend

        start = docker_backend.up  # fails at once, naming the fix, when no Docker engine answers
    with console.status("bringing the stack up") as spinner:
        result = start(resolved, options, progress=lambda msg: spinner.update(msg))
    if result.found_stale:
        cleaned = ", ".join(result.cleaned_stale) or "nothing was left running"
        console.print(f"[yellow]stale state found[/] (a crash or kill?): cleaned up {cleaned}", soft_wrap=True)
    if result.already_running:
        console.print(f"[yellow]the stack is already up[/] in {resolved} (nothing to do; `gauntlet down` stops it)")
    else:
        console.print(f"[green]stack up[/] in {result.seconds:.1f}s: API {result.state.api_url}")
    from gauntlet.target import write_for_stack

    console.print(f"target file: {write_for_stack(result.state)} (gauntlet gate --target FILE)", highlight=False)
    if not result.already_running and backend == "embedded":
        console.print(describe_limits(options.platform_env, os.environ), highlight=False, soft_wrap=True)
    _print_status(stack_status(result.state))


@app.command()
def down(
    state_dir: StateDir = None,
    purge: Annotated[bool, typer.Option(help="Also delete the data directories")] = False,
) -> None:
    """Stop everything `gauntlet up` started, and nothing else.

    Example: gauntlet down --purge
    """
    resolved = resolve_state_dir(state_dir)
    recorded = load_state(resolved)
    stop = supervisor.down
    if recorded is not None and recorded.backend == "docker":
        from gauntlet.stack.docker import backend as docker_backend

        stop = docker_backend.down
    stopped = stop(resolved, purge=purge)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status(
    state_dir: StateDir = None,
    as_json_: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="With --json: include the anon and service keys")
    ] = False,
) -> None:
    """Each service's pid, port, health and replication lag. Exit 1 when any is unhealthy.

    Example: gauntlet status --json
    """
    from gauntlet.target import TARGET_FILE_NAME

    state = running_state(state_dir)
    statuses = stack_status(state)
    if as_json_:
        target_file = Path(state.state_dir) / TARGET_FILE_NAME
        shown: dict[str, object] = {
            "api_url": state.api_url,
            "target_file": str(target_file) if target_file.exists() else None,
            "services": as_json(statuses),
        }
        if show_secrets:
            shown |= {"anon_key": state.anon_key, "service_key": state.service_key}
        out.print_json(json.dumps(shown))
    else:
        _print_status(statuses)
    if not all(s.healthy for s in statuses):
        raise typer.Exit(EXIT_FAILED)


@app.command()
def kill(
    service: Annotated[str, typer.Argument(help="Service name, as `gauntlet status` shows it")],
    signal_name: Annotated[str, typer.Option("--signal", "-s", help="Signal name")] = "KILL",
    state_dir: StateDir = None,
) -> None:
    """Send a signal to one service's process (a crash, for a drill by hand).

    Example: gauntlet kill pg_replica_1 --signal KILL
    """
    import signal as signals

    from gauntlet.stack import control

    try:
        sig = signals.Signals[f"SIG{signal_name.upper().removeprefix('SIG')}"]
    except KeyError:
        raise GauntletError(f"unknown signal {signal_name!r}: use a name such as KILL, TERM, INT, STOP") from None
    pid = control.kill(resolve_state_dir(state_dir), service, sig)
    console.print(f"sent {sig.name} to {service} (pid {pid})")


@app.command()
def restart(
    service: Annotated[str, typer.Argument(help="Service name, as `gauntlet status` shows it")],
    set_env: Annotated[
        list[str] | None, typer.Option("--env", help="KEY=VALUE setting for the service from now on (KEY= unsets)")
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Start one service again the way `up` did, and wait until it is healthy.

    Example: gauntlet restart api --env GAUNTLET_RATE_LIMIT_MULTIPLIER=50
    """
    from gauntlet.stack import control

    changes: dict[str, str | None] = {}
    for item in set_env or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise GauntletError(f"--env takes KEY=VALUE, got {item!r}")
        changes[key] = value or None
    record = control.restart(resolve_state_dir(state_dir), service, env=changes)
    console.print(f"{service} is back ({f'container {record.container}' if record.container else f'pid {record.pid}'})")


@app.command()
def health(
    state_dir: StateDir = None,
    target: Annotated[
        str | None, typer.Option(help="Platform URL or target file (default: the running stack's API)")
    ] = None,
) -> None:
    """Call the platform's health function (`GET /functions/v1/health`). Exit 1 unless it is ok.

    Example: gauntlet health --target http://127.0.0.1:8000
    """
    import httpx

    from gauntlet.target import resolve_target

    described = resolve_target(target)
    url = (described.api_url if described else running_state(state_dir).api_url).rstrip("/")
    try:
        response = httpx.get(f"{url}/functions/v1/health", timeout=10.0)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise GauntletError(f"health check at {url} failed: {exc}") from exc
    out.print_json(json.dumps(body))
    if body.get("status") != "ok":
        console.print(f"[red]platform {body.get('status', 'unknown')}[/]")
        raise typer.Exit(EXIT_FAILED)


@app.command()
def logs(
    service: Annotated[str, typer.Argument(help="Service name, as `gauntlet status` shows it")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines from the end")] = 50,
    state_dir: StateDir = None,
) -> None:
    """Print a service's log.

    Example: gauntlet logs worker_queue_1 -n 100
    """
    resolved = resolve_state_dir(state_dir)
    state = load_state(resolved)
    record = state.services.get(service) if state is not None else None
    if record is not None and record.container:  # Docker backend: the live log is the container's
        argv = ["docker", "logs", "--tail", str(lines), *(["--follow"] if follow else []), record.container]
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run(argv, check=False)
        return
    log = resolved / "logs" / f"{service}.log"
    if not log.exists():
        known = sorted(p.stem for p in log.parent.glob("*.log")) if log.parent.exists() else []
        raise GauntletError(f"no log for {service!r}; known services: {', '.join(known) or 'none (run `gauntlet up`)'}")
    note = _log_note(record, log)
    if note:
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True, highlight=False)
    argv = ["tail", "-n", str(lines), *(["-F"] if follow else []), str(log)]
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(argv, check=False)


def _log_note(record: object, log: Path) -> str | None:
    """Why a log may show little: the API's access log is off (warnings and errors only), or it is empty."""
    argv = getattr(record, "argv", None) or []
    # The API runs as `python -m gauntlet.platform serve` (access log off unless --access-log), or
    # as an older stack's uvicorn command line with --no-access-log.
    serves_quietly = "serve" in argv and "--access-log" not in argv
    if "--no-access-log" in argv or serves_quietly:
        return (
            "the API's access log is off (uvicorn --no-access-log --log-level warning): this log holds "
            "warnings and errors only; per-request numbers are in `gauntlet load` results and the API's /metrics"
        )
    if log.stat().st_size == 0:
        return f"{log} is empty: the service has logged nothing yet"
    return None


def _print_status(statuses: list[ServiceStatus]) -> None:
    table = Table(title="gauntlet stack")
    for column in ("service", "pid", "port", "health", "detail"):
        table.add_column(column)
    for s in statuses:
        health = "[green]healthy[/]" if s.healthy else "[red]unhealthy[/]"
        table.add_row(s.name, str(s.pid or "-"), str(s.port or "-"), health, s.detail)
    out.print(table)


def _register_areas() -> None:
    from gauntlet import platform_cli
    from gauntlet.acceptance import cli as acceptance_cli
    from gauntlet.chaos import cli as chaos_cli
    from gauntlet.fixtures import cli as fixtures_cli
    from gauntlet.gate import cli as gate_cli
    from gauntlet.journeys import cli as journeys_cli
    from gauntlet.journeys.monitor import cli as monitor_cli
    from gauntlet.load import cli as load_cli
    from gauntlet.prove import cli as prove_cli
    from gauntlet.reports import cli as reports_cli

    areas = (platform_cli, fixtures_cli, acceptance_cli, chaos_cli, load_cli, journeys_cli, monitor_cli, reports_cli)
    from gauntlet import target_cli

    for area in (*areas, gate_cli, prove_cli, target_cli):
        area.register(app)


def main() -> None:
    _register_areas()
    started = time.monotonic()
    try:
        # Not standalone: click then returns the code of a `typer.Exit` instead of exiting.
        code = app(standalone_mode=False)
    except GauntletError as exc:  # raised before any command ran (GauntletGroup handles the rest)
        show_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/] after {time.monotonic() - started:.1f}s")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and the like
        code = _click_exit_code(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _click_exit_code(exc: Exception) -> int:
    """Typer bundles its own click: its usage errors show themselves and map to exit 2."""
    from typer._click.exceptions import ClickException

    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, ClickException):
        show_usage_error(exc)  # one `error:` line like Gauntlet's own, not Typer's box
        return EXIT_USAGE
    if isinstance(exc, typer.Abort):
        return 130
    raise exc
