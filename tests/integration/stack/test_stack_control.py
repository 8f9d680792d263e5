"""Killing and restarting single services: the moves the failure drills are built from."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import asyncpg
import psutil
import pytest

from gauntlet.base.errors import GauntletError
from gauntlet.stack import control, processes
from gauntlet.stack.state import StackState, load_state
from gauntlet.stack.status import stack_status

pytestmark = pytest.mark.integration


def _status(state: StackState, name: str) -> tuple[bool, str]:
    found = {s.name: s for s in stack_status(state)}[name]
    return found.healthy, found.detail


def _wait_dead(pid: int) -> None:
    try:
        psutil.Process(pid).wait(timeout=10)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        pytest.fail(f"pid {pid} still alive")


def test_killed_worker_is_reported_and_restarted(gauntlet_stack: StackState) -> None:
    state_dir = Path(gauntlet_stack.state_dir)
    pid = control.kill(state_dir, "worker_queue_2")
    _wait_dead(pid)
    current = load_state(state_dir)
    assert current is not None
    assert _status(current, "worker_queue_2") == (False, "not running")

    record = control.restart(state_dir, "worker_queue_2")
    assert record.pid != pid
    current = load_state(state_dir)
    assert current is not None and current.services["worker_queue_2"].pid == record.pid
    assert _status(current, "worker_queue_2")[0]


async def test_replica_that_lost_its_data_is_recloned_and_streams_again(gauntlet_stack: StackState) -> None:
    state_dir = Path(gauntlet_stack.state_dir)
    record = gauntlet_stack.services["pg_replica_1"]
    assert record.data_dir is not None
    pid = control.kill(state_dir, "pg_replica_1", signal.SIGKILL)
    _wait_dead(pid)
    for child in processes.stack_processes(gauntlet_stack.state_dir):  # its backends die with it
        if "postgres" in child.name() and record.data_dir in " ".join(child.cmdline()):
            child.kill()
    shutil.rmtree(Path(record.data_dir) / "global")  # damaged beyond resuming

    control.restart(state_dir, "pg_replica_1")
    current = load_state(state_dir)
    assert current is not None
    healthy, detail = _status(current, "pg_replica_1")
    assert healthy and detail.startswith("streaming"), detail
    conn = await asyncpg.connect(gauntlet_stack.replica_dsns[0])
    try:
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
    finally:
        await conn.close()


def test_unknown_service_names_the_known_ones(gauntlet_stack: StackState) -> None:
    with pytest.raises(GauntletError, match=r"known: .*pg_primary"):
        control.kill(Path(gauntlet_stack.state_dir), "pg_nonexistent")


async def test_restarted_toxiproxy_gets_its_proxies_back(gauntlet_stack: StackState) -> None:
    import redis.asyncio as aioredis

    state_dir = Path(gauntlet_stack.state_dir)
    before = control.kill(state_dir, "toxiproxy", signal.SIGKILL)
    _wait_dead(before)
    control.restart(state_dir, "toxiproxy")
    current = load_state(state_dir)
    assert current is not None
    healthy, detail = _status(current, "toxiproxy")
    assert healthy, detail
    client = aioredis.from_url(gauntlet_stack.redis_url, socket_timeout=2)
    try:
        assert await client.ping() is True  # the redis proxy listens again on its recorded port
    finally:
        await client.aclose()
