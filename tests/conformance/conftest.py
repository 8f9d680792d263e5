"""Conformance fixtures: the Toxiproxy servers under test, reached only through HTTP.

Every test runs against Gauntlet's built-in server (started with
``python -m gauntlet.faultproxy``) and, when ``toxiproxy-server`` is on PATH,
against the real one too; without it those runs are skipped with the reason shown.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gauntlet.faultproxy.client import ToxiproxyClient

from .services import stop_process
from .upstreams import TcpUpstream, echo, free_port

BUILTIN = "builtin"
REAL = "real"
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class ToxiproxyTarget:
    kind: str  # BUILTIN or REAL
    url: str
    log: Path

    @property
    def is_builtin(self) -> bool:
        return self.kind == BUILTIN

    def require_builtin(self, why: str) -> None:
        """Skip on the real server: Gauntlet is deliberately stricter or richer here."""
        if not self.is_builtin:
            pytest.skip(f"Gauntlet-only behaviour (real Toxiproxy differs): {why}")


NO_REAL_SERVER = "real toxiproxy-server is not on PATH: conformance was checked against the built-in server only"


def real_server_binary() -> str | None:
    return shutil.which("toxiproxy-server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a real server, drop its runs here (one skip, below) rather than skip each."""
    if real_server_binary() is not None:
        return
    dropped = [item for item in items if f"[{REAL}" in item.name or f"-{REAL}]" in item.name]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def pytest_report_header(config: pytest.Config) -> str:
    binary = real_server_binary()
    return f"toxiproxy conformance: built-in server and {binary}" if binary else f"toxiproxy: {NO_REAL_SERVER}"


def _server_argv(kind: str, port: int) -> list[str]:
    if kind == BUILTIN:
        return [sys.executable, "-m", "gauntlet.faultproxy", "--host", "127.0.0.1", "--port", str(port)]
    binary = real_server_binary()
    if binary is None:
        pytest.skip(NO_REAL_SERVER)
    return [binary, "-host", "127.0.0.1", "-port", str(port), "-proxy-metrics"]


def _wait_until_answering(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"toxiproxy server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if http.get(f"{url}/version").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"toxiproxy server at {url} did not answer within {START_TIMEOUT_S}s")


@pytest.fixture(scope="session", params=[BUILTIN, REAL])
def toxiproxy_target(request: pytest.FixtureRequest) -> Iterator[ToxiproxyTarget]:
    """A running Toxiproxy server on a free 127.0.0.1 port, stopped after the session."""
    kind = str(request.param)
    port = free_port()
    argv = _server_argv(kind, port)
    log_dir = Path(tempfile.mkdtemp(prefix=f"toxiproxy-{kind}-"))
    log = log_dir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "LOG_LEVEL": "warn"})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url, proc, log)
        yield ToxiproxyTarget(kind, url, log)
        assert proc.poll() is None, f"the {kind} server died during the session: {log.read_text()[-2000:]}"
    finally:
        stop_process(proc)
        shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture
def target(toxiproxy_target: ToxiproxyTarget) -> Iterator[ToxiproxyTarget]:
    """The server under test, emptied of proxies after each test."""
    yield toxiproxy_target
    with ToxiproxyClient(toxiproxy_target.url) as client:
        for name in client.proxies():
            client.delete_proxy(name)


@pytest.fixture
def client(target: ToxiproxyTarget) -> Iterator[ToxiproxyClient]:
    with ToxiproxyClient(target.url) as toxiproxy_client:
        yield toxiproxy_client


@pytest.fixture
def http(target: ToxiproxyTarget) -> Iterator[httpx.Client]:
    """Raw HTTP to the API, for status codes, headers and bodies."""
    with httpx.Client(base_url=target.url, timeout=5.0, headers={"User-Agent": "conformance-tests"}) as raw:
        yield raw


@pytest.fixture
def echo_upstream() -> Iterator[TcpUpstream]:
    with TcpUpstream(echo) as server:
        yield server
