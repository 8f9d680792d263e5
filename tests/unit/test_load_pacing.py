"""The open-model pacer's warm-up: with slots signing in first, the schedule starts once every slot is ready."""

from __future__ import annotations

from gauntlet.load.arrivals import ArrivalSchedule, StartPolicy
from gauntlet.load.pacing import ArrivalPacer


def pacer() -> ArrivalPacer:
    return ArrivalPacer(ArrivalSchedule(rate_per_s=10, duration_s=1), StartPolicy())


def test_the_schedule_waits_for_every_slot_to_be_ready() -> None:
    paced = pacer()
    paced.start_when_ready(2, within_s=3600)
    assert not paced.started and paced.elapsed_s() is None
    paced.slot_ready()
    assert not paced.started  # one slot still signing in: no arrival may fall due yet
    paced.slot_ready()
    assert paced.started and paced.elapsed_s() is not None
    paced.close()


def test_slots_ready_before_spawning_completes_start_the_schedule_at_once() -> None:
    paced = pacer()
    paced.slot_ready()
    paced.slot_ready()
    paced.start_when_ready(2, within_s=3600)
    assert paced.started
    paced.close()
