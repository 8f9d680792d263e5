"""Edge rate limits in Redis: a limited caller gets 429 with Retry-After; buckets are shared across processes."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


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
