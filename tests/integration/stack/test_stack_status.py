"""`gauntlet status` reports what is really there."""

from __future__ import annotations

import pytest

from gauntlet.stack.state import StackState
from gauntlet.stack.status import stack_status

pytestmark = pytest.mark.integration


def test_every_service_is_healthy_and_the_replica_streams(gauntlet_stack: StackState) -> None:
    statuses = {s.name: s for s in stack_status(gauntlet_stack)}
    expected = {
        "toxiproxy",
        "redis",
        "pg_primary",
        "pg_replica_1",
        "api",
        "worker_queue_1",
        "worker_queue_2",
        "worker_discovery",
        "worker_notifications",
        "worker_gc",
    }
    assert expected <= set(statuses)
    unhealthy = {name: s.detail for name, s in statuses.items() if not s.healthy}
    assert not unhealthy
    assert statuses["pg_replica_1"].detail.startswith("streaming")


def test_status_turns_unhealthy_when_a_proxy_is_disabled(gauntlet_stack: StackState, toxiproxy: object) -> None:
    from gauntlet.faultproxy.client import ToxiproxyClient

    assert isinstance(toxiproxy, ToxiproxyClient)
    toxiproxy.update_proxy("pg_replica_1", enabled=False)
    try:
        statuses = {s.name: s for s in stack_status(gauntlet_stack)}
        assert not statuses["toxiproxy"].healthy
        assert "pg_replica_1" in statuses["toxiproxy"].detail
        assert not statuses["api"].healthy  # the API's health sees the replica gone: degraded
        assert "degraded" in statuses["api"].detail
    finally:
        toxiproxy.update_proxy("pg_replica_1", enabled=True)
