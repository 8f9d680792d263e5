"""The migration runner and seed loader against a real server, in a scratch database of the same cluster."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from gauntlet.platform.migrate import (
    MIGRATIONS_DIR,
    MigrationError,
    apply_migrations,
    ensure_database,
    migration_status,
)
from gauntlet.platform.seed import load_seed_data

pytestmark = pytest.mark.integration


@pytest.fixture
async def scratch_dsn(db_dsn: str) -> AsyncIterator[str]:
    """A fresh, empty database next to the test database, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    dsn = urlunsplit(urlsplit(db_dsn)._replace(path=f"/{name}"))
    assert await ensure_database(dsn) is True
    assert await ensure_database(dsn) is False
    try:
        yield dsn
    finally:
        admin = await asyncpg.connect(db_dsn)
        try:
            await admin.execute(f"drop database if exists {name} with (force)")
        finally:
            await admin.close()


async def test_migrations_and_seeds_apply_twice_cleanly(scratch_dsn: str) -> None:
    every = [path.name for path in sorted(MIGRATIONS_DIR.glob("*.sql"))]
    assert await migration_status(scratch_dsn) == [(name, False) for name in every]
    assert await apply_migrations(scratch_dsn) == every
    assert await apply_migrations(scratch_dsn) == []
    assert all(applied for _, applied in await migration_status(scratch_dsn))
    first = await load_seed_data(scratch_dsn)
    second = await load_seed_data(scratch_dsn)
    assert first == second and first["interest_catalog"] >= 120
    conn = await asyncpg.connect(scratch_dsn)
    try:
        assert await conn.fetchval("select count(*) from public.interest_catalog") == first["interest_catalog"]
        assert await conn.fetchval("select count(distinct domain) from public.interest_catalog") == 6
        # Every file is idempotent on its own: forget the ledger and apply everything again.
        await conn.execute("truncate public.gauntlet_schema_migrations")
    finally:
        await conn.close()
    assert await apply_migrations(scratch_dsn) == every


async def test_a_changed_file_is_reapplied_and_a_broken_one_names_itself(scratch_dsn: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    await apply_migrations(scratch_dsn, folder)
    header = folder / "000_extensions_and_roles.sql"
    header.write_text(header.read_text() + "\n-- a comment changes the checksum\n")
    assert await apply_migrations(scratch_dsn, folder) == ["000_extensions_and_roles.sql"]
    (folder / "999_broken.sql").write_text("-- 999_broken\nselect 1;\n\nselect * from no_such_table;\n")
    with pytest.raises(MigrationError, match=r"999_broken.sql failed \(line 4\).*no_such_table"):
        await apply_migrations(scratch_dsn, folder)
    assert ("999_broken.sql", False) in await migration_status(scratch_dsn, folder)


async def test_concurrent_runners_apply_each_file_once(scratch_dsn: str) -> None:
    results = await asyncio.gather(*(apply_migrations(scratch_dsn) for _ in range(3)))
    applied = sorted(results, key=len)
    assert applied[0] == applied[1] == [] and len(applied[2]) == len(list(MIGRATIONS_DIR.glob("*.sql")))


async def test_a_dsn_that_cannot_connect_is_one_clear_error() -> None:
    with pytest.raises(MigrationError, match="cannot connect to Postgres at postgresql://postgres:\\*\\*\\*@"):
        await apply_migrations("postgresql://postgres:secret@127.0.0.1:1/rocker")
