"""The monitor's schedule: strict durations, jitter inside the slot, no overlap, bounded runs."""

from __future__ import annotations

import pytest

from gauntlet.journeys.monitor.schedule import (
    DurationError,
    Schedule,
    first_run,
    next_run,
    parse_duration,
    should_stop,
)

T0 = 1000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60),
        ("5m", 300),
        ("1h", 3600),
        ("7d", 604800),
        ("1h30m", 5400),
        ("500ms", 0.5),
        (" 10S ", 10),
        ("60", 60),
        ("1.5m", 90),
    ],
)
def test_durations_with_units(text: str, seconds: float) -> None:
    assert parse_duration(text, option="--every") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "-5s", "5 m", "5x", "m5", "1h-", "1e3s", "five"])
def test_bad_durations_name_the_option_and_text(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text, option="--every")
    message = str(caught.value)
    assert message.startswith(f"--every {text!r}")
    assert "30s, 5m" in message  # the accepted forms (gauntlet.durations, one grammar everywhere)


def test_zero_is_refused_unless_allowed() -> None:
    with pytest.raises(DurationError, match="more than zero"):
        parse_duration("0s", option="--every")
    assert parse_duration("0s", option="--cooldown", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every_s": 0}, "--every must be more than zero"),
        ({"every_s": 60, "jitter_s": 60}, "less than --every"),
        ({"every_s": 60, "jitter_s": -1}, "at least 0"),
        ({"every_s": 60, "max_runs": 0}, "--max-runs must be at least 1"),
        ({"every_s": 60, "max_duration_s": 0}, "--for must be more than zero"),
    ],
)
def test_impossible_schedules_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(DurationError, match=message):
        Schedule(**kwargs)  # type: ignore[arg-type]


def test_jitter_stays_inside_the_slot() -> None:
    schedule = Schedule(every_s=60, jitter_s=6)
    assert first_run(schedule, T0, 0.0).start_at == T0
    assert first_run(schedule, T0, 0.5).start_at == T0 + 3
    late = next_run(schedule, started=T0, previous_slot=0, finished_at=T0 + 10, draw=0.999)
    assert T0 + 60 <= late.start_at < T0 + 66
    assert late.slot == 1 and late.skipped == 0


def test_a_draw_outside_the_unit_interval_is_a_bug() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        first_run(Schedule(every_s=60, jitter_s=6), T0, 1.0)


def test_runs_stay_on_the_grid_rather_than_drifting() -> None:
    schedule = Schedule(every_s=60)
    slot = first_run(schedule, T0, 0.0)
    starts = []
    for _ in range(5):
        starts.append(slot.start_at)
        slot = next_run(schedule, started=T0, previous_slot=slot.slot, finished_at=slot.start_at + 7.3, draw=0.0)
    assert starts == [T0, T0 + 60, T0 + 120, T0 + 180, T0 + 240]


def test_an_overrunning_run_skips_the_slots_it_covered_instead_of_overlapping() -> None:
    schedule = Schedule(every_s=60, jitter_s=5)
    # Slot 0 ran from T0 to T0 + 150: slots 1 (T0+60) and 2 (T0+120) are gone; next is slot 3.
    after = next_run(schedule, started=T0, previous_slot=0, finished_at=T0 + 150, draw=0.0)
    assert (after.slot, after.start_at, after.skipped) == (3, T0 + 180, 2)


def test_finishing_exactly_on_the_next_slot_skips_nothing() -> None:
    after = next_run(Schedule(every_s=60), started=T0, previous_slot=0, finished_at=T0 + 60, draw=0.0)
    assert (after.slot, after.start_at, after.skipped) == (1, T0 + 60, 0)


def test_jitter_never_starts_a_run_before_the_previous_one_finished() -> None:
    schedule = Schedule(every_s=60, jitter_s=30)
    after = next_run(schedule, started=T0, previous_slot=0, finished_at=T0 + 61, draw=0.0)
    assert after.start_at >= T0 + 61


def test_max_runs_bounds_the_loop() -> None:
    schedule = Schedule(every_s=60, max_runs=2)
    assert not should_stop(schedule, runs_done=1, started=T0, next_start=T0 + 60)
    assert should_stop(schedule, runs_done=2, started=T0, next_start=T0 + 120)


def test_for_stops_before_a_run_that_would_start_at_or_after_the_deadline() -> None:
    schedule = Schedule(every_s=60, max_duration_s=600)
    assert not should_stop(schedule, runs_done=9, started=T0, next_start=T0 + 540)
    assert should_stop(schedule, runs_done=10, started=T0, next_start=T0 + 600)


def test_the_first_run_always_happens_however_short_for_is() -> None:
    schedule = Schedule(every_s=60, jitter_s=10, max_duration_s=1)
    assert not should_stop(schedule, runs_done=0, started=T0, next_start=T0 + 9)


def test_an_unbounded_schedule_never_stops_by_itself() -> None:
    assert not should_stop(Schedule(every_s=60), runs_done=10**6, started=T0, next_start=T0 + 10**8)
