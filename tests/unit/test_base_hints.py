"""The shared did-you-mean: a close spelling, else a prefix, else nothing."""

from __future__ import annotations

from gauntlet.base.hints import closest


def test_a_misspelt_name_gets_the_closest_known_one() -> None:
    assert closest("rpc:feed_fusion_hom", ["rpc:feed_fusion_home", "auth:token"]) == "rpc:feed_fusion_home"
    assert closest("http_req_duraton", ("http_req_duration", "http_req_failed")) == "http_req_duration"


def test_a_prefix_is_offered_when_no_spelling_is_close() -> None:
    assert closest("gauntlet.chaos.providers.tox", ["gauntlet.chaos.providers.toxics_by_role_long_name"]) == (
        "gauntlet.chaos.providers.toxics_by_role_long_name"
    )


def test_nothing_close_means_no_hint() -> None:
    assert closest("zzz", ["page", "journey"]) is None
    assert closest("", ["page"]) is None
