"""`gauntlet load PROFILE --scenario S`: drive the platform with Locust and fail the run on a missed SLO.

Exit codes: 0 every threshold met, 1 a threshold missed (or the run was
aborted on one), 2 usage or environment error (the message names it).
Locust is imported only inside the Locust child processes.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import urlparse

import typer
from rich.console import Console, Group
from rich.live import Live

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EnvironmentProblem, GauntletError
from gauntlet.durations import DurationError
from gauntlet.durations import parse_duration as parse_any_duration
from gauntlet.load import display
from gauntlet.load.arrivals import DEFAULT_GIVE_UP_AFTER_S, DEFAULT_LATE_AFTER_S, SIGN_IN_WARM_UP_S
from gauntlet.load.baseline import (
    DEFAULT_FACTOR,
    PlanKey,
    RegressionRule,
    build_report,
    ensure_comparable,
    read_baseline,
    resolve_baseline_path,
    with_baseline,
)
from gauntlet.load.breakpoint import SCENARIO as BREAKPOINT
from gauntlet.load.breakpoint import ladder
from gauntlet.load.breakpoint_run import climb
from gauntlet.load.docker_workers import JOIN_WAIT_S, TallyCheck, WorkerTarget, container_target, merged_requests
from gauntlet.load.docker_workers import check_request as check_worker_backend
from gauntlet.load.locustfiles import Locustfile, read_locustfile
from gauntlet.load.mix import smoke_mix, smoke_users
from gauntlet.load.outputs import OutputDict, checked_out
from gauntlet.load.plan import (
    ABORT_GRACE_S,
    ABORT_MIN_SAMPLES,
    DRAIN_S,
    RunPlan,
    UserConfig,
    stages_to_dicts,
    thresholds_to_dicts,
)
from gauntlet.load.profiles.accounts import load_accounts
from gauntlet.load.profiles.catalog import PROFILES, Profile
from gauntlet.load.results import LoadResult, build_result, judge, read_measurements, write_json
from gauntlet.load.runner import (
    LOCUSTFILE,
    MEASURE_LOCUSTFILE,
    STARTUP_SLACK_S,
    LocustLaunch,
    Mode,
    WorkerFleet,
    run_locust,
    run_worker,
    tail,
)
from gauntlet.load.shapes import LOCAL_SCALE, SCENARIOS, ScenarioName, ScenarioRequest, build_plan, parse_duration
from gauntlet.load.signups import for_target
from gauntlet.load.thresholds import Threshold, applicable, default_slo, load_slo_file, unmade_requests
from gauntlet.stack.current import resolve_state_dir
from gauntlet.stack.ports import free_ports
from gauntlet.stack.state import load_state

LOCUST_MASTER_PORT = 5557
# Every request a built-in profile makes: an SLO file with `scope: profile` may name any of them.
CATALOG_REQUESTS = frozenset().union(*(p.requests for p in PROFILES.values()))
err = Console(stderr=True)
out = Console()
PROGRESS_LINE_EVERY_S = 5.0
INTERRUPTED = display.INTERRUPTED


class UsageProblem(GauntletError):
    """A command-line option that cannot work as given."""


@dataclass(frozen=True)
class LoadOptions:
    """The `load` command's options, as given."""

    profile: str | None
    scenario: str
    users: int | None
    duration: str | None
    rate: float | None
    scale: float | None
    target: str | None
    workers: int
    master: bool
    worker: bool
    master_host: str | None
    master_port: int | None
    expect_workers: int
    ui: bool
    web_port: int
    slo: Path | None
    abort_on_fail: bool
    out_dir: Path | None
    accounts: Path | None
    think_time: str
    api_key: str | None
    progress: bool | None
    state_dir: Path | None
    # --scenario breakpoint: the ladder of arrival rates (None: the named default times --scale).
    start: float | None = None
    step: float | None = None
    every: str | None = None
    max_rate: float | None = None
    repeats: int | None = None  # runs of each step (the knee's band)
    # Set on breakpoint steps: slots sign in before the arrival schedule starts (UserConfig.sign_in_first).
    sign_in_first: bool = False
    baseline: Path | None = None
    regression_factor: float | None = None
    locustfile: Path | None = None
    spawn_rate: float | None = None
    tags: list[str] | None = None
    exclude_tags: list[str] | None = None
    outputs: tuple[OutputDict, ...] = ()  # --out json=FILE / prometheus=HOST:PORT
    worker_backend: str = "process"  # --workers K as child processes, or as containers (load/docker_workers.py)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main `gauntlet` app."""
    app.command("load", no_args_is_help=False)(load)


