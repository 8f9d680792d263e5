"""The gate's load baseline: a file the user named, or the last passing run of the same profile here.

`baseline = "last"` (a gate profile's `[profile.X.load]`, or `gauntlet gate --baseline last`)
compares the load phase with the last run of the same gate profile that **passed** on this
machine, kept under the state dir (`baselines/<profile>/results.json`, with `gate.json`
saying what it was recorded with). It is an explicit choice, never implied: when there is
none yet, or the stored one was recorded with other settings (load plan, fixtures, host),
the gate says so as a skipped check, and this run becomes the baseline if the gate passes.
A named file is handed to `gauntlet load --baseline`, which refuses one of another plan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gauntlet.base.files import write_atomically
from gauntlet.gate.config import GateProfile
from gauntlet.reports.checks import Check

LAST = "last"
NONE = "none"


@dataclass(frozen=True, kw_only=True)
class BaselineChoice:
    path: Path | None  # handed to `gauntlet load --baseline`; None: no comparison this run
    remember_to: Path | None  # `last`: where a passing run's results are kept
    checks: list[Check]


def chosen(profile: GateProfile, override: str | None) -> str | None:
    """`--baseline` wins over the profile's `baseline`; `none` turns it off."""
    value = override if override is not None else (profile.load.baseline if profile.load else None)
    return None if value in (None, "", NONE) else value


def baselines_dir(state_dir: Path, profile: GateProfile, target: str | None) -> Path:
    """Per gate profile; a remote target gets its own (a staging URL is not the embedded stack)."""
    name = profile.name if target is None else f"{profile.name}-{hashlib.sha256(target.encode()).hexdigest()[:8]}"
    return state_dir / "baselines" / name


def recorded_with(profile: GateProfile) -> dict[str, Any]:
    """What a baseline must share with a run to be comparable, as plain data."""
    load = dataclasses.asdict(profile.load) if profile.load else None
    if load is not None:
        load.pop("baseline", None)
        load.pop("regression_factor", None)
    return {
        "load": load,
        "fixtures": dataclasses.asdict(profile.fixtures) if profile.fixtures else None,
        "slo": str(profile.slo) if profile.slo else None,
        "host": socket.gethostname(),
    }


def choose(profile: GateProfile, *, override: str | None, state_dir: Path, target: str | None) -> BaselineChoice:
    value = chosen(profile, override)
    if value is None or profile.load is None:
        return BaselineChoice(path=None, remember_to=None, checks=[])
    if value != LAST:
        return BaselineChoice(path=Path(value).expanduser().resolve(), remember_to=None, checks=[])
    folder = baselines_dir(state_dir, profile, target)
    results, meta = folder / "results.json", folder / "gate.json"
    name = "load p95 compared with the last passing run"
    if not results.is_file():
        why = f"no baseline yet: this run becomes it if the gate passes ({results})"
        return BaselineChoice(path=None, remember_to=folder, checks=[_noted(name, why)])
    try:
        stored = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    differences = _differences(stored, recorded_with(profile))
    if differences:
        why = (
            f"the last passing run was recorded with other settings ({'; '.join(differences)}): not compared; "
            "this run replaces it if the gate passes"
        )
        return BaselineChoice(path=None, remember_to=folder, checks=[_noted(name, why)])
    return BaselineChoice(path=results, remember_to=folder, checks=[])


def _noted(name: str, why: str) -> Check:
    # Skipped, not passed: nothing was compared. Waived: `baseline = "last"` accepts a first run without one.
    return Check(name=name, passed=False, skipped=True, waived=True, message=why)


def _differences(stored: Any, current: dict[str, Any]) -> list[str]:
    if not isinstance(stored, dict):
        return ["no readable gate.json beside it"]
    return [f"{key} {stored.get(key)!r} -> {value!r}" for key, value in current.items() if stored.get(key) != value]


def remember(choice: BaselineChoice, profile: GateProfile, load_results: Path | None) -> Path | None:
    """After a passing gate: keep its load results as the next run's baseline (only with `last`)."""
    if choice.remember_to is None or load_results is None or not load_results.is_file():
        return None
    folder = choice.remember_to
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / "results.json.new"
    shutil.copyfile(load_results, staged)
    staged.replace(folder / "results.json")
    write_atomically(folder / "gate.json", json.dumps(recorded_with(profile), indent=2, sort_keys=True))
    return folder / "results.json"
