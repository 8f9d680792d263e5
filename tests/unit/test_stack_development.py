"""`gauntlet up`'s development defaults: the edge limits scaled for one machine, unless the environment says."""

from __future__ import annotations

from gauntlet.platform.ratelimit import PROFILES, spec_for
from gauntlet.stack.development import RATE_LIMIT_SETTING, describe, development_env


def test_up_scales_the_rate_limits_unless_the_environment_sets_them() -> None:
    assert development_env({}) == {RATE_LIMIT_SETTING: "50"}
    assert development_env({RATE_LIMIT_SETTING: "1"}) == {}  # production sizes, asked for


def test_the_default_lets_a_20_user_load_sign_up_from_one_address_and_keeps_the_account_limit() -> None:
    multiplier = float(development_env({})[RATE_LIMIT_SETTING])
    assert spec_for("auth", 1.0).capacity < 20 <= spec_for("auth", multiplier).capacity  # README: --users 20
    assert spec_for("login_account", multiplier) == PROFILES["login_account"]  # brute force on one account


def test_up_says_which_limits_the_stack_has() -> None:
    assert "GAUNTLET_RATE_LIMIT_MULTIPLIER=50 (development default" in describe(development_env({}), {})
    assert "=1 gauntlet up` for production sizes" in describe(development_env({}), {})
    assert describe({}, {RATE_LIMIT_SETTING: "1"}).endswith("=1 (from the environment)")
