"""The drills' named SQL: every query documented, and every name the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from gauntlet.chaos.sql import SQL_DIR, load

CHAOS_DIR = SQL_DIR.parent
_USE = re.compile(r'\bsql\(\s*"(?P<file>[a-z_]+)",\s*"(?P<name>[a-z_]+)"\s*\)')


def test_every_query_has_a_description_and_its_params() -> None:
    stems = sorted(path.stem for path in SQL_DIR.glob("*.sql"))
    assert stems == ["fixtures", "invariants"]
    for stem in stems:
        for query in load(stem).values():
            assert query.description, f"{stem}.{query.name} has no description"
            assert query.params, f"{stem}.{query.name} lists no params (write 'params: none')"


def test_every_query_the_code_names_exists() -> None:
    used = set()
    for path in CHAOS_DIR.rglob("*.py"):
        if "toxiproxy" in path.parts:
            continue
        used |= {(m["file"], m["name"]) for m in _USE.finditer(path.read_text(encoding="utf-8"))}
    tests = Path(__file__).parents[1] / "integration" / "chaos"
    for path in tests.glob("*.py"):
        used |= {(m["file"], m["name"]) for m in _USE.finditer(path.read_text(encoding="utf-8"))}
    assert len(used) > 20
    missing = sorted(f"{file}.{name}" for file, name in used if name not in load(file))
    assert not missing
