"""A drill's journal in chaostoolkit's journal format: what chaostoolkit's reporting reads is there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gauntlet.chaos.chaostoolkit_journal import chaostoolkit_journal, write_chaostoolkit_journal
from gauntlet.chaos.export import export_drill
from gauntlet.chaos.journal import Journal
from tests.unit.test_chaos_runner import FakeClock, FakeKeeper, World, make_drill, run


def _as_json(journal: Journal, experiment: dict[str, Any]) -> Any:
    return json.loads(json.dumps(chaostoolkit_journal(journal, experiment, node="host-1", platform="Linux")))


async def test_a_passing_run_reads_as_a_completed_chaostoolkit_experiment(tmp_path: Path) -> None:
    world = World(FakeClock(), heals_after_s=1.0)
    drill = make_drill(world)
    journal = await run(drill, world, keeper=FakeKeeper())
    experiment = export_drill(drill)
    document = _as_json(journal, experiment)

    assert document["experiment"] == experiment and document["node"] == "host-1"
    assert document["status"] == "completed" and document["deviated"] is False
    assert (document["start"], document["end"]) == (journal["started_at"], journal["ended_at"])
    states = document["steady_states"]
    assert states["before"]["steady_state_met"] is True and states["after"]["steady_state_met"] is True
    assert any(r["steady_state_met"] is False for r in states["during"])  # the fault was seen
    (probe,) = states["before"]["probes"]
    assert probe["tolerance_met"] is True and probe["status"] == "succeeded" and probe["output"] is True
    assert probe["activity"]["name"] == "platform steady" and probe["activity"]["tolerance"] is True
    assert [(r["activity"]["name"], r["status"]) for r in document["run"]] == [
        ("inject", "succeeded"),
        ("remove", "succeeded"),
    ]
    assert [r["activity"]["name"] for r in document["rollbacks"]] == ["undo"]
    (extension,) = document["extensions"]
    assert extension["name"] == "gauntlet" and extension["journal"]["rto_s"] == journal["rto_s"]

    path = write_chaostoolkit_journal(journal, tmp_path, experiment=experiment, node="h", platform="p")
    assert path.name.endswith(".chaostoolkit.json") and json.loads(path.read_text())["status"] == "completed"


async def test_a_run_that_never_recovers_is_deviated_and_its_after_state_unmet() -> None:
    world = World(FakeClock(), heals_after_s=1000.0)
    drill = make_drill(world, recovery_timeout_s=2.0)
    journal = await run(drill, world, keeper=FakeKeeper())
    document = _as_json(journal, export_drill(drill))
    assert document["status"] == "failed" and document["deviated"] is True
    assert document["steady_states"]["after"]["steady_state_met"] is False
