"""`gauntlet load --workers K --worker-backend docker`: K Locust workers in containers.

The workers run in the `gauntlet/load:dev` image (docker/load.Dockerfile, built by
docker/build-images.sh) on a Docker network of the run's own. The master runs here, as for
`--workers K`, bound to that network's gateway address (never loopback): the workers reach it
over the network, as workers on other machines would. When the target is a Docker stack
(`gauntlet up --backend docker`), the workers join the stack's network too and load its API by
its name there.

Each worker logs its own tally of the requests it recorded when it quits (instrumentation.py,
WORKER_TALLY); the run checks that the master's merged HDR result counts exactly their sum.
Containers and network carry the label LABEL_RUN and are removed when the run ends, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from gauntlet.base.errors import EnvironmentProblem, GauntletError
from gauntlet.load.plan import WORKER_TALLY
from gauntlet.load.runner import LOCUSTFILE, MEASURE_LOCUSTFILE
from gauntlet.stack.docker import images as image_settings
from gauntlet.stack.docker.roles import API_PORT, network_alias
from gauntlet.stack.layout import API

if TYPE_CHECKING:
    from docker.models.containers import Container
    from docker.models.networks import Network

    from gauntlet.stack.state import StackState

BACKENDS = ("process", "docker")
LOAD_IMAGE = "gauntlet/load:dev"
IMAGE_ENV = image_settings.override_variable("load")  # GAUNTLET_DOCKER_LOAD_IMAGE
# docker/load.Dockerfile links the installed gauntlet/load package here.
IMAGE_LOAD_DIR = "/opt/gauntlet/load"
LABEL_RUN = "gauntlet.load.run"
# build-images.sh labels the image with the digest of the load sources it was built from
# (docker/load-source-digest.sh); source_digest() is the same digest of this checkout's.
SOURCE_LABEL = "org.gauntlet.load.source"
LOAD_DIR = Path(__file__).resolve().parent
# The master waits this long for every worker container to join, then gives up (Locust's --expect-workers-max-wait).
JOIN_WAIT_S = 90
LOOPBACK_HOSTS = frozenset({"localhost", "::1", "0.0.0.0"})
BUILD_HINT = "docker/build-images.sh --offline"


class WorkerBackendProblem(GauntletError):
    """`--worker-backend docker` asked for something it cannot do."""


def worker_image(env: Mapping[str, str]) -> str:
    return env.get(IMAGE_ENV, "").strip() or LOAD_IMAGE


def check_request(*, backend: str, workers: int, outputs: tuple[Mapping[str, Any], ...]) -> None:
    """Refuse, before anything starts, what the Docker worker backend cannot do."""
    if backend not in BACKENDS:
        raise WorkerBackendProblem(f"--worker-backend {backend!r} is not a backend: use {' or '.join(BACKENDS)}")
    if backend == "process":
        return
    if workers < 1:
        raise WorkerBackendProblem("--worker-backend docker needs --workers K (the number of worker containers)")
    if any(o.get("kind") == "json" for o in outputs):
        raise WorkerBackendProblem(
            "--out json=FILE is written by the workers, which run in containers with --worker-backend docker: "
            "drop it, or use --out prometheus / otlp (served by the master here)"
        )


@dataclass(frozen=True)
class WorkerTarget:
    """The target as the worker containers reach it, and the networks they join for it."""

    url: str
    networks: tuple[str, ...] = ()


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def container_target(url: str, stack: StackState | None) -> WorkerTarget:
    """A Docker stack's API by its name on the stack's network; any other target as given, unless loopback."""
    if stack is not None and stack.backend == "docker" and stack.docker_network:
        return WorkerTarget(url=f"http://{network_alias(API)}:{API_PORT}", networks=(stack.docker_network,))
    host = urlparse(url).hostname or ""
    if is_loopback(host):
        raise WorkerBackendProblem(
            f"the worker containers cannot reach {url} ({host} is each container's own loopback): target a "
            "Docker stack (`gauntlet up --backend docker`) or a URL on an address the containers reach"
        )
    return WorkerTarget(url=url)


def container_locustfiles(locustfiles: tuple[Path, ...]) -> tuple[list[str], dict[str, str]]:
    """The locustfiles' paths inside the image, and the host folders to mount (read-only) for the person's own."""
    inside: list[str] = []
    binds: dict[str, str] = {}
    for path in locustfiles:
        if path in (LOCUSTFILE, MEASURE_LOCUSTFILE):
            inside.append(f"{IMAGE_LOAD_DIR}/{path.name}")
        else:
            folder = str(path.resolve().parent)
            binds[folder] = folder
            inside.append(str(path.resolve()))
    return inside, binds


def worker_container_command(
    locustfiles: list[str], *, master_host: str, master_port: int, user_classes: tuple[str, ...]
) -> list[str]:
    """A worker's command in its container: it logs to stderr, which `docker logs` keeps."""
    return [
        "python",
        "-m",
        "locust",
        "-f",
        ",".join(locustfiles),
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
        "--loglevel",
        "INFO",
        *user_classes,
    ]


