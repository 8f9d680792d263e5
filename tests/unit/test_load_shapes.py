"""Scenarios as stage tables: pure `tick(run_time)`, named defaults, scaling and validation."""

from __future__ import annotations

import itertools

import pytest

from gauntlet.load.shapes import (
    RATE_DRAIN_S,
    ScenarioRequest,
    ShapeError,
    Stage,
    StageTable,
    build_plan,
    ensure_stages_are_valid,
    parse_duration,
    rate_concurrency,
)


def test_tick_follows_the_table_and_ends() -> None:
    table = StageTable((Stage(until_s=10, users=5, spawn_rate=1), Stage(until_s=20, users=2, spawn_rate=3)))
    assert table.tick(0) == (5, 1)
    assert table.tick(9.999) == (5, 1)
    assert table.tick(10) == (2, 3)
    assert table.tick(19.9) == (2, 3)
    assert table.tick(20) is None
    assert table.tick(1e9) is None
    assert (table.duration_s, table.peak_users) == (20, 5)


def test_empty_table() -> None:
    assert StageTable(()).tick(0) is None
    assert StageTable(()).duration_s == 0
    with pytest.raises(ShapeError, match="at least one stage"):
        ensure_stages_are_valid(())


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ((Stage(until_s=0, users=1, spawn_rate=1),), "stage 0: until_s 0 must be after"),
        ((Stage(until_s=5, users=1, spawn_rate=1), Stage(until_s=5, users=2, spawn_rate=1)), "stage 1: until_s 5"),
        ((Stage(until_s=5, users=-1, spawn_rate=1),), "users must be >= 0"),
        ((Stage(until_s=5, users=3, spawn_rate=0),), "spawn_rate must be > 0"),
        ((Stage(until_s=5, users=100, spawn_rate=10),), "takes 10 s, longer than the stage (5 s)"),
    ],
)
def test_invalid_tables_are_refused(stages: tuple[Stage, ...], message: str) -> None:
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ensure_stages_are_valid(stages)


def test_a_hold_stage_needs_no_spawn_rate() -> None:
    table = ensure_stages_are_valid((Stage(until_s=5, users=2, spawn_rate=2), Stage(until_s=9, users=2, spawn_rate=0)))
    assert table.tick(6) == (2, 0)


def test_named_full_size_ramp_is_the_seeds() -> None:
    plan = build_plan(ScenarioRequest(scenario="ramp"))
    assert plan.table.stages == (Stage(until_s=300.0, users=10_000, spawn_rate=10_000 / 300),)


def test_named_full_size_spike_goes_ten_times_up_in_30_s_and_back() -> None:
    plan = build_plan(ScenarioRequest(scenario="spike"))
    warm, up, down = plan.table.stages
    assert warm.users == 10_000 and up.users == 100_000 and down.users == 10_000
    assert (up.users - warm.users) / up.spawn_rate == pytest.approx(30.0)  # N -> 10 N in 30 s
    assert (up.users - down.users) / down.spawn_rate == pytest.approx(30.0)  # and back
    assert plan.table.tick(warm.until_s - 0.1) == (10_000, warm.spawn_rate)
    assert plan.table.tick(warm.until_s + 1)[0] == 100_000  # type: ignore[index]
    assert plan.table.tick(up.until_s + 1)[0] == 10_000  # type: ignore[index]


def test_scale_shrinks_users_and_rates_for_one_machine() -> None:
    assert build_plan(ScenarioRequest(scenario="ramp", scale=0.01)).table.peak_users == 100
    assert build_plan(ScenarioRequest(scenario="spike", scale=0.001)).table.peak_users == 100
    assert build_plan(ScenarioRequest(scenario="soak", scale=0.01)).table.peak_users == 100
    assert build_plan(ScenarioRequest(scenario="rate", scale=0.01)).rate_per_s == pytest.approx(100)
    assert build_plan(ScenarioRequest(scenario="ramp", scale=1e-9)).table.peak_users == 1  # never zero


def test_smoke_is_a_few_users_for_30_s_and_ignores_scale() -> None:
    plan = build_plan(ScenarioRequest(scenario="smoke", scale=0.0001))
    assert plan.table.peak_users == 3 and plan.table.duration_s == 30


