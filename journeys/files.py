"""Journey files: plain Playwright tests (pytest-playwright style) in a person's own folder.

    # my_journey.py
    BUDGET_MS = 20000  # the whole journey's budget (optional; default DEFAULT_BUDGET_MS)

    def test_login(page, journey):
        with journey.step("open", budget_ms=5000):
            page.goto(journey.url("/login"))

Every module-level `def test*` (or `async def test*`) is a journey, named after the function
without its `test_` prefix; `PATH::test_name` picks one. A test asks for fixtures by parameter
name, as under pytest: `page`, `context`, `browser`, `base_url` and `journey` (the steps and the
target; journeys/fixture.py). `SIGNS_UP_EVERY_RUN = True` marks a file whose journeys sign a
new user up on every run (the monitor never loops them against a deployment).

The file is read twice: first as source (`plan_source`, pure: syntax, test functions, their
fixtures, the module settings, each problem with its line and the fix), then imported under a
unique module name. Nothing starts a browser until both passed.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from gauntlet.base.errors import GauntletError
from gauntlet.base.hints import closest
from gauntlet.journeys.framework import Journey

FIXTURES = ("page", "context", "browser", "base_url", "journey")
DEFAULT_BUDGET_MS = 60000
BUDGET_SETTING = "BUDGET_MS"
SIGNUP_SETTING = "SIGNS_UP_EVERY_RUN"
SELECT = "::"
EXAMPLE = "def test_checkout(page, journey):"


class JourneyFileError(GauntletError):
    """A journey file that cannot run: the message names the file, the line and the fix (exit 2)."""


@dataclass(frozen=True, slots=True)
class TestPlan:
    function: str
    line: int
    fixtures: tuple[str, ...]
    is_async: bool
    description: str


@dataclass(frozen=True, slots=True)
class FilePlan:
    tests: tuple[TestPlan, ...]
    budget_ms: int  # a literal's value, else the default (a computed one is read once imported)
    signs_up_every_run: bool
    description: str
    setting_lines: dict[str, int]  # BUDGET_MS / SIGNS_UP_EVERY_RUN -> the line assigning it


COMPUTED = object()  # a setting assigned from an expression (`30 * 1000`): known only once imported


def journey_name(function: str) -> str:
    """`test_seller` -> `seller` (pytest's prefix is not part of the journey's name)."""
    name = function.removeprefix("test").lstrip("_")
    return name or function


def is_file_spec(spec: str) -> bool:
    """Whether a journey argument names a file (`x.py`, `dir/x.py`, `x.py::test_y`) rather than a built-in."""
    path = spec.split(SELECT, 1)[0]
    return SELECT in spec or path.endswith(".py") or "/" in path


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


def _setting(tree: ast.Module, name: str) -> tuple[object, int] | None:
    """What a module-level `NAME = ...` assigns (a literal's value, or COMPUTED), with its line."""
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        try:
            return ast.literal_eval(value) if value is not None else None, node.lineno
        except ValueError:
            return COMPUTED, node.lineno
    return None


def budget_setting(value: object, where: str, line: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise JourneyFileError(
            f"{where}:{line}: {BUDGET_SETTING} = {value!r}: give the whole journey's budget in ms, "
            f"a whole number > 0 (e.g. {BUDGET_SETTING} = 30000)"
        )
    return value


def signup_setting(value: object, where: str, line: int) -> bool:
    if not isinstance(value, bool):
        raise JourneyFileError(f"{where}:{line}: {SIGNUP_SETTING} = {value!r}: write True or False")
    return value


def _fixture_problem(where: str, line: int, function: str, args: ast.arguments) -> str | None:
    if args.vararg is not None or args.kwarg is not None:
        return f"{where}:{line}: {function} takes *args/**kwargs; name each fixture it needs ({', '.join(FIXTURES)})"
    positional = [*args.posonlyargs, *args.args]
    required = positional[: len(positional) - len(args.defaults)]
    required += [a for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True) if default is None]
    for arg in required:
        if arg.arg not in FIXTURES:
            close = closest(arg.arg, FIXTURES)
            hint = f"did you mean {close!r}? " if close else ""
            return (
                f"{where}:{arg.lineno}: {function} asks for fixture {arg.arg!r}, which Gauntlet cannot supply; "
                f"{hint}a journey's fixtures are {', '.join(FIXTURES)} (give anything else a default value)"
            )
    return None


def plan_source(source: str, where: str) -> FilePlan:
    """Check a journey file's source without running it; raises JourneyFileError naming the line and the fix."""
    try:
        tree = ast.parse(source, filename=where)
    except SyntaxError as exc:
        at = f":{exc.lineno}" if exc.lineno else ""
        raise JourneyFileError(
            f"{where}{at}: syntax error: {exc.msg}; fix the file (python -m py_compile {where})"
        ) from None
    tests: list[TestPlan] = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.name.startswith("test"):
            continue
        problem = _fixture_problem(where, node.lineno, node.name, node.args)
        if problem is not None:
            raise JourneyFileError(problem)
        required = [a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]]
        fixtures = tuple(a for a in required if a in FIXTURES)
        is_async = isinstance(node, ast.AsyncFunctionDef)
        tests.append(TestPlan(node.name, node.lineno, fixtures, is_async, _first_line(ast.get_docstring(node))))
    if not tests:
        raise JourneyFileError(
            f"{where}: no test functions; a journey file defines at least one module-level function "
            f"named test_* (e.g. `{EXAMPLE}`)"
        )
    names = [journey_name(t.function) for t in tests]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise JourneyFileError(f"{where}: two test functions make the journey {twice[0]!r}; rename one")
    budget_ms, signs_up, lines = DEFAULT_BUDGET_MS, False, {}
    found = _setting(tree, BUDGET_SETTING)
    if found is not None:
        value, lines[BUDGET_SETTING] = found
        if value is not COMPUTED:
            budget_ms = budget_setting(value, where, lines[BUDGET_SETTING])
    found = _setting(tree, SIGNUP_SETTING)
    if found is not None:
        value, lines[SIGNUP_SETTING] = found
        if value is not COMPUTED:
            signs_up = signup_setting(value, where, lines[SIGNUP_SETTING])
    return FilePlan(tuple(tests), budget_ms, signs_up, _first_line(ast.get_docstring(tree)), lines)


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode(), usedforsecurity=False).hexdigest()[:10]
    return f"gauntlet_journey_file_{path.stem}_{digest}"


