"""Load scenarios as stage tables: `tick(run_time) -> (users, spawn_rate) | None`.

A stage holds a user count until `until_s` (seconds since the run began) and
reaches it at `spawn_rate` users per second. The table is pure; the Locust
LoadTestShape in `gauntlet.load.locustfile` only passes the run time in.

Named defaults are the seeds' full-size figures for distributed runs (Task
16: ramp 0 -> 10k users over 5 min, spike 10k -> 100k in 30 s); `scale`
multiplies every user count and arrival rate so one machine can run them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from gauntlet.base.errors import GauntletError
from gauntlet.durations import DurationError
from gauntlet.durations import parse_duration as parse_any_duration

ScenarioName = Literal["smoke", "ramp", "spike", "soak", "rate"]
SCENARIOS: tuple[str, ...] = get_args(ScenarioName)
SMOKE_USERS = 3
SMOKE_DURATION_S = 30.0
RAMP_USERS = 10_000
RAMP_DURATION_S = 300.0
SPIKE_BASE_USERS = 10_000
SPIKE_FACTOR = 10
SPIKE_UP_S = 30.0
# warm-up at N, 30 s up to 10 N, hold, 30 s back down, recovery at N
SPIKE_PHASES_S = (60.0, SPIKE_UP_S, 30.0, 30.0, 30.0)
SOAK_USERS = 10_000
SOAK_DURATION_S = 3600.0
RATE_PER_S = 10_000.0
RATE_DURATION_S = 60.0
# Extra seconds a `rate` run keeps its users after the last scheduled arrival, so it can finish.
RATE_DRAIN_S = 2.0
LOCAL_SCALE = 0.01


class ShapeError(GauntletError):
    """A scenario or stage table that cannot run as asked."""


@dataclass(frozen=True, kw_only=True)
class Stage:
    until_s: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class StageTable:
    stages: tuple[Stage, ...]

    def tick(self, run_time_s: float) -> tuple[int, float] | None:
        """The target (users, spawn rate) at `run_time_s`, or None once the last stage is over."""
        for stage in self.stages:
            if run_time_s < stage.until_s:
                return stage.users, stage.spawn_rate
        return None

    @property
    def duration_s(self) -> float:
        return self.stages[-1].until_s if self.stages else 0.0

    @property
    def peak_users(self) -> int:
        return max((s.users for s in self.stages), default=0)


def ensure_stages_are_valid(stages: tuple[Stage, ...]) -> StageTable:
    """Check ordering and that each stage reaches its user count before it ends.

    Locust blocks a shape while it spawns, so a stage whose ramp outlasts it
    would silently swallow the next stage.
    """
    if not stages:
        raise ShapeError("a load shape needs at least one stage")
    previous_until, previous_users = 0.0, 0
    for i, stage in enumerate(stages):
        if not stage.until_s > previous_until:
            raise ShapeError(f"stage {i}: until_s {stage.until_s:g} must be after the previous stage's end")
        if stage.users < 0:
            raise ShapeError(f"stage {i}: users must be >= 0, got {stage.users}")
        if stage.users != previous_users:
            if not stage.spawn_rate > 0:
                raise ShapeError(f"stage {i}: spawn_rate must be > 0 to change the user count")
            ramp_s = abs(stage.users - previous_users) / stage.spawn_rate
            span_s = stage.until_s - previous_until
            if ramp_s > span_s + 1e-9:
                raise ShapeError(
                    f"stage {i}: reaching {stage.users} users at {stage.spawn_rate:g}/s takes {ramp_s:g} s,"
                    f" longer than the stage ({span_s:g} s)"
                )
        previous_until, previous_users = stage.until_s, stage.users
    return StageTable(stages)


@dataclass(frozen=True, kw_only=True)
class ScenarioRequest:
    """What the person asked for; None means the scenario's named default."""

    scenario: ScenarioName
    users: int | None = None
    duration_s: float | None = None
    rate_per_s: float | None = None
    scale: float = 1.0
    # Locust's -r: users started per second (smoke, soak, rate); ramp and spike set their own.
    spawn_rate: float | None = None
    # rate: seconds before the schedule starts (slots signing in first), added to the run's length.
    warm_up_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ScenarioPlan:
    scenario: ScenarioName
    table: StageTable
    # Open model only: total arrivals per second and for how long they are scheduled.
    rate_per_s: float | None = None
    rate_duration_s: float | None = None

    def describe(self) -> str:
        text = f"{self.scenario}: peak {self.table.peak_users} users, {self.table.duration_s:g} s"
        if self.rate_per_s is not None:
            text += f", {self.rate_per_s:g} arrivals/s for {self.rate_duration_s:g} s"
        return text


def _scaled(count: float, scale: float) -> int:
    return max(1, round(count * scale))


def _per_s(delta_users: int, seconds: float) -> float:
    return max(delta_users / seconds, 1.0) if seconds > 0 else float(max(delta_users, 1))


