"""The open model: arrival schedule, start classification, and late/missed accounting."""

from __future__ import annotations

import heapq

import pytest

from gauntlet.load.arrivals import (
    ArrivalReport,
    ArrivalSchedule,
    ArrivalTally,
    StartPolicy,
    end_of_run,
    merge_reports,
)


def test_schedule_counts_and_due_times() -> None:
    s = ArrivalSchedule(rate_per_s=10, duration_s=2)
    assert s.total == 20
    assert s.due_at(0) == 0 and s.due_at(10) == 1.0
    assert s.due_by(-0.1) == 0
    assert s.due_by(0) == 1  # arrival 0 is due at once
    assert s.due_by(0.0999) == 1
    assert s.due_by(0.1) == 2
    assert s.due_by(1.95) == 20
    assert s.due_by(100) == 20  # never beyond the schedule
    assert ArrivalSchedule(rate_per_s=3, duration_s=0.1).total == 1
    assert ArrivalSchedule(rate_per_s=0.5, duration_s=3).total == 2


def test_due_at_exact_boundaries_is_not_lost_to_float_error() -> None:
    s = ArrivalSchedule(rate_per_s=3, duration_s=10)
    for i in range(30):
        assert s.due_by(s.due_at(i)) == i + 1


def test_release_hands_out_each_index_once() -> None:
    s = ArrivalSchedule(rate_per_s=100, duration_s=1)
    released, seen = 0, list[int]()
    for elapsed in (0.0, 0.005, 0.05, 0.05, 0.5, 2.0):
        batch = s.release(released, elapsed)
        seen.extend(batch)
        released = max(released, batch.stop)
    assert seen == list(range(100))
    assert s.next_due(released) is None
    assert s.next_due(3) == pytest.approx(0.03)


@pytest.mark.parametrize(("rate", "duration"), [(0, 1), (-1, 1), (float("nan"), 1), (1, 0), (1, float("inf"))])
def test_schedule_refuses_nonsense(rate: float, duration: float) -> None:
    with pytest.raises(ValueError):
        ArrivalSchedule(rate_per_s=rate, duration_s=duration)


def test_classify() -> None:
    p = StartPolicy(late_after_s=0.01, give_up_after_s=1.0)
    assert p.classify(0.0) == "on_time"
    assert p.classify(0.01) == "on_time"
    assert p.classify(0.0101) == "late"
    assert p.classify(1.0) == "late"
    assert p.classify(1.0001) == "missed"
    with pytest.raises(ValueError):
        StartPolicy(late_after_s=2, give_up_after_s=1)


def test_tally_and_end_of_run() -> None:
    s = ArrivalSchedule(rate_per_s=10, duration_s=1)
    tally = ArrivalTally().released(6)
    tally = tally.started("on_time", 0.001).started("late", 0.2).started("missed", 1.5)
    tally = end_of_run(tally, s, waiting=3)  # 3 still queued, 4 never released
    assert tally.report() == ArrivalReport(
        scheduled=10, on_time=1, late=1, missed=8, max_lateness_ms=1500.0, wakeups=0, lagged_wakeups=0
    )
    assert tally.not_on_time == 9


def test_scheduler_wakeups_later_than_the_lag_limit_count_as_the_generators_lag() -> None:
    tally = ArrivalTally().woke(0.0, lag_after_s=0.1).woke(0.1, lag_after_s=0.1).woke(0.25, lag_after_s=0.1)
    assert (tally.wakeups, tally.lagged_wakeups) == (3, 1)
    report = tally.report()
    assert (report.get("wakeups"), report.get("lagged_wakeups")) == (3, 1)


def test_merge_reports() -> None:
    a = ArrivalReport(scheduled=10, on_time=9, late=1, missed=0, max_lateness_ms=20.0)
    b = ArrivalReport(scheduled=5, on_time=3, late=0, missed=2, max_lateness_ms=5.0)
    merged = ArrivalReport(
        scheduled=15, on_time=12, late=1, missed=2, max_lateness_ms=20.0, wakeups=0, lagged_wakeups=0
    )
    assert merge_reports([a, b]) == merged
    lagging = ArrivalReport(scheduled=1, on_time=1, late=0, missed=0, max_lateness_ms=0.0, wakeups=10, lagged_wakeups=4)
    both = merge_reports([a, lagging, lagging])
    assert both is not None and (both.get("wakeups"), both.get("lagged_wakeups")) == (20, 8)
    assert merge_reports([]) is None


def simulate(rate: float, duration: float, slots: int, service_s: float) -> ArrivalTally:
    """An open-model run on a virtual clock: `slots` servers each taking `service_s` per arrival."""
    schedule = ArrivalSchedule(rate_per_s=rate, duration_s=duration)
    policy = StartPolicy()
    free_at = [0.0] * slots
    heapq.heapify(free_at)
    tally = ArrivalTally().released(schedule.total)
    for i in range(schedule.total):
        due = schedule.due_at(i)
        slot_free = heapq.heappop(free_at)
        start = max(due, slot_free)
        verdict = policy.classify(start - due)
        tally = tally.started(verdict, start - due)
        heapq.heappush(free_at, start + service_s if verdict != "missed" else slot_free)
    return tally


def test_enough_capacity_starts_everything_on_time() -> None:
    tally = simulate(rate=100, duration=10, slots=10, service_s=0.05)  # capacity 200/s
    assert (tally.on_time, tally.late, tally.missed) == (1000, 0, 0)


def test_a_slow_server_shows_up_as_late_and_missed_arrivals_not_as_fewer_requests() -> None:
    """The point of the open model: slowness is not hidden by the generator slowing down."""
    tally = simulate(rate=100, duration=10, slots=10, service_s=0.2)  # capacity 50/s: half can start
    assert tally.scheduled == 1000
    assert tally.late > 0 and tally.missed > 300
    assert tally.on_time + tally.late + tally.missed == 1000
