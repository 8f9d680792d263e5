"""Fixtures for the acceptance tier: the real CLI, each test with its own stack."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gauntlet.stack import processes
from tests.acceptance.cli_harness import Cli


@pytest.fixture
def cli() -> Iterator[Cli]:
    state_dir = Path(tempfile.mkdtemp(prefix="gauntlet-accept-"))
    state_dir.chmod(0o755)
    harness = Cli(state_dir)
    try:
        yield harness
    finally:
        harness.run("down", "--purge")
        processes.sweep(str(state_dir))
        shutil.rmtree(state_dir, ignore_errors=True)
