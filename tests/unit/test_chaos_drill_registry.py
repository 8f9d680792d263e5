"""The drill registry (chaos/drills/__init__.py): every drill module is listed, and a broken one is an error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gauntlet.chaos import drills


def test_every_drill_module_in_the_folder_is_listed() -> None:
    folder = Path(drills.__file__).parent
    on_disk = {path.stem for path in folder.glob("*.py")} - {"__init__"}
    assert on_disk == set(drills.MODULES), "a drill module not in MODULES never runs; add it in the `--all` order"


def test_a_drill_whose_import_is_broken_is_an_error_not_a_missing_drill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_drill.py").write_text("import gauntlet.chaos.no_such_module\n")
    monkeypatch.setattr(drills, "__path__", [*drills.__path__, str(tmp_path)])
    monkeypatch.setattr(drills, "MODULES", (*drills.MODULES, "broken_drill"))
    monkeypatch.delitem(sys.modules, f"{drills.__name__}.broken_drill", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"gauntlet\.chaos\.no_such_module"):
        drills.drill_specs()
    with pytest.raises(ModuleNotFoundError):
        drills.get_drill("worker-crash")
