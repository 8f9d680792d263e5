"""The one exit idiom of every command (gauntlet/cliutil.py): problems raise, outcomes `raise typer.Exit(code)`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.base.errors import EXIT_FAILED, EnvironmentProblem, GauntletError
from gauntlet.cliutil import GauntletGroup

REPO = Path(__file__).resolve().parents[2]
# The program's entry point (gauntlet.cli.main) is the one place that may call sys.exit.
ENTRY_POINTS = {"gauntlet/cli.py"}
SKIPPED_DIRS = {".venv", "platform", "tests", "benchmarks", "build"}
OTHER_EXITS = re.compile(r"\bsys\.exit\(|\bSystemExit\(|except GauntletError")


def app_with(
    command: typer.models.CommandFunctionType, *, cls: type[typer.core.TyperGroup] = GauntletGroup
) -> typer.Typer:
    app = typer.Typer(cls=cls)
    app.command("go")(command)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps `go` a subcommand, as in the real app
        pass

    return app


def test_a_problem_is_one_error_line_and_its_exit_code() -> None:
    def go() -> None:
        raise GauntletError("--users 0: give at least one user [or none]")

    result = CliRunner().invoke(app_with(go), ["go"])
    assert result.exit_code == 2
    assert result.stderr == "error: --users 0: give at least one user [or none]\n"  # brackets kept, not markup
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_problem_class_sets_the_code() -> None:
    class Flaky(EnvironmentProblem):
        exit_code = 3

    def go() -> None:
        raise Flaky("no port free")

    result = CliRunner().invoke(app_with(go), ["go"])
    assert (result.exit_code, result.stderr) == (3, "error: no port free\n")


def test_an_outcome_code_passes_through() -> None:
    def go() -> None:
        raise typer.Exit(EXIT_FAILED)

    assert CliRunner().invoke(app_with(go), ["go"]).exit_code == EXIT_FAILED


def test_without_the_group_a_problem_is_a_traceback() -> None:
    """What GauntletGroup guards: a plain group lets the exception escape (exit 1, no error line)."""

    def go() -> None:
        raise GauntletError("boom")

    result = CliRunner().invoke(app_with(go, cls=typer.core.TyperGroup), ["go"])
    assert result.exit_code == 1
    assert isinstance(result.exception, GauntletError)


def command_modules() -> list[Path]:
    """Every harness module that defines commands (the platform is its own program, with its own CLI)."""
    patterns = ("*/cli.py", "*/*_cli.py", "*/*/cli.py", "*/*/*_cli.py")
    found = {p.resolve() for pattern in patterns for p in REPO.glob(pattern)}
    return sorted(p for p in found if p.is_relative_to(REPO) and p.relative_to(REPO).parts[0] not in SKIPPED_DIRS)


def test_the_command_modules_are_found() -> None:
    names = {str(p.relative_to(REPO)) for p in command_modules()}
    assert {
        "load/cli.py",
        "reports/cli.py",
        "journeys/monitor/cli.py",
        "chaos/drill_cli.py",
        "fixtures/cli.py",
    } <= names


@pytest.mark.parametrize("path", command_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_command_exits_another_way(path: Path) -> None:
    """No sys.exit / SystemExit in a command, and no command prints a GauntletError itself."""
    relative = str(path.relative_to(REPO))
    if relative in ENTRY_POINTS:
        pytest.skip("the program's entry point")
    offending = [
        f"{relative}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OTHER_EXITS.search(line)
    ]
    assert not offending, "\n".join(offending)
