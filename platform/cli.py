"""The platform as a program: `python -m gauntlet.platform migrate|serve`.

The one entry point through which the stack (embedded or Docker) and an operator prepare and
start the reference platform; it knows nothing of Gauntlet's stack or targets:

- `migrate --dsn DSN [--create-database]`: apply the SQL migrations and load the seed data
  (both idempotent); the DSN defaults to GAUNTLET_PRIMARY_DSN;
- `serve --host HOST --port PORT [--access-log]`: become the API process (uvicorn with the
  platform's limits, platform/api/serve.py), keeping this process id.

The workers are `python -m gauntlet.platform.workers KIND`. Exit 0 on success, 2 with an
`error:` line (what is wrong, and the fix) on bad input or an unreachable database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import asyncpg

from gauntlet.base.errors import EXIT_OK, GauntletError

PROG = "python -m gauntlet.platform"


async def migrate_and_seed(dsn: str, *, create_database: bool = False) -> tuple[list[str], dict[str, int]]:
    """Apply the migrations, then load the seed data; return the migrations applied and the seed rows per table."""
    from gauntlet.platform.migrate import apply_migrations, ensure_database
    from gauntlet.platform.seed import load_seed_data

    if create_database:
        await ensure_database(dsn)
    applied = await apply_migrations(dsn)
    seeded = await load_seed_data(dsn)
    return applied, seeded


def _migrate(args: argparse.Namespace) -> int:
    dsn = args.dsn or os.environ.get("GAUNTLET_PRIMARY_DSN", "").strip()
    if not dsn:
        raise GauntletError(
            "no database to migrate: pass --dsn postgresql://USER@HOST:PORT/rocker (or set GAUNTLET_PRIMARY_DSN)"
        )
    try:
        applied, seeded = asyncio.run(migrate_and_seed(dsn, create_database=args.create_database))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        message = " ".join(str(exc).split())
        raise GauntletError(f"{type(exc).__name__}: {message}") from None
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("migrations: already up to date")
    print("seed data: " + ", ".join(f"{table} {count}" for table, count in seeded.items()))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from gauntlet.platform.api.serve import uvicorn_command

    argv = uvicorn_command(args.host, args.port, access_log=args.access_log)
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # the supervisor watches this pid: the API takes it over


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=PROG, description="The Rocker reference platform: migrate its database, serve its API."
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="{migrate,serve}")
    migrate = commands.add_parser("migrate", help="apply the SQL migrations and load the seed data (idempotent)")
    migrate.add_argument("--dsn", help="Postgres DSN of the primary (default: GAUNTLET_PRIMARY_DSN)")
    migrate.add_argument("--create-database", action="store_true", help="create the DSN's database first when missing")
    migrate.set_defaults(run=_migrate)
    serve = commands.add_parser("serve", help="serve the API (uvicorn with the platform's limits)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(run=_serve)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except GauntletError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return code
