"""Edge rate limits in Redis: a limited caller gets 429 with Retry-After; buckets are shared across processes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from gauntlet.platform.db import RedisGate
from gauntlet.platform.ratelimit import PROFILES, TAKE_SCRIPT, RateLimiter

if TYPE_CHECKING:
    from tests.integration.api.conftest import Services

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def limiter(services: Services, *, lease_s: float = 1.0, multiplier: float = 1.0) -> AsyncIterator[RateLimiter]:
    """A limiter of its own (its own Redis client, as another API process has) on the tests' Redis."""
    gate = RedisGate(services.settings())
    try:
        yield RateLimiter(gate, multiplier=multiplier, lease_s=lease_s)
    finally:
        await gate.close()


async def bucket_tokens(services: Services, profile: str, subject: str) -> float:
    gate = RedisGate(services.settings())
    try:
        raw = await gate.client.hget(f"rl:{profile}:{subject}", "tokens")
    finally:
        await gate.close()
    assert isinstance(raw, bytes), raw
    return float(raw)


async def test_auth_profile_limits_a_burst_with_retry_after(make_api: Any) -> None:
    async with make_api(rate_limit_multiplier=1.0, client_host="10.0.0.21") as client:
        statuses = []
        for _ in range(12):
            response = await client.http.post(
                "/auth/v1/token",
                params={"grant_type": "password"},
                json={"email": "burst@example.test", "password": "wrong-pass"},
            )
            statuses.append(response.status_code)
    assert statuses == [400] * 10 + [429] * 2
    assert response.json()["code"] == "rate_limited" and 1 <= int(response.headers["retry-after"]) <= 6
    assert client.state.limiter.fallbacks == 0  # Redis served every decision


async def test_buckets_are_shared_between_api_processes(make_api: Any) -> None:
    """Two app instances (two API processes) draw from the same Redis bucket."""
    body = {"email": "shared@example.test", "password": "wrong-pass"}
    async with (
        make_api(rate_limit_multiplier=1.0, client_host="10.0.0.22") as first,
        make_api(rate_limit_multiplier=1.0, client_host="10.0.0.22") as second,
    ):
        for client in (first, second) * 5:
            response = await client.http.post("/auth/v1/token", params={"grant_type": "password"}, json=body)
            assert response.status_code == 400
        limited = await second.http.post("/auth/v1/token", params={"grant_type": "password"}, json=body)
    assert limited.status_code == 429


async def test_rpc_profiles_and_service_role_exemption(make_api: Any) -> None:
    async with make_api(rate_limit_multiplier=0.1, client_host="10.0.0.23") as client:
        # standard profile scaled down: capacity 60 * 0.1 = 6 for an anonymous caller.
        statuses = [(await client.rpc("interest_domains", {})).status_code for _ in range(25)]
        assert 429 in statuses and statuses[0] == 200
        service = [(await client.rpc("interest_domains", {}, client.service_key)).status_code for _ in range(25)]
        assert set(service) == {200}


async def test_a_busy_caller_spends_leased_tokens_instead_of_a_round_trip_a_request(services: Services) -> None:
    async with limiter(services, multiplier=100.0) as limits:
        subject = f"user:{uuid.uuid4()}"
        decisions = [await limits.check("standard", subject) for _ in range(300)]
    assert all(d.allowed for d in decisions)
    assert {d.backend for d in decisions} == {"redis", "lease"}
    assert limits.round_trips < 300 / 5, limits.round_trips  # 16 a lease once the caller is busy


async def test_leases_keep_a_limit_shared_by_two_processes_exact(services: Services) -> None:
    """Two processes alternate one caller's calls: exactly the bucket's capacity gets through, leases or not."""
    spec = PROFILES["login_account"]  # 20 tokens, one more every 30 s: no refill during the test
    subject = f"account:{uuid.uuid4()}"
    async with limiter(services) as first, limiter(services) as second:
        allowed = [(await limits.check("login_account", subject)).allowed for limits in (first, second) * 40]
    assert sum(allowed) == spec.capacity and allowed[: int(spec.capacity)] == [True] * int(spec.capacity)
    assert first.round_trips + second.round_trips < len(allowed)  # some calls spent leased tokens


async def test_what_is_left_of_an_expired_lease_goes_back_to_the_bucket(services: Services) -> None:
    subject = f"account:{uuid.uuid4()}"
    capacity = PROFILES["login_account"].capacity  # refills one token in 30 s: 0.07 over this test
    async with limiter(services, lease_s=1.0) as limits:
        decisions = [await limits.check("login_account", subject) for _ in range(6)]
        leased = decisions[-1]
        assert leased.backend == "lease" and leased.remaining >= 1  # a lease is out, tokens unspent
        held = await bucket_tokens(services, "login_account", subject)
        assert held == pytest.approx(capacity - 6 - leased.remaining, abs=0.1)
        # The lease expires, and the caller is idle long enough (two lease lengths) that the next
        # take leases nothing.
        await asyncio.sleep(2.1)
        assert (await limits.check("login_account", subject)).backend == "redis"
    # Seven calls, and nothing else is missing from the bucket.
    assert await bucket_tokens(services, "login_account", subject) == pytest.approx(capacity - 7, abs=0.15)


async def test_the_script_leases_what_was_wanted_at_most_half_of_what_is_left(services: Services) -> None:
    gate = RedisGate(services.settings())
    take = gate.client.register_script(TAKE_SCRIPT)
    key = f"rl:test:{uuid.uuid4()}"
    try:
        replies = [await take(keys=[key], args=[20, 0.001, 1, want]) for want in (16, 16, 3, 16, 16, 16, 16)]
    finally:
        await gate.close()
    # (allowed, tokens left, leased): 20 - 1 = 19, half of it is 9; 10 - 1 = 9: 4; 5 - 1 = 4: 2 (of 3 wanted);
    # 2 - 1 = 1: none; then the last token, then nothing.
    assert [(int(a), round(float(t), 2), int(n)) for a, t, n in replies] == [
        (1, 10.0, 9),
        (1, 5.0, 4),
        (1, 2.0, 2),
        (1, 1.0, 0),
        (1, 0.0, 0),
        (0, 0.0, 0),
        (0, 0.0, 0),
    ]
