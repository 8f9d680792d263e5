"""`gauntlet up --backend docker`: the embedded stack's services, each in a container.

Same order, state file and guarantees as gauntlet/stack/supervisor.py: Toxiproxy, Redis and the
primary at once; then migrations (from the host, through the primary's published port), replicas
and proxies; then the API and the workers. Every container is recorded in the state file before it
is started and carries the label `gauntlet.stack=<state dir>`, so a failure, a Ctrl-C or a killed
supervisor never leaves one that `down` (or the next `up`) cannot find; `down` removes exactly the
containers and the network with that label.

From the host, every address in the state file is a port published on 127.0.0.1 (see
engine.resolve_address for other connection modes); inside the stack's network, the API and the
workers reach Postgres and Redis only through the Toxiproxy container's proxies. Workers write
their heartbeats into the host's `run/` dir, bind-mounted at the same path, so `status` reads them
as it does for the embedded stack. Container logs are copied to `logs/<service>.log` when the stack
stops (or fails to start); while it runs, `docker logs <container>` shows them.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gauntlet.base.errors import EnvironmentProblem, GauntletError
from gauntlet.stack import postgres, program, supervisor
from gauntlet.stack.aio import run_sync
from gauntlet.stack.docker import engine, readiness, roles
from gauntlet.stack.docker.images import DockerImages, resolve_images
from gauntlet.stack.layout import PRIMARY, REDIS, TOXIPROXY, StateLayout, replica_name, worker_names
from gauntlet.stack.ports import free_ports, is_listening
from gauntlet.stack.state import ProxyRecord, ServiceRecord, StackState, load_state, remove_state, save_state
from gauntlet.stack.supervisor import Progress, UpOptions, UpResult

BACKEND = "docker"
# Consumers stop gracefully (workers release their leases); the rest is removed at once.
GRACEFUL_KINDS = ("worker", "api")


def up(
    state_dir: Path,
    options: UpOptions,
    progress: Progress = lambda _: None,
    *,
    images: DockerImages | None = None,
) -> UpResult:
    """Start the stack in containers; a second `up` on a running stack is a no-op."""
    if options.external_redis_url or options.external_toxiproxy_url:
        raise GauntletError(
            "--backend docker runs its own Redis and Toxiproxy: unset GAUNTLET_EXTERNAL_REDIS_URL and TOXIPROXY_URL"
        )
    chosen = images or resolve_images(os.environ)
    engine.client()  # no engine: fail here, before any state is touched
    layout = StateLayout(state_dir)
    started = time.monotonic()
    with supervisor.locked(layout):
        existing = load_state(state_dir)
        cleaned: list[str] = []
        if existing is not None:
            if existing.backend != BACKEND:
                raise GauntletError(
                    f"an {existing.backend} stack is recorded in {state_dir}: `gauntlet down` it first, "
                    "or use another --state-dir"
                )
            if existing.status == "up" and all(service_running(r) for r in existing.services.values()):
                return UpResult(existing, True, False, [], time.monotonic() - started)
        cleaned = _teardown(str(state_dir), layout)
        remove_state(state_dir)
        layout.create()
        state = _new_state(layout)
        save_state(state)
        try:
            _start(state, layout, options, chosen, progress)
        except BaseException:
            progress("start-up failed: removing what was started")
            _teardown(state.state_dir, layout)
            remove_state(state_dir)
            raise
        state.status = "up"
        save_state(state)
        return UpResult(state, False, existing is not None or bool(cleaned), cleaned, time.monotonic() - started)


def down(state_dir: Path, *, purge: bool = False) -> list[str]:
    """Remove every container and network labelled with this state dir (and nothing else)."""
    layout = StateLayout(state_dir)
    if not state_dir.exists():
        return []
    try:
        engine.client()
    except EnvironmentProblem:
        if load_state(state_dir) is None:
            return []  # nothing recorded, and no engine that could hold anything of it
        raise
    with supervisor.locked(layout):
        stopped = _teardown(str(state_dir), layout)
        supervisor.forget(layout, purge=purge)
        return stopped


def service_running(record: ServiceRecord) -> bool:
    return record.external or (record.container is not None and engine.is_running(record.container))


def _teardown(state_dir: str, layout: StateLayout) -> list[str]:
    """Keep each container's log, then remove the stack's containers and network."""
    containers = engine.stack_containers(state_dir)
    if not containers:
        # Still sweep the network: a crash can leave it without a container.
        return engine.remove_stack(state_dir)
    layout.logs.mkdir(parents=True, exist_ok=True)
    for found in containers:
        service = found.labels.get(roles.LABEL_SERVICE)
        if service and found.name:
            (layout.logs / f"{service}.log").write_text(engine.logs(found.name))
    removed = engine.remove_stack(state_dir, graceful=GRACEFUL_KINDS)
    order = supervisor.STOP_ORDER
    kinds = {r.labels.get(roles.LABEL_SERVICE): r.labels.get(roles.LABEL_KIND, "") for r in containers}
    return sorted(removed, key=lambda s: order.index(kinds[s]) if kinds.get(s) in order else len(order))


def _new_state(layout: StateLayout) -> StackState:
    """Fresh credentials each time: the Docker stack keeps no data between `up`s."""
    state = StackState(
        state_dir=str(layout.root),
        backend=BACKEND,
        supervisor_pid=os.getpid(),
        started_at=time.time(),
        pg_password=secrets.token_urlsafe(18),
        jwt_secret=secrets.token_urlsafe(32),
    )
    state.service_key = supervisor.mint_key(state.jwt_secret, "service_role")
    state.anon_key = supervisor.mint_key(state.jwt_secret, "anon")
    return state


class _Recorder:
    """Writes a record before its container starts; threads share one state file."""

    def __init__(self, state: StackState) -> None:
        self.state = state
        self.lock = threading.Lock()

    def __call__(self, spec: roles.ContainerSpec, port: int | None, url: str | None = None) -> ServiceRecord:
        name = roles.container_name(self.state.state_dir, spec.service)
        record = ServiceRecord(spec.service, spec.kind, port=port, url=url, container=name)
        record.argv, record.env, record.user = list(spec.command), dict(spec.env), spec.user
        with self.lock:
            self.state.services[spec.service] = record
            save_state(self.state)
        return record

    def save(self) -> None:
        with self.lock:
            save_state(self.state)


def _start(
    state: StackState, layout: StateLayout, options: UpOptions, images: DockerImages, progress: Progress
) -> None:
    if options.replicas < 0 or options.queue_workers < 1:
        raise GauntletError("--replicas must be >= 0 and --queue-workers >= 1")
    # Imported here, on the main thread, before any worker thread needs them: CPython 3.11 can fail
    # ("AST constructor recursion depth mismatch") when two threads compile modules at once.
    import testcontainers.core.container
    import testcontainers.core.network  # noqa: F401

    import gauntlet.faultproxy.client  # noqa: F401

    for wanted, flag in ((options.api_port, "--api-port"), (options.toxiproxy_port, "--toxiproxy-port")):
        if wanted and is_listening(wanted):
            raise EnvironmentProblem(f"port {wanted} is already in use: choose another {flag} or stop what holds it")
    progress("checking images")
    image_labels = engine.ensure_images(images.distinct())
    address = engine.host_address()
    network, gateway = engine.create_network(state.state_dir)
    state.docker_network = network
    host = address.connect or gateway
    if not host:
        raise EnvironmentProblem(f"network {network} has no gateway: set TESTCONTAINERS_CONNECTION_MODE=docker_host")

    replicas = [replica_name(i) for i in range(1, options.replicas + 1)]
    proxied = [PRIMARY, *replicas, REDIS]
    password_env = {"GAUNTLET_PG_PASSWORD": state.pg_password}
    toxi = roles.toxiproxy(images.toxiproxy, roles.flavour_of(image_labels[images.toxiproxy]), proxied)
    specs = [
        toxi,
        roles.redis(images.redis),
        roles.postgres_primary(images.postgres, password_env),
        *(roles.postgres_replica(images.postgres, name, password_env) for name in replicas),
    ]
    # Every published port is chosen here and pinned, so a restarted container keeps its address.
    ports = iter(free_ports(sum(len(s.publish) for s in specs) + 1))
    pinned = {s.service: {p: next(ports) for p in s.publish} for s in specs}
    pinned[TOXIPROXY][roles.TOXIPROXY_API_PORT] = options.toxiproxy_port or pinned[TOXIPROXY][roles.TOXIPROXY_API_PORT]
    api_port = options.api_port or next(ports)
    specs = [_pin(s, pinned[s.service]) for s in specs]
    by_service = {s.service: s for s in specs}
    record = _Recorder(state)

    def launch(spec: roles.ContainerSpec, port: int | None, url: str | None = None) -> None:
        # Recorded first: a crash between the two still leaves the container findable.
        record(spec, port, url)
        engine.start(state.state_dir, spec, network, address.bind)

    def public(service: str, port: int) -> int:
        return pinned[service][port]

    state.toxiproxy_url = f"http://{host}:{public(TOXIPROXY, roles.TOXIPROXY_API_PORT)}"
    pg_port = {name: public(name, roles.PG_PORT) for name in [PRIMARY, *replicas]}
    direct_primary = postgres.dsn(pg_port[PRIMARY], state.pg_password, state.database, host)
    admin = postgres.dsn(pg_port[PRIMARY], state.pg_password, "postgres", host)
    state.direct = {
        "primary_dsn": direct_primary,
        "replica_dsns": [postgres.dsn(pg_port[n], state.pg_password, state.database, host) for n in replicas],
        "redis_url": f"redis://{host}:{public(REDIS, roles.REDIS_PORT)}/0",
    }

    # 1. Toxiproxy, Redis and the primary at once.
    progress("starting toxiproxy, redis and the primary")
    with ThreadPoolExecutor(max_workers=6) as pool:
        first = [
            pool.submit(
                launch, by_service[TOXIPROXY], public(TOXIPROXY, roles.TOXIPROXY_API_PORT), state.toxiproxy_url
            ),
            pool.submit(launch, by_service[REDIS], public(REDIS, roles.REDIS_PORT), state.direct["redis_url"]),
            pool.submit(launch, by_service[PRIMARY], pg_port[PRIMARY]),
        ]
        for future in first:
            future.result()
        readiness.postgres(admin, state.services[PRIMARY])
        run_sync(postgres.ensure_database(admin, state.database))

        # 2. Schema, replicas and proxies in parallel.
        progress("migrating, cloning replicas, wiring proxies")
        migrated = pool.submit(program.migrate, direct_primary) if options.migrate else None
        cloned = pool.submit(_start_replicas, state, replicas, by_service, pg_port, launch, admin)
        readiness.toxiproxy(state.toxiproxy_url, state.services[TOXIPROXY])
        readiness.redis(state.direct["redis_url"], state.services[REDIS])
        _populate_proxies(state, proxied, record)
        if migrated is not None:
            migrated.result()
        cloned.result()

    state.primary_dsn = postgres.dsn(
        public(TOXIPROXY, roles.proxy_port(PRIMARY)), state.pg_password, state.database, host
    )
    state.replica_dsns = [
        postgres.dsn(public(TOXIPROXY, roles.proxy_port(n)), state.pg_password, state.database, host) for n in replicas
    ]
    state.redis_url = f"redis://{host}:{public(TOXIPROXY, roles.proxy_port(REDIS))}/0"
    state.api_url = f"http://{host}:{api_port}"
    record.save()

    # 3. The platform: API and workers, in containers, talking through the proxies.
    progress("starting the API and workers")
    env = roles.platform_env(
        pg_password=state.pg_password,
        database=state.database,
        replicas=replicas,
        jwt_secret=state.jwt_secret,
        state_dir=state.state_dir,
    )
    run_dir, user = str(layout.run), f"{os.getuid()}:{os.getgid()}"
    platform: list[tuple[roles.ContainerSpec, int | None, str | None]] = [
        (roles.api(images.platform, env, run_dir, user, api_port), api_port, state.api_url)
    ]
    for name, kind in worker_names(options.queue_workers):
        platform.append((roles.worker(images.platform, name, kind, env, run_dir, user), None, None))
    since = time.time()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(launch, spec, port, url) for spec, port, url in platform]:
            future.result()
    for spec, _, _ in platform:
        readiness.service(state, layout, state.services[spec.service], since)


def _pin(spec: roles.ContainerSpec, ports: dict[int, int]) -> roles.ContainerSpec:
    from dataclasses import replace

    return replace(spec, host_ports={**ports, **spec.host_ports})


def _start_replicas(
    state: StackState,
    replicas: list[str],
    specs: dict[str, roles.ContainerSpec],
    pg_port: dict[str, int],
    launch: Callable[[roles.ContainerSpec, int | None], None],
    admin: str,
) -> None:
    for name in replicas:
        launch(specs[name], pg_port[name])
    if replicas:
        readiness.replicas_streaming(admin, [state.services[n] for n in replicas])


def _populate_proxies(state: StackState, proxied: list[str], record: _Recorder) -> None:
    from gauntlet.faultproxy.client import ToxiproxyClient

    with ToxiproxyClient(state.toxiproxy_url) as client:
        created = client.populate(roles.proxy_specs(proxied))
    with record.lock:  # the replica thread may be saving the state right now
        for proxy in created:
            state.proxies[proxy.name] = ProxyRecord(proxy.name, proxy.listen, proxy.upstream)
        save_state(state)
