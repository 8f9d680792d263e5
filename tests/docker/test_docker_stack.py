"""The Docker backend end to end: up, smoke, drills acting on containers, a journey, down.

One stack for the module (tests run in file order; the last one brings it down and proves nothing
of it is left). Drills: `gauntlet chaos run worker-crash` when the chaos CLI offers it; always a
worker crash done here by hand on the container (`docker kill -s KILL`) whose leases the other
queue worker picks up, and a replica loss whose reads fall back to the primary.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gauntlet.stack import control
from gauntlet.stack.docker import engine, roles
from gauntlet.stack.state import StackState, load_state
from gauntlet.stack.status import stack_status

pytestmark = pytest.mark.docker

GAUNTLET = [sys.executable, "-c", "from gauntlet.cli import main; main()"]


def gauntlet(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GAUNTLET, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False
    )


def query(dsn: str, sql: str, *args: object) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def wait_for(what: str, predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.2)


def test_up_runs_every_service_in_a_container_on_the_stacks_network(docker_stack: StackState) -> None:
    assert docker_stack.backend == "docker"
    assert docker_stack.docker_network == roles.network_name(docker_stack.state_dir)
    containers = {c.name: c for c in engine.stack_containers(docker_stack.state_dir)}
    for record in docker_stack.services.values():
        assert record.container in containers, record.name
        found = containers[record.container]
        assert found.status == "running"
        assert list(found.attrs["NetworkSettings"]["Networks"]) == [docker_stack.docker_network]
    assert set(docker_stack.proxies) == {"pg_primary", "pg_replica_1", "redis"}
    unhealthy = [s for s in stack_status(docker_stack) if not s.healthy]
    assert not unhealthy, unhealthy


def test_status_and_health_commands_read_the_docker_stack(docker_stack_dir: Path) -> None:
    status = gauntlet("status", "--json", "--state-dir", str(docker_stack_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    services = json.loads(status.stdout)["services"]
    assert {s["name"] for s in services} >= {"pg_primary", "pg_replica_1", "redis", "toxiproxy", "api"}
    health = gauntlet("health", "--state-dir", str(docker_stack_dir))
    assert health.returncode == 0, health.stdout + health.stderr


def test_smoke_passes_against_the_docker_stack(docker_stack_dir: Path) -> None:
    smoke = gauntlet("smoke", "--state-dir", str(docker_stack_dir))
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr


def test_chaos_drill_runs_unchanged(docker_stack_dir: Path) -> None:
    drill = gauntlet("chaos", "run", "worker-crash", "--state-dir", str(docker_stack_dir), timeout=600)
    assert drill.returncode == 0, drill.stdout + drill.stderr


def test_worker_crash_kills_its_container_and_the_other_worker_takes_its_leases(
    docker_stack_dir: Path, docker_stack: StackState
) -> None:
    from gauntlet.faultproxy.client import ToxiproxyClient

    state_dir, direct = docker_stack_dir, docker_stack.direct["primary_dsn"]
    crashed, rescuer = "worker_queue_1", "worker_queue_2"
    for name in (crashed, rescuer):  # short leases, so the rescue takes seconds (a new container each)
        control.restart(state_dir, name, env={"GAUNTLET_LEASE_TTL_SECONDS": "3"})
    user = httpx.post(
        f"{docker_stack.api_url}/auth/v1/signup",
        json={"email": f"drill-{uuid.uuid4().hex[:8]}@example.test", "password": "secret-pass-1"},
        timeout=10,
    )
    assert user.status_code == 200, user.text
    user_id, tag = user.json()["user"]["id"], uuid.uuid4().hex[:8]
    control.kill(state_dir, rescuer, signal.SIGSTOP)  # frozen: only the doomed worker leases
    try:
        with ToxiproxyClient(docker_stack.toxiproxy_url) as toxiproxy:
            # Slow database round trips keep the leases in the doomed worker's hands.
            toxiproxy.add_toxic("pg_primary", "latency", attributes={"latency": 700})
            try:
                ids = [
                    query(
                        direct,
                        "SELECT id FROM enqueue_event('telemetry.signal', $1, $2::jsonb)",
                        f"{tag}-{i}",
                        json.dumps({"user_id": user_id, "name": "watch", "metadata": {"tag": tag, "i": i}}),
                    )
                    for i in range(6)
                ]
                wait_for(
                    "the worker leases the events",
                    lambda: (
                        query(direct, "SELECT count(*) FROM events_queue WHERE id = ANY($1) AND status = 'leased'", ids)
                        > 0
                    ),
                )
                pid = control.kill(state_dir, crashed, signal.SIGKILL)
                assert pid > 0
            finally:
                toxiproxy.reset()
        record = docker_stack.services[crashed]
        assert record.container is not None
        wait_for("the container exits", lambda: not engine.is_running(str(record.container)), timeout=10)
    finally:
        control.kill(state_dir, rescuer, signal.SIGCONT)

    wait_for(
        "every event is done by the other worker",
        lambda: query(direct, "SELECT count(*) FROM events_queue WHERE id = ANY($1) AND status = 'done'", ids) == 6,
        timeout=45,
    )
    signals = query(direct, "SELECT count(*) FROM intent_signals WHERE metadata->>'tag' = $1", tag)
    assert signals == 6  # each effect exactly once, although some events were leased twice
    for name in (crashed, rescuer):
        control.restart(state_dir, name, env={"GAUNTLET_LEASE_TTL_SECONDS": None})
    assert all(s.healthy for s in stack_status(docker_stack))


def test_replica_loss_kills_its_container_reads_go_on_and_it_streams_again(
    docker_stack_dir: Path, docker_stack: StackState
) -> None:
    record = docker_stack.services["pg_replica_1"]
    control.kill(docker_stack_dir, "pg_replica_1", signal.SIGKILL)
    wait_for("the replica's container exits", lambda: not engine.is_running(str(record.container)), timeout=10)
    for _ in range(3):  # replica reads fall back to the primary
        response = httpx.post(
            f"{docker_stack.api_url}/rest/v1/rpc/interest_catalog_browse", json={"p_limit": 3}, timeout=10
        )
        assert response.status_code == 200 and len(response.json()) == 3, response.text
    control.restart(docker_stack_dir, "pg_replica_1")
    replica = next(s for s in stack_status(docker_stack) if s.name == "pg_replica_1")
    assert replica.healthy and replica.detail.startswith("streaming"), replica


def test_journey_returning_user_passes(docker_stack_dir: Path, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "gauntlet",
        "journey",
        "run",
        "returning_user",
        "--state-dir",
        str(docker_stack_dir),
        "--artifacts",
        str(tmp_path),
    ]

    def journey() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False
        )

    run = journey()
    if run.returncode == 1 and "'platform_content' failed" in run.stderr and "HTTP 429" in run.stderr:
        # Known, not Docker's: on a fresh stack the journey publishes ~62 rate-limited writes as one user
        # against a bucket of 60 (refill 5/s), so a fast stack runs dry. The content exists now: run it again.
        time.sleep(1.0)
        run = journey()
    if run.returncode == 2 and "chromium" in (run.stdout + run.stderr).lower():
        pytest.skip(f"no browser for journeys here: {run.stderr.strip()[-200:]}")
    assert run.returncode == 0, run.stdout + run.stderr


def test_cli_up_is_idempotent_refuses_the_other_backend_and_down_leaves_nothing(tmp_path: Path) -> None:
    state_dir = str(tmp_path / "cli-stack")
    try:
        first = gauntlet("up", "--backend", "docker", "--state-dir", state_dir)
        assert first.returncode == 0, first.stdout + first.stderr
        again = gauntlet("up", "--backend", "docker", "--state-dir", state_dir)
        assert again.returncode == 0 and "already up" in again.stderr, again.stderr
        other = gauntlet("up", "--state-dir", state_dir)
        assert other.returncode == 2 and "a docker stack is recorded" in other.stderr, other.stderr
        assert gauntlet("status", "--state-dir", state_dir).returncode == 0
    finally:
        down = gauntlet("down", "--state-dir", state_dir)
    assert down.returncode == 0 and "toxiproxy" in down.stderr, down.stderr
    assert engine.stack_containers(state_dir) == [] and engine.stack_networks(state_dir) == []


def test_a_failed_up_removes_what_it_started_and_leaves_no_state(tmp_path: Path) -> None:
    broken = "gauntlet/debian:bookworm"  # no Toxiproxy in it: its container exits at once
    if engine.get_image_labels(broken) is None:
        pytest.skip(f"{broken} is not here (made by docker/build-images.sh --offline)")
    state_dir = str(tmp_path / "broken-stack")
    run = subprocess.run(
        [*GAUNTLET, "up", "--backend", "docker", "--state-dir", state_dir],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
        env={**os.environ, "GAUNTLET_DOCKER_TOXIPROXY_IMAGE": broken},
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "toxiproxy could not start from image gauntlet/debian:bookworm" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert engine.stack_containers(state_dir) == [] and engine.stack_networks(state_dir) == []
    assert load_state(Path(state_dir)) is None


PLUGIN_TESTS = """
from pathlib import Path

from gauntlet.stack import control


def test_the_fixture_starts_a_docker_stack(gauntlet_stack, toxiproxy):
    assert gauntlet_stack.backend == "docker"
    assert "pg_primary" in toxiproxy.proxies()
    control.kill(Path(gauntlet_stack.state_dir), "worker_gc")


def test_the_next_test_finds_the_killed_container_healed(gauntlet_stack):
    assert control.is_running(gauntlet_stack.services["worker_gc"])
"""


def test_pytest_plugin_runs_its_stack_on_docker_when_asked(tmp_path: Path) -> None:
    (tmp_path / "test_on_docker.py").write_text(PLUGIN_TESTS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--gauntlet-backend", "docker", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_down_removes_every_container_and_the_network(docker_stack_dir: Path) -> None:
    from gauntlet.stack.docker import backend

    state = load_state(docker_stack_dir)
    assert state is not None
    stopped = backend.down(docker_stack_dir)
    assert set(stopped) == set(state.services)
    assert engine.stack_containers(state.state_dir) == []
    assert engine.stack_networks(state.state_dir) == []
    assert load_state(docker_stack_dir) is None
    assert (docker_stack_dir / "logs" / "api.log").exists()  # logs are kept after the containers are gone
