"""Experiment files against the embedded stack: the example runs through the CLI and passes; an
exported built-in drill runs to the built-in's verdict; an exported drill with its fault neutered fails."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gauntlet.chaos.drills import get_drill
from gauntlet.chaos.experiment import Drill, JsonValue
from gauntlet.chaos.experiment_file import parse_experiment
from gauntlet.chaos.export import dump_experiment, export_drill
from gauntlet.chaos.target import DrillTarget
from gauntlet.stack.state import StackState
from tests.integration.chaos.conftest import assert_passed, explain, run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

EXAMPLE = Path(__file__).parents[3] / "examples" / "experiments" / "primary-latency.yaml"
BUSY_P99_MS = 5000.0


def test_the_example_experiment_runs_through_the_cli(gauntlet_stack: StackState, tmp_path: Path) -> None:
    journals = tmp_path / "journals"
    argv = [sys.executable, "-m", "gauntlet", "chaos", "run", str(EXAMPLE), "--state-dir", gauntlet_stack.state_dir]
    done = subprocess.run(
        [*argv, "--journal-dir", str(journals), "--journal-format", "chaostoolkit"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = journals.glob("primary-latency-*.chaostoolkit.json")
    journal = json.loads(path.read_text())
    assert journal["status"] == "completed" and journal["deviated"] is False
    assert journal["experiment"]["title"].startswith("The primary database is slow")
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    assert [r["activity"]["name"] for r in journal["run"]] == ["slow down the primary", "remove the latency"]
    assert all(r["status"] == "succeeded" for r in journal["run"])
    (gauntlet,) = journal["extensions"]
    assert gauntlet["journal"]["passed"] and gauntlet["journal"]["rto_s"] is not None
    assert {i["name"]: i["status"] for i in gauntlet["journal"]["invariants"]} == {
        "acknowledged writes stored exactly once": "passed",
        "replica reads unaffected": "passed",
        "replicas still streaming": "passed",
    }


def _stall() -> Drill:
    """redis-stall with room for a busy machine's latency (its own test holds it to 1 s): this is about the file."""
    drill = get_drill("redis-stall")
    return drill.with_(error_budget=replace(drill.error_budget, during_p99_ms=BUSY_P99_MS))


def _exported() -> dict[str, JsonValue]:
    return json.loads(dump_experiment(export_drill(_stall()), "json"))  # type: ignore[no-any-return]


async def test_an_exported_drill_runs_to_the_built_in_verdict(chaos_target: DrillTarget) -> None:
    built_in = await run(_stall(), chaos_target)
    text = dump_experiment(_exported(), "yaml")
    exported = await run(parse_experiment(text, source="redis-stall.yaml", fmt="yaml"), chaos_target)
    assert_passed(built_in)
    assert_passed(exported)
    assert exported["verdict"] == built_in["verdict"] == "passed"
    assert [i["name"] for i in exported["invariants"]] == [i["name"] for i in built_in["invariants"]]


async def test_an_exported_drill_with_its_fault_neutered_fails(chaos_target: DrillTarget) -> None:
    """db-partition's file with the partition replaced by enabling the proxy (which is already enabled):
    nothing is cut, so no write fails fast with a retry hint, and the file's verdict says so."""
    document = json.loads(dump_experiment(export_drill(get_drill("db-partition")), "json"))
    (cut,) = [a for a in document["method"] if a["name"].startswith("partition the platform from the primary")]
    cut["provider"] = {
        "type": "python",
        "module": "gauntlet.chaos.providers.toxiproxy",
        "func": "enable_proxy",
        "arguments": {"role": "primary_db"},
    }
    journal = await run(parse_experiment(json.dumps(document), source="neutered.json", fmt="json"), chaos_target)
    assert not journal["passed"], explain(journal)
    assert any("invariant writes fail fast with 503 and a retry hint failed" in r for r in journal["reasons"]), explain(
        journal
    )