def build_plan(req: ScenarioRequest) -> ScenarioPlan:
    """The stage table (and, for `rate`, the arrival schedule) of a scenario request."""
    if req.scenario not in SCENARIOS:
        raise ShapeError(f"unknown scenario {req.scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if not (req.scale > 0 and math.isfinite(req.scale)):
        raise ShapeError(f"--scale must be a positive number, got {req.scale!r}")
    if req.users is not None and req.users < 1:
        raise ShapeError(f"--users must be at least 1, got {req.users}")
    if req.duration_s is not None and not (req.duration_s > 0 and math.isfinite(req.duration_s)):
        raise ShapeError(f"--duration must be a positive time, got {req.duration_s!r}")
    if req.rate_per_s is not None and req.scenario != "rate":
        raise ShapeError("--rate applies only to --scenario rate (the open model)")
    if req.spawn_rate is not None:
        if not (req.spawn_rate > 0 and math.isfinite(req.spawn_rate)):
            raise ShapeError(f"--spawn-rate must be a positive number of users per second, got {req.spawn_rate!r}")
        if req.scenario in ("ramp", "spike"):
            raise ShapeError(
                f"--spawn-rate cannot apply to --scenario {req.scenario}: its rate of change is the scenario; "
                "set --users and --duration instead"
            )
    build = {"smoke": _smoke, "ramp": _ramp, "spike": _spike, "soak": _soak, "rate": _rate}[req.scenario]
    return build(req)


def _smoke(req: ScenarioRequest) -> ScenarioPlan:
    users = req.users or SMOKE_USERS  # "a few users": not scaled
    duration = req.duration_s or SMOKE_DURATION_S
    spawn_rate = req.spawn_rate or _per_s(users, min(duration / 2, 5.0))
    stages = (Stage(until_s=duration, users=users, spawn_rate=spawn_rate),)
    return ScenarioPlan(scenario="smoke", table=ensure_stages_are_valid(stages))


def _ramp(req: ScenarioRequest) -> ScenarioPlan:
    users = req.users or _scaled(RAMP_USERS, req.scale)
    duration = req.duration_s or RAMP_DURATION_S
    # 0 -> N evenly over the whole duration: the rate of change *is* the scenario.
    stages = (Stage(until_s=duration, users=users, spawn_rate=users / duration),)
    return ScenarioPlan(scenario="ramp", table=ensure_stages_are_valid(stages))


def _spike(req: ScenarioRequest) -> ScenarioPlan:
    base = req.users or _scaled(SPIKE_BASE_USERS, req.scale)
    peak = base * SPIKE_FACTOR
    total_default = sum(SPIKE_PHASES_S)
    factor = (req.duration_s / total_default) if req.duration_s else 1.0
    warm, up, hold, down, recover = (p * factor for p in SPIKE_PHASES_S)
    t1 = warm
    t2 = t1 + up + hold
    t3 = t2 + down + recover
    stages = (
        Stage(until_s=t1, users=base, spawn_rate=_per_s(base, warm / 2)),
        Stage(until_s=t2, users=peak, spawn_rate=(peak - base) / up),
        Stage(until_s=t3, users=base, spawn_rate=(peak - base) / down),
    )
    return ScenarioPlan(scenario="spike", table=ensure_stages_are_valid(stages))


def _soak(req: ScenarioRequest) -> ScenarioPlan:
    users = req.users or _scaled(SOAK_USERS, req.scale)
    duration = req.duration_s or SOAK_DURATION_S
    ramp_s = min(60.0, duration / 10)
    stages = (Stage(until_s=duration, users=users, spawn_rate=req.spawn_rate or _per_s(users, ramp_s)),)
    return ScenarioPlan(scenario="soak", table=ensure_stages_are_valid(stages))


def rate_concurrency(rate_per_s: float) -> int:
    """Default ceiling on arrivals in flight: enough for every request to take a full second."""
    return max(10, math.ceil(rate_per_s))


def _rate(req: ScenarioRequest) -> ScenarioPlan:
    rate = req.rate_per_s if req.rate_per_s is not None else RATE_PER_S * req.scale
    if not (rate > 0 and math.isfinite(rate)):
        raise ShapeError(f"--rate must be a positive number of requests per second, got {rate!r}")
    duration = req.duration_s or RATE_DURATION_S
    users = req.users or rate_concurrency(rate)
    # Users are only slots for arrivals: start them all at once, the schedule sets the pace.
    until_s = duration + RATE_DRAIN_S + req.warm_up_s
    stages = (Stage(until_s=until_s, users=users, spawn_rate=req.spawn_rate or float(users)),)
    return ScenarioPlan(
        scenario="rate",
        table=ensure_stages_are_valid(stages),
        rate_per_s=rate,
        rate_duration_s=duration,
    )


def parse_duration(text: str) -> float:
    """Seconds from `--duration` in Gauntlet's one duration grammar (gauntlet.durations); ShapeError otherwise."""
    try:
        return parse_any_duration(text, option="--duration")
    except DurationError as exc:
        raise ShapeError(str(exc)) from None