def load(
    profile: Annotated[str | None, typer.Argument(help=f"One of: {', '.join(PROFILES)} (or -f FILE)")] = None,
    locustfile: Annotated[
        Path | None,
        typer.Option("--locustfile", "-f", help="Run the Locust User classes of this file instead of a profile"),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help=f"One of: {', '.join((*SCENARIOS, BREAKPOINT))}")
    ] = "smoke",
    users: Annotated[
        int | None, typer.Option("--users", "-u", help="Users (rate: slots for arrivals in flight)")
    ] = None,
    spawn_rate: Annotated[
        float | None,
        typer.Option("--spawn-rate", "-r", help="Users started per second (smoke, soak, rate; default: scenario's)"),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option("--duration", "-t", "--run-time", help="90 (seconds), 30s, 5m, 1h30m (scenario default if unset)"),
    ] = None,
    rate: Annotated[float | None, typer.Option(help="rate scenario: arrivals (requests) per second")] = None,
    scale: Annotated[
        float | None, typer.Option(help="Multiply the named user counts and rates (default 0.01; 1 with --master)")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", "-H", "--host", help="Base URL or target file to load (default: the running stack's API)"
        ),
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tags", "-T", help="Run only the tasks with one of these Locust tags (repeat or a,b)"),
    ] = None,
    exclude_tags: Annotated[
        list[str] | None,
        typer.Option("--exclude-tags", "-E", help="Skip the tasks with one of these Locust tags (repeat or a,b)"),
    ] = None,
    workers: Annotated[int, typer.Option(help="Run a Locust master and K worker processes here")] = 0,
    worker_backend: Annotated[
        str,
        typer.Option(help="--workers as local processes, or docker: containers on a network of their own"),
    ] = "process",
    master: Annotated[bool, typer.Option("--master", help="Be the master of workers on other machines")] = False,
    worker: Annotated[bool, typer.Option("--worker", help="Be a worker of the master at --master-host")] = False,
    master_host: Annotated[str | None, typer.Option(help="The master's host (with --worker)")] = None,
    master_port: Annotated[
        int | None, typer.Option(help="The master's port (default 5557; a free one for --workers)")
    ] = None,
    expect_workers: Annotated[int, typer.Option(help="Workers the --master waits for")] = 1,
    ui: Annotated[bool, typer.Option("--ui", help="Open Locust's web UI instead of running headless")] = False,
    web_port: Annotated[int, typer.Option(help="Port of Locust's web UI (with --ui)")] = 8089,
    slo: Annotated[Path | None, typer.Option(help="SLO file (YAML or TOML); default: DESIGN.md's SLOs")] = None,
    abort_on_fail: Annotated[bool, typer.Option("--abort-on-fail", help="Stop once a threshold is lost")] = False,
    out_dir: Annotated[
        list[str] | None,
        typer.Option(
            "--out",
            help="Folder for results (default .gauntlet/load/RUN); and, repeatable, metrics out during the run: "
            "json=FILE (a JSON line per request), prometheus[=HOST:PORT] (/metrics, default 127.0.0.1:9646), "
            "otlp[=URL] (OpenTelemetry metrics over OTLP/HTTP, default http://127.0.0.1:4318/v1/metrics)",
        ),
    ] = None,
    accounts: Annotated[Path | None, typer.Option(help="Fixture accounts (JSON or CSV of email,password)")] = None,
    think_time: Annotated[str, typer.Option(help="Seconds between a user's tasks: MIN,MAX or one value")] = "0.5,2",
    api_key: Annotated[str | None, typer.Option(help="`apikey` header (default: the stack's anon key)")] = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Live display")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="State dir of the running stack [default .gauntlet]")] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="Compare p95 per request with this results.json (or a run's folder); fail on a regression"),
    ] = None,
    regression_factor: Annotated[
        float | None, typer.Option(help="With --baseline: a p95 above this many times the baseline's regressed")
    ] = None,
    start: Annotated[
        float | None, typer.Option(help="breakpoint: first step's arrivals/s (default 1000 x scale)")
    ] = None,
    step: Annotated[
        float | None, typer.Option(help="breakpoint: arrivals/s added each step (default 1000 x scale)")
    ] = None,
    every: Annotated[str | None, typer.Option(help="breakpoint: how long each step holds (default 30s)")] = None,
    max_rate: Annotated[
        float | None, typer.Option("--max", help="breakpoint: the last step's arrivals/s (default 100000 x scale)")
    ] = None,
    repeats: Annotated[
        int | None, typer.Option(help="breakpoint: runs of each step; the knee's band spans them (default 1)")
    ] = None,
) -> None:
    """Load the platform with a profile (or your locustfile) and scenario; exit 1 if an SLO is missed.

    Example: gauntlet load mixed --scenario ramp --users 10 --duration 30s

    Example: gauntlet load -f examples/locustfile.py -u 4 -r 2 -t 10s --slo examples/k6_thresholds.yaml

    Example: gauntlet load mixed --scenario ramp --out json=requests.jsonl --out prometheus=127.0.0.1:9646
    """
    split = checked_out(out_dir)  # --out DIR, --out json=FILE, --out prometheus[=HOST:PORT] (load/outputs.py)
    given = {name: value for name, value in locals().items() if name != "split"}
    try:
        code = _load(LoadOptions(**{**given, "out_dir": split.folder, "outputs": split.outputs}))
    except KeyboardInterrupt:  # before Locust started: nothing ran
        err.print("[yellow]interrupted[/] before the load started; nothing ran", highlight=False)
        code = EXIT_USAGE
    raise typer.Exit(code)


