"""Starting, identifying and stopping the stack's processes.

Every service runs in its own session (so a Ctrl-C in the terminal reaches
only the supervisor, which then tears down in order) and logs to
`.gauntlet/logs/<name>.log`. A process is "ours" only when both its pid and
its start time match the record: `down` never signals a recycled pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from gauntlet.stack.state import ServiceRecord

# Every process of a stack carries this variable (its state dir) in its environment: the
# sweep after a crash finds even a process spawned just before the state file was written.
STACK_MARKER = "GAUNTLET_STACK"


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    marker: str,
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = log_dir / f"{name}.log"
    full_env = {**(env if env is not None else os.environ), STACK_MARKER: marker}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            user=user,
            cwd=cwd,
            start_new_session=True,
        )
    return proc, log_path


def stack_processes(marker: str) -> list[psutil.Process]:
    """Live processes carrying this stack's marker (reading environments needs root or the same user)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(STACK_MARKER) == marker:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def sweep(marker: str) -> list[str]:
    """Kill every leftover process of this stack; returns their names."""
    procs = stack_processes(marker)
    names = []
    for proc in procs:
        try:
            names.append(f"{proc.name()}[{proc.pid}]")
            proc.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(procs, timeout=5)
    return names


def create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def is_alive(record: ServiceRecord) -> bool:
    if record.pid is None:
        return False
    try:
        proc = psutil.Process(record.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return record.create_time is None or abs(proc.create_time() - record.create_time) < 0.01
    except psutil.Error:
        return False


def stop(record: ServiceRecord, *, sig: int = signal.SIGTERM, timeout: float = 10.0) -> bool:
    """Signal the process, wait, then SIGKILL its whole session. True when it is gone."""
    if not is_alive(record):
        return True
    assert record.pid is not None
    pid = record.pid
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    if _wait_gone(pid, timeout):
        return True
    _kill_session(pid)
    return _wait_gone(pid, 5.0)


def _kill_session(pid: int) -> None:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        children = []
    for proc in [*children, psutil.Process(pid)] if psutil.pid_exists(pid) else children:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                _reap(pid)
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
