"""The health probes against the embedded stack: the real health function and queue health views.

The stale-queue test plants one event, already 400 s old, on a topic no worker handles, so the
real view's p95 for that topic is exactly known; it is removed afterwards.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from gauntlet.journeys.monitor.model import ProbeResult
from gauntlet.journeys.monitor.probes import HttpProber
from gauntlet.stack.state import StackState

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
TOPIC = "gauntlet.monitor-probe-test"


def probe(state: StackState, service_key: str) -> tuple[ProbeResult, ...]:
    prober = HttpProber(state.api_url, service_key=service_key)
    try:
        return prober.probe()
    finally:
        prober.close()


async def _sql(dsn: str, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


@pytest.fixture
def stale_event(gauntlet_stack: StackState) -> Iterator[str]:
    key = f"probe-{uuid.uuid4().hex[:12]}"
    asyncio.run(
        _sql(
            gauntlet_stack.primary_dsn,
            "INSERT INTO public.events_queue (topic, key, created_at, available_at)"
            " VALUES ($1, $2, now() - interval '400 seconds', now() + interval '1 hour')",
            TOPIC,
            key,
        )
    )
    try:
        yield key
    finally:
        asyncio.run(_sql(gauntlet_stack.primary_dsn, "DELETE FROM public.events_queue WHERE topic = $1", TOPIC))


def test_a_healthy_stack_probes_ok_and_reads_both_views(gauntlet_stack: StackState) -> None:
    health, *views = probe(gauntlet_stack, gauntlet_stack.service_key)
    assert (health.name, health.status) == ("health", "ok"), health
    assert [v.name for v in views] == ["vw_discovery_queue_health", "vw_events_queue_health"]
    # The views are readable; whether they are ok depends on what earlier tests left waiting.
    assert all("cannot read the view" not in v.detail for v in views), views
    assert all(v.status == "ok" or "p95 age" in v.detail for v in views), views


def test_work_waiting_over_300s_degrades_the_events_view(gauntlet_stack: StackState, stale_event: str) -> None:
    deadline = time.monotonic() + 10  # the views are read from a replica: allow for its lag
    while True:
        _, _, events = probe(gauntlet_stack, gauntlet_stack.service_key)
        if TOPIC in events.detail or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert events.status == "degraded"
    assert re.search(rf"{re.escape(TOPIC)}/queued p95 age 40\ds > 300s", events.detail), events.detail


def test_a_key_the_platform_refuses_degrades_the_view_probes(gauntlet_stack: StackState) -> None:
    health, *views = probe(gauntlet_stack, "not-a-service-key")
    assert health.status == "ok"
    assert [v.status for v in views] == ["degraded", "degraded"]
    assert all(v.detail.startswith("HTTP 401") and "(cannot read the view)" in v.detail for v in views), views