@dataclass(frozen=True)
class Target:
    url: str
    anon_key: str | None
    # The stack's state dir when the target is the running stack's own API: its Locust
    # processes then carry the stack's marker, and `gauntlet down` sweeps any left over.
    stack_marker: str | None
    accounts: Path | None = None  # the target file's accounts_file
    # Load may sign up new users here (load/signups.py): the running stack, a bare URL of it,
    # or a target file with allow_signups = true.
    allow_signups: bool = True


def _resolve_target(target: str | None, state_dir: Path | None) -> Target:
    from gauntlet.target import resolve_target

    if target and "://" in target:
        parsed = urlparse(target)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UsageProblem(f"--target {target!r} is not an http(s) URL; write e.g. http://127.0.0.1:8000")
    described = resolve_target(target)  # a URL, a target file, or $GAUNTLET_TARGET_FILE
    if described is not None:
        url = described.api_url
        state = load_state(resolve_state_dir(state_dir))
        ours = state is not None and bool(state.api_url) and state.api_url.rstrip("/") == url
        marker = state.state_dir if ours and state else None
        allowed = described.allow_signups or (ours and described.source is None)
        return Target(
            url=url,
            anon_key=described.anon_key,
            stack_marker=marker,
            accounts=described.accounts_file,
            allow_signups=allowed,
        )
    state = load_state(resolve_state_dir(state_dir))
    if state is None or state.status != "up" or not state.api_url:
        raise EnvironmentProblem("no running stack: run `gauntlet up` or pass --target URL (or -H URL)")
    return Target(url=state.api_url.rstrip("/"), anon_key=state.anon_key or None, stack_marker=state.state_dir)


