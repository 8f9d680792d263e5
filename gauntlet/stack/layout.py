"""Where things live under the state dir, and the names of services and proxies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PRIMARY = "pg_primary"
REDIS = "redis"
TOXIPROXY = "toxiproxy"
API = "api"
WORKER_KINDS = ("queue", "discovery", "notifications", "gc")


def replica_name(index: int) -> str:
    return f"pg_replica_{index}"


def worker_names(queue_workers: int) -> list[tuple[str, str]]:
    """(service name, worker kind): several queue workers so a crashed one's leases get picked up."""
    names = [(f"worker_queue_{i}", "queue") for i in range(1, queue_workers + 1)]
    names += [(f"worker_{kind}", kind) for kind in WORKER_KINDS if kind != "queue"]
    return names


@dataclass(frozen=True)
class StateLayout:
    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def secrets(self) -> Path:
        return self.data / "secrets.json"

    def pg_data(self, name: str) -> Path:
        return self.data / name

    def heartbeat(self, worker: str) -> Path:
        return self.run / f"{worker}.heartbeat"

    def create(self) -> None:
        for path in (self.root, self.logs, self.data, self.run):
            path.mkdir(parents=True, exist_ok=True)
        # The Postgres user must traverse the state dir to reach its data dir.
        self.root.chmod(0o755)
        self.data.chmod(0o755)
