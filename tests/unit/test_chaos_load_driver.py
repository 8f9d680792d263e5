"""The drill load driver against a fake platform (httpx MockTransport): schedule, samples, bounds."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from gauntlet.chaos.context import DrillUser
from gauntlet.chaos.experiment import LoadSpec
from gauntlet.chaos.load_driver import SIGNAL_NAME, LoadDriver, RequestPlan
from gauntlet.chaos.windows import NO_RESPONSE

USERS = [DrillUser("u1", "a@x.invalid", "token-1"), DrillUser("u2", "b@x.invalid", "token-2")]


def _plan() -> RequestPlan:
    return RequestPlan("run1", USERS, ["i1", "i2"])


async def test_an_open_model_sends_at_the_rate_and_records_every_request() -> None:
    seen: list[httpx.Request] = []

    def platform(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/emit_signal"):
            return httpx.Response(503, headers={"Retry-After": "1"})
        return httpx.Response(200, json=[])

    spec = LoadSpec(rate_per_s=50, request_timeout_s=2)
    driver = LoadDriver("http://platform", spec, _plan(), seed=7, transport=httpx.MockTransport(platform))
    await driver.start()
    await asyncio.sleep(0.5)
    await driver.stop()

    samples = driver.samples()
    assert 15 <= len(samples) <= 35  # ~25 at 50/s for 0.5 s, on a busy machine
    assert len(samples) == len(seen)
    kinds = {s.kind for s in samples}
    assert kinds <= {"health", "catalog_browse", "suggestions", "my_interests", "interests_upsert", "emit_signal"}
    signals = [s for s in samples if s.kind == "emit_signal"]
    assert all(s.status == 503 and s.retry_after and not s.ok for s in signals)
    assert all(s.ok for s in samples if s.kind != "emit_signal")
    # Every signal carries the run and its sequence number, and its outcome is tracked.
    bodies = [json.loads(r.content) for r in seen if r.url.path.endswith("/emit_signal")]
    assert all(b["p_name"] == SIGNAL_NAME and b["p_metadata"]["chaos_run"] == "run1" for b in bodies)
    assert set(driver.signal_outcomes()) == {b["p_metadata"]["seq"] for b in bodies}
    assert set(driver.signal_outcomes().values()) <= {503}
    # Signed-in requests carry one of the users' tokens; health carries none.
    for request in seen:
        auth = request.headers.get("authorization")
        if request.url.path == "/functions/v1/health":
            assert auth is None
        else:
            assert auth in ("Bearer token-1", "Bearer token-2")


async def test_transport_failures_are_no_response_errors() -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    spec = LoadSpec(rate_per_s=40, mix={"catalog_browse": 1})
    driver = LoadDriver("http://platform", spec, _plan(), transport=httpx.MockTransport(platform))
    await driver.start()
    await asyncio.sleep(0.2)
    await driver.stop()
    assert driver.samples() and all(s.status == NO_RESPONSE and s.group == "replica_read" for s in driver.samples())


async def test_in_flight_requests_are_bounded_and_the_excess_is_dropped_as_errors() -> None:
    release = asyncio.Event()

    async def platform(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json=[])

    spec = LoadSpec(rate_per_s=100, mix={"health": 1}, max_in_flight=3, request_timeout_s=5)
    driver = LoadDriver("http://platform", spec, _plan(), transport=httpx.MockTransport(platform))
    await driver.start()
    await asyncio.sleep(0.2)
    release.set()
    await driver.stop()
    samples = driver.samples()
    assert sum(1 for s in samples if s.ok) == 3
    dropped = [s for s in samples if s.status == NO_RESPONSE]
    assert dropped and all(s.latency_ms == 0.0 for s in dropped)


async def test_stop_bounds_the_wait_for_hanging_requests() -> None:
    async def platform(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200)

    spec = LoadSpec(rate_per_s=20, mix={"health": 1}, request_timeout_s=0.2)
    driver = LoadDriver("http://platform", spec, _plan(), transport=httpx.MockTransport(platform))
    await driver.start()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(driver.stop(), timeout=3)
    assert all(not s.ok for s in driver.samples())


def test_unknown_request_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown request kinds \['nope'\]"):
        LoadDriver("http://platform", LoadSpec(mix={"nope": 1}), _plan())


async def test_a_write_the_platform_says_may_have_landed_is_in_doubt_not_refused() -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        seq = json.loads(request.content)["p_metadata"]["seq"]
        code = "outcome_unknown" if seq % 2 else "service_unavailable"
        return httpx.Response(503, headers={"Retry-After": "1"}, json={"code": code, "message": "lost"})

    spec = LoadSpec(rate_per_s=50, mix={"emit_signal": 1})
    driver = LoadDriver("http://platform", spec, _plan(), transport=httpx.MockTransport(platform))
    await driver.start()
    await asyncio.sleep(0.3)
    await driver.stop()
    outcomes = driver.signal_outcomes()
    assert len(outcomes) >= 4
    assert driver.signals_in_doubt() == {seq for seq in outcomes if seq % 2}
