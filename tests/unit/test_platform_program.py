"""The platform as a program (`python -m gauntlet.platform migrate|serve`) and the stack's command lines for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.platform import cli
from gauntlet.platform.api.serve import uvicorn_command
from gauntlet.stack import program


def test_migrate_without_a_dsn_is_one_error_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GAUNTLET_PRIMARY_DSN", raising=False)
    assert cli.main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: no database to migrate") and "--dsn" in err


def test_migrate_with_an_unreachable_dsn_names_it_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate", "--dsn", "postgresql://postgres:pw@127.0.0.1:1/rocker"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to Postgres" in err and "pw@" not in err and err.count("\n") == 1


def test_serve_becomes_uvicorn_with_the_platforms_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, list[str]]] = []
    monkeypatch.setattr("os.execv", lambda path, argv: seen.append((path, argv)))
    cli.main(["serve", "--host", "127.0.0.1", "--port", "8123"])
    assert seen == [(sys.executable, uvicorn_command("127.0.0.1", 8123))]
    assert "--no-access-log" in seen[0][1] and "--limit-concurrency" in seen[0][1]


def test_the_stack_starts_the_platform_by_its_entry_points_only() -> None:
    assert program.serve_argv("127.0.0.1", 8000, python="python") == [
        "python", "-m", "gauntlet.platform", "serve", "--host", "127.0.0.1", "--port", "8000"
    ]  # fmt: skip
    assert program.worker_argv("gc", python="python") == ["python", "-m", "gauntlet.platform.workers", "gc"]
    assert program.migrate_argv("postgresql://x/rocker", python="python") == [
        "python", "-m", "gauntlet.platform", "migrate", "--dsn", "postgresql://x/rocker"
    ]  # fmt: skip


def test_python_dash_m_gauntlet_platform_lists_its_commands() -> None:
    done = subprocess.run([sys.executable, "-m", "gauntlet.platform", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "migrate" in done.stdout and "serve" in done.stdout


def test_a_failed_migrate_is_an_environment_problem_with_the_platforms_line() -> None:
    with pytest.raises(EnvironmentProblem, match="migrating the platform failed: cannot connect to Postgres"):
        program.migrate("postgresql://postgres:pw@127.0.0.1:1/rocker")
