"""Gauntlet's measurement inside a Locust process: HDR recording, shipping, progress, abort, shape.

Roles: `local` (one process does everything), `worker` (records and ships
its histograms to the master with each Locust report), `master` (merges,
watches thresholds, writes the measurements at quit). `install(events)` wires
it all from the locustfile; `setup_*_listeners` are the pieces.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust import LoadTestShape
from locust.env import Environment
from locust.event import EventHook, Events
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, Runner, WorkerRunner

from gauntlet.load.arrivals import SIGN_IN_WARM_UP_S, ArrivalReport, ArrivalSchedule, StartPolicy, merge_reports
from gauntlet.load.hdr import LatencyRecorder, RecorderSnapshot, decode, percentile_ms
from gauntlet.load.outputs import JsonLines, RequestMetrics, open_metrics
from gauntlet.load.pacing import ArrivalPacer
from gauntlet.load.plan import (
    DRAIN_S,
    LOCUST_REPORT_INTERVAL_S,
    WORKER_TALLY,
    Role,
    RunPlan,
    UserConfig,
    read_plan,
    stages_from_dicts,
    thresholds_from_dicts,
    user_config_from_json,
)
from gauntlet.load.profiles import base
from gauntlet.load.profiles.accounts import AccountsFileError, fresh_accounts, load_accounts, round_robin
from gauntlet.load.results import (
    MEASUREMENTS_VERSION,
    AbortRecord,
    ErrorRecord,
    LocustPercentiles,
    Measurements,
    UsersSample,
    write_json,
)
from gauntlet.load.runner import USERS_ENV
from gauntlet.load.shapes import RATE_DRAIN_S, StageTable
from gauntlet.load.thresholds import OVERALL, HistogramMetrics, ScopeMetrics, already_lost, evaluate

logger = logging.getLogger("gauntlet.load")
REPORT_KEY = "gauntlet"
# The master keeps per-second histograms this long for late worker reports, then summarises them.
SERIES_OPEN_S = 30
ABORT_CHECK_EVERY_S = 2.0
assert WORKER_REPORT_INTERVAL == LOCUST_REPORT_INTERVAL_S, "Locust changed its report interval: update plan.py"


def _listen(hook: EventHook, handler: Callable[..., None]) -> None:
    """Add a listener (Locust's EventHook is untyped; this is the one place that says so)."""
    hook.add_listener(handler)  # type: ignore[no-untyped-call]


def add_options(parser: Any) -> None:
    parser.add_argument("--gauntlet-plan", default="", help="run plan JSON written by `gauntlet load`")
    # From the environment (`gauntlet load` never puts the API key on a command line, where `ps` shows it).
    parser.add_argument(
        "--gauntlet-users",
        default="",
        env_var=USERS_ENV,
        help="user config JSON (forwarded to workers)",
    )


def role_of(runner: Runner | None) -> Role:
    if isinstance(runner, MasterRunner):
        return "master"
    if isinstance(runner, WorkerRunner):
        return "worker"
    return "local"


def scopes_of_recorder(recorder: LatencyRecorder) -> dict[str, ScopeMetrics]:
    scopes: dict[str, ScopeMetrics] = {
        name: HistogramMetrics(t.histogram, t.requests, t.failures) for name, t in recorder.names.items()
    }
    scopes[OVERALL] = HistogramMetrics(
        recorder.overall(),
        sum(t.requests for t in recorder.names.values()),
        sum(t.failures for t in recorder.names.values()),
    )
    return scopes


@dataclass
class RunController:
    """The state of one run in one process."""

    role: Role
    plan: RunPlan | None = None
    table: StageTable | None = None
    recorder: LatencyRecorder = field(default_factory=LatencyRecorder)
    started_at: float | None = None
    load_ended_at: float | None = None
    drain_until_s: float | None = None
    aborted: AbortRecord | None = None
    users: list[UsersSample] = field(default_factory=list)
    worker_arrivals: dict[str, ArrivalReport] = field(default_factory=dict)
    workers_seen: set[str] = field(default_factory=set)
    pacer: ArrivalPacer | None = None
    rate_mode: bool = False
    # --out json=FILE (generators) and --out prometheus (local or master): load/outputs.py
    json_out: JsonLines | None = None
    metrics: list[RequestMetrics] = field(default_factory=list)  # --out prometheus / otlp
    # A worker's own count of the requests it recorded and shipped (logged at quit: WORKER_TALLY).
    recorded: int = 0
    shipped: int = 0
    outputs_opened: bool = False

    def tick(self, run_time_s: float) -> tuple[int, float] | None:
        """The shape: the stage table, stopped early on abort, then (with workers) a short drain."""
        if self.table is None:
            return None
        target = None if self.aborted or self._warmed_schedule_done() else self.table.tick(run_time_s)
        if target is not None:
            return target
        if self.load_ended_at is None:
            self.load_ended_at = time.time()
        if self.role != "master":
            return None
        if self.drain_until_s is None:
            self.drain_until_s = run_time_s + DRAIN_S
        return (0, float(max(self.table.peak_users, 1))) if run_time_s < self.drain_until_s else None

    def _warmed_schedule_done(self) -> bool:
        """A run whose slots signed in first ends once its schedule and drain are over, not at its warm-up allowance."""
        pacer = self.pacer
        if pacer is None or self.plan is None or not self.plan["users"].get("sign_in_first"):
            return False
        elapsed = pacer.elapsed_s()
        return elapsed is not None and elapsed >= pacer.schedule.duration_s + RATE_DRAIN_S

    def arrivals(self) -> ArrivalReport | None:
        if self.role == "master":
            return merge_reports(list(self.worker_arrivals.values()))
        return self.pacer.report() if self.pacer is not None else None

    def load_duration_s(self, now: float) -> float:
        if self.started_at is None:
            return 0.0
        if self.plan is not None and self.plan["users"]["rate_duration_s"]:
            return float(self.plan["users"]["rate_duration_s"])
        return (self.load_ended_at or now) - self.started_at


CONTROLLER = RunController(role="local")


class GauntletShape(LoadTestShape):
    """Locust's hook into the controller: pass the run time in, get (users, spawn rate) back."""

    def tick(self) -> tuple[int, float] | None:
        run_time: float = self.get_run_time()  # type: ignore[no-untyped-call]
        return CONTROLLER.tick(run_time)


# -- listeners ----------------------------------------------------------------------------------------


def setup_recorder_listeners(events: Events, controller: RunController) -> None:
    """Record every request (all roles); ship deltas (worker) or merge them (master)."""

    def on_request(
        name: str,
        response_time: float | None,
        exception: BaseException | None = None,
        context: dict[str, Any] | None = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        latency = response_time or 0.0
        if context:  # Locust's per-request copy; only the open model puts anything in it
            latency += context.get("lateness_ms", 0.0)
        at_s = start_time + latency / 1000.0 if start_time else time.time()
        controller.recorder.record(name, latency, failed=exception is not None, at_s=at_s)
        controller.recorded += 1
        if controller.json_out is not None:
            controller.json_out.record(at_s=at_s, name=name, latency_ms=latency, ok=exception is None)
        for metrics in controller.metrics:
            metrics.record(name, latency, ok=exception is None)

    def on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
        arrivals = controller.pacer.report() if controller.pacer is not None else None
        snapshot = controller.recorder.drain()
        controller.shipped += sum(tally["requests"] for tally in snapshot["names"].values())
        data[REPORT_KEY] = {"hdr": snapshot, "arrivals": arrivals}

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        part = data.get(REPORT_KEY)
        if not part:
            return
        controller.workers_seen.add(client_id)
        snapshot: RecorderSnapshot = part["hdr"]
        controller.recorder.merge(snapshot)
        for metrics in controller.metrics:
            for name, tally in snapshot["names"].items():
                metrics.add(
                    name, requests=tally["requests"], failures=tally["failures"], histogram=decode(tally["hdr"])
                )
        if part.get("arrivals"):
            controller.worker_arrivals[client_id] = part["arrivals"]

    _listen(events.request, on_request)
    if controller.role == "worker":
        _listen(events.report_to_master, on_report_to_master)
    if controller.role == "master":
        _listen(events.worker_report, on_worker_report)


def _user_config(environment: Environment) -> UserConfig | None:
    text = getattr(environment.parsed_options, "gauntlet_users", "") if environment.parsed_options else ""
    return user_config_from_json(text) if text else None


def _prepare_generator(environment: Environment, controller: RunController) -> None:
    """Share the user config, accounts and (open model) pacer with this process's users."""
    config = _user_config(environment)
    runtime = base.RUNTIME
    runtime.config = config
    tag = uuid.uuid4().hex[:8]
    runtime.fresh = fresh_accounts(config["run_id"] if config else "run", tag)
    runtime.fixture_accounts = None
    if config and config["accounts_file"]:
        try:
            accounts = load_accounts(Path(config["accounts_file"]))
            runtime.fixture_accounts = round_robin(accounts, rng=random.Random())
        except AccountsFileError as exc:
            logger.error("%s; these users sign up fresh accounts instead", exc)
    runtime.pacer = None
    controller.rate_mode = bool(config and config["rate_per_s"])
    if config and config["rate_per_s"] and config["rate_duration_s"]:
        schedule = ArrivalSchedule(
            rate_per_s=config["rate_per_s"] / max(config["generators"], 1), duration_s=config["rate_duration_s"]
        )
        policy = StartPolicy(late_after_s=config["late_after_s"], give_up_after_s=config["give_up_after_s"])
        runtime.pacer = controller.pacer = ArrivalPacer(schedule, policy)


def open_outputs(environment: Environment, controller: RunController) -> None:
    """Once per process: the JSON lines where requests are made, Prometheus where they are all seen."""
    if controller.outputs_opened:
        return
    controller.outputs_opened = True
    config = _user_config(environment)
    for output in config.get("outputs", []) if config else []:
        if output["kind"] == "json" and controller.role != "master":
            controller.json_out = JsonLines(Path(output["target"]))  # flushes once a second as requests come
        elif output["kind"] != "json" and controller.role != "worker":
            try:
                controller.metrics.append(open_metrics(output))
            except OSError as exc:
                logger.error("--out %s=%s: cannot start: %s", output["kind"], output["target"], exc)


def close_outputs(controller: RunController) -> None:
    if controller.json_out is not None:
        controller.json_out.close()
        controller.json_out = None
    for metrics in controller.metrics:
        metrics.close()  # OTLP: the last push, with the run's final counts
    controller.metrics = []


def setup_lifecycle_listeners(events: Events, controller: RunController) -> None:
    def on_test_start(environment: Environment, **_: Any) -> None:
        controller.recorder = LatencyRecorder()
        open_outputs(environment, controller)
        if controller.role != "master":
            _prepare_generator(environment, controller)
        if controller.role != "worker" and controller.started_at is None:
            controller.started_at = time.time()

    def on_spawning_complete(user_count: int, **_: Any) -> None:
        if controller.pacer is not None and not controller.pacer.started:
            config = base.RUNTIME.config
            if config and config.get("sign_in_first"):
                controller.pacer.start_when_ready(user_count, SIGN_IN_WARM_UP_S)
            else:
                controller.pacer.start()

    def on_test_stop(environment: Environment, **_: Any) -> None:
        if controller.pacer is not None:
            controller.pacer.close()
        if controller.role != "worker" and controller.load_ended_at is None:
            controller.load_ended_at = time.time()
        if controller.json_out is not None:
            controller.json_out.flush()

    _listen(events.test_start, on_test_start)
    _listen(events.spawning_complete, on_spawning_complete)
    _listen(events.test_stop, on_test_stop)


def _errors(runner: Runner) -> list[ErrorRecord]:
    found = [
        ErrorRecord(name=e.name, method=e.method, error=str(e.error), occurrences=e.occurrences)
        for e in runner.stats.errors.values()
    ]
    return sorted(found, key=lambda e: -e["occurrences"])[:50]


def _locust_percentiles(runner: Runner) -> dict[str, LocustPercentiles]:
    found: dict[str, LocustPercentiles] = {}
    for entry in runner.stats.entries.values():
        if entry.num_requests:
            found[entry.name] = LocustPercentiles(
                p50_ms=float(entry.get_response_time_percentile(0.50)),
                p95_ms=float(entry.get_response_time_percentile(0.95)),
                p99_ms=float(entry.get_response_time_percentile(0.99)),
            )
    return found


def measurements_of(controller: RunController, runner: Runner) -> Measurements:
    now = time.time()
    started = controller.started_at or now
    recorder = controller.recorder
    return Measurements(
        version=MEASUREMENTS_VERSION,
        role=controller.role,
        workers=len(controller.workers_seen) if controller.role == "master" else 1,
        started_at=started,
        load_ended_at=started + controller.load_duration_s(now),
        ended_at=now,
        names=recorder.snapshot()["names"],
        series=recorder.series(),
        users=controller.users,
        arrivals=controller.arrivals(),
        clamped=recorder.clamped,
        late_series_samples=recorder.late_series_samples,
        locust={"requests": runner.stats.total.num_requests, "failures": runner.stats.total.num_failures},
        locust_percentiles=_locust_percentiles(runner),
        errors=_errors(runner),
        aborted=controller.aborted,
    )


def _progress_line(controller: RunController, runner: Runner, now: float) -> dict[str, Any]:
    total = runner.stats.total
    overall = controller.recorder.overall()
    return {
        "t_s": round(now - (controller.started_at or now), 1),
        "users": runner.user_count,
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": round(total.current_rps, 1),
        "p95_ms": percentile_ms(overall, 95.0),
        "state": runner.state,
        "aborted": controller.aborted["reason"] if controller.aborted else None,
    }


def _check_abort(controller: RunController, now: float) -> None:
    plan = controller.plan
    if plan is None or controller.aborted or controller.started_at is None:
        return
    # --abort-on-fail: every threshold can end the run; else only those marked (k6's abortOnFail).
    watched = [t for t in thresholds_from_dicts(plan["thresholds"]) if plan["abort_on_fail"] or t.abort_on_fail]
    if not watched or now - controller.started_at < plan["abort_grace_s"]:
        return
    scopes = scopes_of_recorder(controller.recorder)
    verdicts = evaluate(watched, scopes, duration_s=controller.load_duration_s(now))
    lost = already_lost(verdicts, scopes, min_samples=plan["abort_min_samples"])
    if lost:
        reason = "; ".join(v.describe() for v in lost)
        controller.aborted = AbortRecord(at_s=round(now - controller.started_at, 3), reason=reason)
        logger.warning("aborting: threshold lost: %s", reason)


def monitor(controller: RunController, runner: Runner, progress_file: Path | None) -> None:
    """Once a second: sample users, summarise old seconds, write progress, check for a lost threshold."""
    last_abort_check = 0.0
    while True:
        gevent.sleep(1.0)
        if controller.started_at is None:
            continue
        now = time.time()
        controller.users.append(UsersSample(second=int(now), users=runner.user_count))
        controller.recorder.finish_seconds_before(int(now) - SERIES_OPEN_S)
        if progress_file is not None:
            with progress_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(_progress_line(controller, runner, now)) + "\n")
        if now - last_abort_check >= ABORT_CHECK_EVERY_S:
            last_abort_check = now
            _check_abort(controller, now)


def apply_user_mix(environment: Environment, mix: dict[str, int]) -> None:
    """A fixed count of users per class (the smoke scenario) instead of Locust's spread by weight.

    Only the master (or the one local process) dispatches users, so only it needs the counts.
    """
    for user_class in environment.user_classes:
        if user_class.__name__ in mix:
            user_class.fixed_count = mix[user_class.__name__]


def log_tally(controller: RunController) -> None:
    """A worker's last word: what it recorded and shipped (read from its log: load/docker_workers.py)."""
    logger.info("%s%s", WORKER_TALLY, json.dumps({"recorded": controller.recorded, "shipped": controller.shipped}))


def install(events: Events) -> None:
    """Wire everything; called once from the locustfile."""
    _listen(events.init_command_line_parser, add_options)

    def on_init(environment: Environment, runner: Runner | None = None, **_: Any) -> None:
        controller = CONTROLLER
        controller.role = role_of(runner)
        plan_path = getattr(environment.parsed_options, "gauntlet_plan", "") if environment.parsed_options else ""
        if controller.role != "worker":
            if not plan_path:
                logger.error("no --gauntlet-plan: run this locustfile through `gauntlet load`")
            else:
                controller.plan = read_plan(Path(plan_path))
                controller.table = stages_from_dicts(controller.plan["stages"])
                apply_user_mix(environment, controller.plan.get("user_mix") or {})
        setup_recorder_listeners(events, controller)
        setup_lifecycle_listeners(events, controller)
        _listen(events.quit, lambda **_: close_outputs(controller))
        if controller.role == "worker":
            _listen(events.quit, lambda **_: log_tally(controller))
            return
        if runner is None:
            return
        plan = controller.plan
        progress = Path(plan["progress_file"]) if plan else None
        gevent.spawn(monitor, controller, runner, progress)

        def on_quit(exit_code: int, **_: Any) -> None:
            if plan is not None:
                write_json(Path(plan["measurements_file"]), measurements_of(controller, runner))

        _listen(events.quit, on_quit)

    _listen(events.init, on_init)
