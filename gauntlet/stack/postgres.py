"""PostgreSQL primary and streaming replicas, run as an unprivileged user.

Postgres refuses to run as root, so as root the stack runs it as the system
user `gauntlet-pg` (created on first use). Replicas are `pg_basebackup -R`
copies of the primary that stream WAL from it directly; the platform reaches
every instance only through its Toxiproxy proxy.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.stack.binaries import PostgresBinaries
from gauntlet.stack.ports import LOOPBACK

PG_OS_USER = "gauntlet-pg"
SUPERUSER = "postgres"
READY_TIMEOUT_S = 30.0

# Appended to the primary's postgresql.conf by `initdb`; replicas inherit it through basebackup.
SERVER_SETTINGS = f"""
# --- written by gauntlet ---
listen_addresses = '{LOOPBACK}'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
hot_standby_feedback = on
max_connections = 200
wal_keep_size = '256MB'
shared_preload_libraries = ''
log_min_messages = warning
log_connections = off
"""


def os_user() -> str | None:
    """The user Postgres runs as: `gauntlet-pg` when we are root (created if missing), else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_OS_USER)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise EnvironmentProblem(
                f"running as root but cannot create the system user {PG_OS_USER!r} for Postgres "
                f"(no useradd): create it, or run gauntlet as an unprivileged user"
            ) from None
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER],
            check=True,
            capture_output=True,
        )
    return PG_OS_USER


def prepare_dir(path: Path, user: str | None) -> None:
    """An empty 0700 directory owned by the Postgres user, whose parents that user can traverse."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    probe = subprocess.run(["test", "-w", str(path)], user=user, check=False)
    if probe.returncode != 0:
        blocked = next((p for p in reversed(path.parents) if not os.stat(p).st_mode & 0o001), path.parent)
        raise EnvironmentProblem(
            f"the Postgres user {user!r} cannot reach {path} (blocked at {blocked}): "
            f"use a state dir outside it (--state-dir or GAUNTLET_STATE_DIR) or `chmod o+x {blocked}`"
        )


def initdb(bins: PostgresBinaries, data_dir: Path, password: str, user: str | None) -> None:
    prepare_dir(data_dir, user)
    pwfile = data_dir.parent / f".{data_dir.name}.pw"
    pwfile.write_text(password + "\n")
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    pwfile.chmod(0o600)
    try:
        run_as(
            user,
            bins.tool("initdb"),
            "-D",
            str(data_dir),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with open(data_dir / "postgresql.conf", "a") as conf:
        conf.write(SERVER_SETTINGS)


def basebackup(bins: PostgresBinaries, data_dir: Path, primary_port: int, password: str, user: str | None) -> None:
    if data_dir.exists():
        shutil.rmtree(data_dir)
    prepare_dir(data_dir, user)
    run_as(
        user,
        bins.tool("pg_basebackup"),
        "-h",
        LOOPBACK,
        "-p",
        str(primary_port),
        "-U",
        SUPERUSER,
        "-D",
        str(data_dir),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        "--no-sync",
        env={"PGPASSWORD": password},
    )


def server_argv(bins: PostgresBinaries, data_dir: Path, port: int, name: str) -> list[str]:
    # cluster_name doubles as the replica's application_name in pg_stat_replication.
    return [bins.tool("postgres"), "-D", str(data_dir), "-p", str(port), "-c", f"cluster_name={name}"]


def run_as(user: str | None, *argv: str, env: dict[str, str] | None = None) -> None:
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(list(argv), user=user, env=full_env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tool = Path(argv[0]).name
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise EnvironmentProblem(f"{tool} failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}")


def dsn(port: int, password: str, database: str, host: str = LOOPBACK) -> str:
    return f"postgresql://{SUPERUSER}:{password}@{host}:{port}/{database}"


async def wait_ready(
    url: str, *, timeout: float = READY_TIMEOUT_S, alive: subprocess.Popen[bytes] | None = None
) -> None:
    """Until a connection succeeds; `alive` (a Popen) lets a crashed server fail fast."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise EnvironmentProblem(f"Postgres exited during start-up (see its log): {last}")
        try:
            conn = await asyncpg.connect(url, timeout=2)
            await conn.close()
            return
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            last = exc
            await asyncio.sleep(0.05)
    raise EnvironmentProblem(f"Postgres did not accept connections within {timeout:.0f}s: {last}")


async def ensure_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def wait_replicas_streaming(primary_url: str, names: list[str], *, timeout: float = 20.0) -> None:
    """Until every named replica streams and has replayed the primary's current WAL position."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(primary_url)
    try:
        target = await conn.fetchval("SELECT pg_current_wal_lsn()")
        while True:
            rows = await conn.fetch(
                "SELECT application_name, state, replay_lsn >= $1::pg_lsn AS caught_up FROM pg_stat_replication",
                target,
            )
            streaming = {r["application_name"] for r in rows if r["state"] == "streaming" and r["caught_up"]}
            if set(names) <= streaming:
                return
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(set(names) - streaming))
                raise EnvironmentProblem(f"replica(s) {missing} not streaming within {timeout:.0f}s (see their logs)")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def replication_lag(primary_url: str) -> dict[str, dict[str, object]]:
    """Per replica: state and replay lag in bytes and seconds, as the primary sees it."""
    conn = await asyncpg.connect(primary_url, timeout=2)
    try:
        rows = await conn.fetch(
            """SELECT application_name, state,
                      pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag_bytes,
                      COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8 AS lag_seconds
               FROM pg_stat_replication"""
        )
    finally:
        await conn.close()
    return {r["application_name"]: dict(r) for r in rows}
