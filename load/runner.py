"""Run Locust for `gauntlet load`: build the commands, supervise the processes, show progress.

Locust always runs in child processes (one process, or a master and K
workers), never in the CLI process itself: Locust monkey-patches the whole
interpreter with gevent, and keeping that out of the CLI (and out of pytest)
is worth a fork. The same code path serves one process, `--workers K` on
this machine and `--master`/`--worker` across machines.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.load.plan import RunPlan

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# `-f FILE`: Gauntlet's shape and measurement, run next to the person's own locustfile.
MEASURE_LOCUSTFILE = Path(__file__).with_name("measure_locustfile.py")
# Beyond the plan's own duration: process start-up, workers connecting, the drain and the summary.
STARTUP_SLACK_S = 60.0
SHUTDOWN_GRACE_S = 20.0
WORKERS_CONNECT_S = 60

Mode = Literal["local", "workers", "master", "worker"]
# The user config (it holds the API key) reaches the master through its environment, never its
# command line, where `ps` shows it to every user of the machine.
USERS_ENV = "LOCUST_GAUNTLET_USERS"
# Every process of a stack carries this variable (gauntlet.stack.processes.STACK_MARKER): a Locust
# run against the stack carries it too, so `gauntlet down` sweeps one that outlived its `gauntlet`.
STACK_MARKER = "GAUNTLET_STACK"
# Linux prctl(2): the child gets this signal when the process that started it dies.
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, kw_only=True)
class LocustLaunch:
    """How to start Locust for one run."""

    mode: Mode
    user_classes: tuple[str, ...]
    target: str
    out_dir: Path
    workers: int = 0
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    master_bind_host: str = "127.0.0.1"
    ui: bool = False
    web_port: int = 8089
    expect_workers_max_wait_s: int = WORKERS_CONNECT_S
    # The stack's state dir when the target is the stack's own API (see STACK_MARKER).
    stack_marker: str | None = None
    # The built-in profiles' locustfile, or (`-f FILE`) Gauntlet's measurement and the person's file.
    locustfiles: tuple[Path, ...] = (LOCUSTFILE,)
    # Locust's --tags / --exclude-tags (the master forwards them to its workers).
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()


def _python_locust(launch: LocustLaunch) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", ",".join(str(f) for f in launch.locustfiles)]


def master_command(launch: LocustLaunch, plan_path: Path) -> list[str]:
    """The command of the single process (mode local) or of the master (no secrets: see USERS_ENV)."""
    out = launch.out_dir
    cmd = [
        *_python_locust(launch),
        # Before the other options: each takes any number of values, up to the next option.
        *(["--tags", *launch.tags] if launch.tags else []),
        *(["--exclude-tags", *launch.exclude_tags] if launch.exclude_tags else []),
        "--host",
        launch.target,
        "--gauntlet-plan",
        str(plan_path),
        "--csv",
        str(out / "locust"),
        "--html",
        str(out / "locust.html"),
        "--logfile",
        str(out / "locust.log"),
        "--loglevel",
        "INFO",
    ]
    if launch.ui:
        cmd += ["--web-host", "127.0.0.1", "--web-port", str(launch.web_port)]
    else:
        cmd += ["--headless", "--only-summary"]
    if launch.mode in ("workers", "master"):
        cmd += [
            "--master",
            "--expect-workers",
            str(launch.workers),
            "--expect-workers-max-wait",
            str(launch.expect_workers_max_wait_s),
            "--master-bind-host",
            launch.master_bind_host,
            "--master-bind-port",
            str(launch.master_port),
        ]
    return [*cmd, *launch.user_classes]


def worker_command(launch: LocustLaunch, index: int) -> list[str]:
    return [
        *_python_locust(launch),
        "--worker",
        "--master-host",
        launch.master_host,
        "--master-port",
        str(launch.master_port),
        "--logfile",
        str(launch.out_dir / f"locust-worker-{index}.log"),
        "--loglevel",
        "INFO",
        *launch.user_classes,
    ]


@dataclass
class ProgressFeed:
    """Reads the progress lines the master appends once a second."""

    path: Path
    offset: int = 0
    latest: dict[str, Any] | None = None

    def poll(self) -> dict[str, Any] | None:
        try:
            with self.path.open("r", encoding="utf-8") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return self.latest
        complete, _, _ = chunk.rpartition("\n")
        if complete:
            self.offset += len(complete.encode("utf-8")) + 1
            for line in complete.splitlines():
                try:
                    self.latest = json.loads(line)
                except ValueError:
                    continue
        return self.latest


@dataclass
class Supervised:
    """The Locust processes of one run."""

    master: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)

    def all(self) -> list[subprocess.Popen[bytes]]:
        return ([self.master] if self.master else []) + self.workers

    def stop(self, grace_s: float) -> None:
        """SIGINT (Locust then stops and writes its results), then SIGKILL whatever is left after `grace_s`.

        SIGINT, not SIGTERM: a headless Locust running a load shape installs its SIGTERM
        handler only after the shape finishes, so SIGTERM mid-run kills it without a word.
        Each process leads its own process group; the last step kills the whole group, so
        nothing Locust started outlives the run either.
        """
        with _signals_deferred():
            for proc in self.all():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    if proc is self.master:
                        # Workers must outlive the master's shutdown so their last report reaches it.
                        _wait(proc, grace_s)
            deadline = time.monotonic() + grace_s
            for proc in self.all():
                _wait(proc, max(0.0, deadline - time.monotonic()))
                _kill_group(proc)
            for handle in self.logs:
                handle.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group `proc` leads (its own session), then reap `proc`."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    _wait(proc, 5.0)


class Interrupted(BaseException):
    """SIGTERM or SIGHUP during a run: handled like Ctrl-C (stop Locust in order, keep what it measured)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """While Locust runs, SIGTERM and SIGHUP interrupt the run as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupted(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, raise_interrupted) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """While Locust is being stopped, a second Ctrl-C or SIGTERM waits: the stop always completes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, lambda signum, _frame: pending.append(signum)) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout_s)


