"""The run plan handed to Locust: everything survives the trip through JSON."""

from __future__ import annotations

import json
from pathlib import Path

from gauntlet.load.plan import (
    DRAIN_S,
    LOCUST_REPORT_INTERVAL_S,
    UserConfig,
    read_plan,
    stages_from_dicts,
    stages_to_dicts,
    thresholds_from_dicts,
    thresholds_to_dicts,
    user_config_from_json,
    write_plan,
)
from gauntlet.load.shapes import ScenarioRequest, build_plan
from gauntlet.load.thresholds import default_slo


def test_stages_and_thresholds_round_trip() -> None:
    table = build_plan(ScenarioRequest(scenario="spike", users=3, duration_s=12)).table
    assert stages_from_dicts(json.loads(json.dumps(stages_to_dicts(table)))) == table
    thresholds = default_slo().thresholds
    assert thresholds_from_dicts(json.loads(json.dumps(thresholds_to_dicts(thresholds)))) == thresholds


def test_user_config_round_trips_with_its_tuple() -> None:
    config = UserConfig(
        run_id="r",
        api_key="k",
        accounts_file=None,
        think_time_s=(0.5, 2.0),
        rate_per_s=25.0,
        rate_duration_s=10.0,
        generators=2,
        late_after_s=0.01,
        give_up_after_s=1.0,
    )
    assert user_config_from_json(json.dumps(config)) == config


def test_plan_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    plan: dict[str, object] = {"run_id": "x", "stages": [], "users": {}}
    write_plan(plan, path)  # type: ignore[arg-type]
    assert dict(read_plan(path)) == plan


def test_the_drain_outlasts_a_locust_report_interval() -> None:
    assert DRAIN_S > LOCUST_REPORT_INTERVAL_S
