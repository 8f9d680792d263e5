"""`gauntlet chaos run FILE` and `gauntlet chaos export DRILL` usage: no stack needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli_area import run_gauntlet

EXAMPLE = Path(__file__).parents[2] / "examples" / "experiments" / "primary-latency.yaml"


def test_export_writes_a_drill_as_an_experiment(tmp_path: Path) -> None:
    result = run_gauntlet("chaos", "export", "db-latency", state_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert document["title"].startswith("The primary is slow") and document["method"]
    target = tmp_path / "partition.json"
    result = run_gauntlet(
        "chaos",
        "export",
        "db-partition",
        "--variant",
        "reset-peer",
        "--format",
        "json",
        "-o",
        str(target),
        state_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert '"variant": "reset-peer"' in json.dumps(json.loads(target.read_text()))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["chaos", "export", "nope"], "error: unknown drill 'nope'; known drills: worker-crash"),
        (["chaos", "export", "db-latency", "--variant", "x"], "error: drill 'db-latency' has no variant 'x'"),
        (["chaos", "run", "missing.yaml"], "error: missing.yaml: no such file; give the path of an experiment file"),
        (["chaos", "run", str(EXAMPLE), "--variant", "kill"], "error: --variant applies to a built-in drill, not"),
        (["chaos", "run", "nope"], "(or give an experiment file: a path ending in .json, .yaml or .yml)"),
    ],
)
def test_usage_errors_exit_2_naming_the_fix(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_gauntlet(*args, state_dir=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_a_bad_experiment_file_exits_2_before_looking_for_a_stack(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("func: add_toxic", "func: add_toxik"))
    result = run_gauntlet("chaos", "run", str(bad), state_dir=tmp_path)
    assert result.returncode == 2
    expected = (
        f"error: {bad}:64: method[1].provider.func: gauntlet.chaos.providers.toxiproxy has no function 'add_toxik'"
    )
    assert expected in " ".join(result.stderr.split())
    assert "no running stack" not in result.stderr and "Traceback" not in result.stderr


def test_a_good_experiment_file_goes_on_to_look_for_the_stack(tmp_path: Path) -> None:
    result = run_gauntlet("chaos", "run", str(EXAMPLE), state_dir=tmp_path)
    assert result.returncode == 2 and "no running stack in" in result.stderr


def test_the_help_shows_files_and_export_with_examples(tmp_path: Path) -> None:
    run_help = " ".join(run_gauntlet("chaos", "run", "--help", state_dir=tmp_path).stdout.split())
    assert "experiment files" in run_help and "--journal-format" in run_help
    assert "Example: gauntlet chaos run examples/experiments/primary-latency.yaml" in run_help
    export_help = " ".join(run_gauntlet("chaos", "export", "--help", state_dir=tmp_path).stdout.split())
    assert "Example: gauntlet chaos export db-latency -o db-latency.yaml" in export_help
