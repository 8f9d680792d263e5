"""Each profile runs briefly against the calibration target: real traffic, correctly named and counted."""

from __future__ import annotations

import pytest

from gauntlet.load.calibration_target import CalibrationTarget
from gauntlet.load.profiles.catalog import PROFILES
from tests.integration.load.loadrun import RunLoad, assert_counts_match_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

MUST_SEE = {
    "home_for_you": {"auth:signup", "auth:token", "rpc:feed_fusion_home", "rpc:emit_signal"},
    "following": {"auth:signup", "auth:token", "rpc:feed_fusion_home", "rpc:emit_signal"},
    "shop": {"auth:signup", "auth:token", "rpc:feed_fusion_home", "rpc:emit_signal"},
    "onboarding": {
        "auth:signup",
        "rpc:check_handle_available",
        "rpc:interest_catalog_browse",
        "rpc:user_interests_upsert",
        "rpc:update_profile",
        "rpc:complete_onboarding",
        "rpc:marketplace_suggestions_for_user",
    },
    "suggestions": {"auth:signup", "auth:token", "rpc:marketplace_suggestions_for_user"},
    "mixed": {"rpc:feed_fusion_home", "rpc:complete_onboarding", "rpc:marketplace_suggestions_for_user"},
}


# The calibration target speaks the RPC surface only; supabase_frontend's PostgREST tables and realtime
# socket are driven against the real platform (test_platform.py).
RPC_PROFILES = [name for name in PROFILES if name != "supabase_frontend"]


@pytest.mark.parametrize("profile", RPC_PROFILES)
def test_profile_drives_real_traffic_and_counts_match_the_server(
    profile: str, run_load: RunLoad, target: CalibrationTarget
) -> None:
    users = 10 if profile == "mixed" else 2
    run = run_load(profile, "--target", target.url, "--duration", "4s", "--users", str(users), "--think-time", "0.05")
    assert run.exit_code == 0, run.output + run.locust_log()
    result = run.result
    assert MUST_SEE[profile] <= run.names() <= PROFILES[profile].requests
    assert result["overall"]["requests"] > 20
    assert result["overall"]["failures"] == 0
    assert result["checks"]["consistent"], result["checks"]
    assert_counts_match_server(run, dict(target.counts), users)
    # The lane a feed profile scrolls is paged with the cursor: several pages per scroll.
    if profile in ("home_for_you", "following", "shop"):
        feed = result["requests"]["rpc:feed_fusion_home"]["requests"]
        signal = result["requests"]["rpc:emit_signal"]["requests"]
        assert feed > signal / 2


def test_wrong_body_or_status_is_a_failure_not_a_success(run_load: RunLoad) -> None:
    """A platform without an RPC answers 404 unknown function: that counts as a failure."""
    with CalibrationTarget(missing=frozenset({"feed_fusion_home"})) as server:
        run = run_load(
            "home_for_you", "--target", server.url, "--duration", "3s", "--users", "2", "--think-time", "0.05"
        )
    assert run.exit_code == 1  # error rate above 0.1 %
    feed = run.result["requests"]["rpc:feed_fusion_home"]
    assert feed["failures"] == feed["requests"] > 0
    assert any("HTTP 404" in e["error"] and "feed_fusion_home" in e["error"] for e in run.result["errors"])
    assert run.result["requests"]["auth:token"]["failures"] == 0
