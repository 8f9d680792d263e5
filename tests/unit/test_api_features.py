"""Feature store TTL jitter and keys."""

from __future__ import annotations

import random

from gauntlet.platform.features import FEATURE_TTL_S, feature_key, jittered_ttl


def test_jitter_spans_plus_minus_ten_percent() -> None:
    assert jittered_ttl(rng=lambda: 0.0) == 3240
    assert jittered_ttl(rng=lambda: 0.5) == FEATURE_TTL_S
    assert jittered_ttl(rng=lambda: 0.999999) == 3960


def test_jitter_actually_spreads_expiries() -> None:
    rng = random.Random(7)
    ttls = {jittered_ttl(rng=rng.random) for _ in range(200)}
    assert min(ttls) >= 3240 and max(ttls) <= 3960 and len(ttls) > 100


def test_key_format() -> None:
    assert feature_key("abc") == "feat:user:abc:v1"
