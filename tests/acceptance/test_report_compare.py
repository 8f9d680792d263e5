"""`gauntlet report compare A B` in a subprocess: different plans are said, noise is not a change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.cli_harness import GAUNTLET
from tests.unit.test_reports_compare_noise import BASE, noisy_seconds, with_seconds

pytestmark = pytest.mark.acceptance


def compare(tmp_path: Path, a: object, b: object) -> subprocess.CompletedProcess[str]:
    paths = []
    for name, run in (("a", a), ("b", b)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(run.to_json()))  # type: ignore[attr-defined]
        paths.append(str(path))
    return subprocess.run(
        [*GAUNTLET, "report", "compare", *paths], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_runs_of_different_plans_are_said_to_differ(tmp_path: Path) -> None:
    a = with_seconds(BASE, "a", noisy_seconds(1, n=30), overall_p95=100.0, users=10)
    b = with_seconds(BASE, "b", noisy_seconds(2, n=60, scale=3.0), overall_p95=300.0, users=20)
    done = compare(tmp_path, a, b)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "plans differ" in done.stdout
    assert "peak 10 users, 30 s" in done.stdout and "peak 20 users, 60 s" in done.stdout


def test_two_noise_only_runs_show_no_significant_change(tmp_path: Path) -> None:
    a = with_seconds(BASE, "a", noisy_seconds(1), overall_p95=100.0)
    b = with_seconds(BASE, "b", noisy_seconds(2), overall_p95=19.0)
    done = compare(tmp_path, a, b)
    assert done.returncode == 0, done.stdout + done.stderr
    overall = [line for line in done.stdout.splitlines() if "| overall | p95_ms |" in line]
    assert len(overall) == 1 and "within noise" in overall[0] and "better" not in overall[0], overall
