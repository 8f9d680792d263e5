"""The open-model pacer for asyncio callers (benchmarks): the harness's arrival schedule, start policy and HDR.

`gauntlet.load.pacing` paces Locust users (gevent); this paces plain coroutines
on an asyncio loop with the same pure parts: `load/arrivals.py` says when
arrival *i* is due (`i / rate` s after the start, whatever happened before) and
whether it started late, and `load/hdr.py` records each latency. A latency
counts from the arrival's scheduled time (from its actual start when a timer
fires early), so a slow server cannot hide behind a waiting client. An arrival
that finds `max_in_flight` calls still running is not sent: it counts as missed.
Every failure is counted and named; none stops the run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from gauntlet.load.arrivals import DEFAULT_LAG_AFTER_S, ArrivalSchedule, ArrivalTally, StartPolicy
from gauntlet.load.hdr import NAME_LAYOUT, new_histogram, record_value, to_microseconds

Op = Callable[[int], Awaitable[object]]
# A started call is never given up on by lateness: only the in-flight bound turns arrivals away.
NEVER_GIVE_UP = StartPolicy(late_after_s=0.010, give_up_after_s=float("inf"))
START_DELAY_S = 0.02  # the schedule starts this long after the call, so arrival 0 is not late by set-up
ERROR_TEXT = 140  # characters of an error's message kept to name its kind


@dataclass
class NamedCalls:
    """One request name's share of a run whose calls are named (`name_of`)."""

    histogram: HdrHistogram = field(default_factory=new_histogram)  # successful calls' latencies, microseconds
    ok: int = 0
    errors: int = 0


@dataclass
class PacedCalls:
    """What the calls of one or more paced runs did (several runs add up: warm-up apart, blocks together)."""

    histogram: HdrHistogram = field(default_factory=new_histogram)  # successful calls' latencies, microseconds
    tally: ArrivalTally = field(default_factory=ArrivalTally)
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0  # the runs' wall time: the schedule's length, or until the last call ended if later
    error_kinds: Counter[str] = field(default_factory=Counter)
    by_name: dict[str, NamedCalls] = field(default_factory=dict)  # filled when the run names its calls

    @property
    def sent(self) -> int:
        return self.tally.on_time + self.tally.late


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


async def run_open_model(
    op: Op,
    schedule: ArrivalSchedule,
    into: PacedCalls,
    *,
    policy: StartPolicy = NEVER_GIVE_UP,
    max_in_flight: int,
    timeout_s: float,
    first_index: int = 0,
    name_of: Callable[[int], str] | None = None,
    clock: Clock = time.perf_counter,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """Call `op(first_index + i)` for every arrival of `schedule`, adding to `into`; return how many arrivals it had.

    `name_of(first_index + i)` names arrival i's request (a blend of several): each name's calls are also
    counted and timed apart in `into.by_name`.

    `clock` is perf_counter, not loop.time(): uvloop's loop clock is libuv's, cached per iteration at 1 ms.
    """
    in_flight: set[asyncio.Task[None]] = set()
    start = clock() + START_DELAY_S
    last_done = start

    async def one(index: int, due: float) -> None:
        nonlocal last_done
        began = clock()
        lateness = max(0.0, began - due)
        into.tally = into.tally.started(policy.classify(lateness), lateness)
        origin = min(due, began)  # a timer may fire a little early: then time from the actual start
        named = into.by_name.setdefault(name_of(first_index + index), NamedCalls()) if name_of else None
        try:
            async with asyncio.timeout(timeout_s):
                await op(first_index + index)
        except Exception as exc:  # every failure is counted and named, none stops the run
            into.errors += 1
            into.error_kinds[f"{type(exc).__name__}: {str(exc)[:ERROR_TEXT]}"] += 1
            if named is not None:
                named.errors += 1
        else:
            into.ok += 1
            took_us = to_microseconds((clock() - origin) * 1000.0)
            record_value(into.histogram, took_us, NAME_LAYOUT)
            if named is not None:
                named.ok += 1
                record_value(named.histogram, took_us, NAME_LAYOUT)
        last_done = max(last_done, clock())

    for index in range(schedule.total):
        due = start + schedule.due_at(index)
        await sleep(max(0.0, due - clock()))
        # How late the scheduler itself woke: the generator's lag (its CPU, its event loop), not the target's.
        into.tally = into.tally.woke(max(0.0, clock() - due), lag_after_s=DEFAULT_LAG_AFTER_S).released(1)
        if len(in_flight) >= max_in_flight:
            into.tally = into.tally.never_started(1)
            continue
        task = asyncio.create_task(one(index, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=timeout_s + 1)
    into.seconds += max(schedule.total / schedule.rate_per_s, last_done - start)
    return schedule.total
