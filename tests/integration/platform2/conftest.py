"""Fixtures for the Platform II kernel tests: a migrated, seeded template database, cloned per test.

The feeds read global state (every post is a for_you candidate; feature flags
such as global.safe_mode and payments_real are global), so each test gets a
database of its own: ``CREATE DATABASE ... TEMPLATE`` of a template that was
migrated and seeded once per session (about 0.15 s per clone).

The cluster is GAUNTLET_PRIMARY_DSN's when that is set (its role needs
CREATEDB; the template and clones are created next to its database and
dropped afterwards), else a private Postgres started from the pgserver wheel
in a temporary directory (as the ``gauntlet-pg`` user when running as root)
and stopped with ``-m immediate`` at the end.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from gauntlet.fixtures.seed import load_seed_data
from gauntlet.platform.migrate import apply_migrations

PG_OS_USER = "gauntlet-pg"  # Postgres refuses to run as root
PORT_RANGE = range(58000, 59000)


def _pg_bin() -> Path:
    # Found without importing pgserver: its import warns, and warnings are errors in this suite.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver wheel is not installed: pip install pgserver")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1} for the test Postgres")


def _run(args: list[str]) -> None:
    argv = ["runuser", "-u", PG_OS_USER, "--", *args] if os.geteuid() == 0 else args
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` of the same server."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def p2_server_dsn() -> Iterator[str]:
    """A DSN on the cluster to test in: GAUNTLET_PRIMARY_DSN's, or a private server's ``postgres`` database."""
    given = os.environ.get("GAUNTLET_PRIMARY_DSN")
    if given:
        yield given
        return
    pg_bin = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="gauntlet-p2-tests-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_OS_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = root / "data"
    port = _free_port()
    try:
        _run([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        _run(
            [
                str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                "start",
            ]
        )  # fmt: skip
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _admin(dsn: str) -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(with_database(dsn, "postgres"))
    return connection


@pytest.fixture(scope="session")
async def p2_template(p2_server_dsn: str) -> AsyncIterator[str]:
    """Name of a migrated, seeded database that the per-test databases are cloned from."""
    name = f"p2_template_{uuid.uuid4().hex[:10]}"
    admin = await _admin(p2_server_dsn)
    try:
        await admin.execute(f"create database {name}")
    finally:
        await admin.close()
    dsn = with_database(p2_server_dsn, name)
    try:
        await apply_migrations(dsn)
        await load_seed_data(dsn)
        yield name
    finally:
        admin = await _admin(p2_server_dsn)
        try:
            await admin.execute(f"drop database if exists {name} with (force)")
        finally:
            await admin.close()


@pytest.fixture
async def db_dsn(p2_server_dsn: str, p2_template: str) -> AsyncIterator[str]:
    """DSN of a database of this test's own, cloned from the template."""
    name = f"p2_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin(p2_server_dsn)
    try:
        await admin.execute(f"create database {name} template {p2_template}")
        yield with_database(p2_server_dsn, name)
    finally:
        try:
            await admin.execute(f"drop database if exists {name} with (force)")
        finally:
            await admin.close()


@pytest.fixture
async def conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection to this test's database (the API's own login)."""
    connection: asyncpg.Connection = await asyncpg.connect(db_dsn)
    try:
        yield connection
    finally:
        await connection.close()