def die_with_parent() -> None:
    """A Popen preexec_fn (Linux): the child gets SIGKILL when its parent dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return


def locust_env(launch: LocustLaunch, secrets: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(secrets or {})}
    if launch.stack_marker is not None:
        env[STACK_MARKER] = launch.stack_marker
    return env


def _spawn(
    cmd: Sequence[str], log_path: Path, sup: Supervised, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    handle = log_path.open("ab")
    sup.logs.append(handle)
    try:
        # Own session (and process group): a terminal Ctrl-C reaches `gauntlet`, which stops Locust
        # in order; and Locust dies with `gauntlet` whatever kills it.
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )
    except OSError as exc:
        raise EnvironmentProblem(f"cannot start Locust ({cmd[0]}): {exc}") from exc


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (mode 0600 from creation on)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass(frozen=True)
class RunEnd:
    master_exit: int | None
    timed_out: bool
    interrupted: bool
    # What interrupted the run: "SIGINT" (Ctrl-C), "SIGTERM" or "SIGHUP"; None when not interrupted.
    signal_name: str | None = None


OnProgress = Callable[[dict[str, Any]], None]


class WorkerFleet(Protocol):
    """Workers started elsewhere than in child processes (`--worker-backend docker`: load/docker_workers.py)."""

    def start(self) -> None:
        """Start the workers; called once the master listens."""

    def close(self, grace_s: float) -> None:
        """Let the workers finish (within `grace_s`), then remove them; called after the master ended."""


def run_locust(
    launch: LocustLaunch,
    plan: RunPlan,
    *,
    timeout_s: float | None,
    on_progress: OnProgress | None = None,
    poll_s: float = 0.5,
    fleet: WorkerFleet | None = None,
) -> RunEnd:
    """Start the processes, follow progress until the master exits (or the time bound), stop all.

    With `fleet` (mode workers), the fleet starts the workers instead of child processes.
    """
    launch.out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = launch.out_dir / "plan.json"
    # The plan holds the API key too: only its owner reads it.
    write_private(plan_path, json.dumps(plan, indent=2, sort_keys=True))
    secrets = {USERS_ENV: json.dumps(plan["users"])}
    sup = Supervised()
    feed = ProgressFeed(Path(plan["progress_file"]))
    timed_out = False
    signal_name: str | None = None
    try:
        with _stop_signals_raise():
            try:
                master_env = locust_env(launch, secrets)
                sup.master = _spawn(master_command(launch, plan_path), launch.out_dir / "locust.out", sup, master_env)
                if fleet is not None:
                    fleet.start()
                elif launch.mode == "workers":
                    for i in range(launch.workers):
                        log = launch.out_dir / f"locust-worker-{i}.out"
                        sup.workers.append(_spawn(worker_command(launch, i), log, sup, locust_env(launch)))
                deadline = time.monotonic() + timeout_s if timeout_s is not None else None
                while sup.master.poll() is None:
                    if deadline is not None and time.monotonic() > deadline:
                        timed_out = True
                        break
                    time.sleep(poll_s)
                    latest = feed.poll()
                    if latest is not None and on_progress is not None:
                        on_progress(latest)
            except KeyboardInterrupt:
                signal_name = "SIGINT"
            except Interrupted as exc:
                signal_name = signal.Signals(exc.signum).name
            finally:
                sup.stop(SHUTDOWN_GRACE_S)
                if fleet is not None:
                    with _signals_deferred():
                        fleet.close(SHUTDOWN_GRACE_S)
    except Interrupted as exc:  # arrived between the inner handler and the restore of the handlers
        signal_name = signal_name or signal.Signals(exc.signum).name
    latest = feed.poll()
    if latest is not None and on_progress is not None:
        on_progress(latest)
    return RunEnd(
        master_exit=sup.master.returncode if sup.master else None,
        timed_out=timed_out,
        interrupted=signal_name is not None,
        signal_name=signal_name,
    )


def run_worker(launch: LocustLaunch) -> int:
    """`--worker`: one Locust worker that takes its orders (and config) from a master elsewhere."""
    launch.out_dir.mkdir(parents=True, exist_ok=True)
    sup = Supervised()
    try:
        with _stop_signals_raise():
            try:
                proc = _spawn(worker_command(launch, os.getpid()), launch.out_dir / "locust-worker.out", sup)
                sup.workers.append(proc)
                return proc.wait()
            except (KeyboardInterrupt, Interrupted):
                return 2
            finally:
                sup.stop(SHUTDOWN_GRACE_S)
    except Interrupted:
        return 2


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
