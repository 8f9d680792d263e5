"""`gauntlet chaos export DRILL`: a built-in drill in chaostoolkit's experiment format.

What the drill shares with other experiments (health, the load's error rate and latency, the
nothing-lost invariants, toxics by role, kill/restart) is written with its provider
(gauntlet.chaos.providers.*); a step only that drill has (publish its own work, hold a row lock)
is borrowed by name from it (gauntlet.chaos.providers.drills). Reading the file back gives a
drill that runs to the same verdict (experiment_file.py). Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Literal

import yaml

from gauntlet.chaos.experiment import Action, Drill, ErrorBudget, Invariant, JsonValue, Probe, ProviderCall
from gauntlet.chaos.experiment_file import EXTENSION
from gauntlet.chaos.providers.drills import MODULE as DRILLS
from gauntlet.chaos.providers.load import MODULE as LOAD
from gauntlet.chaos.providers.load import load_arguments

FORMAT_VERSION = "1.0.0"


def export_drill(drill: Drill, variant: str | None = None) -> dict[str, JsonValue]:
    """The experiment document of `drill` (as `get_drill(name, variant)` built it)."""
    method: list[JsonValue] = []
    if drill.load is not None:
        method.append(
            {
                "type": "action",
                "name": "background load",
                "background": True,
                "provider": {
                    "type": "python",
                    "module": LOAD,
                    "func": "background_load",
                    "arguments": load_arguments(drill.load),
                },
            }
        )
    method.extend(_action(drill, variant, a) for a in drill.method)
    fault: dict[str, JsonValue] = {a.fault: a.name for a in drill.method if a.fault is not None}
    extension: dict[str, JsonValue] = {
        "name": EXTENSION,
        "drill": drill.name,
        "fault": fault,
        "error_budget": _budget(drill.error_budget),
        "recovery_timeout_s": drill.recovery_timeout_s,
        "probe_interval_s": drill.probe_interval_s,
    }
    if drill.setup:
        extension["setup"] = [_action(drill, variant, a) for a in drill.setup]
    if drill.invariants:
        extension["invariants"] = [_invariant(drill, variant, i) for i in drill.invariants]
    if drill.settings:
        extension["settings"] = {service: dict(env) for service, env in drill.settings.items()}
    document: dict[str, JsonValue] = {
        "version": FORMAT_VERSION,
        "title": drill.title,
        "description": drill.proves,
        "tags": ["gauntlet", drill.name, *([variant] if variant else [])],
        "steady-state-hypothesis": {
            "title": "the platform is healthy and serving its users",
            "probes": [_probe(drill, variant, p) for p in drill.steady_state],
        },
        "method": method,
    }
    if drill.rollbacks:
        document["rollbacks"] = [_action(drill, variant, a) for a in drill.rollbacks]
    document["extensions"] = [extension]
    return document


def dump_experiment(document: dict[str, JsonValue], fmt: Literal["json", "yaml"]) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _provider(call: ProviderCall | None, drill: Drill, variant: str | None, name: str, func: str) -> JsonValue:
    if call is None:  # a step only this drill has: borrowed from it by name
        arguments: dict[str, JsonValue] = {"drill": drill.name, "name": name}
        if variant is not None:
            arguments["variant"] = variant
        call = ProviderCall(DRILLS, func, arguments)
    return {"type": "python", "module": call.module, "func": call.func, "arguments": dict(call.arguments)}


def _with_timeout(provider: JsonValue, timeout_s: float) -> JsonValue:
    assert isinstance(provider, dict)
    return {**provider, "timeout": timeout_s}


def _action(drill: Drill, variant: str | None, action: Action) -> JsonValue:
    activity: dict[str, JsonValue] = {
        "type": "action",
        "name": action.name,
        "provider": _with_timeout(_provider(action.provider, drill, variant, action.name, "action"), action.timeout_s),
    }
    if action.pause_before_s or action.pause_after_s:
        activity["pauses"] = {"before": action.pause_before_s, "after": action.pause_after_s}
    return activity


def _probe(drill: Drill, variant: str | None, probe: Probe) -> JsonValue:
    if probe.tolerance.spec is None:
        raise ValueError(f"probe {probe.name!r} of {drill.name} has a tolerance with no chaostoolkit form")
    return {
        "type": "probe",
        "name": probe.name,
        "tolerance": probe.tolerance.spec,
        "provider": _with_timeout(_provider(probe.provider, drill, variant, probe.name, "probe"), probe.timeout_s),
    }


def _invariant(drill: Drill, variant: str | None, invariant: Invariant) -> JsonValue:
    provider = _provider(invariant.provider, drill, variant, invariant.name, "invariant")
    return {"type": "probe", "name": invariant.name, "provider": _with_timeout(provider, invariant.timeout_s)}


def _budget(budget: ErrorBudget) -> JsonValue:
    return {
        "during_error_rate": budget.during_error_rate,
        "after_error_rate": budget.after_error_rate,
        "during_p99_ms": budget.during_p99_ms,
        "groups": [*map(str, sorted(budget.groups))],
        "after_groups": [*map(str, sorted(budget.after_groups))],
    }
