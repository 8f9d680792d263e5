"""Fixtures for the database tests: a migrated, seeded Postgres and helpers to act as a user.

With GAUNTLET_PRIMARY_DSN set, the tests use that database (it must be
migrated and seeded, or migratable: the fixture applies migrations and seeds,
both idempotent). Otherwise the session starts a private Postgres from the
pgserver wheel in a temporary directory and removes it at the end.

Tests share the database, so each creates its own users (fresh uuids) and
its own queue items (unique reasons, topics or job kinds), and never assumes
a table holds only its rows.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from gauntlet.fixtures.seed import load_seed_data
from gauntlet.platform.migrate import apply_migrations


def _pg_bin() -> Path:
    # Located without importing pgserver: its import warns (XDG_RUNTIME_DIR), and warnings are errors here.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver wheel is not installed: pip install pgserver")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


PG_BIN = _pg_bin()
PG_OS_USER = "gauntlet-pg"  # Postgres refuses to run as root
PORT_RANGE = range(56000, 57000)


def _free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1} for the test Postgres")


def _as_pg_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_OS_USER, "--", *args]
    return args


def _run(args: list[str]) -> None:
    done = subprocess.run(_as_pg_user(args), capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[str]:
    """DSN of the database to test: GAUNTLET_PRIMARY_DSN, or a private server started for this session."""
    given = os.environ.get("GAUNTLET_PRIMARY_DSN")
    if given:
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="gauntlet-db-tests-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_OS_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = root / "data"
    port = _free_port()
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        _run(
            [
                str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
            ]
        )  # fmt: skip
        try:
            _run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                  "-q", "-c", "create database rocker"])  # fmt: skip
            yield f"postgresql://postgres@127.0.0.1:{port}/rocker"
        finally:
            _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def db_dsn(private_postgres: str) -> str:
    """The DSN of a migrated and seeded database."""
    await apply_migrations(private_postgres)
    await load_seed_data(private_postgres)
    return private_postgres


@pytest.fixture
async def conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection (the API's own login), closed after the test."""
    connection: asyncpg.Connection = await asyncpg.connect(db_dsn)
    try:
        yield connection
    finally:
        await connection.close()
