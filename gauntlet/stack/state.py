"""The stack's state file, `.gauntlet/state.json`: ports, pids and DSNs.

Every other command, the pytest plugin and user tests read this file to find
the running stack. It is written atomically after each service starts, so a
supervisor killed half-way still leaves a record of what to clean up.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gauntlet.base.files import write_atomically

STATE_FILE = "state.json"
SCHEMA_VERSION = 1


@dataclass
class ServiceRecord:
    """One process the supervisor started (or an external service it uses)."""

    name: str
    kind: str  # postgres-primary, postgres-replica, redis, toxiproxy, api, worker
    pid: int | None = None
    # psutil create_time of the pid: a recycled pid never matches, so `down` only kills its own.
    create_time: float | None = None
    port: int | None = None
    url: str | None = None
    data_dir: str | None = None
    log: str | None = None
    external: bool = False
    # How it was started, so a drill can bring back exactly this process (`gauntlet restart`).
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # only what the stack adds to the environment
    user: str | None = None
    container: str | None = None  # Docker backend: the container's name (pid/argv then unused)


@dataclass
class ProxyRecord:
    name: str
    listen: str
    upstream: str


@dataclass
class StackState:
    state_dir: str
    status: str = "starting"  # starting -> up; anything else is stale
    backend: str = "embedded"  # embedded (processes) or docker (containers)
    docker_network: str | None = None  # Docker backend: the stack's own network
    supervisor_pid: int | None = None
    started_at: float | None = None
    pg_superuser: str = "postgres"
    pg_password: str = ""
    database: str = "rocker"
    jwt_secret: str = ""
    service_key: str = ""
    anon_key: str = ""
    api_url: str = ""
    toxiproxy_url: str = ""
    primary_dsn: str = ""
    replica_dsns: list[str] = field(default_factory=list)
    redis_url: str = ""
    direct: dict[str, Any] = field(default_factory=dict)  # DSNs/URLs that bypass the proxies
    services: dict[str, ServiceRecord] = field(default_factory=dict)
    proxies: dict[str, ProxyRecord] = field(default_factory=dict)
    version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StackState:
        raw = dict(raw)
        raw["services"] = {k: ServiceRecord(**v) for k, v in raw.get("services", {}).items()}
        raw["proxies"] = {k: ProxyRecord(**v) for k, v in raw.get("proxies", {}).items()}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def load_state(state_dir: Path) -> StackState | None:
    """The recorded state, or None when there is none (or it is unreadable)."""
    path = state_path(state_dir)
    try:
        return StackState.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        # A torn or foreign file is treated like a stale stack: the next `up` starts fresh.
        return None


def save_state(state: StackState) -> None:
    """Write atomically and readable only by its owner: it holds the database password."""
    path = state_path(Path(state.state_dir))
    write_atomically(path, json.dumps(state.to_json(), indent=2), private=True)  # services stay in start order


def remove_state(state_dir: Path) -> None:
    state_path(state_dir).unlink(missing_ok=True)
