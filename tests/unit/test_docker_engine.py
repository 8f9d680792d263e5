"""Docker backend: where the host reaches published ports, and the error without an engine."""

from __future__ import annotations

import pytest

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.stack.docker import engine
from gauntlet.stack.docker.engine import HostAddress, resolve_address


def _resolve(**overrides: object) -> HostAddress:
    given: dict[str, object] = {
        "docker_host": None,
        "inside_container": False,
        "connection_mode": None,
        "tc_host": None,
        **overrides,
    }
    return resolve_address(**given)  # type: ignore[arg-type]


def test_a_local_engine_publishes_on_loopback() -> None:
    assert _resolve() == HostAddress("127.0.0.1", "127.0.0.1")
    assert _resolve(docker_host="unix:///var/run/docker.sock") == HostAddress("127.0.0.1", "127.0.0.1")


def test_docker_host_mode_inside_a_vm_that_looks_like_a_container_still_means_this_machine() -> None:
    assert _resolve(inside_container=True, connection_mode="docker_host") == HostAddress("127.0.0.1", "127.0.0.1")


def test_inside_a_container_the_default_is_the_networks_gateway() -> None:
    assert _resolve(inside_container=True) == HostAddress(None, "0.0.0.0")
    assert _resolve(connection_mode="gateway_ip") == HostAddress(None, "0.0.0.0")


def test_a_remote_engine_or_an_override_is_reached_by_its_host_name() -> None:
    assert _resolve(docker_host="tcp://build-host:2375") == HostAddress("build-host", "0.0.0.0")
    assert _resolve(docker_host="ssh://ci@10.0.0.7") == HostAddress("10.0.0.7", "0.0.0.0")
    assert _resolve(tc_host="docker.internal", inside_container=True) == HostAddress("docker.internal", "0.0.0.0")
    assert _resolve(docker_host="tcp://127.0.0.1:2375") == HostAddress("127.0.0.1", "127.0.0.1")


def test_bridge_ip_mode_is_refused_with_the_modes_that_work() -> None:
    with pytest.raises(EnvironmentProblem, match="docker_host"):
        _resolve(connection_mode="bridge_ip")


def test_no_engine_is_a_one_line_environment_error_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setattr(engine, "_client", None)
    with pytest.raises(EnvironmentProblem) as raised:
        engine.client()
    message = str(raised.value)
    assert "\n" not in message
    assert "no Docker engine answers" in message and "apt-get install docker.io" in message
    assert raised.value.exit_code == 2
