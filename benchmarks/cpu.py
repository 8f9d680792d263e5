"""CPU time of processes, from /proc: what a benchmark charges each request for, whatever the wall clock did.

CPU time is what a shared VM's stalls (another tenant, steal time) do not inflate, so a cost per
request read from it is steadier than any latency figure taken on the same machine.
"""

from __future__ import annotations

import contextlib
import os

import psutil


def task_cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` so far, in ns (0 once it is gone)."""
    total = 0
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with (
                contextlib.suppress(FileNotFoundError, ProcessLookupError),
                open(f"/proc/{pid}/task/{tid}/schedstat") as stat,
            ):
                total += int(stat.read().split()[0])
    return total


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (Postgres: the postmaster and its backends)."""
    try:
        return [pid] + [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_cpu_ns(pid: int) -> int:
    """CPU time so far of ``pid`` and of its descendants alive now (an exited child's time is not counted)."""
    return sum(task_cpu_ns(p) for p in process_tree(pid))
