"""The asyncio open-model pacer: arrivals on schedule, latency from the scheduled time, late and missed counted.

A fake clock that only moves when the pacer sleeps (or a call says it took time): no real time passes.
"""

from __future__ import annotations

import asyncio

import pytest

from gauntlet.load.arrivals import ArrivalSchedule
from gauntlet.load.async_pacing import PacedCalls, run_open_model
from gauntlet.load.hdr import percentile_ms


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.overshoot: dict[int, float] = {}  # sleep number -> extra seconds the timer fires late
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # calls started before this sleep run now, at the current time
        self.now += seconds + self.overshoot.get(self.sleeps, 0.0)
        self.sleeps += 1


async def run(
    clock: FakeClock,
    op: object,
    *,
    rate: float = 10.0,
    seconds: float = 1.0,
    into: PacedCalls | None = None,
    max_in_flight: int = 100,
    first_index: int = 0,
) -> tuple[PacedCalls, int]:
    calls = into or PacedCalls()
    used = await run_open_model(
        op,  # type: ignore[arg-type]
        ArrivalSchedule(rate_per_s=rate, duration_s=seconds),
        calls,
        max_in_flight=max_in_flight,
        timeout_s=5.0,
        first_index=first_index,
        clock=clock,
        sleep=clock.sleep,
    )
    return calls, used


async def test_every_arrival_is_called_at_its_scheduled_time() -> None:
    clock = FakeClock()
    started: list[tuple[int, float]] = []

    async def op(index: int) -> None:
        started.append((index, clock.now))

    calls, used = await run(clock, op, rate=10.0, seconds=1.0, first_index=5)
    assert used == 10
    assert [i for i, _ in started] == list(range(5, 15))
    first = started[0][1]
    assert [round(at - first, 9) for _, at in started] == [round(i / 10, 9) for i in range(10)]
    assert (calls.ok, calls.errors, calls.sent, calls.tally.late, calls.tally.missed) == (10, 0, 10, 0, 0)
    assert calls.seconds == pytest.approx(1.0)


async def test_latency_counts_from_the_scheduled_time_when_the_send_is_late() -> None:
    clock = FakeClock()
    clock.overshoot = {3: 0.050}  # the timer of arrival 3 fires 50 ms late; the call itself takes no time

    async def op(index: int) -> None:
        pass

    calls, _ = await run(clock, op, rate=10.0, seconds=1.0)
    assert calls.tally.late >= 1  # arrival 3 (and any that follow it within 10 ms)
    assert percentile_ms(calls.histogram, 100.0) == pytest.approx(50.0, rel=2e-3)
    assert percentile_ms(calls.histogram, 50.0) == 0.0  # the others are on time, and instant


async def test_failures_are_counted_and_named_and_do_not_stop_the_run() -> None:
    clock = FakeClock()

    async def op(index: int) -> None:
        if index % 2:
            raise RuntimeError(f"HTTP 503 for {index % 4}")

    calls, _ = await run(clock, op, rate=10.0, seconds=1.0)
    assert (calls.ok, calls.errors) == (5, 5)
    assert calls.error_kinds == {"RuntimeError: HTTP 503 for 1": 3, "RuntimeError: HTTP 503 for 3": 2}
    assert int(calls.histogram.get_total_count()) == 5  # only successes have a latency


async def test_arrivals_beyond_the_in_flight_bound_are_missed_not_sent() -> None:
    clock = FakeClock()
    release = asyncio.Event()

    async def op(index: int) -> None:
        await release.wait()

    async def open_later() -> None:
        while clock.sleeps < 10:
            await asyncio.sleep(0)
        release.set()

    opener = asyncio.create_task(open_later())
    calls, _ = await run(clock, op, rate=10.0, seconds=1.0, max_in_flight=3)
    await opener
    assert (calls.sent, calls.tally.missed, calls.ok) == (3, 7, 3)


async def test_runs_add_up_into_one_record() -> None:
    clock = FakeClock()

    async def op(index: int) -> None:
        pass

    calls, used = await run(clock, op, rate=10.0, seconds=0.5)
    calls, used_again = await run(clock, op, rate=10.0, seconds=0.5, into=calls, first_index=used)
    assert (used, used_again, calls.ok, calls.tally.scheduled) == (5, 5, 10, 10)
    assert calls.seconds == pytest.approx(1.0)


async def test_a_scheduler_waking_late_counts_as_the_generators_lag_not_the_targets() -> None:
    clock = FakeClock()
    clock.overshoot = {2: 0.150, 5: 0.050}  # one wake-up 150 ms late (lagged), one 50 ms late (not)

    async def op(index: int) -> None:
        pass

    calls, _ = await run(clock, op, rate=10.0, seconds=1.0)
    assert (calls.tally.wakeups, calls.tally.lagged_wakeups) == (10, 1)
    on_time, _ = await run(FakeClock(), op, rate=10.0, seconds=1.0)
    assert (on_time.tally.wakeups, on_time.tally.lagged_wakeups) == (10, 0)


async def test_named_calls_are_also_counted_and_timed_per_name() -> None:
    clock = FakeClock()

    async def op(index: int) -> None:
        if index % 3 == 0:
            raise RuntimeError("HTTP 500")

    calls = PacedCalls()
    await run_open_model(
        op,
        ArrivalSchedule(rate_per_s=10.0, duration_s=1.0),
        calls,
        max_in_flight=100,
        timeout_s=5.0,
        name_of=lambda i: "odd" if i % 2 else "even",
        clock=clock,
        sleep=clock.sleep,
    )
    odd, even = calls.by_name["odd"], calls.by_name["even"]
    assert (odd.ok, odd.errors, even.ok, even.errors) == (3, 2, 3, 2)  # 0, 3, 6, 9 fail
    assert (odd.histogram.get_total_count(), even.histogram.get_total_count()) == (3, 3)  # successes only
    assert (calls.ok, calls.errors) == (6, 4) and PacedCalls().by_name == {}
