"""A throwaway PostgreSQL server: for tests that need a database of their own, not the whole stack.

Same binaries and the same unprivileged user as the stack's primary, but trust
authentication, fsync off and no proxies: it lives for one test session in a
temporary directory and is removed afterwards.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from gauntlet.stack import postgres
from gauntlet.stack.aio import run_sync
from gauntlet.stack.binaries import find_postgres
from gauntlet.stack.ports import LOOPBACK, free_ports

SCRATCH_SETTINGS = {"fsync": "off", "max_connections": "200"}


def scratch_dsn(port: int, database: str) -> str:
    return f"postgresql://{postgres.SUPERUSER}@{LOOPBACK}:{port}/{database}"


@contextmanager
def scratch_postgres(*, database: str = "postgres", settings: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start a private Postgres, create `database` if needed, yield its DSN; stop and delete it after."""
    bins = find_postgres()
    user = postgres.os_user()
    root = Path(tempfile.mkdtemp(prefix="gauntlet-scratch-pg-"))
    root.chmod(0o755)  # the Postgres user traverses it
    data = root / "data"
    try:
        postgres.prepare_dir(data, user)
        postgres.run_as(
            user, bins.tool("initdb"), "-D", str(data), "-U", postgres.SUPERUSER, "-E", "UTF8",
            "--locale=C", "--no-sync", "--auth=trust",
        )  # fmt: skip
        port = free_ports(1)[0]
        argv = postgres.server_argv(bins, data, port, "scratch")
        argv += ["-c", f"listen_addresses={LOOPBACK}", "-c", "unix_socket_directories="]
        for key, value in {**SCRATCH_SETTINGS, **(settings or {})}.items():
            argv += ["-c", f"{key}={value}"]
        with open(root / "postgres.log", "wb") as log:
            server = subprocess.Popen(
                argv, user=user, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            run_sync(postgres.wait_ready(scratch_dsn(port, "postgres"), alive=server))
            if database != "postgres":
                run_sync(postgres.ensure_database(scratch_dsn(port, "postgres"), database))
            yield scratch_dsn(port, database)
        finally:
            server.send_signal(signal.SIGQUIT)  # immediate shutdown: the data is thrown away anyway
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
    finally:
        shutil.rmtree(root, ignore_errors=True)