def _think_time(text: str) -> tuple[float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise UsageProblem(f"--think-time {text!r}: write MIN,MAX seconds (e.g. 0.5,2) or one number") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0]:
        raise UsageProblem(f"--think-time {text!r}: need 0 <= MIN <= MAX")
    return parts[0], parts[1]


def _mode(o: LoadOptions) -> Mode:
    flags = (("--master", o.master), ("--worker", o.worker), ("--workers", o.workers > 0))
    chosen = [name for name, on in flags if on]
    if len(chosen) > 1:
        raise UsageProblem(f"{' and '.join(chosen)} cannot be combined: pick one way to distribute")
    if o.workers < 0:
        raise UsageProblem("--workers must be >= 0")
    if o.worker:
        if not o.master_host:
            raise UsageProblem("--worker needs --master-host HOST (the machine running `gauntlet load --master`)")
        if o.ui:
            raise UsageProblem("--ui belongs on the master, not on a --worker")
        return "worker"
    if o.master:
        if o.expect_workers < 1:
            raise UsageProblem("--expect-workers must be at least 1")
        return "master"
    return "workers" if o.workers > 0 else "local"


def _load(o: LoadOptions) -> int:
    mode = _mode(o)
    check_worker_backend(backend=o.worker_backend, workers=o.workers, outputs=o.outputs)
    started = time.strftime("%Y%m%dT%H%M%S")
    if mode == "worker":
        launch = LocustLaunch(
            mode="worker",
            user_classes=(),
            # With -f FILE, each worker needs the same file (the master sends only class names).
            locustfiles=_locustfiles(read_locustfile(o.locustfile)) if o.locustfile else (LOCUSTFILE,),
            target="",
            out_dir=(o.out_dir or resolve_state_dir(o.state_dir) / "load" / f"worker-{started}").resolve(),
            master_host=o.master_host or "",
            master_port=o.master_port or LOCUST_MASTER_PORT,
        )
        err.print(f"worker: connecting to {launch.master_host}:{launch.master_port}; logs in {launch.out_dir}")
        return run_worker(launch)
    profile, locustfile = _profile(o)
    if o.scenario == BREAKPOINT:
        return _breakpoint(o, mode, started)
    ladder_flags = (
        ("--start", o.start),
        ("--step", o.step),
        ("--every", o.every),
        ("--max", o.max_rate),
        ("--repeats", o.repeats),
    )
    for flag, given in ladder_flags:
        if given is not None:
            raise UsageProblem(f"{flag} applies only to --scenario breakpoint")
    if o.scenario not in SCENARIOS:
        raise UsageProblem(f"unknown scenario {o.scenario!r}; choose one of {', '.join(SCENARIOS)}")
    scale = o.scale if o.scale is not None else (1.0 if mode == "master" else LOCAL_SCALE)
    smoke = o.scenario == "smoke"
    # Smoke: a fixed mix, one user of each class at least, so every thresholded request is reached.
    users = smoke_users(profile, o.users) if smoke else o.users
    plan_shape = build_plan(
        ScenarioRequest(
            scenario=cast(ScenarioName, o.scenario),
            users=users,
            duration_s=parse_duration(o.duration) if o.duration is not None else None,
            rate_per_s=o.rate,
            scale=scale,
            spawn_rate=o.spawn_rate,
            warm_up_s=SIGN_IN_WARM_UP_S if o.sign_in_first else 0.0,
        )
    )
    thresholds = _thresholds(o, profile, locustfile)
    resolved = _resolve_target(o.target, o.state_dir)
    signups = for_target(profile, allow_signups=resolved.allow_signups, target=resolved.url) if not locustfile else None
    if signups is not None and signups.dropped:
        profile = signups.profile
        thresholds = _thresholds(o, profile, locustfile)  # objectives on the dropped requests: out of scope
    user_mix = smoke_mix(profile, plan_shape.table.peak_users) if smoke else {}
    if signups is not None and signups.note:
        err.print(f"[yellow]note:[/] {signups.note}", highlight=False)
    target, anon_key = resolved.url, resolved.anon_key
    docker_target = _docker_target(target, resolved) if o.worker_backend == "docker" else None
    think_time_s = _think_time(o.think_time)
    accounts_file = None
    accounts = o.accounts or resolved.accounts  # --accounts, else the target file's
    if accounts is not None:
        load_accounts(accounts)  # refuse a bad file now, not in every worker
        accounts_file = str(accounts.resolve())
    generators = {"local": 1, "workers": o.workers, "master": o.expect_workers}[mode]
    comparison = _baseline(
        o,
        PlanKey(
            profile=profile.name,
            scenario=plan_shape.scenario,
            stages=PlanKey.stage_key(stages_to_dicts(plan_shape.table)),
            rate_per_s=plan_shape.rate_per_s,
            workers=generators,
        ),
    )
    run_id = f"{started}-{uuid.uuid4().hex[:6]}"
    out_dir = (o.out_dir or resolve_state_dir(o.state_dir) / "load" / f"{run_id}-{profile.name}").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = RunPlan(
        run_id=run_id,
        profile=profile.name,
        scenario=plan_shape.scenario,
        target=target,
        stages=stages_to_dicts(plan_shape.table),
        thresholds=thresholds_to_dicts(thresholds),
        abort_on_fail=o.abort_on_fail,
        abort_min_samples=ABORT_MIN_SAMPLES,
        abort_grace_s=ABORT_GRACE_S,
        measurements_file=str(out_dir / "measurements.json"),
        progress_file=str(out_dir / "progress.jsonl"),
        expect_workers=generators,
        users=UserConfig(
            run_id=run_id,
            api_key=o.api_key or anon_key,
            accounts_file=accounts_file,
            think_time_s=think_time_s,
            rate_per_s=plan_shape.rate_per_s,
            rate_duration_s=plan_shape.rate_duration_s,
            generators=generators,
            late_after_s=DEFAULT_LATE_AFTER_S,
            give_up_after_s=DEFAULT_GIVE_UP_AFTER_S,
            one_signup_per_user=smoke,
            sign_in_first=o.sign_in_first,
            outputs=list(o.outputs),
        ),
        user_mix=user_mix,
    )
    launch = LocustLaunch(
        mode=mode,
        user_classes=profile.user_classes,
        target=docker_target.url if docker_target else target,
        out_dir=out_dir,
        workers=generators,
        # Several local runs at once must not fight over Locust's default port.
        master_port=o.master_port or (free_ports(1)[0] if mode == "workers" else LOCUST_MASTER_PORT),
        master_bind_host="*" if mode == "master" else "127.0.0.1",
        ui=o.ui,
        web_port=o.web_port,
        expect_workers_max_wait_s=300 if mode == "master" else (JOIN_WAIT_S if docker_target else 60),
        stack_marker=resolved.stack_marker,
        locustfiles=_locustfiles(locustfile) if locustfile else (LOCUSTFILE,),
        tags=_tags(o.tags),
        exclude_tags=_tags(o.exclude_tags),
    )
    where = {
        "local": "1 process",
        "workers": f"master + {generators} worker{' container' if docker_target else ''}s",
        "master": f"{generators} remote workers",
    }
    err.print(f"load: {profile.name}, {plan_shape.describe()} (scale {scale:g}), {where[mode]}, against {target}")
    err.print(f"results in {out_dir}")
    if o.ui:
        err.print(f"Locust web UI on http://127.0.0.1:{o.web_port} (Ctrl-C here ends the run)")
    timeout = None if o.ui else plan_shape.table.duration_s + DRAIN_S + STARTUP_SLACK_S
    if timeout is not None and mode in ("workers", "master"):
        timeout += launch.expect_workers_max_wait_s
    if comparison is not None:
        err.print(f"baseline: {comparison.source} (run {comparison.result['run']['id']}), "
                  f"p95 regression above {comparison.rule.factor:g}x")  # fmt: skip
    title = f"{profile.name} / {plan_shape.scenario}"
    tallies = None
    if docker_target is None:
        end = _run_with_display(launch, plan, timeout, o.progress, title=title)
    else:
        end, tallies = _run_docker_workers(launch, plan, timeout, o.progress, title=title, target=docker_target)
    # With the web UI, Ctrl-C is how a run ends, not an interruption (SIGTERM still is).
    ended_from_ui = o.ui and end.signal_name == "SIGINT"
    interrupted = end.signal_name if end.interrupted and not ended_from_ui else None
    code = _finish(plan, out_dir, thresholds, end.timed_out, interrupted, comparison, ui=o.ui)
    return _judge_tallies(code, tallies, out_dir, interrupted=interrupted is not None)


