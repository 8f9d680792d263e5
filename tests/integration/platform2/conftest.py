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

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from gauntlet.platform.migrate import apply_migrations
from gauntlet.platform.seed import load_seed_data
from gauntlet.stack.scratch import scratch_postgres


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` of the same server."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def _admin(dsn: str) -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(with_database(dsn, "postgres"))
    return connection


@pytest.fixture(scope="session")
def p2_server_dsn() -> Iterator[str]:
    """A DSN on the cluster to test in: GAUNTLET_PRIMARY_DSN's, or a private server's ``postgres`` database."""
    given = os.environ.get("GAUNTLET_PRIMARY_DSN")
    if given:
        yield given
        return
    with scratch_postgres() as dsn:
        yield dsn


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
