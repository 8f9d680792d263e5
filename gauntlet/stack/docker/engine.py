"""The Docker engine, through testcontainers and the Docker SDK: start, signal, inspect, remove.

Containers are created with testcontainers' `DockerContainer`; everything that acts on a running
stack (kill, restart, status, teardown) finds containers by name or by the stack's label with the
Docker SDK. Ryuk, testcontainers' reaper, removes a session's containers when the creating process
exits: wrong for `gauntlet up`, whose stack outlives the command. So this module turns it off in its
process (`testcontainers_config.ryuk_disabled`), whatever TESTCONTAINERS_RYUK_DISABLED says; `down`
and the next `up` remove a stack's containers and network by label instead.
"""

from __future__ import annotations

import contextlib
import os
import threading
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.settings import harness_settings
from gauntlet.stack.docker import images as image_settings
from gauntlet.stack.docker.roles import (
    LABEL_KIND,
    LABEL_SERVICE,
    ContainerSpec,
    container_name,
    label_filter,
    labels,
    network_name,
)
from gauntlet.stack.ports import LOOPBACK

if TYPE_CHECKING:
    from docker.models.containers import Container

    import docker

ENGINE_HINT = (
    "start the Docker engine (dockerd), or install it (Debian: apt-get install docker.io); "
    "the default backend needs no Docker: drop --backend docker"
)
_client: docker.DockerClient | None = None
_client_lock = threading.Lock()


@dataclass(frozen=True)
class HostAddress:
    """Where the host reaches published ports (`connect`; None: the network's gateway), and what they bind."""

    connect: str | None
    bind: str


def resolve_address(
    *, docker_host: str | None, inside_container: bool, connection_mode: str | None, tc_host: str | None
) -> HostAddress:
    """testcontainers' connection modes, for a stack whose ports must be reachable from this process.

    `docker_host` with a local engine means this machine: 127.0.0.1 (so a VM that merely looks
    like a container, /.dockerenv present, sets TESTCONTAINERS_CONNECTION_MODE=docker_host).
    """
    if tc_host:
        return HostAddress(tc_host, "0.0.0.0")
    parsed = urllib.parse.urlparse(docker_host or "")
    if parsed.scheme in ("tcp", "http", "https", "ssh") and parsed.hostname not in (None, "localhost", LOOPBACK):
        return HostAddress(parsed.hostname, "0.0.0.0")
    mode = connection_mode or ("gateway_ip" if inside_container else "docker_host")
    if mode == "docker_host":
        return HostAddress(LOOPBACK, LOOPBACK)
    if mode == "gateway_ip":
        return HostAddress(None, "0.0.0.0")
    raise EnvironmentProblem(
        f"TESTCONTAINERS_CONNECTION_MODE={mode} is not supported by the Docker backend: "
        "set it to docker_host (the engine runs on this machine) or gateway_ip"
    )


def host_address() -> HostAddress:
    settings = harness_settings()
    return resolve_address(
        docker_host=settings.docker_host,
        inside_container=os.path.exists("/.dockerenv"),
        connection_mode=settings.testcontainers_connection_mode,
        tc_host=settings.testcontainers_host,
    )


def client() -> docker.DockerClient:
    """A client of a Docker engine that answers, or a one-line error naming the fix."""
    global _client
    with _client_lock:
        if _client is not None:
            return _client
        try:
            import testcontainers.core.container  # noqa: F401  (the backend's declared dependency)

            import docker
        except ImportError as exc:
            raise EnvironmentProblem(
                f"the Docker backend needs the `testcontainers` and `docker` packages ({exc.name} is missing): "
                "pip install testcontainers docker"
            ) from None
        try:
            found = docker.from_env(timeout=60)
            found.ping()
        except Exception as exc:  # the SDK raises several types for "no engine"
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise EnvironmentProblem(f"no Docker engine answers ({reason}): {ENGINE_HINT}") from None
        _client = found
        return found


def ensure_images(wanted: list[str]) -> dict[str, dict[str, str]]:
    """Each image present (pulled when a registry has it); returns each image's labels."""
    import docker.errors

    engine = client()
    found: dict[str, dict[str, str]] = {}
    for image in wanted:
        present = get_image_labels(image)
        if present is not None:
            found[image] = present
            continue
        if image_settings.is_local_only(image):
            raise EnvironmentProblem(image_settings.missing_image_hint(image))
        try:
            found[image] = dict(engine.images.pull(image).labels or {})
        except docker.errors.DockerException:
            raise EnvironmentProblem(image_settings.missing_image_hint(image)) from None
    return found


def get_image_labels(image: str) -> dict[str, str] | None:
    """An image's labels, or None when the engine does not have it."""
    import docker.errors

    try:
        return dict(client().images.get(image).labels or {})
    except docker.errors.ImageNotFound:
        return None


def create_network(state_dir: str) -> tuple[str, str | None]:
    """The stack's own bridge network, labelled as the stack's; returns (name, gateway)."""
    import docker.errors

    name = network_name(state_dir)
    try:
        network = client().networks.create(name, driver="bridge", labels=labels(state_dir), check_duplicate=True)
    except docker.errors.DockerException as exc:
        raise EnvironmentProblem(f"cannot create the Docker network {name}: {_explain(exc)}") from None
    network.reload()
    configs = network.attrs.get("IPAM", {}).get("Config") or [{}]
    return name, configs[0].get("Gateway")


