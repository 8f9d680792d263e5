"""Run Locust for `gauntlet load`: build the commands, supervise the processes, show progress.

Locust always runs in child processes (one process, or a master and K
workers), never in the CLI process itself: Locust monkey-patches the whole
interpreter with gevent, and keeping that out of the CLI (and out of pytest)
is worth a fork. The same code path serves one process, `--workers K` on
this machine and `--master`/`--worker` across machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gauntlet.errors import EnvironmentProblem
from gauntlet.load.plan import RunPlan, write_plan

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Beyond the plan's own duration: process start-up, workers connecting, the drain and the summary.
STARTUP_SLACK_S = 60.0
SHUTDOWN_GRACE_S = 20.0
WORKERS_CONNECT_S = 60

Mode = Literal["local", "workers", "master", "worker"]


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


def _python_locust() -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]


def master_command(launch: LocustLaunch, plan_path: Path, users_json: str) -> list[str]:
    """The command of the single process (mode local) or of the master."""
    out = launch.out_dir
    cmd = [
        *_python_locust(),
        "--host",
        launch.target,
        "--gauntlet-plan",
        str(plan_path),
        "--gauntlet-users",
        users_json,
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
        *_python_locust(),
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
        """
        for proc in self.all():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                if proc is self.master:
                    # Workers must outlive the master's shutdown so their last report reaches it.
                    _wait(proc, grace_s)
        deadline = time.monotonic() + grace_s
        for proc in self.all():
            _wait(proc, max(0.0, deadline - time.monotonic()))
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        for handle in self.logs:
            handle.close()


def _wait(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout_s)


def _spawn(cmd: Sequence[str], log_path: Path, sup: Supervised) -> subprocess.Popen[bytes]:
    handle = log_path.open("ab")
    sup.logs.append(handle)
    try:
        # Own session: a terminal Ctrl-C reaches `gauntlet`, which stops Locust in order.
        return subprocess.Popen(list(cmd), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot start Locust ({cmd[0]}): {exc}") from exc


@dataclass(frozen=True)
class RunEnd:
    master_exit: int | None
    timed_out: bool
    interrupted: bool


OnProgress = Callable[[dict[str, Any]], None]


def run_locust(
    launch: LocustLaunch,
    plan: RunPlan,
    *,
    timeout_s: float | None,
    on_progress: OnProgress | None = None,
    poll_s: float = 0.5,
) -> RunEnd:
    """Start the processes, follow progress until the master exits (or the time bound), stop all."""
    launch.out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = launch.out_dir / "plan.json"
    write_plan(plan, plan_path)
    users_json = json.dumps(plan["users"])
    sup = Supervised()
    feed = ProgressFeed(Path(plan["progress_file"]))
    timed_out = interrupted = False
    try:
        sup.master = _spawn(master_command(launch, plan_path, users_json), launch.out_dir / "locust.out", sup)
        if launch.mode == "workers":
            for i in range(launch.workers):
                sup.workers.append(_spawn(worker_command(launch, i), launch.out_dir / f"locust-worker-{i}.out", sup))
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
        interrupted = True
    finally:
        sup.stop(SHUTDOWN_GRACE_S)
    latest = feed.poll()
    if latest is not None and on_progress is not None:
        on_progress(latest)
    return RunEnd(
        master_exit=sup.master.returncode if sup.master else None, timed_out=timed_out, interrupted=interrupted
    )


def run_worker(launch: LocustLaunch) -> int:
    """`--worker`: one Locust worker that takes its orders (and config) from a master elsewhere."""
    launch.out_dir.mkdir(parents=True, exist_ok=True)
    sup = Supervised()
    try:
        proc = _spawn(worker_command(launch, os.getpid()), launch.out_dir / "locust-worker.out", sup)
        sup.workers.append(proc)
        return proc.wait()
    except KeyboardInterrupt:
        return 2
    finally:
        sup.stop(SHUTDOWN_GRACE_S)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
