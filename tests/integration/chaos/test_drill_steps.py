"""`gauntlet chaos run` reports each step of a drill as it begins, through the real CLI (the gate's live table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet.progress import PROGRESS_ENV
from gauntlet.stack.state import StackState

pytestmark = pytest.mark.integration


def test_the_steps_of_a_drill_arrive_in_the_progress_file(gauntlet_stack: StackState, tmp_path: Path) -> None:
    steps_file = tmp_path / "progress" / "drills.jsonl"
    argv = [sys.executable, "-m", "gauntlet", "chaos", "run", "worker-crash", "--state-dir", gauntlet_stack.state_dir]
    done = subprocess.run(
        [*argv, "--journal-dir", str(tmp_path / "journals")],
        env={**os.environ, PROGRESS_ENV: str(steps_file)},
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    events = [json.loads(line) for line in steps_file.read_text().splitlines()]
    assert {e["item"] for e in events} == {"worker-crash (1/1)"}
    steps = [e["step"] for e in events]
    expected_order = [
        "setting up: prepare users, catalog and load",
        "checking the steady state before the fault",
        "injecting the fault:",
        "fault injected (",
        "recovering: waiting for the steady state",
        "verifying: ",
        "verifying the stack is clean",
        "passed (completed)",
    ]
    at = 0
    for prefix in expected_order:  # in this order, other steps (load, rollbacks) in between
        found = next((i for i in range(at, len(steps)) if steps[i].startswith(prefix)), None)
        assert found is not None, f"no step {prefix!r} after step {at} in {steps}"
        at = found + 1
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
