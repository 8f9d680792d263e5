"""pytest plugin (entry point `gauntlet`): the `gauntlet_stack` and `toxiproxy` fixtures.

`gauntlet_stack` starts the embedded stack once per test session in a fresh
state dir and stops it at the end; with `--gauntlet-state-dir DIR` (or
GAUNTLET_TEST_STATE_DIR) it uses a stack already running there and leaves it
running. `--gauntlet-backend docker` (or GAUNTLET_BACKEND=docker) starts it in containers
instead (gauntlet/stack/docker/). `toxiproxy` is a client for that stack's fault proxy; every toxic a
test adds is removed after it (`POST /reset`), so faults never leak between tests.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gauntlet.settings import harness_settings
from gauntlet.stack import control, supervisor
from gauntlet.stack.state import StackState, load_state

if TYPE_CHECKING:
    from gauntlet.faultproxy.client import ToxiproxyClient


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gauntlet")
    group.addoption(
        "--gauntlet-state-dir",
        default=harness_settings().test_state_dir,
        help="use the stack already running in this state dir instead of starting one",
    )
    group.addoption(
        "--gauntlet-backend",
        default=harness_settings().backend,
        choices=("embedded", "docker"),
        help="how the session's stack runs: embedded processes (default) or docker containers [env GAUNTLET_BACKEND]",
    )


@pytest.fixture(scope="session")
def gauntlet_stack_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """The state dir of the session's stack: started here, or given with --gauntlet-state-dir."""
    given = request.config.getoption("--gauntlet-state-dir")
    if given:
        state_dir = Path(given).resolve()
        state = load_state(state_dir)
        if state is None or state.status != "up":
            pytest.fail(f"--gauntlet-state-dir {given}: no running stack there (run `gauntlet up --state-dir {given}`)")
        yield state_dir
        return
    # Not under pytest's own tmp dir: that one is 0700 and the Postgres user must traverse it.
    state_dir = Path(tempfile.mkdtemp(prefix="gauntlet-stack-"))
    state_dir.chmod(0o755)
    up, down = supervisor.up, supervisor.down
    if request.config.getoption("--gauntlet-backend") == "docker":
        from gauntlet.stack.docker import backend as docker_backend

        up, down = docker_backend.up, docker_backend.down
    try:
        up(state_dir, supervisor.UpOptions.from_env())
        yield state_dir
    finally:
        down(state_dir, purge=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def gauntlet_stack(gauntlet_stack_dir: Path) -> StackState:
    """The running stack (api_url, primary_dsn, replica_dsns, redis_url, toxiproxy_url, service_key, ...).

    Read afresh for each test, and healed first: a service an earlier test killed is restarted,
    so every test starts with the whole stack up.
    """
    state = load_state(gauntlet_stack_dir)
    if state is None or state.status != "up":
        pytest.fail(f"the stack in {gauntlet_stack_dir} is gone (did a test run `gauntlet down`?)")
    dead = [r.name for r in state.services.values() if not r.external and not control.is_running(r)]
    for name in dead:
        control.restart(gauntlet_stack_dir, name)
    if dead:
        state = load_state(gauntlet_stack_dir)
        assert state is not None
    return state


@pytest.fixture
def toxiproxy(gauntlet_stack: StackState) -> Iterator[ToxiproxyClient]:
    """A Toxiproxy client for the stack's proxies (pg_primary, pg_replica_N, redis); reset after the test."""
    from gauntlet.faultproxy.client import ToxiproxyClient

    with ToxiproxyClient(gauntlet_stack.toxiproxy_url) as client:
        try:
            yield client
        finally:
            client.reset()
