"""A person's own locustfile (`gauntlet load -f FILE.py`): checked, named and turned into a profile.

Before any load starts the file is compiled here (a syntax error names its line) and
imported in a child process by `gauntlet.load.locustfile_probe` (Locust patches the
interpreter with gevent, so never in this one): an import error names its line, and a
file without a runnable `User` class is refused. The requests the file can make are read
from its source: each `*.client.get/post/...(path, name=...)` call with a literal name or
path, as Locust would name it. A request named at run time (an f-string, a variable) makes
the set open-ended, and thresholds on unknown names then only warn.

Locust itself runs the file next to `measure_locustfile.py` (Gauntlet's shape and HDR
measurement): `locust -f measure_locustfile.py,FILE.py`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gauntlet.base.errors import GauntletError
from gauntlet.load.locustfile_probe import PROBE_MARK
from gauntlet.load.profiles.catalog import Profile

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
PROBE_TIMEOUT_S = 60.0


class LocustfileError(GauntletError):
    """A locustfile that cannot run: missing, a syntax or import error, or no User class."""


@dataclass(frozen=True, kw_only=True)
class Requests:
    names: frozenset[str]
    # Lines of requests named only at run time: the names cannot all be known before the run.
    dynamic_lines: tuple[int, ...] = ()

    @property
    def open_ended(self) -> bool:
        return bool(self.dynamic_lines)


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name_of_path(path: str) -> str:
    """Locust's default request name: the URL's path (and query) when no `name=` is given."""
    parts = urlsplit(path)
    if parts.scheme and parts.netloc:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return path


def _request_call(node: ast.Call) -> tuple[ast.expr | None, ast.expr | None] | None:
    """(name expression, path expression) of a `X.client.METHOD(...)` call; None for any other call."""
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in HTTP_METHODS | {"request"}:
        return None
    owner = func.value
    if not (isinstance(owner, ast.Attribute) and owner.attr == "client"):
        return None
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    position = 1 if func.attr == "request" else 0
    path = node.args[position] if len(node.args) > position else keywords.get("url") or keywords.get("path")
    return keywords.get("name"), path


def requests_of_source(tree: ast.AST) -> Requests:
    """The request names the file's `client` calls make, as Locust names them."""
    names: set[str] = set()
    dynamic: list[int] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        call = _request_call(node)
        if call is None:
            continue
        name_node, path_node = call
        if name_node is not None:
            name = _literal(name_node)
        else:
            path = _literal(path_node)
            name = _name_of_path(path) if path is not None else None
        if name is None:
            dynamic.append(node.lineno)
        else:
            names.add(name)
    return Requests(names=frozenset(names), dynamic_lines=tuple(sorted(dynamic)))


def parse_locustfile(path: Path) -> Requests:
    """Read and compile the file; LocustfileError naming the file and line when it cannot."""
    if path.suffix != ".py":
        raise LocustfileError(f"-f {path}: a locustfile is a Python file (.py) defining Locust User classes")
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LocustfileError(f"-f {path}: no such file; pass the path of your locustfile") from None
    except OSError as exc:
        raise LocustfileError(f"-f {path}: cannot read it: {exc.strerror or exc}") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise LocustfileError(
            f"{path}:{exc.lineno}: syntax error: {exc.msg}; fix that line (python -m py_compile {path} checks it)"
        ) from None
    return requests_of_source(tree)


@dataclass(frozen=True, kw_only=True)
class Probed:
    user_classes: tuple[str, ...]
    shapes: tuple[str, ...]


def _import_problem(path: Path, report: dict[str, object]) -> LocustfileError:
    kind, message, line = report.get("error"), report.get("message"), report.get("line")
    where = f"{path}:{line}" if line else str(path)
    fix = "fix that line"
    missing = report.get("missing_module")
    if kind == "ModuleNotFoundError" and missing:
        fix = f"install it where Gauntlet runs ({sys.executable} -m pip install {missing}) or remove the import"
    return LocustfileError(f"{where}: importing the locustfile raised {kind}: {message}; {fix}")


def probe_locustfile(path: Path) -> Probed:
    """Import the file in a child process: its runnable User classes, or the error that stopped it."""
    cmd = [sys.executable, "-m", "gauntlet.load.locustfile_probe", str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, cwd=path.parent)
    except subprocess.TimeoutExpired:
        raise LocustfileError(
            f"{path}: importing it took over {PROBE_TIMEOUT_S:g} s; move slow work out of import time "
            "(into on_start or a @events.test_start listener)"
        ) from None
    lines = [line for line in done.stdout.splitlines() if line.startswith(PROBE_MARK)]
    if not lines:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise LocustfileError(f"{path}: cannot import it ({detail}); run `python {path}` to see why")
    report = json.loads(lines[-1][len(PROBE_MARK) :])
    if "error" in report:
        raise _import_problem(path, report)
    classes = tuple(report["user_classes"])
    if not classes:
        raise LocustfileError(
            f"{path}: no Locust User class; add one, e.g. `class Reader(HttpUser)` with a @task method "
            "(an abstract class does not count)"
        )
    return Probed(user_classes=classes, shapes=tuple(report["shapes"]))


@dataclass(frozen=True, kw_only=True)
class Locustfile:
    path: Path
    profile: Profile
    requests: Requests
    shapes: tuple[str, ...]


def read_locustfile(path: Path) -> Locustfile:
    """The file as a profile (its User classes, the requests they make); LocustfileError if it cannot run."""
    path = path.resolve() if path.exists() else path
    requests = parse_locustfile(path)
    probed = probe_locustfile(path)
    profile = Profile(
        name=path.stem,
        description=f"the User classes of {path}",
        user_classes=probed.user_classes,
        requests=requests.names,
        accounts="fresh",
    )
    return Locustfile(path=path, profile=profile, requests=requests, shapes=probed.shapes)
