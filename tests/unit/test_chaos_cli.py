"""`gauntlet chaos` usage: listing, and every usage error exits 2 naming the fix (no stack needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_area import run_gauntlet


def test_list_names_every_drill_with_its_needs(tmp_path: Path) -> None:
    result = run_gauntlet("chaos", "list", state_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in (
        "worker-crash",
        "redis-stall",
        "replica-loss",
        "db-latency",
        "db-partition",
        "duplicate-delivery",
        "poison-job",
        "lease-expiry",
    ):
        assert name in result.stdout
    assert "process_control" in result.stdout and "kill, proxy" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["chaos", "run", "nope"], "error: unknown drill 'nope'; known drills: worker-crash, redis-stall,"),
        (["chaos", "run"], "error: name a drill to run, or --all; known drills: worker-crash"),
        (["chaos", "run", "--all", "poison-job"], "error: give drill names or --all, not both"),
        (["chaos", "run", "replica-loss", "poison-job", "--variant", "kill"], "--variant applies to one drill"),
        (["chaos", "run", "replica-loss", "--variant", "x"], "has no variant 'x'; its variants: kill, proxy"),
        (["chaos", "run", "poison-job", "--repeat", "1000"], "--repeat 1000 is too many"),
        (["chaos", "run", "poison-job"], "no running stack in"),
        (["chaos", "run", "worker-crash", "--target", "http://127.0.0.1:9"], "needs its service_role key"),
    ],
)
def test_usage_errors_exit_2_with_one_line_naming_the_fix(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_gauntlet(*args, state_dir=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_remote_target_refuses_drills_that_need_the_embedded_stack(tmp_path: Path) -> None:
    result = run_gauntlet(
        "chaos", "run", "worker-crash", "--target", "http://127.0.0.1:9", "--service-key", "k", state_dir=tmp_path
    )
    assert result.returncode == 2
    assert "drill 'worker-crash' needs" in result.stderr and "process control (kill/restart)" in result.stderr
    assert "http://127.0.0.1:9 does not offer" in result.stderr
