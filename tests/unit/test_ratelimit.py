"""Token bucket maths (the Redis script runs the same), retry-after and the memory fallback."""

from __future__ import annotations

import pytest

from gauntlet.platform.ratelimit import (
    PROFILES,
    TAKE_SCRIPT,
    BucketSpec,
    BucketState,
    MemoryBuckets,
    retry_after,
    spec_for,
    take,
)

SPEC = BucketSpec(capacity=3, refill_per_s=1)


def test_a_new_bucket_starts_full_and_drains() -> None:
    state = None
    outcomes = []
    for _ in range(4):
        allowed, state = take(SPEC, state, now=100.0)
        outcomes.append(allowed)
    assert outcomes == [True, True, True, False]
    assert state is not None and state.tokens == 0


def test_refill_is_proportional_and_capped() -> None:
    assert take(SPEC, BucketState(0, 100.0), now=101.5) == (True, BucketState(0.5, 101.5))
    allowed, state = take(SPEC, BucketState(0, 100.0), now=1000.0)
    assert allowed and state.tokens == SPEC.capacity - 1


def test_a_clock_going_backwards_adds_nothing() -> None:
    assert take(SPEC, BucketState(0.5, 100.0), now=90.0) == (False, BucketState(0.5, 90.0))


@pytest.mark.parametrize(
    ("tokens", "spec", "seconds"),
    [
        (0.0, SPEC, 1),
        (0.5, SPEC, 1),
        (0.0, BucketSpec(capacity=10, refill_per_s=10 / 60), 6),
        (0.9, BucketSpec(capacity=10, refill_per_s=10 / 60), 1),
        (2.0, SPEC, 1),
    ],
)
def test_retry_after_is_whole_seconds_until_a_token(tokens: float, spec: BucketSpec, seconds: int) -> None:
    assert retry_after(spec, tokens) == seconds


def test_profiles_scale_and_exist() -> None:
    assert set(PROFILES) == {"high", "standard", "expensive", "auth", "admin", "login_address", "login_account"}
    assert PROFILES["auth"].scaled(2) == BucketSpec(capacity=20, refill_per_s=20 / 60)
    assert PROFILES["high"].capacity > PROFILES["standard"].capacity > PROFILES["expensive"].capacity


def test_the_multiplier_leaves_one_accounts_failed_login_limit_as_it_is() -> None:
    assert spec_for("login_account", 50.0) == PROFILES["login_account"]
    assert spec_for("login_address", 50.0) == PROFILES["login_address"].scaled(50.0)


def test_memory_buckets_are_per_key_and_bounded() -> None:
    buckets = MemoryBuckets(max_keys=2)
    assert [buckets.take("a", SPEC, 0.0)[0] for _ in range(4)] == [True, True, True, False]
    assert buckets.take("b", SPEC, 0.0)[0]
    buckets.take("c", SPEC, 0.0)  # evicts "a", the least recently used
    assert buckets.take("a", SPEC, 0.0) == (True, 2.0)


def test_the_redis_script_uses_redis_time_and_expires_idle_buckets() -> None:
    assert "redis.call('TIME')" in TAKE_SCRIPT and "PEXPIRE" in TAKE_SCRIPT