def start(state_dir: str, spec: ContainerSpec, network: str, bind_ip: str) -> None:
    """Create and start one container with testcontainers, on the stack's network under its alias."""
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

    testcontainers_config.ryuk_disabled = True  # the stack outlives this process: see the module's docstring
    container = DockerContainer(spec.image).with_name(container_name(state_dir, spec.service))
    container.with_command(spec.command).with_envs(**spec.env)
    for host_path, inside in spec.binds.items():
        container.with_volume_mapping(host_path, inside, "rw")
    for port in spec.publish:
        wanted = spec.host_ports.get(port)
        # (ip, port) pins the host port so a restarted container keeps its address.
        container.ports[f"{port}/tcp"] = (bind_ip, wanted) if wanted else (bind_ip,)  # type: ignore[assignment]
    on_network = Network()
    on_network.name = network
    container.with_network(on_network).with_network_aliases(spec.alias)
    kwargs: dict[str, Any] = {"labels": labels(state_dir, spec.service, spec.kind)}
    if spec.user:
        kwargs["user"] = spec.user
    container.with_kwargs(**kwargs)
    import docker.errors

    try:
        container.start()
    except docker.errors.DockerException as exc:
        raise EnvironmentProblem(
            f"{spec.service} could not start from image {spec.image} ({_explain(exc)}): "
            "is that image built for this role? See docker/README.md"
        ) from None


def _explain(exc: Exception) -> str:
    """The engine's own words, on one line."""
    explanation = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(explanation).split())[:300]


def get(name: str) -> Container | None:
    import docker.errors

    try:
        return client().containers.get(name)
    except docker.errors.NotFound:
        return None


def is_running(name: str) -> bool:
    found = get(name)
    return found is not None and found.status == "running"


def host_pid(name: str) -> int | None:
    found = get(name)
    pid = found.attrs.get("State", {}).get("Pid") if found is not None else None
    return pid if isinstance(pid, int) and pid > 0 else None


def kill(name: str, signal_name: str) -> None:
    found = get(name)
    if found is None:
        raise EnvironmentProblem(f"container {name} is gone: `gauntlet down` and `up` again")
    found.kill(signal=signal_name)


def stop(name: str, *, signal_name: str = "SIGTERM", timeout: float = 10.0) -> None:
    """Signal the container's main process, wait for it to exit, then SIGKILL it."""
    found = get(name)
    if found is None or found.status != "running":
        return
    with contextlib.suppress(Exception):
        found.kill(signal=signal_name)
        found.wait(timeout=timeout)
        return
    with contextlib.suppress(Exception):
        found.kill()
        found.wait(timeout=5)


def start_again(name: str) -> None:
    found = get(name)
    if found is None:
        raise EnvironmentProblem(f"container {name} is gone: `gauntlet down` and `up` again")
    found.start()


def recreate(state_dir: str, spec: ContainerSpec, network: str, bind_ip: str) -> None:
    """Remove the container (and its anonymous volumes) and create it afresh from `spec`."""
    found = get(container_name(state_dir, spec.service))
    if found is not None:
        found.remove(force=True, v=True)
    start(state_dir, spec, network, bind_ip)


def recorded_spec(
    state_dir: str, service: str, command: list[str], env: dict[str, str], user: str | None
) -> tuple[ContainerSpec, str, str]:
    """How an existing container was made, with a new command/env: (spec, network, bind address)."""
    found = get(container_name(state_dir, service))
    if found is None:
        raise EnvironmentProblem(f"the container of {service} is gone: `gauntlet down` and `up` again")
    attrs = found.attrs
    publish: list[int] = []
    host_ports: dict[int, int] = {}
    bind_ip = LOOPBACK
    for key, binds in (attrs.get("HostConfig", {}).get("PortBindings") or {}).items():
        port = int(key.split("/")[0])
        publish.append(port)
        if binds:
            bind_ip = binds[0].get("HostIp") or "0.0.0.0"
            if binds[0].get("HostPort"):
                host_ports[port] = int(binds[0]["HostPort"])
    mounts = {m["Source"]: m["Destination"] for m in attrs.get("Mounts", []) if m.get("Type") == "bind"}
    networks = list((attrs.get("NetworkSettings", {}).get("Networks") or {}).keys())
    spec = ContainerSpec(
        service,
        found.labels.get(LABEL_KIND, ""),
        attrs["Config"]["Image"],
        command,
        env=env,
        user=user,
        publish=tuple(publish),
        host_ports=host_ports,
        binds=mounts,
    )
    return spec, networks[0] if networks else network_name(state_dir), bind_ip


def logs(name: str, *, tail: int | Literal["all"] = "all") -> str:
    found = get(name)
    if found is None:
        return ""
    raw: bytes = found.logs(tail=tail)
    return raw.decode(errors="replace")


def stack_containers(state_dir: str) -> list[Container]:
    return list(client().containers.list(all=True, filters=label_filter(state_dir)))


def stack_networks(state_dir: str) -> list[str]:
    return [n.name for n in client().networks.list(filters=label_filter(state_dir)) if n.name]


def remove_stack(state_dir: str, *, graceful: tuple[str, ...] = ()) -> list[str]:
    """Remove every container and network labelled as this stack's; returns the services removed.

    Containers of the `graceful` kinds get SIGTERM (and a few seconds) first, e.g. workers that
    release their leases on the way out.
    """
    from concurrent.futures import ThreadPoolExecutor

    containers = stack_containers(state_dir)

    def remove(found: Container) -> str:
        if found.labels.get(LABEL_KIND) in graceful and found.status == "running":
            with contextlib.suppress(Exception):
                found.stop(timeout=5)
        with contextlib.suppress(Exception):
            found.remove(force=True, v=True)
        return found.labels.get(LABEL_SERVICE) or found.name or "?"

    with ThreadPoolExecutor(max_workers=8) as pool:
        removed = list(pool.map(remove, containers))
    for name in stack_networks(state_dir):
        with contextlib.suppress(Exception):
            client().networks.get(name).remove()
    return removed
