"""Runs the real `gauntlet` CLI in a subprocess against its own state dir."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gauntlet.stack import processes

GAUNTLET = [sys.executable, "-c", "from gauntlet.cli import main; main()"]


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Cli:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*GAUNTLET, *args, "--state-dir", str(self.state_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*GAUNTLET, *args, "--state-dir", str(self.state_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
            # Ctrl-C as a terminal delivers it: a suite started in the background (`cmd &`) inherits
            # SIGINT ignored, and then Python never raises KeyboardInterrupt in the child.
            preexec_fn=default_sigint,
        )

    def state(self) -> dict[str, object]:
        path = self.state_dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def pids(self) -> dict[str, int]:
        services = self.state().get("services", {})
        assert isinstance(services, dict)
        return {name: rec["pid"] for name, rec in services.items() if rec.get("pid")}

    def wait_for_service(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while name not in self.pids():
            if time.monotonic() > deadline:
                pytest.fail(f"{name} never appeared in the state file")
            time.sleep(0.02)

    def leftovers(self) -> list[str]:
        return [f"{p.name()}[{p.pid}]" for p in processes.stack_processes(str(self.state_dir))]
