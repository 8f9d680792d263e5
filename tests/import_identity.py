"""One import identity per module: `gauntlet.load.shapes`, never a second copy as `load.shapes`.

The top-level folders (platform/, load/, chaos/, ...) are reached through symlinks in gauntlet/.
From the repository root (on sys.path under `python -m pytest`, or in a REPL) `import load.shapes`
also works, and gives a second module with its own globals, classes and caches: an isinstance
check or a module-level registry then silently disagrees with the real one. Two guards:

- `bare_imports` finds such imports in source text (tests/unit/test_import_identity.py scans
  every Python file of the repository with it);
- `SecondIdentityGuard` is a meta path finder tests/conftest.py installs for the test session,
  so a dynamic import (importlib, a plugin) of a bare top-level folder fails at once.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]


def top_level_folders(repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """The folders gauntlet/ reaches through symlinks (name -> the folder at the repository root)."""
    package = repo_root / "gauntlet"
    return {
        link.name: link.resolve()
        for link in sorted(package.iterdir())
        if link.is_symlink() and link.resolve().is_dir() and link.resolve().parent == repo_root
    }


@dataclass(frozen=True, slots=True)
class BareImport:
    line: int
    module: str  # as written, e.g. "load.shapes"

    def fix(self) -> str:
        return f"gauntlet.{self.module}"


def _ours(module: str, folders: dict[str, Path]) -> bool:
    """Whether `module` (dotted, absolute) names one of the top-level folders or something in it.

    A folder whose name is also a standard library module (`platform`) counts only with a part
    that exists in the folder: `import platform` is the standard library's.
    """
    head, _, rest = module.partition(".")
    folder = folders.get(head)
    if folder is None:
        return False
    if head not in sys.stdlib_module_names:
        return True
    if not rest:
        return False
    first = rest.split(".")[0]
    return (folder / first).is_dir() or (folder / f"{first}.py").is_file()


def bare_imports(source: str, folders: dict[str, Path]) -> list[BareImport]:
    """The imports in `source` that reach a top-level folder by its bare name."""
    names = "|".join(re.escape(name) for name in folders)
    if not names or not re.search(rf"^\s*(from|import)\s+({names})\b", source, re.MULTILINE):
        return []  # the common case, without parsing
    found: list[BareImport] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [BareImport(node.lineno, alias.name) for alias in node.names if _ours(alias.name, folders)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if _ours(node.module, folders):
                found.append(BareImport(node.lineno, node.module))
            elif node.module in folders:  # `from platform import api`: a subpackage of ours
                found += [
                    BareImport(node.lineno, f"{node.module}.{alias.name}")
                    for alias in node.names
                    if _ours(f"{node.module}.{alias.name}", folders)
                ]
    return found


def python_files(repo_root: Path = REPO_ROOT) -> list[Path]:
    """Every Python file of the repository, each once (symlinked folders are not followed)."""
    skip = {".git", ".venv", "build", "dist", "node_modules", "__pycache__"}
    files: list[Path] = []
    stack = [repo_root]
    while stack:
        folder = stack.pop()
        for entry in folder.iterdir():
            if entry.is_symlink() or entry.name in skip or entry.name.endswith(".egg-info"):
                continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.suffix == ".py":
                files.append(entry)
    return sorted(files)


class SecondIdentityError(ImportError):
    pass


class SecondIdentityGuard:
    """A meta path finder that refuses `import load...` (and the other folders) by their bare names."""

    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if path is not None or fullname not in self.folders:
            return None  # a submodule, or another top-level name: not ours to judge
        spec = PathFinder.find_spec(fullname)
        if spec is None or not self._inside_folder(spec, self.folders[fullname]):
            return None  # e.g. the standard library's `platform`
        raise SecondIdentityError(
            f"`import {fullname}` would load a second copy of gauntlet.{fullname} (the folder "
            f"{self.folders[fullname]} through the repository root on sys.path): import gauntlet.{fullname} instead"
        )

    @staticmethod
    def _inside_folder(spec: ModuleSpec, folder: Path) -> bool:
        places = [*(spec.submodule_search_locations or []), *([spec.origin] if spec.origin else [])]
        return any(Path(place).resolve().is_relative_to(folder) for place in places)