def _profile(o: LoadOptions) -> tuple[Profile, Locustfile | None]:
    """The built-in profile named, or the profile of the person's locustfile (`-f`)."""
    if o.profile is not None and o.locustfile is not None:
        raise UsageProblem(
            f"a profile ({o.profile}) and -f {o.locustfile} cannot be combined: pass a profile name or your locustfile"
        )
    if o.locustfile is not None:
        locustfile = read_locustfile(o.locustfile)
        if locustfile.shapes:
            err.print(
                f"[yellow]note:[/] {', '.join(locustfile.shapes)} in {locustfile.path} is not used: "
                "--scenario shapes the run",
                highlight=False,
            )
        return locustfile.profile, locustfile
    if o.profile is None:
        raise UsageProblem(f"name a profile: gauntlet load PROFILE (one of {', '.join(PROFILES)}) or -f FILE.py")
    profile = PROFILES.get(o.profile)
    if profile is None:
        raise UsageProblem(f"unknown profile {o.profile!r}; choose one of {', '.join(PROFILES)} (or -f FILE.py)")
    return profile, None


def _locustfiles(locustfile: Locustfile) -> tuple[Path, ...]:
    return (MEASURE_LOCUSTFILE, locustfile.path)


def _tags(values: list[str] | None) -> tuple[str, ...]:
    return tuple(tag.strip() for value in values or () for tag in value.split(",") if tag.strip())


