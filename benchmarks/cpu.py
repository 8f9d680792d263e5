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


def reaped_children_ns(pid: int) -> int:
    """CPU time of ``pid``'s children that exited and were waited for (``cutime`` + ``cstime``), in ns."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()  # from field 3 (state) on: the name may hold spaces
    except (FileNotFoundError, ProcessLookupError):
        return 0
    ticks = int(fields[16 - 3]) + int(fields[17 - 3])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def tree_cpu_ns(pid: int) -> int:
    """CPU time so far of ``pid`` and of every descendant, those that exited included.

    An exited child's time moves to its parent's ``cutime`` once the parent waits for it (the
    postmaster waits for each backend), so the total only grows: a backend closing mid-step (a
    pool dropping an idle connection) no longer takes its whole past CPU out of the step's delta.
    """
    return sum(task_cpu_ns(p) + reaped_children_ns(p) for p in process_tree(pid))
