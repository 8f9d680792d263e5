"""Import contracts: which part of Gauntlet may import which (read from the source, never imported).

- the reference platform (`gauntlet.platform`) imports only itself and `gauntlet.base`: it is the
  system under test and runs without the harness (`python -m gauntlet.platform migrate|serve`);
- the fault proxy (`gauntlet.faultproxy`) imports only itself and `gauntlet.base`;
- `gauntlet.base` imports only itself (the basics both sides share);
- the drills, journeys, load, acceptance checks, reports, gate and stack never import the platform:
  they reach it through its public surface (HTTP, SQL, its command line), as they would a real
  deployment. ALLOWED lists documented exceptions; it is empty;
- the stack (which the drills use) imports none of the drills, journeys, load, checks, gate or reports.

Outside these rules, besides tests and benchmarks: `gauntlet.fixtures` (the bulk loader writes the
reference platform's tables and password hashes directly) and `gauntlet.platform_cli` (`gauntlet smoke`
runs the platform's own cutover smoke test).

Every `import` and `from ... import` counts, at any depth (inside functions, under TYPE_CHECKING),
with relative imports resolved.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "gauntlet"


@dataclass(frozen=True)
class Contract:
    name: str
    sources: tuple[str, ...]  # modules the rule binds (a package binds its submodules too)
    allowed: tuple[str, ...] | None = None  # if set: the only gauntlet modules they may import
    forbidden: tuple[str, ...] = ()  # gauntlet modules they must not import


CONTRACTS = (
    Contract("the platform is a leaf", ("gauntlet.platform",), allowed=("gauntlet.platform", "gauntlet.base")),
    Contract("the fault proxy is a leaf", ("gauntlet.faultproxy",), allowed=("gauntlet.faultproxy", "gauntlet.base")),
    Contract("the base imports only itself", ("gauntlet.base",), allowed=("gauntlet.base",)),
    Contract(
        "the harness reaches the platform only through its surface",
        (
            "gauntlet.chaos",
            "gauntlet.journeys",
            "gauntlet.load",
            "gauntlet.acceptance",
            "gauntlet.reports",
            "gauntlet.gate",
            "gauntlet.stack",
        ),
        forbidden=("gauntlet.platform",),
    ),
    Contract(
        "the stack knows nothing of what runs against it",
        ("gauntlet.stack",),
        forbidden=(
            "gauntlet.chaos",
            "gauntlet.journeys",
            "gauntlet.load",
            "gauntlet.acceptance",
            "gauntlet.gate",
            "gauntlet.prove",
            "gauntlet.reports",
        ),
    ),
)

# (importing module, imported module) pairs let through on purpose, each with its reason. Keep it empty.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Violation:
    contract: str
    module: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.contract}: {self.module} (line {self.line}) imports {self.imported}"


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def modules(package_dir: Path) -> Iterator[tuple[str, Path]]:
    """(dotted name, file) of every module under `package_dir`, following the symlinked folders."""
    root = package_dir.name
    files = [Path(d) / f for d, _, names in os.walk(package_dir, followlinks=True) for f in names if f.endswith(".py")]
    for path in sorted(files):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join((root, *parts)), path


def imported_modules(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file; `from a import b` yields a.b too."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            yield node.lineno, origin
            for alias in node.names:
                yield node.lineno, f"{origin}.{alias.name}"


def violations(package_dir: Path, contracts: tuple[Contract, ...] = CONTRACTS) -> list[Violation]:
    root = package_dir.name
    found: list[Violation] = []
    for module, path in modules(package_dir):
        for contract in contracts:
            if not within(module, contract.sources):
                continue
            seen: set[str] = set()
            for line, imported in imported_modules(module, path):
                if not within(imported, (root,)) or imported == root or (module, imported) in ALLOWED:
                    continue
                refused = within(imported, contract.forbidden) or (
                    contract.allowed is not None and not within(imported, contract.allowed)
                )
                # `from gauntlet.base import errors` also yields gauntlet.base.errors: report a name once.
                if refused and not any(within(imported, (s,)) for s in seen):
                    seen.add(imported)
                    found.append(Violation(contract.name, module, line, imported))
    return found


def test_the_source_keeps_every_import_contract() -> None:
    assert [str(v) for v in violations(PACKAGE_DIR)] == []


def test_the_contracts_bind_modules_that_exist() -> None:
    names = {name for name, _ in modules(PACKAGE_DIR)}
    for contract in CONTRACTS:
        for source in contract.sources:
            present = any(within(name, (source,)) for name in names)
            assert present, f"{contract.name}: no module in {source} (a renamed package escapes its rule)"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "gauntlet"
    for name, text in {"__init__.py": "", **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, encoding="utf-8")
    return package


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # the platform importing the stack
            {"platform/cli.py": "from gauntlet.stack.current import running_state\n"},
            "the platform is a leaf: gauntlet.platform.cli (line 1) imports gauntlet.stack.current",
        ),
        (  # ... inside a function, with `import a.b`
            {"platform/db.py": "def f() -> None:\n    import gauntlet.target\n"},
            "the platform is a leaf: gauntlet.platform.db (line 2) imports gauntlet.target",
        ),
        (  # ... through a relative import that climbs out of it
            {"platform/workers/__init__.py": "", "platform/workers/gc.py": "from ...stack import control\n"},
            "the platform is a leaf: gauntlet.platform.workers.gc (line 1) imports gauntlet.stack",
        ),
        (  # the fault proxy importing the drills
            {"faultproxy/server.py": "from gauntlet.chaos import runner\n"},
            "the fault proxy is a leaf: gauntlet.faultproxy.server (line 1) imports gauntlet.chaos",
        ),
        (  # the base importing the harness
            {"base/errors.py": "from gauntlet import cli\n"},
            "the base imports only itself: gauntlet.base.errors (line 1) imports gauntlet.cli",
        ),
        (  # a drill importing a platform constant
            {"chaos/drills/poison_job.py": "from gauntlet.platform.workers.retry import DEFAULT_RETRY\n"},
            "the harness reaches the platform only through its surface: gauntlet.chaos.drills.poison_job (line 1) "
            "imports gauntlet.platform.workers.retry",
        ),
        (  # the stack importing the drills' fault proxy client from its old home
            {"stack/supervisor.py": "def f() -> None:\n    from gauntlet.chaos.toxiproxy.client import Toxic\n"},
            "the stack knows nothing of what runs against it: gauntlet.stack.supervisor (line 2) "
            "imports gauntlet.chaos.toxiproxy.client",
        ),
        (  # the stack importing the platform's serve module
            {"stack/supervisor.py": "from gauntlet.platform.api import serve\n"},
            "the harness reaches the platform only through its surface: gauntlet.stack.supervisor (line 1) "
            "imports gauntlet.platform.api",
        ),
    ],
)
def test_a_forbidden_import_is_reported(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert [str(v) for v in violations(_tree(tmp_path, files))] == [expected]


def test_what_the_contracts_allow_is_not_reported(tmp_path: Path) -> None:
    files = {
        "platform/api/main.py": "from gauntlet.base.logfmt import configure_logging\nfrom . import deps\n",
        "platform/api/deps.py": "import asyncpg\nfrom gauntlet.platform.settings import get_settings\n",
        "faultproxy/client.py": "from gauntlet.faultproxy.model import split_host_port\nimport httpx\n",
        "chaos/context.py": "from gauntlet.faultproxy.client import Toxic\nfrom gauntlet.stack import control\n",
        "stack/program.py": "PLATFORM = 'gauntlet.platform'\n",  # naming the program is not importing it
    }
    assert violations(_tree(tmp_path, files)) == []
