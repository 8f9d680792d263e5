"""Ctrl-C in the middle of a drill, through the real CLI: the fault is rolled back and the journal says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gauntlet.faultproxy.client import ToxiproxyClient
from gauntlet.stack.state import StackState

pytestmark = pytest.mark.integration


def test_ctrl_c_during_the_fault_rolls_back_and_writes_an_interrupted_journal(
    gauntlet_stack: StackState, tmp_path: Path
) -> None:
    journals = tmp_path / "journals"
    argv = [sys.executable, "-c", "from gauntlet.cli import main; main()", "chaos", "run", "redis-stall"]
    argv += ["--state-dir", gauntlet_stack.state_dir, "--journal-dir", str(journals)]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
        # A Ctrl-C from a terminal: default SIGINT handling, whatever this test process inherited.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        with ToxiproxyClient(gauntlet_stack.toxiproxy_url) as toxiproxy:
            deadline = time.monotonic() + 30
            while not toxiproxy.get_proxy("redis").toxics:
                assert proc.poll() is None and time.monotonic() < deadline, "the drill never stalled redis"
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=120)
            assert proc.returncode == 130, output
            assert "interrupted: redis-stall rolled back" in output
            assert not toxiproxy.get_proxy("redis").toxics  # the fault is gone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (journal_file,) = journals.glob("redis-stall-*.json")
    journal = json.loads(journal_file.read_text())
    assert journal["status"] == "interrupted" and not journal["passed"]
    assert journal["fault_window"]["start"] is not None
    assert journal["clean_stack"]["passed"], journal["clean_stack"]
