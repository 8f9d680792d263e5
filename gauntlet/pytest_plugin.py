"""pytest plugin (entry point `gauntlet`): the `gauntlet_stack` and `toxiproxy` fixtures.

`gauntlet_stack` starts the embedded stack once per test session in a fresh
state dir and stops it at the end; with `--gauntlet-state-dir DIR` (or
GAUNTLET_TEST_STATE_DIR) it uses a stack already running there and leaves it
running. `toxiproxy` is a client for that stack's fault proxy; every toxic a
test adds is removed after it (`POST /reset`), so faults never leak between tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gauntlet.stack import supervisor
from gauntlet.stack.state import StackState, load_state

if TYPE_CHECKING:
    from gauntlet.chaos.toxiproxy.client import ToxiproxyClient


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gauntlet")
    group.addoption(
        "--gauntlet-state-dir",
        default=os.environ.get("GAUNTLET_TEST_STATE_DIR"),
        help="use the stack already running in this state dir instead of starting one",
    )


@pytest.fixture(scope="session")
def gauntlet_stack(request: pytest.FixtureRequest) -> Iterator[StackState]:
    """The running stack: api_url, primary_dsn, replica_dsns, redis_url, toxiproxy_url, service_key, ..."""
    given = request.config.getoption("--gauntlet-state-dir")
    if given:
        state = load_state(Path(given).resolve())
        if state is None or state.status != "up":
            pytest.fail(f"--gauntlet-state-dir {given}: no running stack there (run `gauntlet up --state-dir {given}`)")
        yield state
        return
    # Not under pytest's own tmp dir: that one is 0700 and the Postgres user must traverse it.
    state_dir = Path(tempfile.mkdtemp(prefix="gauntlet-stack-"))
    state_dir.chmod(0o755)
    try:
        result = supervisor.up(state_dir, supervisor.UpOptions.from_env())
        yield result.state
    finally:
        supervisor.down(state_dir, purge=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def toxiproxy(gauntlet_stack: StackState) -> Iterator[ToxiproxyClient]:
    """A Toxiproxy client for the stack's proxies (pg_primary, pg_replica_N, redis); reset after the test."""
    from gauntlet.chaos.toxiproxy.client import ToxiproxyClient

    with ToxiproxyClient(gauntlet_stack.toxiproxy_url) as client:
        try:
            yield client
        finally:
            client.reset()