@dataclass(frozen=True)
class WorkerTally:
    """What one worker says it recorded (every request, failures included) and shipped to the master."""

    recorded: int
    shipped: int


def parse_tally(log: str) -> WorkerTally | None:
    """The last tally line a worker logged on quitting, or None (it never got that far)."""
    for line in reversed(log.splitlines()):
        _, found, rest = line.partition(WORKER_TALLY)
        if not found:
            continue
        try:
            raw = json.loads(rest)
            return WorkerTally(recorded=int(raw["recorded"]), shipped=int(raw["shipped"]))
        except (ValueError, KeyError, TypeError):
            return None
    return None


@dataclass(frozen=True)
class TallyCheck:
    merged: int
    tallies: tuple[WorkerTally | None, ...]

    @property
    def missing(self) -> list[int]:
        return [i for i, t in enumerate(self.tallies) if t is None]

    @property
    def workers_total(self) -> int:
        return sum(t.recorded for t in self.tallies if t is not None)

    @property
    def ok(self) -> bool:
        return not self.missing and self.merged == self.workers_total

    def describe(self) -> str:
        parts = " + ".join("?" if t is None else str(t.recorded) for t in self.tallies)
        said = f"workers recorded {parts} = {self.workers_total} requests; the merged result counts {self.merged}"
        if self.missing:
            return f"{said}; no tally from worker {', '.join(map(str, self.missing))} (see its log)"
        if self.merged != self.workers_total:
            return f"{said}: {abs(self.merged - self.workers_total)} samples lost or counted twice on the way"
        return said

    def to_json(self) -> dict[str, Any]:
        return {
            "merged_requests": self.merged,
            "workers_requests": self.workers_total,
            "consistent": self.ok,
            "workers": [None if t is None else {"recorded": t.recorded, "shipped": t.shipped} for t in self.tallies],
        }


def source_digest(root: Path = LOAD_DIR) -> str:
    """sha256 over `<sha256 of file> ./<path>` lines, paths in byte order (docker/load-source-digest.sh)."""
    found = [
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts
    ]
    rels = sorted("./" + p.relative_to(root).as_posix() for p in found)
    lines = "".join(f"{hashlib.sha256((root / rel).read_bytes()).hexdigest()} {rel}\n" for rel in rels)
    return hashlib.sha256(lines.encode()).hexdigest()


def stale_image(labels: Mapping[str, str], digest: str) -> bool:
    """The image says it was built from other load sources than `digest` (no label: cannot tell, not stale)."""
    built_from = labels.get(SOURCE_LABEL, "")
    return bool(built_from) and built_from != "unknown" and built_from != digest


def merged_requests(names: Mapping[str, Mapping[str, Any]]) -> int:
    """Every request the merged HDR result holds (the measurements' per-name tallies)."""
    return sum(int(tally["requests"]) for tally in names.values())


def network_gateway(attrs: Mapping[str, Any]) -> str | None:
    configs = (attrs.get("IPAM") or {}).get("Config") or []
    for config in configs:
        gateway = config.get("Gateway")
        if gateway and ":" not in gateway:  # IPv4: Locust's master binds one address
            return str(gateway)
    return None


