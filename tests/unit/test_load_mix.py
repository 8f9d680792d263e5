"""The smoke scenario's user mix: one user of every class at least, so every thresholded request is reached."""

from __future__ import annotations

import pytest

from gauntlet.load.mix import reached, smoke_mix, smoke_users, unreached
from gauntlet.load.profiles.catalog import FIRST_PASS, MIXED_WEIGHTS, PROFILES
from gauntlet.load.shapes import ShapeError
from gauntlet.load.thresholds import Threshold, applicable, default_slo


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_smoke_mix_of_every_profile_reaches_every_thresholded_request(name: str) -> None:
    profile = PROFILES[name]
    mix = smoke_mix(profile, smoke_users(profile, None))
    thresholds = applicable(default_slo(), profile.requests)
    assert [t.describe() for t in unreached(thresholds, mix)] == []
    assert set(mix) == set(profile.user_classes) and all(count >= 1 for count in mix.values())
    assert reached(mix) <= profile.requests  # first passes name only requests the profile makes


def test_a_mix_by_weight_alone_leaves_thresholds_unreached() -> None:
    # What Locust's weights gave three users of `mixed`: feed scrollers only.
    by_weight = {"HomeForYouUser": 1, "FollowingUser": 1, "ShopUser": 1, "SuggestionsUser": 0, "OnboardingUser": 0}
    thresholds = applicable(default_slo(), PROFILES["mixed"].requests)
    assert {t.scope for t in unreached(thresholds, by_weight)} == {
        "rpc:complete_onboarding",
        "rpc:marketplace_suggestions_for_user",
    }


def test_overall_thresholds_are_never_unreached() -> None:
    overall = Threshold(scope="overall", metric="p95_ms", op="<", limit=500)
    assert unreached([overall], {"ShopUser": 1}) == ()


def test_smoke_users_default_to_one_per_class_at_least() -> None:
    assert smoke_users(PROFILES["suggestions"], None) == 3
    assert smoke_users(PROFILES["mixed"], None) == len(PROFILES["mixed"].user_classes) == 5
    assert smoke_users(PROFILES["mixed"], 12) == 12


def test_users_beyond_one_per_class_follow_the_weights() -> None:
    mixed = PROFILES["mixed"]
    assert smoke_mix(mixed, 5) == dict.fromkeys(mixed.user_classes, 1)
    mix = smoke_mix(mixed, 25)
    assert sum(mix.values()) == 25
    # 20 beyond the first five, by weight 40/20/15/15/10: 8, 4, 3, 3, 2
    assert mix == {"HomeForYouUser": 9, "FollowingUser": 5, "ShopUser": 4, "SuggestionsUser": 4, "OnboardingUser": 3}
    assert smoke_mix(mixed, 6)["HomeForYouUser"] == 2  # the heaviest class takes the one left over
    assert smoke_mix(PROFILES["shop"], 4) == {"ShopUser": 4}


def test_fewer_users_than_classes_is_refused_naming_the_fix() -> None:
    with pytest.raises(ShapeError, match="pass --users 5 or more"):
        smoke_mix(PROFILES["mixed"], 3)


def test_every_class_of_every_profile_declares_its_first_pass() -> None:
    classes = {c for p in PROFILES.values() for c in p.user_classes}
    assert classes == set(FIRST_PASS)
    assert set(MIXED_WEIGHTS) <= classes
