"""`gauntlet gate`: the one command a CI pipeline runs before a release."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, GauntletError
from gauntlet.gate.config import DEFAULT_CONFIG, GateProfile, load_profile
from gauntlet.gate.phases import STEPPED_PHASES, steps_file
from gauntlet.gate.runner import EXIT_INTERRUPTED, GateOptions, run_gate
from gauntlet.load.display import phase_figure
from gauntlet.load.runner import ProgressFeed
from gauntlet.progress import StepFeed, step_figure
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
            help="A phase to leave out (smoke, acceptance, load, drills, journeys), or one drill (drills:NAME, "
            "e.g. drills:worker-crash; the others still run); repeatable. Without it, a phase or drill that "
            "cannot run fails the gate.",
        ),
    ] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="The embedded stack's state dir")] = None,
    fail_fast: Annotated[
        bool,
        typer.Option(
            "--fail-fast",
            help="Stop at the first phase that fails; the later phases are reported as not run (never passed)",
        ),
    ] = False,
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
        skip=_skips(skip or [], chosen),
        baseline=baseline,
        fail_fast=fail_fast,
    )
    view = LiveTable(
        title=f"gauntlet gate --profile {chosen.name}", load_dir=options.out_dir / "load", out_dir=options.out_dir
    )
    # get_renderable: every refresh redraws the table, so the timers tick while a phase runs.
    with Live(console=console, refresh_per_second=2, transient=False, get_renderable=view.render) as live:
        outcome = run_gate(options, view.progress)
        live.refresh()
    if not console.is_terminal:
        console.line()  # off a terminal the final table ends without a newline: keep the FAILED lines apart
    for culprit in outcome.run.culprits():
        console.print(f"[red]FAILED[/] {culprit.sentence()}", soft_wrap=True)
    if outcome.exit_code == EXIT_INTERRUPTED:
        console.print(f"[yellow]gate interrupted[/]: a partial report of what finished is in {options.out_dir}")
        raise typer.Exit(outcome.exit_code)
    console.print(f"gate {outcome.run.verdict}: reports in {options.out_dir} (report.html, junit.xml, summary.md)")
    raise typer.Exit(outcome.exit_code)


@dataclass
class _Row:
    status: str
    figure: str
    started: float
    ended: float | None = None


@dataclass
class LiveTable:
    """The gate's live view: each phase's status, its elapsed time (ticking) or duration, and its figures.

    While the load phase runs, its figures are the load's own progress (users, rps, p95, errors, time
    left), read from the progress file `gauntlet load` appends to once a second in its --out folder.
    While drills or journeys run, their figures are the current drill or journey and its step, from
    the step events the phase writes (gauntlet/progress.py) under `out_dir`.
    """

    title: str
    load_dir: Path
    out_dir: Path | None = None
    rows: dict[str, _Row] = field(default_factory=dict)
    started: float = field(default_factory=lambda: time.monotonic())
    _load_feed: ProgressFeed | None = None
    _load_total_s: float | None = None
    _load_since: float = 0.0
    _steps: dict[str, StepFeed] = field(default_factory=dict)

    def progress(self, phase: str, status: str, figure: str) -> None:
        now = time.monotonic()
        if status == "running":
            self.rows[phase] = _Row(status=status, figure=figure, started=now)
            if phase == "load":
                self._watch_load()
            if phase in STEPPED_PHASES and self.out_dir is not None:
                self._steps[phase] = StepFeed.following(steps_file(self.out_dir, phase))
            return
        row = self.rows.get(phase)
        started = row.started if row is not None and row.status == "running" else now
        self.rows[phase] = _Row(status=status, figure=figure, started=started, ended=now)

    def _watch_load(self) -> None:
        path = self.load_dir / "progress.jsonl"
        # A progress file left by an earlier gate in the same --out: read only what this run appends.
        offset = path.stat().st_size if path.exists() else 0
        self._load_feed = ProgressFeed(path, offset=offset)
        self._load_total_s = None
        self._load_since = time.time()

    def _load_figure(self) -> str:
        if self._load_feed is None:
            return ""
        if self._load_total_s is None:
            self._load_total_s = _planned_seconds(self.load_dir / "plan.json", written_after=self._load_since)
        latest = self._load_feed.poll()
        return phase_figure(latest, self._load_total_s) if latest else "starting Locust"

    def _live_figure(self, phase: str) -> str:
        if phase == "load":
            return self._load_figure()
        feed = self._steps.get(phase)
        return step_figure(feed.latest(), time.time()) if feed is not None else ""

    def render(self) -> Table:
        now = time.monotonic()
        view = Table(title=f"{self.title}  ({now - self.started:.0f} s)")
        for column in ("phase", "status", "seconds", "figures"):
            view.add_column(column)
        colours = {"passed": "green", "failed": "red", "error": "red", "running": "yellow", "skipped": "yellow"}
        for name, row in self.rows.items():
            running = row.status == "running"
            seconds = f"{(now if running else (row.ended or now)) - row.started:.0f}"
            if row.status == "skipped":
                seconds = "-"
            figure = self._live_figure(name) if running and not row.figure else row.figure
            view.add_row(name, f"[{colours.get(row.status, 'white')}]{row.status}[/]", seconds, figure)
        return view


def _planned_seconds(plan_path: Path, *, written_after: float) -> float | None:
    """How long the load run's plan lasts (its last stage's end), once this run's `gauntlet load` wrote it."""
    try:
        if plan_path.stat().st_mtime < written_after - 1.0:
            return None  # an earlier run's plan
        stages = json.loads(plan_path.read_text(encoding="utf-8"))["stages"]
        return float(stages[-1]["until_s"]) if stages else None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _skips(names: list[str], profile: GateProfile) -> frozenset[str]:
    """`--skip PHASE` or `--skip drills:NAME` (one of the profile's drills), checked before anything runs."""
    known = ("smoke", "acceptance", "load", "drills", "journeys")
    for name in names:
        phase, _, drill = name.partition(":")
        if phase not in known:
            raise GauntletError(f"--skip {name}: not a gate phase; phases are {', '.join(known)} (or drills:NAME)")
        if drill and phase != "drills":
            raise GauntletError(f"--skip {name}: only drills can be skipped one by one (drills:NAME); skip {phase}")
        if drill and drill not in profile.drills:
            runs = ", ".join(profile.drills) or "none"
            raise GauntletError(
                f"--skip {name}: the {profile.name} profile runs no drill {drill!r}; its drills are {runs}"
            )
        if phase == "drills" and not drill and ":" in name:
            raise GauntletError(f"--skip {name}: name the drill, e.g. --skip drills:worker-crash")
    return frozenset(names)


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
            raise typer.Exit(EXIT_OK)
        if metrics.safe_mode:
            console.print("[red]canary breached[/]; global.safe_mode is already on")
        elif dry_run:
            console.print("[red]canary breached[/]; --dry-run: global.safe_mode left off")
        else:
            roll_back(client, rules)
            console.print("[red]canary breached[/]: global.safe_mode turned ON (recorded in ai_action_ledger)")
    raise typer.Exit(EXIT_FAILED)