@dataclass
class DockerFleet:
    """The worker containers of one run and their network; `close` removes them all (idempotent)."""

    run_id: str
    count: int
    image: str
    target: WorkerTarget
    out_dir: Path
    locustfiles: list[str] = field(default_factory=list)
    binds: dict[str, str] = field(default_factory=dict)
    user_classes: tuple[str, ...] = ()
    master_port: int = 0
    network: str = ""
    gateway: str = ""
    containers: list[Container] = field(default_factory=list)
    tallies: list[WorkerTally | None] = field(default_factory=list)
    stale: bool = False  # the image was built from other load sources than this checkout's
    _network: Network | None = None
    _closed: bool = False

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_RUN: self.run_id}

    def open_network(self) -> str:
        """Create the run's network; returns its gateway, the address the master binds to."""
        import docker.errors

        from gauntlet.stack.docker import engine

        client = engine.client()
        image_labels = engine.get_image_labels(self.image)
        if image_labels is None:
            raise EnvironmentProblem(
                f"image {self.image} is not built yet: run `{BUILD_HINT}` (or docker/build-images.sh online)"
            )
        self.stale = stale_image(image_labels, source_digest())
        for name in self.target.networks:
            try:
                client.networks.get(name)
            except docker.errors.NotFound:
                raise EnvironmentProblem(f"the target stack's network {name} is gone: `gauntlet up` again") from None
        self.network = f"gauntlet-load-{self.run_id}"
        try:
            self._network = client.networks.create(self.network, driver="bridge", labels=self.labels)
            self._network.reload()
        except docker.errors.DockerException as exc:
            raise EnvironmentProblem(f"cannot create the Docker network {self.network}: {exc}") from None
        gateway = network_gateway(self._network.attrs)
        if gateway is None or is_loopback(gateway):
            raise EnvironmentProblem(f"the Docker network {self.network} has no IPv4 gateway for the master to bind")
        self.gateway = gateway
        return gateway

    def start(self) -> None:
        """Start the K worker containers (the master is already listening on the gateway)."""
        import docker.errors

        from gauntlet.stack.docker import engine

        client = engine.client()
        command = worker_container_command(
            self.locustfiles, master_host=self.gateway, master_port=self.master_port, user_classes=self.user_classes
        )
        volumes = {host: {"bind": inside, "mode": "ro"} for host, inside in self.binds.items()}
        for index in range(self.count):
            try:
                container = client.containers.create(
                    self.image,
                    command,
                    name=f"{self.network}-worker-{index}",
                    hostname=f"worker-{index}",
                    labels=self.labels,
                    network=self.network,
                    volumes=volumes,
                    environment={"PYTHONUNBUFFERED": "1"},
                )
                self.containers.append(container)
                for name in self.target.networks:
                    client.networks.get(name).connect(container)
                container.start()
            except docker.errors.DockerException as exc:
                raise EnvironmentProblem(f"worker container {index} could not start from {self.image}: {exc}") from None

    def close(self, grace_s: float) -> None:
        """Wait (bounded) for the workers to quit, keep their logs and tallies, remove containers and network."""
        if self._closed:
            return
        self._closed = True
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.tallies = []
        deadline = time.monotonic() + grace_s  # one grace period for them all, not one each
        for index, container in enumerate(self.containers):
            with contextlib.suppress(Exception):
                container.wait(timeout=max(1.0, deadline - time.monotonic()))
            with contextlib.suppress(Exception):
                container.kill()
            log = ""
            with contextlib.suppress(Exception):
                log = container.logs().decode(errors="replace")
            (self.out_dir / f"locust-worker-{index}.log").write_text(log, encoding="utf-8")
            self.tallies.append(parse_tally(log))
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        if self._network is not None:
            with contextlib.suppress(Exception):
                self._network.remove()

    def check(self, merged: int) -> TallyCheck:
        return TallyCheck(merged=merged, tallies=tuple(self.tallies))


@contextlib.contextmanager
def fleet(
    *,
    run_id: str,
    count: int,
    target: WorkerTarget,
    out_dir: Path,
    locustfiles: tuple[Path, ...],
    user_classes: tuple[str, ...],
    master_port: int,
    grace_s: float,
    extra_binds: Mapping[str, str] | None = None,
) -> Iterator[DockerFleet]:
    """The run's network, made now; its containers, started by the runner; everything removed on the way out."""
    inside, binds = container_locustfiles(locustfiles)
    made = DockerFleet(
        run_id=run_id,
        count=count,
        image=worker_image(os.environ),
        target=target,
        out_dir=out_dir,
        locustfiles=inside,
        binds={**binds, **(extra_binds or {})},
        user_classes=user_classes,
        master_port=master_port,
    )
    try:
        made.open_network()
        yield made
    finally:
        made.close(grace_s)
