"""`gauntlet up` / `gauntlet down`: the embedded stack, started in dependency order.

Order: Toxiproxy, Redis and `initdb` at once; then the primary; then, in
parallel, migrations + seed data, replicas (basebackup, start), and the
proxies; then the API and the workers. Every process is recorded in the state
file the moment it is spawned, so a failure, a Ctrl-C or a `kill -9` of the
supervisor never leaves an orphan that the next `up` or `down` cannot find.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt

from gauntlet.base.errors import EnvironmentProblem, GauntletError
from gauntlet.settings import harness_settings
from gauntlet.stack import postgres, processes, program
from gauntlet.stack.aio import run_sync
from gauntlet.stack.binaries import PostgresBinaries, find_postgres, find_redis_server, find_toxiproxy_server
from gauntlet.stack.layout import API, PRIMARY, REDIS, TOXIPROXY, StateLayout, replica_name, worker_names
from gauntlet.stack.ports import LOOPBACK, free_ports, is_listening
from gauntlet.stack.state import ProxyRecord, ServiceRecord, StackState, load_state, remove_state, save_state

READY_TIMEOUT_S = 30.0
# Stop order: consumers first, then what they consume.
STOP_ORDER = ("worker", "api", "toxiproxy", "postgres-replica", "postgres-primary", "redis")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class UpOptions:
    replicas: int = 1
    queue_workers: int = 2
    migrate: bool = True
    api_port: int = 0
    toxiproxy_port: int = 0
    external_redis_url: str | None = None
    external_toxiproxy_url: str | None = None
    # Extra settings for the API and workers (GAUNTLET_* variables), e.g. a gate profile's.
    platform_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> UpOptions:
        settings = harness_settings()
        env = {
            "external_redis_url": settings.external_redis_url,
            "external_toxiproxy_url": settings.external_toxiproxy_url,
        }
        return cls(**{**env, **overrides})  # type: ignore[arg-type]


@dataclass(frozen=True)
class UpResult:
    state: StackState
    already_running: bool
    found_stale: bool  # a crashed or half-started stack was found and cleaned up first
    cleaned_stale: list[str]
    seconds: float


@contextlib.contextmanager
def locked(layout: StateLayout) -> Iterator[None]:
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.root / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GauntletError(
                f"another `gauntlet up` or `down` is running on {layout.root}: wait for it, or use another --state-dir"
            ) from None
        yield


def up(state_dir: Path, options: UpOptions, progress: Progress = lambda _: None) -> UpResult:
    layout = StateLayout(state_dir)
    started = time.monotonic()
    with locked(layout):
        existing = load_state(state_dir)
        cleaned: list[str] = []
        if existing is not None:
            if existing.status == "up" and all(_healthy_process(s) for s in existing.services.values()):
                return UpResult(existing, True, False, [], time.monotonic() - started)
            cleaned = _teardown(existing)
            remove_state(state_dir)
        layout.create()
        state = _new_state(layout)
        save_state(state)
        try:
            _start(state, layout, options, progress)
        except BaseException:
            # Failure or Ctrl-C: stop what was started, leave no orphan and no half state.
            progress("start-up failed: stopping what was started")
            _teardown(state)
            remove_state(state_dir)
            raise
        state.status = "up"
        save_state(state)
        return UpResult(state, False, existing is not None, cleaned, time.monotonic() - started)


def down(state_dir: Path, *, purge: bool = False) -> list[str]:
    """Stop every process this state dir records (and nothing else). Returns their names."""
    layout = StateLayout(state_dir)
    if not state_dir.exists():
        return []
    with locked(layout):
        state = load_state(state_dir)
        stopped = _teardown(state) if state is not None else []
        forget(layout, purge=purge)
        return stopped


def forget(layout: StateLayout, *, purge: bool) -> None:
    """After a teardown (either backend): no state file, no heartbeats, and with `purge` no data."""
    remove_state(layout.root)
    for beat in layout.run.glob("*.heartbeat") if layout.run.exists() else []:
        beat.unlink(missing_ok=True)
    if purge and layout.data.exists():
        shutil.rmtree(layout.data)


def _healthy_process(record: ServiceRecord) -> bool:
    return record.external or processes.is_alive(record)


def _teardown(state: StackState) -> list[str]:
    stopped: list[str] = []
    records = sorted(
        state.services.values(),
        key=lambda r: STOP_ORDER.index(r.kind) if r.kind in STOP_ORDER else len(STOP_ORDER),
    )
    for record in records:
        if record.external:
            if record.kind == "toxiproxy" and record.url:
                _delete_proxies(record.url, list(state.proxies))
            continue
        if processes.is_alive(record):
            # SIGINT is Postgres' "fast" shutdown; everything else stops on SIGTERM.
            sig = 2 if record.kind.startswith("postgres") else 15
            processes.stop(record, sig=sig)
            stopped.append(record.name)
    # Anything of this stack that no record names (spawned just before a crash) goes too.
    stopped += processes.sweep(state.state_dir)
    return stopped


def _delete_proxies(url: str, names: list[str]) -> None:
    from gauntlet.faultproxy.client import ToxiproxyClient, ToxiproxyError

    with ToxiproxyClient(url) as client:
        for name in names:
            with contextlib.suppress(ToxiproxyError, httpx.HTTPError):
                client.delete_proxy(name)


def _new_state(layout: StateLayout) -> StackState:
    creds = _load_or_create_secrets(layout)
    state = StackState(
        state_dir=str(layout.root),
        supervisor_pid=os.getpid(),
        started_at=time.time(),
        pg_password=creds["pg_password"],
        jwt_secret=creds["jwt_secret"],
    )
    state.service_key = mint_key(state.jwt_secret, "service_role")
    state.anon_key = mint_key(state.jwt_secret, "anon")
    return state


def _load_or_create_secrets(layout: StateLayout) -> dict[str, str]:
    """Kept with the data dir: a warm start reuses the cluster, so it must reuse its password."""
    if layout.secrets.exists() and (layout.pg_data(PRIMARY) / "PG_VERSION").exists():
        loaded: dict[str, str] = json.loads(layout.secrets.read_text())
        return loaded
    creds = {"pg_password": secrets.token_urlsafe(18), "jwt_secret": secrets.token_urlsafe(32)}
    fd = os.open(layout.secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(creds, handle)
    return creds


def mint_key(secret: str, role: str) -> str:
    """A long-lived API key for `role`, like Supabase's anon and service_role keys."""
    now = int(time.time())
    claims = {"iss": "gauntlet", "role": role, "iat": now, "exp": now + 10 * 365 * 86400}
    return jwt.encode(claims, secret, algorithm="HS256")


