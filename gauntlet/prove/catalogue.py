"""The fault catalogue: `faults/*.toml` beside this file, one `[[fault]]` table per seeded fault.

[[fault]]
name = "onboarding-accepts-two-interests"      # unique, lower-case words joined by '-'
protects = "complete_onboarding refuses fewer than 3 interests"   # the rule, one sentence
file = "platform/migrations/100_rpc_onboarding.sql"   # relative to the project root
scope = "complete_onboarding"    # the SQL function, Python def/class (Class.method) or JS function
old = "if v_interests < 3 then"  # must occur exactly once inside `scope`
new = "if v_interests < 2 then"
phases = ["acceptance"]          # the gate phases expected to catch it (`prove --quick` runs only these)
checks = ["onboarding.requires_three_interests"]   # acceptance checks that should catch it (quick mode)
drills = []                      # drills that should catch it (quick mode)
journeys = []                    # journeys that should catch it (quick mode)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gauntlet.base.errors import GauntletError

FAULTS_DIR = Path(__file__).with_name("faults")
PHASES = ("smoke", "acceptance", "load", "drills", "journeys")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_KEYS = {"name", "protects", "file", "scope", "old", "new", "phases", "checks", "drills", "journeys"}


class CatalogueError(GauntletError):
    """A fault file is wrong; the message names the file, the fault and the key."""


@dataclass(frozen=True, kw_only=True)
class Fault:
    name: str
    protects: str
    file: str
    scope: str
    old: str
    new: str
    phases: tuple[str, ...]
    checks: tuple[str, ...] = ()
    drills: tuple[str, ...] = ()
    journeys: tuple[str, ...] = ()
    source: str = ""  # the catalogue file it came from


def load_catalogue(directory: Path = FAULTS_DIR) -> dict[str, Fault]:
    """Every fault of every `*.toml` in `directory`, by name (names are unique across files)."""
    faults: dict[str, Fault] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{path}: not valid TOML: {exc}") from None
        unknown_top = set(raw) - {"fault"}
        if unknown_top:
            raise CatalogueError(f"{path}: unknown table(s) {sorted(unknown_top)}; write [[fault]] tables")
        for index, table in enumerate(raw.get("fault", [])):
            fault = _fault(table, where=f"{path}: fault #{index + 1}", source=path.name)
            if fault.name in faults:
                raise CatalogueError(f"{path}: fault {fault.name!r} is also in {faults[fault.name].source}")
            faults[fault.name] = fault
    return faults


def _fault(raw: Any, *, where: str, source: str) -> Fault:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: must be a table")
    unknown = set(raw) - _KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    for key in ("name", "protects", "file", "scope", "old", "new"):
        if not isinstance(raw.get(key), str) or (key != "new" and not raw[key]):
            raise CatalogueError(f"{where}: `{key}` must be a non-empty string")
    name = raw["name"]
    where = f"{where} ({name})"
    if not _NAME.match(name):
        raise CatalogueError(f"{where}: name must be lower-case words joined by '-', e.g. feed-cart-not-suppressed")
    file_parts = Path(raw["file"]).parts
    if Path(raw["file"]).is_absolute() or file_parts[:1] != ("platform",) or ".." in file_parts:
        raise CatalogueError(f"{where}: `file` {raw['file']!r} is not under platform/; faults change only the platform")
    if raw["old"] == raw["new"]:
        raise CatalogueError(f"{where}: `old` and `new` are the same: that is no fault")
    lists = {key: _strings(raw.get(key, []), f"{where}: `{key}`") for key in ("phases", "checks", "drills", "journeys")}
    if not lists["phases"]:
        raise CatalogueError(f"{where}: `phases` names none of {list(PHASES)}: which phase should catch it?")
    bad = [p for p in lists["phases"] if p not in PHASES]
    if bad:
        raise CatalogueError(f"{where}: unknown phase(s) {bad}; phases are {list(PHASES)}")
    return Fault(
        name=name,
        protects=raw["protects"],
        file=raw["file"],
        scope=raw["scope"],
        old=raw["old"],
        new=raw["new"],
        phases=lists["phases"],
        checks=lists["checks"],
        drills=lists["drills"],
        journeys=lists["journeys"],
        source=source,
    )


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise CatalogueError(f"{where} must be a list of names")
    return tuple(raw)
