"""The breakpoint's pure parts: the ladder of rates, each step's verdict, and the knee."""

from __future__ import annotations

import pytest

from gauntlet.load.arrivals import ArrivalReport
from gauntlet.load.breakpoint import (
    GENERATOR_LAGGED_SHARE,
    Ladder,
    StepOutcome,
    find_knee,
    generator_figures,
    keep_climbing,
    ladder,
)
from gauntlet.load.shapes import ShapeError

P95 = "overall p95_ms < 50 ms: MISSED (observed 80 ms)"
ERRORS = "overall error_rate < 1 %: MISSED (observed 5 %)"


def step(rate: float, *missed: str, lagged: int = 0, wakeups: int = 100) -> StepOutcome:
    return StepOutcome(
        rate_per_s=rate,
        requests=int(rate * 10),
        error_rate=0.0,
        p95_ms=10.0,
        p99_ms=20.0,
        missed=missed,
        late_arrival_rate=0.0,
        wakeups=wakeups,
        lagged_wakeups=lagged,
    )


def test_the_ladder_climbs_from_start_by_step_up_to_max_inclusive() -> None:
    assert Ladder(start_per_s=5, step_per_s=5, every_s=3, max_per_s=20).rates() == [5, 10, 15, 20]
    assert Ladder(start_per_s=5, step_per_s=10, every_s=3, max_per_s=20).rates() == [5, 15]
    assert Ladder(start_per_s=0.1, step_per_s=0.1, every_s=3, max_per_s=0.3).rates() == [0.1, 0.2, 0.3]


def test_unset_ladder_options_are_the_named_defaults_times_the_scale() -> None:
    steps = ladder(start=None, step=None, every_s=None, max_per_s=None, scale=0.01)
    assert (steps.start_per_s, steps.step_per_s, steps.every_s, steps.max_per_s) == (10, 10, 30, 1000)
    given = ladder(start=3, step=2, every_s=5, max_per_s=9, scale=0.01)
    assert given.rates() == [3, 5, 7, 9]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"start_per_s": 0}, "--start"),
        ({"step_per_s": -1}, "--step"),
        ({"every_s": 0}, "--every"),
        ({"max_per_s": 2}, "--max"),
        ({"max_per_s": float("inf")}, "--max"),
    ],
)
def test_a_ladder_that_cannot_climb_is_refused_naming_the_option(kwargs: dict[str, float], named: str) -> None:
    rates = {"start_per_s": 5.0, "step_per_s": 5.0, "every_s": 3.0, "max_per_s": 20.0, **kwargs}
    with pytest.raises(ShapeError, match=named):
        Ladder(**rates)  # type: ignore[arg-type]  # a dict of floats: mypy cannot tell repeats is not among them


def test_the_knee_is_the_highest_rate_held_and_the_first_missed_threshold_is_named() -> None:
    knee = find_knee([step(5), step(10), step(15, P95, ERRORS)])
    assert knee.knee_per_s == 10
    assert knee.band_per_s == (10, 15)
    assert knee.limited_by == "slo"
    assert knee.broke_at_per_s == 15
    assert knee.first_broken == P95  # the first in the SLO file's order, not any of them
    text = knee.describe()
    assert "knee: 10/s" in text and f"at 15/s broke {P95}" in text and "step's interval" in text


def test_a_broken_step_is_never_the_knee_even_if_a_later_step_held() -> None:
    # The climb stops at the first break; a later "held" (noise) must not raise the knee.
    knee = find_knee([step(5), step(10, ERRORS), step(15)])
    assert (knee.knee_per_s, knee.broke_at_per_s, knee.first_broken) == (5, 10, ERRORS)


def test_no_knee_when_the_first_step_already_broke() -> None:
    knee = find_knee([step(5, ERRORS)])
    assert knee.knee_per_s is None and knee.band_per_s is None
    assert knee.broke_at_per_s == 5 and knee.first_broken == ERRORS
    assert "no knee" in knee.describe() and "--start" in knee.describe()


def test_nothing_broke_up_to_the_last_step_the_limit_is_higher() -> None:
    knee = find_knee([step(5), step(10)])
    assert (knee.knee_per_s, knee.band_per_s, knee.limited_by, knee.first_broken) == (10, (10, None), "max", None)
    assert "the limit is higher" in knee.describe()


def test_a_generator_behind_its_schedule_is_its_own_limit_not_the_targets() -> None:
    lagged = int(100 * GENERATOR_LAGGED_SHARE) + 1
    # Even with thresholds missed: a lagging generator inflated the latencies it measured.
    saturated = step(15, P95, lagged=lagged)
    assert saturated.verdict == "generator_saturated"
    knee = find_knee([step(5), step(10), saturated])
    assert (knee.knee_per_s, knee.limited_by, knee.broke_at_per_s, knee.first_broken) == (10, "generator", 15, None)
    assert "generator's limit, not the target's" in knee.describe()


