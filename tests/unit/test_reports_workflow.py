"""The example GitHub Actions workflow runs the gate and always publishes the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).parents[2] / ".github" / "workflows" / "gauntlet-gate.yml"


def steps() -> list[dict[str, Any]]:
    document = yaml.safe_load(WORKFLOW.read_text())
    assert {"jobs", "name"} <= set(document) and True in document  # YAML 1.1 reads `on:` as True
    result: list[dict[str, Any]] = document["jobs"]["gate"]["steps"]
    return result


def test_it_checks_out_sets_up_and_runs_the_gate_into_reports_out() -> None:
    found = steps()
    assert found[0]["uses"].startswith("actions/checkout@")
    runs = "\n".join(s.get("run", "") for s in found)
    assert "./dev run" in runs
    assert "gauntlet gate" in runs and "--profile ci" in runs and '--out "$REPORTS"' in runs
    assert "gauntlet report" in runs


def test_reports_are_published_whatever_the_verdict() -> None:
    by_name = {s.get("name"): s for s in steps()}
    upload = by_name["Upload reports"]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert upload["with"]["path"] == "${{ env.REPORTS }}"
    summary = by_name["Job summary"]
    assert summary["if"] == "always()" and '>> "$GITHUB_STEP_SUMMARY"' in summary["run"]


def test_inputs_reach_scripts_only_through_the_environment() -> None:
    for step in steps():
        assert "${{ inputs." not in step.get("run", ""), step.get("name")
