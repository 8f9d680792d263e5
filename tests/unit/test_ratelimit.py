"""Token bucket maths (the Redis script runs the same), retry-after and the memory fallback."""

from __future__ import annotations

import pytest

from gauntlet.platform.ratelimit import (
    LEASE_MAX,
    PROFILES,
    TAKE_SCRIPT,
    BucketSpec,
    BucketState,
    Leases,
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


def test_a_first_call_leases_nothing_and_a_frequent_caller_asks_for_more() -> None:
    leases = Leases(lease_s=1.0)
    assert leases.spend("k", now=0.0) is None
    assert leases.renew("k") == (0, 0)  # the first call: nothing to give back, nothing asked
    for n in range(1, 5):
        assert leases.spend("k", now=0.1 * n) is None
    assert leases.renew("k") == (0, 4)  # five calls in this second: ask for the four that follow


def test_leased_tokens_are_spent_until_used_up_or_expired_and_the_rest_goes_back() -> None:
    leases = Leases(lease_s=1.0)
    leases.spend("k", now=0.0)
    leases.granted("k", 3, now=0.0)
    assert [leases.spend("k", now=0.5), leases.spend("k", now=0.6)] == [2, 1]
    assert leases.spend("other", now=0.6) is None  # per key
    assert leases.spend("k", now=1.5) is None  # expired with one token left
    assert leases.renew("k")[0] == 1  # given back with the next take
    assert leases.renew("k")[0] == 0  # and only once


def test_demand_follows_the_last_second_and_forgets_an_idle_caller() -> None:
    leases = Leases(lease_s=1.0)
    for n in range(10):
        leases.spend("k", now=0.05 * n)
    leases.spend("k", now=1.2)  # a new window: the last one's ten calls are the demand
    assert leases.renew("k") == (0, 10)
    leases.spend("k", now=5.0)  # idle for seconds: back to no lease
    assert leases.renew("k") == (0, 0)
    for n in range(40):
        leases.spend("k", now=6.0 + 0.01 * n)
    assert leases.renew("k") == (0, LEASE_MAX)


def test_leases_are_bounded_oldest_key_first() -> None:
    leases = Leases(max_keys=2)
    for key in ("a", "b", "c"):
        leases.spend(key, now=0.0)
        leases.granted(key, 5, now=0.0)
    assert leases.spend("a", now=0.1) is None  # "a" was dropped
    assert leases.spend("c", now=0.1) == 4