def _thresholds(o: LoadOptions, profile: Profile, locustfile: Locustfile | None) -> tuple[Threshold, ...]:
    """The run's thresholds, each checked (before any load) against the requests its users can make."""
    spec = load_slo_file(o.slo) if o.slo is not None else default_slo()
    open_ended = locustfile is not None and locustfile.requests.open_ended
    unsure = unmade_requests(spec, profile.requests, made_elsewhere=CATALOG_REQUESTS, open_ended=open_ended)
    if unsure and locustfile is not None:
        lines = ", ".join(str(n) for n in locustfile.requests.dynamic_lines)
        err.print(
            f"[yellow]warning:[/] {locustfile.path} names requests at run time (lines {lines}), so "
            f"{', '.join(sorted({t.scope for t in unsure}))} cannot be checked before the run; "
            "pass name='...' to those requests to have it checked",
            highlight=False,
        )
    return applicable(spec, profile.requests)


@dataclass(frozen=True)
class BaselineChoice:
    source: str
    result: LoadResult
    rule: RegressionRule


def _baseline(o: LoadOptions, plan: PlanKey) -> BaselineChoice | None:
    """The baseline to compare with, refused up front (before any load) when it cannot be compared."""
    if o.baseline is None:
        if o.regression_factor is not None:
            raise UsageProblem("--regression-factor needs --baseline FILE (the run to compare with)")
        return None
    rule = RegressionRule(factor=o.regression_factor if o.regression_factor is not None else DEFAULT_FACTOR)
    source = str(resolve_baseline_path(o.baseline))
    result = read_baseline(o.baseline)
    ensure_comparable(result, plan, source=source)
    return BaselineChoice(source=source, result=result, rule=rule)


