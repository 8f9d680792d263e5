"""`gauntlet monitor [run]` and `gauntlet monitor serve`: the synthetic monitor's commands.

Exit codes: 0 the final status is green or yellow, 1 it is red (bounded runs, or a stopped
loop), 2 usage or environment error (one line naming the problem). SIGTERM (systemd,
Kubernetes) ends the loop after the current run.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlparse

import typer
from rich.console import Console

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, GauntletError
from gauntlet.cliutil import DefaultSubcommandGroup
from gauntlet.journeys.monitor.schedule import DurationError, Schedule, parse_duration
from gauntlet.journeys.monitor.status import AlertPolicy, PolicyError

if TYPE_CHECKING:
    from gauntlet.journeys.monitor.runner import RunReport
    from gauntlet.load.outputs import OutputDict, RequestOutputs

err = Console(stderr=True)
MONITOR_DIR = "monitor"
DEFAULT_PORT = 8787


class _RunByDefault(DefaultSubcommandGroup):
    """`gauntlet monitor --every 60s` means `gauntlet monitor run --every 60s`; `--help` lists the commands only."""

    default_command = "run"


monitor_app = typer.Typer(
    cls=_RunByDefault,
    name="monitor",
    help="Run the synthetic journeys on a schedule; status page, metrics and alerts. "
    "`gauntlet monitor [OPTIONS]` is `gauntlet monitor run [OPTIONS]`.\n\n"
    "Example: gauntlet monitor run --every 60s --webhook https://hooks.slack.com/services/T0/B0/X\n\n"
    "Example: gauntlet monitor run --every 60s --alert mailto://ops:PASS@example.com --alerts examples/alerts.toml\n\n"
    "Example: gauntlet monitor run --every 60s --out json=monitor.jsonl --out otlp=http://127.0.0.1:4318/v1/metrics",
    add_completion=False,
)


class UsageProblem(GauntletError):
    """A monitor option that cannot work as given."""


def register(app: typer.Typer) -> None:
    """Add `gauntlet monitor` (run is the default) and `gauntlet monitor serve` to the main app."""
    app.add_typer(monitor_app, name="monitor")


Every = Annotated[str, typer.Option("--every", help="Period between run starts: 60 (seconds), 60s, 5m, 1h")]
Jitter = Annotated[
    str | None, typer.Option("--jitter", help="Random delay added to each start [default: a tenth of --every]")
]
Target = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="A target file (gauntlet-target.toml: its accounts, keys, URLs) or a platform URL "
        "[env GAUNTLET_TARGET_FILE; default: the running stack]",
    ),
]
ServiceKey = Annotated[
    str | None,
    typer.Option(
        "--service-key", envvar="GAUNTLET_SERVICE_KEY", help="For the queue health views [default: the stack's]"
    ),
]
Journeys = Annotated[
    str | None,
    typer.Option(
        "--journeys",
        help="Comma-separated built-in journeys and journey files (PATH or PATH::test_name); default: the built-ins",
    ),
]
Retries = Annotated[int, typer.Option("--retries", help="Retries of a failed journey before it counts as failed")]
FailAfter = Annotated[int, typer.Option("--fail-after", help="Consecutive failures before a check turns red (K)")]
Cooldown = Annotated[str, typer.Option("--cooldown", help="No second red alert for a check within this")]
Webhook = Annotated[
    str | None,
    typer.Option("--webhook", envvar="GAUNTLET_MONITOR_WEBHOOK", help="Slack-compatible webhook URL for alerts"),
]
AlertUrls = Annotated[
    list[str] | None,
    typer.Option(
        "--alert",
        help="An alert channel as an Apprise URL (repeatable): mailto://, slack://, pagerduty://, opsgenie://, "
        "msteams://, json:// ...",
    ),
]
AlertsFile = Annotated[
    Path | None,
    typer.Option("--alerts", help="Alert channels file (TOML [[channel]] tables; see examples/alerts.toml)"),
]
OutSpecs = Annotated[
    list[str] | None,
    typer.Option(
        "--out",
        help="Each run's journeys, steps and probes as samples (repeatable): json=FILE (a JSON line each), "
        "prometheus[=HOST:PORT] (/metrics), otlp[=URL] (OpenTelemetry metrics over OTLP/HTTP)",
    ),
]
HistoryOpt = Annotated[
    Path | None, typer.Option("--history", help="SQLite history [default STATE_DIR/monitor/history.sqlite3]")
]
PageOpt = Annotated[
    Path | None,
    typer.Option("--page", help="Status page written after every run [default STATE_DIR/monitor/status.html]"),
]
Artifacts = Annotated[
    Path | None, typer.Option("--artifacts", help="Screenshots and traces [default STATE_DIR/monitor/artifacts]")
]
MaxRuns = Annotated[int | None, typer.Option("--max-runs", help="Stop after N runs")]
For = Annotated[str | None, typer.Option("--for", help="Stop starting runs after this long: 10m, 1h")]
Retention = Annotated[str, typer.Option("--retention", help="Keep history and artifacts this long")]
SlowAt = Annotated[
    float, typer.Option("--slow-at", help="A passing step over this share of its budget is slow (yellow)")
]
Probes = Annotated[bool, typer.Option("--probes/--no-probes", help="Probe /functions/v1/health and the queue views")]
JourneyTimeout = Annotated[
    str | None, typer.Option("--journey-timeout", help="Kill a journey after this [default: its budget + 30s]")
]
PageUrl = Annotated[str | None, typer.Option("--page-url", help="Where people see the status page (linked in alerts)")]
Headed = Annotated[bool, typer.Option("--headed", help="Show the browser (local debugging)")]
StateDir = Annotated[
    Path | None, typer.Option("--state-dir", help="State dir of the running stack [default .gauntlet]")
]


@monitor_app.command("run")
def run(
    every: Every = "60s",
    jitter: Jitter = None,
    target: Target = None,
    service_key: ServiceKey = None,
    journeys: Journeys = None,
    retries: Retries = 1,
    fail_after: FailAfter = 3,
    cooldown: Cooldown = "30m",
    webhook: Webhook = None,
    alert: AlertUrls = None,
    alerts: AlertsFile = None,
    out_specs: OutSpecs = None,
    history: HistoryOpt = None,
    page: PageOpt = None,
    artifacts: Artifacts = None,
    max_runs: MaxRuns = None,
    for_: For = None,
    retention: Retention = "14d",
    slow_at: SlowAt = 0.8,
    probes: Probes = True,
    journey_timeout: JourneyTimeout = None,
    page_url: PageUrl = None,
    headed: Headed = False,
    state_dir: StateDir = None,
) -> None:
    """Run the journeys and probes on schedule; exit 1 if the final status is red.

    Example: gauntlet monitor run --every 60s --max-runs 3

    Example: gauntlet monitor run --every 60s --journeys returning_user,examples/journeys/shop_visit.py
    """
    options = dict(locals())
    options.pop("ctx", None)
    raise typer.Exit(_monitor(**options))


@monitor_app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 = a free one)")] = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (loopback unless you say otherwise)")
    ] = "127.0.0.1",
    history: HistoryOpt = None,
    artifacts: Artifacts = None,
    state_dir: StateDir = None,
) -> None:
    """Serve the status page, /metrics, /status.json and the artifacts (read-only).

    Example: gauntlet monitor serve --port 8787
    """
    raise typer.Exit(_serve(port=port, host=host, history=history, artifacts=artifacts, state_dir=state_dir))


def monitor_dir(state_dir: Path | None) -> Path:
    from gauntlet.stack.current import resolve_state_dir

    return resolve_state_dir(state_dir) / MONITOR_DIR


def _duration(text: str, option: str, *, allow_zero: bool = False) -> float:
    try:
        return parse_duration(text, option=option, allow_zero=allow_zero)
    except DurationError as exc:
        raise UsageProblem(str(exc)) from None


def _http_url(url: str, option: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageProblem(f"{option} {url!r} is not an http(s) URL; write e.g. http://127.0.0.1:8000")
    return url


def _journey_list(text: str | None) -> dict[str, str]:
    """The journeys to run, by name -> what the journey's child process loads (a file's PATH::test_name)."""
    from gauntlet.journeys.files import is_file_spec
    from gauntlet.journeys.monitor.journey_adapter import journey_names, journey_sources

    known = journey_names()
    if text is None:
        return {name: name for name in known}
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    choose = f"choose from {', '.join(known)}, or give journey files (PATH or PATH::test_name)"
    if not names:
        raise UsageProblem(f"--journeys {text!r} names no journey; {choose}")
    unknown = [n for n in names if n not in known and not is_file_spec(n)]
    if unknown:
        raise UsageProblem(f"--journeys: unknown journey {', '.join(map(repr, unknown))}; {choose}")
    if len(set(names)) != len(names):
        raise UsageProblem(f"--journeys {text!r} names a journey twice")
    return journey_sources(names)  # a journey file that cannot run: exit 2 naming its line and the fix


@dataclass(frozen=True)
class MonitorTarget:
    pages_url: str  # where the journeys open pages
    api_url: str  # what the probes call
    service_key: str | None
    accounts_file: Path | None
    remote: bool  # a deployment named by --target (not the running stack): accounts, never sign-ups


def _resolve_target(target: str | None, service_key: str | None, state_dir: Path | None) -> MonitorTarget:
    """The running stack, or the deployment of `--target URL|FILE` (or $GAUNTLET_TARGET_FILE)."""
    from gauntlet.target import resolve_target

    described = resolve_target(target)
    if described is not None:
        key = service_key or described.service_key
        return MonitorTarget(described.pages_url, described.api_url, key, described.accounts_file, remote=True)
    from gauntlet.stack.current import running_state

    state = running_state(state_dir)  # StackNotRunning names `gauntlet up` and --target
    url = state.api_url.rstrip("/")
    return MonitorTarget(url, url, service_key or state.service_key or None, None, remote=False)


def without_signup_loops(
    names: tuple[str, ...], *, named: bool, where: MonitorTarget, sources: dict[str, str] | None = None
) -> tuple[str, ...]:
    """Against a target, the journeys run as the target's accounts and none signs a user up every run.

    A journey that signs up on every run is left out of the default list, and refused when named;
    the others need the target's accounts file (they sign in as its users, never sign up).
    """
    if not where.remote:
        return names
    from gauntlet.journeys.monitor.journey_adapter import signs_up_every_run

    looping = [name for name in names if signs_up_every_run((sources or {}).get(name, name))]
    if named and looping:
        raise UsageProblem(
            f"--journeys: {', '.join(looping)} signs a new user up on every run; against a target the monitor "
            "never signs users up in a loop: leave it out (run it once with `gauntlet journey run`)"
        )
    kept = tuple(name for name in names if name not in looping)
    if kept and where.accounts_file is None:
        raise UsageProblem(
            f"the monitor against {where.api_url} signs in as the target's accounts and never signs users up: "
            "set accounts_file in the target file (`gauntlet target accounts create --count 2`) or "
            "GAUNTLET_ACCOUNTS_FILE"
        )
    if where.accounts_file is not None:
        from gauntlet.load.profiles.accounts import load_accounts

        load_accounts(where.accounts_file)  # a wrong file: exit 2 now, not a red journey every minute
    return kept


def _monitor(
    *,
    every: str,
    jitter: str | None,
    target: str | None,
    service_key: str | None,
    journeys: str | None,
    retries: int,
    fail_after: int,
    cooldown: str,
    webhook: str | None,
    alert: list[str] | None,
    alerts: Path | None,
    out_specs: list[str] | None,
    history: Path | None,
    page: Path | None,
    artifacts: Path | None,
    max_runs: int | None,
    for_: str | None,
    retention: str,
    slow_at: float,
    probes: bool,
    journey_timeout: str | None,
    page_url: str | None,
    headed: bool,
    state_dir: Path | None,
) -> int:
    from gauntlet.base.logfmt import configure_logging
    from gauntlet.journeys.monitor.alerts import AlertSink, NoSink, WebhookSink
    from gauntlet.journeys.monitor.channels import NamedSink, channels_for
    from gauntlet.journeys.monitor.history import History, HistoryError
    from gauntlet.journeys.monitor.journey_adapter import SubprocessJourneys
    from gauntlet.journeys.monitor.probes import HttpProber
    from gauntlet.journeys.monitor.runner import Monitor, MonitorBusy, MonitorConfig, SystemClock, exclusive

    # Every option is checked before anything runs or touches the disk.
    every_s = _duration(every, "--every")
    jitter_s = _duration(jitter, "--jitter", allow_zero=True) if jitter is not None else every_s / 10
    try:
        schedule = Schedule(
            every_s=every_s,
            jitter_s=jitter_s,
            max_runs=max_runs,
            max_duration_s=_duration(for_, "--for") if for_ is not None else None,
        )
        policy = AlertPolicy(fail_after=fail_after, cooldown_s=_duration(cooldown, "--cooldown", allow_zero=True))
    except (DurationError, PolicyError) as exc:
        raise UsageProblem(str(exc)) from None
    if retries < 0:
        raise UsageProblem(f"--retries must be 0 or more, got {retries}")
    if not 0 < slow_at <= 1:
        raise UsageProblem(f"--slow-at {slow_at:g}: give a share of the step budget, more than 0 and at most 1")
    retention_s = _duration(retention, "--retention")
    timeout_s = _duration(journey_timeout, "--journey-timeout") if journey_timeout is not None else None
    sources = _journey_list(journeys)
    names = tuple(sources)
    webhook_url = _http_url(webhook, "--webhook") if webhook else None
    webhook_sink = WebhookSink(webhook_url) if webhook_url else None
    channels = channels_for(
        alerts=alert or [],
        alerts_file=alerts,
        webhook=NamedSink("--webhook", webhook_sink) if webhook_sink else None,
    )
    page_link = _http_url(page_url, "--page-url") if page_url else None
    outputs = _outputs(out_specs)
    where = _resolve_target(target, service_key, state_dir)
    names = without_signup_loops(names, named=journeys is not None, where=where, sources=sources)
    base, key = where.pages_url, where.service_key

    home = monitor_dir(state_dir)
    history_path = (history or home / "history.sqlite3").resolve()
    page_path = (page or home / "status.html").resolve()
    config = MonitorConfig(
        target=base,
        journeys=names,
        schedule=schedule,
        policy=policy,
        retries=retries,
        slow_fraction=slow_at,
        artifacts_dir=(artifacts or home / "artifacts").resolve(),
        page_path=page_path,
        metrics_path=page_path.with_name("metrics.prom"),
        retention_s=retention_s,
        page_url=page_link,
    )
    # The console line per run is the progress report; logfmt carries the warnings (alerts, overruns).
    configure_logging(logging.WARNING)
    stop = threading.Event()
    sink: AlertSink = channels or NoSink()
    prober = HttpProber(where.api_url, service_key=key) if probes else None
    streams = _open_streams(outputs)
    err.print(
        f"monitor: {', '.join(names)} against {base} every {every} (jitter up to {jitter_s:g}s), "
        f"red after {fail_after} failures; page {page_path}",
        soft_wrap=True,
        highlight=False,
    )
    try:
        with exclusive(history_path), History(history_path) as store, _stop_on_sigterm(stop):
            monitor = Monitor(
                config,
                journeys=SubprocessJourneys(
                    service_key=key,
                    headed=headed,
                    timeout_s=timeout_s,
                    accounts_file=where.accounts_file,
                    sources=sources,
                ),
                prober=prober,
                history=store,
                sink=sink,
                clock=SystemClock(stop),
                on_run=_print_run if streams is None else _print_and_stream(streams),
            )
            report = monitor.run()
    except (MonitorBusy, HistoryError) as exc:
        raise UsageProblem(str(exc)) from None
    finally:
        if webhook_sink is not None:
            webhook_sink.close()
        if prober is not None:
            prober.close()
        if streams is not None:
            streams.close()
    colour = report.final_colour
    err.print(
        f"monitor: {len(report.runs)} run(s), final status {colour}" + (" (stopped)" if report.stopped_early else "")
    )
    return EXIT_FAILED if colour == "red" else EXIT_OK


def _outputs(values: list[str] | None) -> tuple[OutputDict, ...]:
    """`--out json=FILE|prometheus[=HOST:PORT]|otlp[=URL]`, checked before anything runs."""
    from gauntlet.load.outputs import OutputProblem, streams_only

    try:
        return streams_only(values, files_go_to="the monitor's files go to --history/--page/--artifacts")
    except OutputProblem as exc:
        raise UsageProblem(str(exc)) from None


def _open_streams(outputs: tuple[OutputDict, ...]) -> RequestOutputs | None:
    if not outputs:
        return None
    from gauntlet.journeys.monitor.outputs import MONITOR
    from gauntlet.load.outputs import RequestOutputs

    return RequestOutputs(outputs, MONITOR)


def _print_and_stream(streams: RequestOutputs) -> Callable[[RunReport], None]:
    from gauntlet.journeys.monitor.outputs import samples_of

    def on_run(report: RunReport) -> None:
        _print_run(report)
        for sample in samples_of(report.record):
            streams.record(at_s=sample.at_s, name=sample.name, latency_ms=sample.ms, ok=sample.ok)
        streams.flush()

    return on_run


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM ends the loop after the current run (systemd stop, Kubernetes pod shutdown)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. under a test runner)
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_run(report: RunReport) -> None:
    parts = [
        f"{o.name} {o.verdict} {o.final.duration_ms / 1000:.1f}s"
        + (f" ({len(o.attempts)} attempts)" if len(o.attempts) > 1 else "")
        for o in report.record.outcomes
    ]
    parts += [f"{p.name} {p.status}" for p in report.record.probes]
    line = f"run {report.run_id}: [{report.colour}]{report.colour.upper()}[/] " + ", ".join(parts)
    if report.alerts:
        sent = (
            "sent"
            if report.delivery and report.delivery.delivered
            else f"NOT delivered ({report.delivery.error if report.delivery else '?'})"
        )
        line += f"; alert {sent}: " + ", ".join(f"{a.check} {a.kind}" for a in report.alerts)
    err.print(line, soft_wrap=True, highlight=False)


def _serve(*, port: int, host: str, history: Path | None, artifacts: Path | None, state_dir: Path | None) -> int:
    from gauntlet.journeys.monitor.serve import LOOPBACK, ServeConfig, make_server

    if not 0 <= port <= 65535:
        raise UsageProblem(f"--port {port} is not a port (0-65535)")
    home = monitor_dir(state_dir)
    config = ServeConfig(
        history_path=(history or home / "history.sqlite3").resolve(),
        artifacts_dir=(artifacts or home / "artifacts").resolve(),
        host=host,
        port=port,
    )
    try:
        server = make_server(config)
    except OSError as exc:
        raise UsageProblem(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port") from None
    if host not in LOOPBACK:
        err.print(
            f"[yellow]warning:[/] listening on {host}, not loopback: whoever reaches it sees status and artifacts"
        )
    bound_port = server.server_address[1]
    err.print(f"status page on http://{host}:{bound_port}/ (metrics at /metrics); Ctrl-C stops", highlight=False)
    with server:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0