def _import(path: Path, where: str) -> dict[str, object]:
    """Import the file under a unique module name, its folder first on sys.path (as pytest's rootdir-less import)."""
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise JourneyFileError(f"{where}: cannot be imported as a Python module; name it *.py")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
        line = f":{frames[-1].lineno}" if frames else ""
        raise JourneyFileError(
            f"{where}{line}: importing it raised {type(exc).__name__}: {exc}; fix the file "
            f"(it must import without running anything)"
        ) from None
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    return vars(module)


def load_file(spec: str) -> list[Journey]:
    """The journeys of `PATH` (every test function) or `PATH::test_name` (one); JourneyFileError when it cannot run."""
    raw, _, wanted = spec.partition(SELECT)
    path = Path(raw).expanduser().resolve()
    where = raw
    if not path.is_file():
        raise JourneyFileError(f"{where}: no such journey file; give the path of a .py file (or a built-in journey)")
    if path.suffix != ".py":
        raise JourneyFileError(f"{where}: a journey file is Python source: name it *.py")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JourneyFileError(f"{where}: cannot read it ({exc}); give a UTF-8 .py file") from None
    plan = plan_source(source, where)
    tests = plan.tests
    if wanted:
        tests = tuple(t for t in plan.tests if t.function == wanted)
        if not tests:
            have = ", ".join(t.function for t in plan.tests)
            raise JourneyFileError(f"{spec}: {where} has no test function {wanted!r}; it has {have}")
    namespace = _import(path, where)
    # The values the module holds once imported (a computed one, or one changed after its first assignment).
    budget_ms = plan.budget_ms
    if BUDGET_SETTING in namespace:
        budget_ms = budget_setting(namespace[BUDGET_SETTING], where, plan.setting_lines.get(BUDGET_SETTING, 1))
    signs_up = plan.signs_up_every_run
    if SIGNUP_SETTING in namespace:
        signs_up = signup_setting(namespace[SIGNUP_SETTING], where, plan.setting_lines.get(SIGNUP_SETTING, 1))
    journeys: list[Journey] = []
    for test in tests:
        function = namespace.get(test.function)
        if not callable(function):
            raise JourneyFileError(f"{where}:{test.line}: {test.function} is not a function once imported; rename it")
        if inspect.iscoroutinefunction(function) != test.is_async:
            raise JourneyFileError(f"{where}:{test.line}: {test.function}: a decorator changed whether it is async")
        journeys.append(
            Journey(
                name=journey_name(test.function),
                description=test.description or plan.description,
                total_budget_ms=budget_ms,
                test=function,
                fixtures=test.fixtures,
                source=f"{path}{SELECT}{test.function}",
                is_async=test.is_async,
                signs_up_every_run=signs_up,
            )
        )
    return journeys
