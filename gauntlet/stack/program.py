"""The platform's command lines: how the stack starts the platform, as a program and nothing else.

`python -m gauntlet.platform migrate|serve` (platform/cli.py) and `python -m gauntlet.platform.workers KIND`
are the platform's entry points; the stack (embedded and Docker) and `gauntlet migrate` use these
and import nothing of the platform (tests/unit/test_import_contracts.py).
"""

from __future__ import annotations

import subprocess
import sys

from gauntlet.base.errors import EnvironmentProblem

PLATFORM_MODULE = "gauntlet.platform"
WORKERS_MODULE = "gauntlet.platform.workers"
MIGRATE_TIMEOUT_S = 600.0


def serve_argv(host: str, port: int, *, python: str = sys.executable) -> list[str]:
    """The API process: it replaces itself with uvicorn and the platform's limits, keeping its pid."""
    return [python, "-m", PLATFORM_MODULE, "serve", "--host", host, "--port", str(port)]


def worker_argv(kind: str, *, python: str = sys.executable) -> list[str]:
    """One worker process of `kind` (queue, discovery, gc, notifications)."""
    return [python, "-m", WORKERS_MODULE, kind]


def migrate_argv(dsn: str, *, create_database: bool = False, python: str = sys.executable) -> list[str]:
    """Apply the migrations and load the seed data into the database at `dsn`."""
    return [python, "-m", PLATFORM_MODULE, "migrate", "--dsn", dsn, *(["--create-database"] if create_database else [])]


def run_migrate(dsn: str, *, create_database: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the platform's migrate command to completion and return what it printed (never raises for its exit)."""
    try:
        return subprocess.run(
            migrate_argv(dsn, create_database=create_database),
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(
            f"the platform's migrate did not finish within {MIGRATE_TIMEOUT_S:.0f}s: is the database reachable?"
        ) from None


def migrate(dsn: str) -> None:
    """Migrate and seed the database at `dsn`, or raise EnvironmentProblem with the platform's own error line."""
    done = run_migrate(dsn)
    if done.returncode != 0:
        detail = done.stderr.strip().removeprefix("error: ") or f"exit {done.returncode}"
        raise EnvironmentProblem(f"migrating the platform failed: {detail}")
