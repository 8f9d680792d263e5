"""A first run on one machine: after a plain `gauntlet up`, the issue's load example passes and the
monitor's first run is green; the same load at production-size limits meets the 429s it avoided."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.acceptance.cli_harness import Cli

pytestmark = pytest.mark.acceptance

LOAD = ("load", "mixed", "--scenario", "ramp", "--users", "10", "--duration", "15s", "--no-progress")
# Only what a rate limit decides: refused requests. The latency SLOs depend on how busy the machine is
# (tests/acceptance/test_readme_examples.py runs the README's load examples with them).
ERRORS_ONLY = 'version: 1\nscope: profile\noverall:\n  error_rate: "< 0.1%"\n'


def test_a_plain_stack_passes_the_load_example_and_a_green_first_monitor_run(cli: Cli, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GAUNTLET_RATE_LIMIT_MULTIPLIER"}
    up = cli.run("up", env=env)
    assert up.returncode == 0, up.stderr
    assert "GAUNTLET_RATE_LIMIT_MULTIPLIER=50 (development default" in " ".join(up.stderr.split())

    slo = tmp_path / "errors-only.yaml"
    slo.write_text(ERRORS_ONLY)
    load = cli.run(*LOAD, "--slo", str(slo), "--out", str(tmp_path / "load"), timeout=180)
    assert load.returncode == 0, load.stdout + load.stderr
    assert "429" not in load.stdout, load.stdout

    monitor = cli.run(
        "monitor", "run", "--max-runs", "1", "--history", str(tmp_path / "history.db"),
        "--page", str(tmp_path / "status.html"), "--artifacts", str(tmp_path / "artifacts"),
        timeout=240,
    )  # fmt: skip
    assert monitor.returncode == 0, monitor.stderr
    runs = re.findall(r"run \S+: (\w+) ", monitor.stderr)
    assert runs == ["GREEN"] and "final status green" in monitor.stderr, monitor.stderr

    # The guard shown to matter: the same run against production-size limits is refused sign-ups.
    restarted = cli.run("restart", "api", "--env", "GAUNTLET_RATE_LIMIT_MULTIPLIER=1")
    assert restarted.returncode == 0, restarted.stderr
    more = [*LOAD[:5], "20", *LOAD[6:]]  # 20 sign-ups from one address: twice the `auth` bucket
    limited = cli.run(*more, "--slo", str(slo), "--out", str(tmp_path / "limited"), timeout=180)
    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert "`auth` rate limit was hit" in " ".join(limited.stdout.split()), limited.stdout