def _run_with_display(
    launch: LocustLaunch,
    plan: RunPlan,
    timeout: float | None,
    progress: bool | None,
    *,
    title: str,
    fleet: WorkerFleet | None = None,
) -> Any:
    live_display = err.is_terminal if progress is None else progress
    if live_display and err.is_terminal:
        with Live(display.progress_panel(None, title), console=err, refresh_per_second=2) as live:
            return run_locust(
                launch,
                plan,
                timeout_s=timeout,
                on_progress=lambda p: live.update(display.progress_panel(p, title)),
                fleet=fleet,
            )
    last_print = [0.0]

    def print_line(p: dict[str, Any]) -> None:
        if live_display and time.monotonic() - last_print[0] >= PROGRESS_LINE_EVERY_S:
            last_print[0] = time.monotonic()
            err.print(display.progress_line(p), highlight=False)

    return run_locust(launch, plan, timeout_s=timeout, on_progress=print_line, fleet=fleet)


def _finish(
    plan: RunPlan,
    out_dir: Path,
    thresholds: Any,
    timed_out: bool,
    interrupted: str | None,
    comparison: BaselineChoice | None = None,
    *,
    ui: bool = False,
) -> int:
    """Judge and publish the run. `interrupted` names the signal that cut the run short (exit 2)."""
    measurements_path = Path(plan["measurements_file"])
    if not measurements_path.exists():
        if interrupted:
            err.print(f"[yellow]interrupted[/] ({interrupted}) before Locust measured anything; nothing to judge")
            return EXIT_USAGE
        log = tail(out_dir / "locust.out") or tail(out_dir / "locust.log")
        why = "timed out" if timed_out else "ended without measurements"
        raise EnvironmentProblem(f"Locust {why}; see {out_dir}/locust.out:\n{log}")
    measurements = read_measurements(measurements_path)
    if interrupted and measurements["aborted"] is None:
        measurements["aborted"] = {
            "at_s": measurements["ended_at"] - measurements["started_at"],
            "reason": INTERRUPTED if interrupted == "SIGINT" else f"{INTERRUPTED} ({interrupted})",
        }
    verdicts = judge(measurements, thresholds)
    result = build_result(plan, measurements, verdicts)
    if comparison is not None:
        report = build_report(result, comparison.result, comparison.rule, source=comparison.source)
        result = with_baseline(result, report)
    write_json(out_dir / "results.json", result)
    out.print(display.summary_table(result))
    out.print(Group(*display.verdict_lines(result)))
    err.print(f"results: {out_dir / 'results.json'}")
    if interrupted:
        err.print(
            f"[yellow]interrupted[/] ({interrupted}) after {result['run']['duration_s']:.1f} s: the partial "
            "results above are kept but not judged; exit 2",
            highlight=False,
        )
        return EXIT_USAGE
    if timed_out:
        return EXIT_USAGE
    if ui and result["overall"]["requests"] == 0:
        err.print("[red]error:[/] no load ran: start a run in Locust's web UI before ending it with Ctrl-C")
        return EXIT_USAGE
    return EXIT_OK if result["passed"] else EXIT_FAILED