def test_overrides() -> None:
    ramp = build_plan(ScenarioRequest(scenario="ramp", users=40, duration_s=8))
    assert ramp.table.stages == (Stage(until_s=8, users=40, spawn_rate=5),)
    spike = build_plan(ScenarioRequest(scenario="spike", users=3, duration_s=18))
    assert spike.table.peak_users == 30
    assert spike.table.duration_s == pytest.approx(18)
    soak = build_plan(ScenarioRequest(scenario="soak", users=7, duration_s=100))
    assert soak.table.tick(50) == (7, 1.0)  # reached within the first tenth (at least 1 user/s)
    assert soak.table.duration_s == 100


def test_spawn_rate_is_locusts_r_for_smoke_soak_and_rate() -> None:
    smoke = build_plan(ScenarioRequest(scenario="smoke", users=4, duration_s=10, spawn_rate=2))
    assert smoke.table.stages == (Stage(until_s=10, users=4, spawn_rate=2),)
    soak = build_plan(ScenarioRequest(scenario="soak", users=4, duration_s=100, spawn_rate=0.5))
    assert soak.table.stages[0].spawn_rate == 0.5
    rate = build_plan(ScenarioRequest(scenario="rate", rate_per_s=5, duration_s=20, spawn_rate=5))
    assert rate.table.stages[0].spawn_rate == 5


def test_rate_plan_schedules_arrivals_and_starts_all_slots_at_once() -> None:
    plan = build_plan(ScenarioRequest(scenario="rate", rate_per_s=250, duration_s=20))
    assert (plan.rate_per_s, plan.rate_duration_s) == (250, 20)
    (stage,) = plan.table.stages
    assert stage.users == rate_concurrency(250) == 250
    assert stage.until_s == 20 + RATE_DRAIN_S
    assert stage.users / stage.spawn_rate <= 1.0
    assert rate_concurrency(1) == 10
    assert "250 arrivals/s" in plan.describe()


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (ScenarioRequest(scenario="smoke", rate_per_s=5), "--rate applies only to --scenario rate"),
        (ScenarioRequest(scenario="ramp", scale=0), "--scale must be a positive number"),
        (ScenarioRequest(scenario="ramp", scale=float("inf")), "--scale must be a positive number"),
        (ScenarioRequest(scenario="ramp", users=0), "--users must be at least 1"),
        (ScenarioRequest(scenario="ramp", duration_s=-1), "--duration must be a positive time"),
        (ScenarioRequest(scenario="rate", rate_per_s=0), "--rate must be a positive number"),
        (ScenarioRequest(scenario="bogus"), "unknown scenario 'bogus'"),  # type: ignore[arg-type]
        (ScenarioRequest(scenario="smoke", spawn_rate=0), "--spawn-rate must be a positive number"),
        (ScenarioRequest(scenario="ramp", spawn_rate=2), "--spawn-rate cannot apply to --scenario ramp"),
        (ScenarioRequest(scenario="smoke", users=10, duration_s=4, spawn_rate=1), "takes 10 s, longer than"),
    ],
)
def test_bad_requests(req: ScenarioRequest, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        build_plan(req)


@pytest.mark.parametrize("scenario", ["smoke", "ramp", "spike", "soak", "rate"])
def test_every_scenario_builds_a_valid_table_across_sizes(scenario: str) -> None:
    for users, duration in itertools.product((1, 2, 7, 100, 12_345), (1.0, 3.0, 30.0, 3600.0)):
        plan = build_plan(ScenarioRequest(scenario=scenario, users=users, duration_s=duration))  # type: ignore[arg-type]
        ensure_stages_are_valid(plan.table.stages)
        assert plan.table.tick(0) is not None
        assert plan.table.tick(plan.table.duration_s) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("2.5", 2.5), ("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("500ms", 0.5), (" 10S ", 10)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "m5", "10 20", "0", "-3", "1h30", "0s"])
def test_parse_duration_refuses_nonsense(text: str) -> None:
    with pytest.raises(ShapeError, match="--duration"):
        parse_duration(text)


def test_a_rate_runs_warm_up_lengthens_the_run_not_the_schedule() -> None:
    plain = build_plan(ScenarioRequest(scenario="rate", rate_per_s=10, duration_s=4))
    warmed = build_plan(ScenarioRequest(scenario="rate", rate_per_s=10, duration_s=4, warm_up_s=5))
    assert warmed.table.duration_s == plain.table.duration_s + 5
    assert (warmed.rate_per_s, warmed.rate_duration_s) == (plain.rate_per_s, plain.rate_duration_s)
