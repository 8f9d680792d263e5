"""The Docker tier (`-m docker`): the whole stack in containers, through testcontainers.

These tests need a Docker engine and the stack's images, so the default run (`./dev test`)
skips them. Run them with `GAUNTLET_DOCKER_TESTS=1 ./dev test -m docker` (what `.ci/docker-tier`
does), or `pytest tests/docker --run-docker`. Images come from GAUNTLET_DOCKER_IMAGES (`offline`
after `docker/build-images.sh --offline`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gauntlet.stack.state import StackState, load_state

ENABLE_ENV = "GAUNTLET_DOCKER_TESTS"


def pytest_addoption(parser: pytest.Parser) -> None:
    # Only seen when pytest starts in tests/docker (a conftest below the rootdir); the variable works everywhere.
    parser.addoption("--run-docker", action="store_true", default=False, help="run the Docker tier (-m docker)")


def docker_tier_enabled(config: pytest.Config) -> bool:
    return (
        os.environ.get(ENABLE_ENV, "") in ("1", "true", "yes")
        or bool(config.getoption("--run-docker", default=False))
        or config.getoption("markexpr", default="") == "docker"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if docker_tier_enabled(config):
        return
    skip = pytest.mark.skip(reason=f"Docker tier: set {ENABLE_ENV}=1 (or -m docker) to run it; see .ci/docker-tier")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def docker_stack_dir() -> Iterator[Path]:
    """One Docker stack for the tier, in a fresh state dir; always brought down.

    Shared, because each start costs ~40 s: test_docker_load_workers.py only loads it and runs
    first (files run in name order); test_docker_stack.py faults it and ends by bringing it down.
    """
    from gauntlet.stack import supervisor
    from gauntlet.stack.docker import backend

    state_dir = Path(tempfile.mkdtemp(prefix="gauntlet-docker-"))
    state_dir.chmod(0o755)
    try:
        backend.up(state_dir, supervisor.UpOptions())
        yield state_dir
    finally:
        backend.down(state_dir, purge=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def docker_stack(docker_stack_dir: Path) -> StackState:
    state = load_state(docker_stack_dir)
    if state is None or state.status != "up":
        pytest.fail(f"the Docker stack in {docker_stack_dir} is gone")
    return state