def test_a_little_generator_lag_does_not_count_as_saturation() -> None:
    at_limit = int(100 * GENERATOR_LAGGED_SHARE)
    assert step(10, lagged=at_limit).verdict == "held"
    assert step(10, P95, lagged=at_limit).verdict == "broke"
    assert step(10, wakeups=0).verdict == "held"


def test_generator_figures_read_the_arrival_report() -> None:
    assert generator_figures(None) == (0.0, 0, 0)
    report = ArrivalReport(scheduled=100, on_time=90, late=6, missed=4, max_lateness_ms=900.0)
    assert generator_figures(report) == (0.1, 0, 0)  # an older report without wake-ups: no lag known
    report["wakeups"], report["lagged_wakeups"] = 50, 7
    assert generator_figures(report) == (0.1, 50, 7)


def test_find_knee_needs_steps() -> None:
    with pytest.raises(ValueError, match="no steps"):
        find_knee([])


def test_repeated_steps_give_the_knee_as_a_band_from_every_repeat_held_to_one_held() -> None:
    # 5/s held 3 of 3; 10/s held 2 of 3 (the knee's low end ends below it); 15/s held 1 of 3; 20/s none.
    runs = [step(5)] * 3 + [step(10), step(10, P95), step(10)] + [step(15, ERRORS), step(15), step(15, P95)]
    knee = find_knee([*runs, step(20, P95), step(20, P95), step(20, ERRORS)], repeats=3)
    assert (knee.knee_per_s, knee.band_per_s, knee.broke_at_per_s) == (5, (5, 15), 10)
    assert (knee.limited_by, knee.first_broken, knee.broke_in) == ("slo", P95, 1)
    text = knee.describe()
    assert "knee: 5/s held with every SLO green in all 3 repeats" in text
    assert f"at 10/s broke {P95} in 1 of 3 repeats" in text and "band 5-15/s across 3 repeats" in text


def test_repeats_that_agree_give_a_band_of_one_rate() -> None:
    knee = find_knee([step(5), step(5), step(10, P95), step(10, P95)], repeats=2)
    assert (knee.knee_per_s, knee.band_per_s, knee.broke_in) == (5, (5, 5), 2)
    assert "the repeats agreed" in knee.describe()


def test_a_held_repeat_after_a_rate_no_repeat_held_does_not_widen_the_band() -> None:
    # The climb stops at the first rate no repeat held; later steps (there are none in a real climb) do not count.
    knee = find_knee([step(5), step(5), step(10, P95), step(10, P95), step(15), step(15)], repeats=2)
    assert knee.band_per_s == (5, 5)


def test_a_lagging_generator_in_any_repeat_is_its_limit_and_caps_the_band() -> None:
    lagged = int(100 * GENERATOR_LAGGED_SHARE) + 1
    knee = find_knee([step(5), step(5), step(10), step(10, lagged=lagged)], repeats=2)
    assert (knee.knee_per_s, knee.band_per_s, knee.limited_by, knee.broke_at_per_s) == (5, (5, 5), "generator", 10)
    assert "generator's limit, not the target's" in knee.describe()


def test_no_knee_when_a_repeat_of_the_first_step_broke() -> None:
    knee = find_knee([step(5), step(5, ERRORS), step(10), step(10)], repeats=2)
    assert knee.knee_per_s is None and knee.band_per_s is None
    assert "no knee" in knee.describe() and "in 1 of 2 repeats" in knee.describe()


def test_keep_climbing_while_one_repeat_held_and_the_generator_kept_up() -> None:
    lagged = int(100 * GENERATOR_LAGGED_SHARE) + 1
    assert keep_climbing([step(5, P95), step(5)])
    assert not keep_climbing([step(5, P95), step(5, ERRORS)])
    assert not keep_climbing([step(5), step(5, lagged=lagged)])
    assert not keep_climbing([])


def test_repeats_below_one_are_refused_naming_the_option() -> None:
    with pytest.raises(ShapeError, match="--repeats"):
        Ladder(start_per_s=5, step_per_s=5, every_s=3, max_per_s=20, repeats=0)
    assert ladder(start=5, step=5, every_s=3, max_per_s=20, scale=1, repeats=3).repeats == 3
    assert ladder(start=5, step=5, every_s=3, max_per_s=20, scale=1).repeats == 1


def test_no_knee_because_the_generator_fell_behind_at_the_first_step_says_so() -> None:
    lagged = int(100 * GENERATOR_LAGGED_SHARE) + 1
    text = find_knee([step(5, lagged=lagged)]).describe()
    assert text.startswith("no knee: at the first step (5/s) the load generator fell behind its own schedule")
