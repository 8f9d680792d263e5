"""One identity per module: nothing imports `load.shapes` meaning `gauntlet.load.shapes` (tests/import_identity.py)."""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tests.import_identity import (
    REPO_ROOT,
    SecondIdentityError,
    SecondIdentityGuard,
    bare_imports,
    python_files,
    top_level_folders,
)

FOLDERS = top_level_folders()


def test_the_top_level_folders_are_the_ones_gauntlet_links_to() -> None:
    assert {"platform", "load", "chaos", "journeys", "reports", "fixtures"} <= set(FOLDERS)
    assert FOLDERS["load"] == REPO_ROOT / "load"


def test_no_python_file_imports_a_top_level_folder_by_its_bare_name() -> None:
    files = python_files()
    assert REPO_ROOT / "load" / "shapes.py" in files and REPO_ROOT / "tests" / "conftest.py" in files
    assert not any("gauntlet/load" in str(f.relative_to(REPO_ROOT)) for f in files)  # symlinks not followed
    found = [
        f"{path.relative_to(REPO_ROOT)}:{bad.line}: `{bad.module}` (import {bad.fix()} instead)"
        for path in files
        for bad in bare_imports(path.read_text(encoding="utf-8"), FOLDERS)
    ]
    assert found == [], "imports that load a second copy of a module:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import load.shapes\n", ["load.shapes"]),
        ("from load.shapes import parse_stages\n", ["load.shapes"]),
        ("from chaos import drills\n", ["chaos"]),
        ("import journeys\n", ["journeys"]),
        ("def f() -> None:\n    from reports.model import Run\n", ["reports.model"]),
        ("from platform.api import app\n", ["platform.api"]),
        ("from platform import api\n", ["platform.api"]),
        ("import platform.workers.queue\n", ["platform.workers.queue"]),
        # The standard library's platform, our own package, relative imports, other names: fine.
        ("import platform\nprint(platform.system())\n", []),
        ("from platform import system, python_version\n", []),
        ("from gauntlet.load.shapes import parse_stages\nimport gauntlet.chaos.drills\n", []),
        ("from .shapes import parse_stages\nfrom ..load import x\n", []),
        ("import loader\nfrom reporting import x\n# import load.shapes in a comment\n", []),
    ],
)
def test_bare_imports_are_found(source: str, expected: list[str]) -> None:
    assert [bad.module for bad in bare_imports(source, FOLDERS)] == expected


def test_the_guard_refuses_a_bare_top_level_folder_and_lets_the_rest_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO_ROOT))  # as under `python -m pytest` or a REPL at the root
    guard = SecondIdentityGuard(FOLDERS)
    with pytest.raises(SecondIdentityError, match=r"import gauntlet\.load instead"):
        guard.find_spec("load", None)
    assert guard.find_spec("platform", None) is None  # the standard library's
    assert guard.find_spec("gauntlet", None) is None
    assert guard.find_spec("load.shapes", [str(REPO_ROOT / "load")]) is None  # submodules: the parent decided
    assert guard.find_spec("json", None) is None


def test_the_session_guard_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py installed the guard: a bare import fails even with the repository root on sys.path."""
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    monkeypatch.delitem(sys.modules, "load", raising=False)
    assert any(isinstance(finder, SecondIdentityGuard) for finder in sys.meta_path)
    with pytest.raises(SecondIdentityError):
        importlib.import_module("load.shapes")
    assert importlib.import_module("gauntlet.load.shapes").__file__ == str(Path(REPO_ROOT, "gauntlet/load/shapes.py"))


def test_mypy_checks_each_top_level_folder_once_as_part_of_gauntlet() -> None:
    """`mypy .` skips the bare folders (checked through gauntlet/ instead), so a new one needs the exclude too."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert {"gauntlet", "tests"} <= set(config["files"])
    for name in FOLDERS:
        assert any(re.search(pattern, f"{name}/module.py") for pattern in config["exclude"]), (
            f"add {name} to [tool.mypy] exclude in pyproject.toml"
        )
    assert not any(re.search(pattern, "gauntlet/load/shapes.py") for pattern in config["exclude"])
