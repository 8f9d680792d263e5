"""Apply the platform's SQL migrations (platform/migrations/NNN_name.sql) in order.

Every file is idempotent, so the runner is simple: a file is applied when it
has never been applied or its sha256 changed since (it is then re-applied as a
whole), each file in its own transaction, recorded in
``public.gauntlet_schema_migrations``. A session advisory lock serialises two
callers (``gauntlet up`` and ``gauntlet migrate`` racing, or two test
sessions sharing a database).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from gauntlet.base.errors import GauntletError
from gauntlet.base.sql import query_sql

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant works; this one spells "gauntlet" in ASCII so it is findable in pg_locks.
ADVISORY_LOCK_KEY = 0x6761756E746C6574

_NAME = re.compile(r"^(?P<number>\d{3})_(?P<slug>[a-z0-9_]+)\.sql$")

_SQL_FILE = Path(__file__).resolve().parent / "migrate.sql"


def _sql(name: str) -> str:
    return query_sql(_SQL_FILE, name)


class MigrationError(GauntletError):
    """A migration file is malformed or failed to apply."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its name (e.g. ``010_auth.sql``), SQL text and checksum."""

    name: str
    sql: str
    sha256: str


def checksum(sql: str) -> str:
    """The sha256 hex digest recorded for a file's text."""
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Read every ``NNN_name.sql`` file of ``directory`` in lexical order."""
    if not directory.is_dir():
        raise MigrationError(f"migrations folder {directory} does not exist")
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        if not _NAME.match(path.name):
            raise MigrationError(
                f"migration file {path.name} is misnamed: expected NNN_name.sql "
                "(three digits, lower-case letters, digits and underscores)"
            )
        sql = path.read_text(encoding="utf-8")
        found.append(Migration(name=path.name, sql=sql, sha256=checksum(sql)))
    return found


def plan_migrations(migrations: Sequence[Migration], applied: Mapping[str, str]) -> list[Migration]:
    """The migrations to apply, in order: never applied, or changed since (``applied`` maps name -> sha256)."""
    return [m for m in migrations if applied.get(m.name) != m.sha256]


def error_line(sql: str, position: int | None) -> int | None:
    """The 1-based line of a 1-based character ``position`` in ``sql`` (as Postgres reports it)."""
    if not position or position < 1:
        return None
    return sql.count("\n", 0, position - 1) + 1


async def _connect(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise MigrationError(f"cannot connect to Postgres at {_redact(dsn)}: {exc}") from exc


def _redact(dsn: str) -> str:
    return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", dsn)


async def _applied(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch(_sql("applied"))
    return {row["name"]: row["sha256"] for row in rows}


async def apply_migrations(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every new or changed migration in order; return the names applied."""
    migrations = discover_migrations(directory)
    conn = await _connect(dsn)
    try:
        await conn.execute(_sql("lock"), ADVISORY_LOCK_KEY)
        try:
            await conn.execute(_sql("create_ledger"))
            todo = plan_migrations(migrations, await _applied(conn))
            for migration in todo:
                await _apply_one(conn, migration)
            return [m.name for m in todo]
        finally:
            await conn.execute(_sql("unlock"), ADVISORY_LOCK_KEY)
    finally:
        await conn.close()


async def _apply_one(conn: asyncpg.Connection, migration: Migration) -> None:
    try:
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(_sql("record"), migration.name, migration.sha256)
    except asyncpg.PostgresError as exc:
        line = error_line(migration.sql, getattr(exc, "position", None) and int(exc.position))
        where = f" (line {line})" if line else ""
        raise MigrationError(f"migration {migration.name} failed{where}: {exc}") from exc


async def migration_status(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[tuple[str, bool]]:
    """Each migration file with True when it is applied with its current checksum."""
    migrations = discover_migrations(directory)
    conn = await _connect(dsn)
    try:
        exists = await conn.fetchval(_sql("ledger_exists"))
        applied = await _applied(conn) if exists else {}
    finally:
        await conn.close()
    return [(m.name, applied.get(m.name) == m.sha256) for m in migrations]


async def ensure_database(dsn: str, maintenance_db: str = "postgres") -> bool:
    """Create the DSN's database when it is missing (connecting to ``maintenance_db``); True if created."""
    parts = urlsplit(dsn)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise MigrationError(f"DSN {_redact(dsn)} names no database (expected postgresql://host:port/rocker)")
    conn = await _connect(urlunsplit(parts._replace(path="/" + maintenance_db)))
    try:
        if await conn.fetchval(_sql("database_exists"), database):
            return False
        quoted = '"' + database.replace('"', '""') + '"'
        try:
            await conn.execute(f"create database {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()
