"""A drill's journal in chaostoolkit's journal format (`--journal-format chaostoolkit`).

chaostoolkit's reporting (chaostoolkit-reporting, `chaos report`) reads `experiment`, `status`,
`deviated`, `start`/`end`/`duration`, `node`/`platform`, `steady_states.{before,after,during}`
(each `{steady_state_met, probes}`, a probe run with `tolerance_met`), `run[]` and `rollbacks[]`
(activity runs: `activity`, `status` succeeded/failed, `output`, `start`, `end`, `duration`,
`exception`). Gauntlet's own journal (RTO, windows, budget, invariants, verdict) rides along whole
under `extensions[{name: gauntlet, journal}]`, so nothing is lost. Pure, apart from `write_*`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from gauntlet import __version__
from gauntlet.base.files import write_atomically
from gauntlet.chaos.experiment import JsonValue
from gauntlet.chaos.experiment_file import EXTENSION
from gauntlet.chaos.journal import ActionRecord, Journal, ProbeRecord, iso, journal_file_name


def chaostoolkit_journal(
    journal: Journal, experiment: dict[str, JsonValue], *, node: str, platform: str
) -> dict[str, JsonValue]:
    """`journal` as chaostoolkit writes journal.json, for `experiment` (the document that ran)."""
    activities = _activities(experiment)
    hypothesis = experiment.get("steady-state-hypothesis")
    probes = hypothesis.get("probes") if isinstance(hypothesis, dict) else None
    per_round = len(probes) if isinstance(probes, list) and probes else 1
    rounds = {
        phase: _rounds(journal["probes"], phase, per_round, activities) for phase in ("before", "during", "after")
    }
    return {
        "chaoslib-version": f"gauntlet {__version__}",
        "platform": platform,
        "node": node,
        "experiment": experiment,
        "start": journal["started_at"],
        "end": journal["ended_at"],
        "duration": journal["duration_s"],
        "status": journal["status"],
        "deviated": journal["deviated"],
        "steady_states": {
            "before": rounds["before"][-1] if rounds["before"] else None,
            "after": rounds["after"][-1] if rounds["after"] else None,
            "during": list(rounds["during"]),
        },
        "run": [_action_run(r, activities) for r in journal["actions"] if r["phase"] == "method"],
        "rollbacks": [_action_run(r, activities) for r in journal["rollbacks"]],
        "extensions": [{"name": EXTENSION, "journal": _json(journal)}],
    }


def chaostoolkit_file_name(journal: Journal) -> str:
    return journal_file_name(journal).removesuffix(".json") + ".chaostoolkit.json"


def write_chaostoolkit_journal(
    journal: Journal, directory: Path, *, experiment: dict[str, JsonValue], node: str, platform: str
) -> Path:
    """Write the chaostoolkit form of `journal` under `directory`; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / chaostoolkit_file_name(journal)
    document = chaostoolkit_journal(journal, experiment, node=node, platform=platform)
    write_atomically(path, json.dumps(document, indent=2) + "\n")
    return path


def _activities(experiment: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """Every activity of the experiment, by name (the hypothesis's probes, method, rollbacks)."""
    found: dict[str, JsonValue] = {}
    hypothesis = experiment.get("steady-state-hypothesis")
    groups: list[JsonValue] = [
        hypothesis.get("probes") if isinstance(hypothesis, dict) else None,
        experiment.get("method"),
        experiment.get("rollbacks"),
    ]
    for group in groups:
        for activity in group if isinstance(group, list) else []:
            if isinstance(activity, dict) and isinstance(activity.get("name"), str):
                found.setdefault(str(activity["name"]), activity)
    return found


def _rounds(
    records: Sequence[ProbeRecord], phase: str, per_round: int, activities: dict[str, JsonValue]
) -> list[JsonValue]:
    """The probe records of `phase`, as chaostoolkit's steady-state results (one per round of probes)."""
    mine = [r for r in records if r["phase"] == phase]
    rounds: list[JsonValue] = []
    for start in range(0, len(mine), per_round):
        chunk = mine[start : start + per_round]
        rounds.append(
            {
                "steady_state_met": all(r["within_tolerance"] for r in chunk),
                "probes": [_probe_run(r, activities) for r in chunk],
            }
        )
    return rounds


def _probe_run(record: ProbeRecord, activities: dict[str, JsonValue]) -> JsonValue:
    end = _epoch(record["at"])
    duration = record["duration_ms"] / 1000.0
    run: dict[str, JsonValue] = {
        "activity": activities.get(record["name"], {"type": "probe", "name": record["name"]}),
        "output": record["observed"],
        "status": "succeeded" if record["error"] is None else "failed",
        "start": iso(end - duration),
        "end": record["at"],
        "duration": round(duration, 3),
        "tolerance_met": record["within_tolerance"],
    }
    if record["error"] is not None:
        run["exception"] = [record["error"]]
    return run


def _action_run(record: ActionRecord, activities: dict[str, JsonValue]) -> JsonValue:
    run: dict[str, JsonValue] = {
        "activity": activities.get(record["name"], {"type": "action", "name": record["name"]}),
        "output": record["output"],
        "status": "succeeded" if record["ok"] else "failed",
        "start": record["started_at"],
        "end": record["ended_at"],
        "duration": round(_epoch(record["ended_at"]) - _epoch(record["started_at"]), 3),
    }
    if record["error"] is not None:
        run["exception"] = [record["error"]]
    return run


def _epoch(iso_text: str) -> float:
    return dt.datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


def _json(journal: Journal) -> JsonValue:
    value: JsonValue = json.loads(json.dumps(journal))
    return value
