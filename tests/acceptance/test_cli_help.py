"""The top-level help names the exit codes; `--version` prints the version."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gauntlet import __version__

pytestmark = pytest.mark.acceptance
GAUNTLET = [sys.executable, "-m", "gauntlet"]


def test_version_prints_the_version_and_exits_0() -> None:
    proc = subprocess.run([*GAUNTLET, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"gauntlet {__version__}")


def test_top_level_help_has_the_exit_code_legend_and_an_example() -> None:
    proc = subprocess.run([*GAUNTLET, "--help"], capture_output=True, text=True, timeout=60, check=False)
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0
    assert "Exit codes: 0 passed; 1" in text and "2 usage or environment error" in text and "130" in text
    assert "Example: gauntlet up" in text
