"""The migration runner's pure parts, the migration files' own hygiene, and the `migrate` command's errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.cliutil import GauntletGroup
from gauntlet.platform.migrate import (
    MIGRATIONS_DIR,
    Migration,
    MigrationError,
    checksum,
    discover_migrations,
    error_line,
    plan_migrations,
)
from gauntlet.platform_cli import register


def _migration(name: str, sql: str = "select 1;") -> Migration:
    return Migration(name=name, sql=sql, sha256=checksum(sql))


def test_plan_applies_new_and_changed_files_in_order() -> None:
    a, b, c = _migration("000_a.sql"), _migration("010_b.sql", "select 2;"), _migration("020_c.sql")
    assert plan_migrations([a, b, c], {}) == [a, b, c]
    assert plan_migrations([a, b, c], {a.name: a.sha256, b.name: b.sha256, c.name: c.sha256}) == []
    assert plan_migrations([a, b, c], {a.name: a.sha256, b.name: "stale", c.name: c.sha256}) == [b]
    assert plan_migrations([a, b, c], {"999_gone.sql": "x", a.name: a.sha256}) == [b, c]


def test_discover_reads_in_lexical_order_and_refuses_misnamed_files(tmp_path: Path) -> None:
    (tmp_path / "010_second.sql").write_text("select 2;")
    (tmp_path / "000_first.sql").write_text("select 1;")
    (tmp_path / "README.md").write_text("not a migration")
    found = discover_migrations(tmp_path)
    assert [m.name for m in found] == ["000_first.sql", "010_second.sql"]
    assert found[0].sha256 == checksum("select 1;")
    (tmp_path / "20_bad-name.sql").write_text("select 3;")
    with pytest.raises(MigrationError, match=r"20_bad-name\.sql is misnamed"):
        discover_migrations(tmp_path)
    with pytest.raises(MigrationError, match="does not exist"):
        discover_migrations(tmp_path / "missing")


def test_error_line_maps_a_postgres_position_to_a_line() -> None:
    sql = "select 1;\nselect 2;\nselect oops;"
    assert error_line(sql, sql.index("oops") + 1) == 3
    assert error_line(sql, 1) == 1
    assert error_line(sql, None) is None and error_line(sql, 0) is None


MIGRATION_FILES = sorted(MIGRATIONS_DIR.glob("*.sql"))
OURS = [path for path in MIGRATION_FILES if int(path.name[:3]) < 500]


def test_our_migration_files_exist_and_are_numbered_000_to_499() -> None:
    assert len(OURS) >= 10
    assert OURS[0].name == "000_extensions_and_roles.sql"


@pytest.mark.parametrize("path", OURS, ids=lambda path: path.name)
def test_migration_file_is_written_to_be_rerun(path: Path) -> None:
    sql = path.read_text()
    assert sql.startswith(f"-- {path.stem}:"), "each file starts with a header comment naming it"
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).lower()
    # Statements, not string literals: dynamic DDL inside a function (`execute format('create table
    # ...')`) is guarded by the function's own existence checks.
    statements = re.sub(r"'(?:[^']|'')*'", "''", code)
    assert not re.search(r"\bcreate\s+(table|index|schema|extension)\s+(?!if not exists)", statements)
    assert not re.search(r"\bcreate\s+(function|view|trigger)\b", code), "use create or replace"
    assert not re.search(r"\bcreate\s+policy\s+(\w+)", code) or all(
        f"drop policy if exists {name}" in code for name in re.findall(r"\bcreate\s+policy\s+(\w+)", code)
    )
    assert "concurrently" not in code, "each file runs in one transaction"
    # A SECURITY DEFINER function must pin its search_path.
    for body in re.split(r"create or replace function", code)[1:]:
        header = body.split("as $$", 1)[0]
        if "security definer" in header:
            assert "set search_path" in header, header[:80]


def _app() -> typer.Typer:
    app = typer.Typer(cls=GauntletGroup)

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


def test_migrate_without_a_database_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GAUNTLET_PRIMARY_DSN", raising=False)
    monkeypatch.setenv("GAUNTLET_STATE_DIR", str(tmp_path))  # an empty state dir: no stack running there
    result = CliRunner().invoke(_app(), ["migrate"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "gauntlet up" in result.output and "--dsn" in result.output


def test_migrate_with_an_unreachable_dsn_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(_app(), ["migrate", "--dsn", "postgresql://postgres:pw@127.0.0.1:1/rocker"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "cannot connect to Postgres" in result.output and "pw@" not in result.output