def _breakpoint(o: LoadOptions, mode: Mode, started: str) -> int:
    """--scenario breakpoint: `rate` steps (each a whole run of this command) climbing until an SLO breaks."""
    given = (("--rate", o.rate), ("--duration", o.duration), ("--baseline", o.baseline))
    for flag, value in given:
        if value is not None:
            raise UsageProblem(
                f"{flag} does not apply to --scenario breakpoint: --start, --step, --every and --max set the steps"
            )
    if o.ui:
        raise UsageProblem("--ui cannot drive --scenario breakpoint: it runs its steps headless; drop --ui")
    try:
        every_s = parse_any_duration(o.every, option="--every") if o.every is not None else None
    except DurationError as exc:
        raise UsageProblem(str(exc)) from None
    scale = o.scale if o.scale is not None else (1.0 if mode == "master" else LOCAL_SCALE)
    steps = ladder(start=o.start, step=o.step, every_s=every_s, max_per_s=o.max_rate, scale=scale, repeats=o.repeats)
    profile, locustfile = _profile(o)  # refused now, not after the first step's set-up
    _thresholds(o, profile, locustfile)
    resolved = _resolve_target(o.target, o.state_dir)
    if locustfile is None:
        for_target(profile, allow_signups=resolved.allow_signups, target=resolved.url)  # onboarding: refused now
    name = f"{started}-{uuid.uuid4().hex[:6]}-{o.profile or 'locustfile'}-breakpoint"
    out_dir = (o.out_dir or resolve_state_dir(o.state_dir) / "load" / name).resolve()  # made by the first step
    err.print(
        f"breakpoint: at most {len(steps.rates())} steps, {steps.start_per_s:g}/s up to {steps.max_per_s:g}/s"
        f" by {steps.step_per_s:g}/s, {steps.every_s:g} s each"
        + (f", each step run {steps.repeats} times" if steps.repeats > 1 else "")
        + f"; results in {out_dir}"
    )

    def run_step(rate: float, step_dir: Path) -> int:
        one = replace(o, scenario="rate", rate=rate, duration=f"{steps.every_s:g}", out_dir=step_dir)
        return _load(replace(one, start=None, step=None, every=None, max_rate=None, repeats=None, sign_in_first=True))

    return climb(steps, run_step, out_dir, out=out, err=err)


def _docker_target(url: str, resolved: Target) -> WorkerTarget:
    """The target as worker containers reach it (a Docker stack's API on its network)."""
    stack = load_state(Path(resolved.stack_marker)) if resolved.stack_marker else None
    return container_target(url, stack)


def _run_docker_workers(
    launch: LocustLaunch,
    plan: RunPlan,
    timeout: float | None,
    progress: bool | None,
    *,
    title: str,
    target: WorkerTarget,
) -> tuple[Any, TallyCheck]:
    """--worker-backend docker: the master here on the run's network gateway, the workers in containers."""
    from gauntlet.load import docker_workers
    from gauntlet.load.runner import SHUTDOWN_GRACE_S

    accounts = plan["users"]["accounts_file"]
    with docker_workers.fleet(
        run_id=plan["run_id"].lower(),
        count=launch.workers,
        target=target,
        out_dir=launch.out_dir,
        locustfiles=launch.locustfiles,
        user_classes=launch.user_classes,
        master_port=launch.master_port,
        grace_s=SHUTDOWN_GRACE_S,
        extra_binds={str(Path(accounts).parent): str(Path(accounts).parent)} if accounts else None,
    ) as fleet:
        err.print(f"workers: {fleet.count} containers of {fleet.image} on network {fleet.network}; "
                  f"master on {fleet.gateway}:{launch.master_port}")  # fmt: skip
        if fleet.stale:
            err.print(f"[yellow]warning:[/] {fleet.image} was built from other load code than this checkout's: "
                      f"its workers may not match this master; rebuild it ({docker_workers.BUILD_HINT})")  # fmt: skip
        on_network = replace(launch, master_bind_host=fleet.gateway, master_host=fleet.gateway)
        end = _run_with_display(on_network, plan, timeout, progress, title=title, fleet=fleet)
    measurements = Path(plan["measurements_file"])
    merged = merged_requests(read_measurements(measurements)["names"]) if measurements.exists() else 0
    return end, fleet.check(merged)


def _judge_tallies(code: int, tallies: TallyCheck | None, out_dir: Path, *, interrupted: bool) -> int:
    """Docker workers: the merged HDR result must count exactly what the workers recorded."""
    if tallies is None:
        return code
    write_json(out_dir / "workers.json", tallies.to_json())
    if tallies.ok:
        err.print(f"workers: {tallies.describe()}", highlight=False)
        return code
    if interrupted:
        err.print(f"[yellow]note:[/] interrupted: {tallies.describe()}", highlight=False)
        return code
    err.print(f"[red]error:[/] {tallies.describe()}; see {out_dir}/locust-worker-*.log", highlight=False)
    return EXIT_USAGE
