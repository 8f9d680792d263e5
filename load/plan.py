"""The run plan: everything a Locust process needs to know, as plain JSON-safe data.

The `gauntlet load` command writes the plan to `plan.json` in the run's output
folder and hands the path to the Locust master (or single process). What
workers need (profile knobs, the arrival rate) travels separately as the
`--gauntlet-users` option, which Locust forwards from master to workers,
so workers on other machines need no shared files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from gauntlet.load.outputs import OutputDict
from gauntlet.load.shapes import Stage, StageTable
from gauntlet.load.thresholds import Op, Threshold

Role = Literal["local", "master", "worker"]
# Locust workers report to their master every 3 s (locust.runners.WORKER_REPORT_INTERVAL).
LOCUST_REPORT_INTERVAL_S = 3.0
# With workers, the run holds zero users this long after its last stage, so every last report arrives.
DRAIN_S = LOCUST_REPORT_INTERVAL_S + 1.5
# A worker logs this, then JSON {"recorded": N, "shipped": M}, when it quits: the requests it
# recorded and shipped to its master (load/docker_workers.py checks the merged result against them).
WORKER_TALLY = "gauntlet worker tally: "
# --abort-on-fail: no verdict before this many seconds, nor on a request name with fewer samples.
ABORT_GRACE_S = 5.0
ABORT_MIN_SAMPLES = 50


class StageDict(TypedDict):
    until_s: float
    users: int
    spawn_rate: float


class ThresholdDict(TypedDict):
    scope: str
    metric: str
    op: Op
    limit: float
    # k6's abortOnFail: losing this one threshold stops the run. Absent: False.
    abort_on_fail: NotRequired[bool]


class UserConfig(TypedDict):
    """Sent to every load generator (master -> workers through Locust's own options)."""

    run_id: str
    api_key: str | None
    accounts_file: str | None
    think_time_s: tuple[float, float]
    # Open model: total arrivals per second across all generators, and the generator count.
    rate_per_s: float | None
    rate_duration_s: float | None
    generators: int
    late_after_s: float
    give_up_after_s: float
    # The smoke scenario: each onboarding user signs up one new person, then stays that person
    # (no sign-up loop against a target's rate limit). Absent: a new person every task.
    one_signup_per_user: NotRequired[bool]
    # `--out json=FILE` / `--out prometheus=HOST:PORT` (load/outputs.py): generators write the JSON
    # lines; the local process, or the master, serves Prometheus.
    outputs: NotRequired[list[OutputDict]]
    # Breakpoint steps: every slot signs in before the arrival schedule starts (no arrival taken,
    # no slot busy signing in when the first arrivals fall due). Absent: sign-ins take arrivals.
    sign_in_first: NotRequired[bool]


class RunPlan(TypedDict):
    run_id: str
    profile: str
    scenario: str
    target: str
    stages: list[StageDict]
    thresholds: list[ThresholdDict]
    abort_on_fail: bool
    abort_min_samples: int
    abort_grace_s: float
    measurements_file: str
    progress_file: str
    expect_workers: int
    users: UserConfig
    # The smoke scenario: users per class (mix.smoke_mix), applied as each class's Locust
    # `fixed_count`. Absent or empty: Locust spreads the users by the classes' weights.
    user_mix: NotRequired[dict[str, int]]


def stages_to_dicts(table: StageTable) -> list[StageDict]:
    return [StageDict(until_s=s.until_s, users=s.users, spawn_rate=s.spawn_rate) for s in table.stages]


def stages_from_dicts(raw: list[StageDict]) -> StageTable:
    return StageTable(tuple(Stage(until_s=s["until_s"], users=s["users"], spawn_rate=s["spawn_rate"]) for s in raw))


def thresholds_to_dicts(thresholds: tuple[Threshold, ...]) -> list[ThresholdDict]:
    return [
        ThresholdDict(scope=t.scope, metric=t.metric, op=t.op, limit=t.limit, abort_on_fail=t.abort_on_fail)
        for t in thresholds
    ]


def thresholds_from_dicts(raw: list[ThresholdDict]) -> tuple[Threshold, ...]:
    return tuple(
        Threshold(
            scope=t["scope"],
            metric=t["metric"],
            op=t["op"],
            limit=t["limit"],
            abort_on_fail=t.get("abort_on_fail", False),
        )
        for t in raw
    )


def write_plan(plan: RunPlan, path: Path) -> None:
    path.write_text(json.dumps(plan, indent=2, sort_keys=True), encoding="utf-8")


def read_plan(path: Path) -> RunPlan:
    raw: RunPlan = json.loads(path.read_text(encoding="utf-8"))
    return raw


def user_config_from_json(text: str) -> UserConfig:
    raw = json.loads(text)
    raw["think_time_s"] = tuple(raw["think_time_s"])
    config: UserConfig = raw
    return config