def _record(state: StackState, record: ServiceRecord) -> None:
    state.services[record.name] = record
    save_state(state)


def _spawn(
    state: StackState,
    layout: StateLayout,
    record: ServiceRecord,
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    record.argv, record.env, record.user = list(argv), dict(env or {}), user
    return respawn(state, layout, record)


def respawn(state: StackState, layout: StateLayout, record: ServiceRecord) -> subprocess.Popen[bytes]:
    """Start the process a record describes (again), and record its new pid at once."""
    proc, log = processes.spawn(
        record.name,
        record.argv,
        log_dir=layout.logs,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **record.env},
        user=record.user,
        marker=state.state_dir,
    )
    record.pid = proc.pid
    record.create_time = processes.create_time(proc.pid)
    record.log = str(log)
    _record(state, record)
    return proc


def _start(state: StackState, layout: StateLayout, options: UpOptions, progress: Progress) -> None:
    if options.replicas < 0 or options.queue_workers < 1:
        raise GauntletError("--replicas must be >= 0 and --queue-workers >= 1")

    bins = find_postgres()
    redis_bin = None if options.external_redis_url else find_redis_server()
    toxi_bin = None if options.external_toxiproxy_url else find_toxiproxy_server()
    pg_user = postgres.os_user()
    for wanted, flag in ((options.api_port, "--api-port"), (options.toxiproxy_port, "--toxiproxy-port")):
        if wanted and is_listening(wanted):
            raise EnvironmentProblem(f"port {wanted} is already in use: choose another {flag} or stop what holds it")

    replicas = [replica_name(i) for i in range(1, options.replicas + 1)]
    proxied = [PRIMARY, *replicas, REDIS]
    ports = iter(free_ports(len(pg_names := [PRIMARY, *replicas]) + 3 + len(proxied)))
    pg_ports = {name: next(ports) for name in pg_names}
    redis_port, toxi_port, api_port = next(ports), next(ports), next(ports)
    toxi_port = options.toxiproxy_port or toxi_port
    api_port = options.api_port or api_port
    proxy_ports = {name: next(ports) for name in proxied}

    # 1. Toxiproxy, Redis and initdb at once.
    progress("starting toxiproxy, redis and the primary")
    toxi_url = _start_toxiproxy(state, layout, options, toxi_bin, toxi_port)
    redis_upstream = _start_redis(state, layout, options, redis_bin, redis_port)
    with ThreadPoolExecutor(max_workers=4) as pool:
        primary_dir = layout.pg_data(PRIMARY)
        if not (primary_dir / "PG_VERSION").exists():
            postgres.initdb(bins, primary_dir, state.pg_password, pg_user)
        primary = _spawn(
            state,
            layout,
            ServiceRecord(PRIMARY, "postgres-primary", port=pg_ports[PRIMARY], data_dir=str(primary_dir)),
            postgres.server_argv(bins, primary_dir, pg_ports[PRIMARY], PRIMARY),
            user=pg_user,
        )
        admin_url = postgres.dsn(pg_ports[PRIMARY], state.pg_password, "postgres")
        run_sync(postgres.wait_ready(admin_url, alive=primary))
        run_sync(postgres.ensure_database(admin_url, state.database))
        direct_primary = postgres.dsn(pg_ports[PRIMARY], state.pg_password, state.database)

        # 2. Schema, replicas and proxies in parallel.
        progress("migrating, cloning replicas, wiring proxies")
        migrated = pool.submit(program.migrate, direct_primary) if options.migrate else None
        cloned = pool.submit(_start_replicas, state, layout, bins, pg_user, replicas, pg_ports)
        _wait_toxiproxy(toxi_url, state)
        upstreams = {**{n: f"{LOOPBACK}:{p}" for n, p in pg_ports.items()}, REDIS: redis_upstream}
        _populate_proxies(state, toxi_url, proxy_ports, upstreams)
        if migrated is not None:
            migrated.result()
        cloned.result()

    state.toxiproxy_url = toxi_url
    state.primary_dsn = postgres.dsn(proxy_ports[PRIMARY], state.pg_password, state.database)
    state.replica_dsns = [postgres.dsn(proxy_ports[n], state.pg_password, state.database) for n in replicas]
    state.redis_url = f"redis://{LOOPBACK}:{proxy_ports[REDIS]}/0"
    state.direct = {
        "primary_dsn": direct_primary,
        "replica_dsns": [postgres.dsn(pg_ports[n], state.pg_password, state.database) for n in replicas],
        "redis_url": f"redis://{redis_upstream}/0",
    }
    state.api_url = f"http://{LOOPBACK}:{api_port}"
    save_state(state)

    # 3. The platform: API and workers, all talking through the proxies.
    progress("starting the API and workers")
    platform_env = {
        "GAUNTLET_PRIMARY_DSN": state.primary_dsn,
        "GAUNTLET_REPLICA_DSNS": ",".join(state.replica_dsns),
        "GAUNTLET_REDIS_URL": state.redis_url,
        "GAUNTLET_JWT_SECRET": state.jwt_secret,
        "GAUNTLET_STATE_DIR": str(layout.root),
        **options.platform_env,
    }
    api = _spawn(
        state,
        layout,
        ServiceRecord(API, "api", port=api_port, url=state.api_url),
        program.serve_argv(LOOPBACK, api_port),  # uvicorn with the API's limits and slow-header guard
        env={**platform_env, "GAUNTLET_WORKER_NAME": API},  # its Postgres sessions: application_name gauntlet-api
    )
    workers = []
    for name, kind in worker_names(options.queue_workers):
        proc = _spawn(
            state,
            layout,
            ServiceRecord(name, "worker"),
            program.worker_argv(kind),
            env={**platform_env, "GAUNTLET_WORKER_NAME": name},
        )
        workers.append((name, proc))
    wait_service_ready(state, layout, state.services[API], api)
    for name, proc in workers:
        wait_service_ready(state, layout, state.services[name], proc)


