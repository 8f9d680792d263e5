"""`gauntlet up/status/down` through the real CLI, including crashes and Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket

import psutil
import pytest

from tests.acceptance.cli_harness import Cli

pytestmark = pytest.mark.acceptance


def _gone(pids: dict[str, int]) -> list[str]:
    alive = []
    for name, pid in pids.items():
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(name)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_up_twice_is_a_noop_and_down_leaves_no_process(cli: Cli) -> None:
    first = cli.run("up")
    assert first.returncode == 0, first.stderr
    pids = cli.pids()
    assert {"pg_primary", "pg_replica_1", "redis", "toxiproxy", "api", "worker_queue_1"} <= set(pids)

    second = cli.run("up")
    assert second.returncode == 0, second.stderr
    assert "already up" in second.stderr
    assert cli.pids() == pids  # nothing restarted

    status = cli.run("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert '"healthy": false' not in status.stdout

    down = cli.run("down")
    assert down.returncode == 0, down.stderr
    assert _gone(pids) == []
    assert cli.leftovers() == []
    assert cli.run("status").returncode == 2  # nothing running: a usage error naming `gauntlet up`


def test_kill_9_of_services_is_detected_and_the_next_up_starts_fresh(cli: Cli) -> None:
    assert cli.run("up").returncode == 0
    before = cli.pids()
    os.kill(before["worker_queue_1"], signal.SIGKILL)
    os.kill(before["pg_replica_1"], signal.SIGKILL)

    status = cli.run("status")
    assert status.returncode == 1  # unhealthy services are reported, not hidden

    again = cli.run("up")
    assert again.returncode == 0, again.stderr
    assert "stale state found" in again.stderr
    after = cli.pids()
    assert _gone(before) == []  # every old process was cleaned up ...
    assert set(after.values()).isdisjoint(before.values())  # ... and the stack started fresh
    assert cli.run("status").returncode == 0


def test_kill_9_of_the_supervisor_mid_start_is_recovered(cli: Cli) -> None:
    proc = cli.spawn("up")
    cli.wait_for_service("pg_primary")
    proc.kill()
    proc.wait(timeout=10)
    assert cli.leftovers(), "the test should interrupt a start that had already spawned services"

    again = cli.run("up")
    assert again.returncode == 0, again.stderr
    assert "stale state found" in again.stderr
    assert cli.run("status").returncode == 0
    assert cli.run("down").returncode == 0
    assert cli.leftovers() == []


def test_ctrl_c_during_up_leaves_no_orphan(cli: Cli) -> None:
    proc = cli.spawn("up")
    cli.wait_for_service("pg_primary")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode == 130
    assert cli.leftovers() == []
    assert cli.state() == {}


def test_missing_postgres_binaries_is_a_one_line_error_naming_the_fix(cli: Cli) -> None:
    result = cli.run("up", env={**os.environ, "GAUNTLET_PG_BINDIR": "/nonexistent/bin"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "GAUNTLET_PG_BINDIR" in lines[0]
    assert cli.leftovers() == []


def test_port_clash_is_a_one_line_error_naming_the_fix(cli: Cli) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = cli.run("up", "--api-port", str(port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port}" in lines[0] and "--api-port" in lines[0]
    assert cli.leftovers() == []


def test_bad_option_value_is_a_usage_error_not_a_traceback(cli: Cli) -> None:
    result = cli.run("up", "--replicas", "abc")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Invalid value for '--replicas'" in result.stderr
    assert cli.leftovers() == []
