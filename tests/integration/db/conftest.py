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

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from gauntlet.platform.migrate import apply_migrations
from gauntlet.platform.seed import load_seed_data
from gauntlet.stack.scratch import scratch_postgres


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[str]:
    """DSN of the database to test: GAUNTLET_PRIMARY_DSN, or a private server started for this session."""
    given = os.environ.get("GAUNTLET_PRIMARY_DSN")
    if given:
        yield given
        return
    with scratch_postgres(database="rocker") as dsn:
        yield dsn


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