def wait_service_ready(
    state: StackState, layout: StateLayout, record: ServiceRecord, proc: subprocess.Popen[bytes]
) -> None:
    """Until a (re)started service answers as `up` expects it to."""
    if record.kind == "api":
        _wait_api(state.api_url, proc)
    elif record.kind == "worker":
        _wait_heartbeat(layout.heartbeat(record.name), proc, record.name)
    elif record.kind == "postgres-primary":
        run_sync(postgres.wait_ready(state.direct["primary_dsn"], alive=proc))
    elif record.kind == "toxiproxy":
        _wait_toxiproxy(state.toxiproxy_url, state)
    elif record.kind == "redis":
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (record.port and is_listening(record.port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise EnvironmentProblem(f"redis did not come back: see {record.log}")
            time.sleep(0.02)


def _start_toxiproxy(state: StackState, layout: StateLayout, options: UpOptions, binary: str | None, port: int) -> str:
    if options.external_toxiproxy_url:
        url = options.external_toxiproxy_url.rstrip("/")
        _record(state, ServiceRecord(TOXIPROXY, "toxiproxy", url=url, external=True))
        return url
    url = f"http://{LOOPBACK}:{port}"
    if binary:
        argv = [binary, "-host", LOOPBACK, "-port", str(port)]
    else:
        argv = [sys.executable, "-m", "gauntlet.faultproxy", "--host", LOOPBACK, "--port", str(port)]
    _spawn(state, layout, ServiceRecord(TOXIPROXY, "toxiproxy", port=port, url=url), argv)
    return url


def _start_redis(state: StackState, layout: StateLayout, options: UpOptions, binary: str | None, port: int) -> str:
    if options.external_redis_url:
        parsed = httpx.URL(options.external_redis_url)
        _record(state, ServiceRecord(REDIS, "redis", url=options.external_redis_url, external=True))
        return f"{parsed.host}:{parsed.port or 6379}"
    assert binary is not None
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        LOOPBACK,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(layout.run),
        "--protected-mode",
        "no",
    ]
    _spawn(state, layout, ServiceRecord(REDIS, "redis", port=port, url=f"redis://{LOOPBACK}:{port}/0"), argv)
    return f"{LOOPBACK}:{port}"


def _start_replicas(
    state: StackState,
    layout: StateLayout,
    bins: PostgresBinaries,
    pg_user: str | None,
    replicas: list[str],
    pg_ports: dict[str, int],
) -> None:
    for name in replicas:
        data_dir = layout.pg_data(name)
        postgres.basebackup(bins, data_dir, pg_ports[PRIMARY], state.pg_password, pg_user)
        _spawn(
            state,
            layout,
            ServiceRecord(name, "postgres-replica", port=pg_ports[name], data_dir=str(data_dir)),
            postgres.server_argv(bins, data_dir, pg_ports[name], name),
            user=pg_user,
        )
    if replicas:
        admin = postgres.dsn(pg_ports[PRIMARY], state.pg_password, "postgres")
        run_sync(postgres.wait_replicas_streaming(admin, replicas))


def _wait_toxiproxy(url: str, state: StackState) -> None:
    from gauntlet.faultproxy.client import ToxiproxyClient

    record = state.services[TOXIPROXY]
    deadline = time.monotonic() + READY_TIMEOUT_S
    with ToxiproxyClient(url, timeout=1.0) as client:
        while not client.is_running():
            if not record.external and not processes.is_alive(record):
                raise EnvironmentProblem(f"toxiproxy exited during start-up: see {record.log}")
            if time.monotonic() > deadline:
                raise EnvironmentProblem(f"toxiproxy at {url} did not answer within {READY_TIMEOUT_S:.0f}s")
            time.sleep(0.05)


def _populate_proxies(state: StackState, url: str, listen: dict[str, int], upstream: dict[str, str]) -> None:
    from gauntlet.faultproxy.client import ToxiproxyClient

    specs: list[dict[str, object]] = [
        {"name": name, "listen": f"{LOOPBACK}:{port}", "upstream": upstream[name], "enabled": True}
        for name, port in listen.items()
    ]
    with ToxiproxyClient(url) as client:
        for proxy in client.populate(specs):
            state.proxies[proxy.name] = ProxyRecord(proxy.name, proxy.listen, proxy.upstream)
    save_state(state)


def restore_proxies(state: StackState) -> None:
    """Create the recorded proxies again (same names, listen ports and upstreams), without toxics."""
    from gauntlet.faultproxy.client import ToxiproxyClient

    specs: list[dict[str, object]] = [
        {"name": p.name, "listen": p.listen, "upstream": p.upstream, "enabled": True} for p in state.proxies.values()
    ]
    with ToxiproxyClient(state.toxiproxy_url) as client:
        client.populate(specs)


def _wait_api(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EnvironmentProblem("the API exited during start-up: see `gauntlet logs api`")
            try:
                response = client.get(f"{url}/functions/v1/health")
                body = response.json()
                if response.status_code == 200 and body.get("status") == "ok":
                    return
                last = f"health {body.get('status')}: {body.get('checks')}"
            except (httpx.HTTPError, ValueError) as exc:
                last = str(exc) or type(exc).__name__
            time.sleep(0.1)
    raise EnvironmentProblem(f"the API was not healthy within {READY_TIMEOUT_S:.0f}s ({last})")


def _wait_heartbeat(path: Path, proc: subprocess.Popen[bytes], name: str) -> None:
    """Until this very process has written a heartbeat (one from before a restart does not count)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while _heartbeat_pid(path) != proc.pid:
        if proc.poll() is not None:
            raise EnvironmentProblem(f"worker {name} exited during start-up: see `gauntlet logs {name}`")
        if time.monotonic() > deadline:
            raise EnvironmentProblem(f"worker {name} wrote no heartbeat within {READY_TIMEOUT_S:.0f}s")
        time.sleep(0.05)


def _heartbeat_pid(path: Path) -> int | None:
    try:
        pid = json.loads(path.read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None
