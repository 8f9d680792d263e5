"""The open-model pacer: releases arrivals on schedule, slots (Locust users) take them.

Runs inside a Locust process (gevent). The schedule maths and the counting
of late and missed starts are the pure `gauntlet.load.arrivals`.
"""

from __future__ import annotations

import time

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue

from gauntlet.load.arrivals import (
    DEFAULT_LAG_AFTER_S,
    ArrivalReport,
    ArrivalSchedule,
    ArrivalTally,
    StartPolicy,
    end_of_run,
)

# After the last release, give waiting arrivals this long beyond the give-up time before closing the books.
CLOSE_MARGIN_S = 0.05


class ArrivalPacer:
    """One per load generator; every request of every user first takes an arrival."""

    def __init__(self, schedule: ArrivalSchedule, policy: StartPolicy) -> None:
        self.schedule = schedule
        self.policy = policy
        self.tally = ArrivalTally()
        self._queue: Queue[int] = Queue()
        self._started_at: float | None = None
        self._opened = Event()
        self._closed = Event()
        self._greenlet: gevent.Greenlet[[], None] | None = None
        self._ready = 0  # slots that finished their warm-up
        self._waiting_for: int | None = None

    @property
    def started(self) -> bool:
        return self._started_at is not None

    def slot_ready(self) -> None:
        """A slot finished its warm-up (signed in): see `start_when_ready`."""
        self._ready += 1
        if self._waiting_for is not None and self._ready >= self._waiting_for:
            self.start()

    def start_when_ready(self, slots: int, within_s: float) -> None:
        """Start the schedule once `slots` slots are ready (signed in, outside the schedule), or after `within_s`.

        Sign-ins then neither take arrivals nor hold slots when the first arrivals fall due: the
        run measures the load, not the warm-up. A slot that never says it is ready (a user class
        without a warm-up) only delays the start to `within_s`.
        """
        self._waiting_for = slots
        if self._ready >= slots:
            self.start()
            return
        gevent.spawn_later(within_s, self.start)

    def elapsed_s(self) -> float | None:
        """Seconds since the schedule started; None before."""
        return None if self._started_at is None else time.monotonic() - self._started_at

    def start(self) -> None:
        if self._started_at is not None:
            return
        self._started_at = time.monotonic()
        self._opened.set()
        self._greenlet = gevent.spawn(self._release_on_schedule)

    def _release_on_schedule(self) -> None:
        assert self._started_at is not None
        released = 0
        meant = 0.0  # when this wake-up was meant to happen, seconds since the start
        while True:
            elapsed = time.monotonic() - self._started_at
            # How late the scheduler itself woke: the generator's lag, whatever the target does.
            self.tally = self.tally.woke(max(0.0, elapsed - meant), lag_after_s=DEFAULT_LAG_AFTER_S)
            batch = self.schedule.release(released, elapsed)
            for index in batch:
                self._queue.put(index)
            self.tally = self.tally.released(len(batch))
            released = max(released, batch.stop)
            due = self.schedule.next_due(released)
            if due is None:
                break
            meant = max(due, time.monotonic() - self._started_at)
            gevent.sleep(max(0.0, due - (time.monotonic() - self._started_at)))
        gevent.sleep(self.policy.give_up_after_s + CLOSE_MARGIN_S)
        self.close()

    def take(self) -> float:
        """Block until an arrival can start; return how late it is, in seconds."""
        self._opened.wait()
        assert self._started_at is not None
        while True:
            if self._closed.is_set():
                # Nothing more will arrive: idle until Locust stops this user.
                gevent.sleep(1.0)
                continue
            try:
                index = self._queue.get(timeout=0.5)
            except Empty:
                continue
            lateness = max(0.0, time.monotonic() - (self._started_at + self.schedule.due_at(index)))
            start = self.policy.classify(lateness)
            self.tally = self.tally.started(start, lateness)
            if start != "missed":
                return lateness

    def close(self) -> None:
        """Stop releasing; arrivals still queued or never released count as missed."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._greenlet is not None and self._greenlet is not gevent.getcurrent():
            self._greenlet.kill(block=False)
        waiting = 0
        while True:
            try:
                self._queue.get_nowait()
            except Empty:
                break
            waiting += 1
        self.tally = end_of_run(self.tally, self.schedule, waiting=waiting)

    def report(self) -> ArrivalReport:
        return self.tally.report()
