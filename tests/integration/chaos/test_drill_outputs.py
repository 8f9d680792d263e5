"""`gauntlet chaos run DRILL --out ...` through the real CLI: the drill's background load as a JSON
line per request (as many as the journal's timeline counts) and a Prometheus endpoint scraped while
the drill runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet.stack.state import StackState
from tests.integration.load.test_outputs import Scraper, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_a_drill_streams_its_background_load(gauntlet_stack: StackState, tmp_path: Path) -> None:
    port = free_port()
    requests = tmp_path / "drill-requests.jsonl"
    journals = tmp_path / "journals"
    argv = [sys.executable, "-m", "gauntlet", "chaos", "run", "worker-crash", "--state-dir", gauntlet_stack.state_dir]
    with Scraper(port) as scraper:
        done = subprocess.run(
            [
                *argv,
                "--journal-dir",
                str(journals),
                "--out",
                f"json={requests}",
                "--out",
                f"prometheus=127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    journal = json.loads(next(journals.glob("*.json")).read_text())
    lines = [json.loads(line) for line in requests.read_text().splitlines()]
    assert len(lines) == sum(second["requests"] for second in journal["timeline"]) > 0
    assert sum(not line["ok"] for line in lines) == sum(second["errors"] for second in journal["timeline"])
    assert scraper.most > 0, "no request counted on /metrics while the drill ran"


def test_a_drill_refuses_a_folder_for_out(gauntlet_stack: StackState, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "gauntlet", "chaos", "run", "worker-crash", "--state-dir", gauntlet_stack.state_dir]
    done = subprocess.run(
        [*argv, "--out", str(tmp_path / "somewhere")],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    expected = "journals go to --journal-dir; --out takes json=FILE, prometheus[=HOST:PORT] or otlp[=URL]"
    assert expected in " ".join(done.stderr.split())
