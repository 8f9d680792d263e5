"""Issue #16 against a real API process started with the stack's own command line (api/serve.py).

Keep-alive connections stay healthy after bad JSON, idle and slow-header clients are
closed, and oversized headers are refused (the realtime socket's caps are tested in
tests/integration/supabase/test_realtime.py). The header deadline is shortened to 1 s here
(GAUNTLET_HTTP_HEADER_TIMEOUT_S) to keep the tests quick; everything else runs with the
production flags.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import psutil
import pytest

from gauntlet.platform.api.serve import LIMIT_CONCURRENCY, MAX_HEADER_BYTES, TIMEOUT_KEEP_ALIVE_S

if TYPE_CHECKING:
    from gauntlet.stack.state import StackState
    from tests.integration.api.conftest import Services

pytestmark = pytest.mark.integration

HEADER_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def server(services: Services) -> Iterator[tuple[str, int]]:
    from tests.integration.api.conftest import api_process, free_port

    port = free_port()
    env = {
        "GAUNTLET_HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    }
    with api_process(services, port, **env) as url:
        yield url, port


def raw_connection(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes the connection within `seconds`, and what it sent before."""
    sock.settimeout(seconds)
    received = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True, received
            received += chunk
    except TimeoutError:
        return False, received
    except ConnectionResetError:
        return True, received


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_bad_json_keeps_the_keep_alive_connection_healthy(server: tuple[str, int]) -> None:
    _, port = server
    with raw_connection(port) as sock:
        for bad in (b'{"a":' * 1_000 + b"1" + b"}" * 1_000, b"[" * 5_000, b'{"p_query": "\\ud800"}', b"{nope"):
            for path in ("/rest/v1/rpc/interest_catalog_search", "/auth/v1/token?grant_type=password"):
                sock.sendall(post(path, bad))
                status, headers, body = read_response(sock)
                assert status == 400 and json.loads(body)["code"] in ("json_too_deep", "invalid_json"), body[:200]
                assert headers.get("connection") != "close"
        # The same connection still serves the next request.
        sock.sendall(post("/rest/v1/rpc/interest_domains", b"{}"))
        status, _, body = read_response(sock)
        assert status == 200, body[:200]


def test_oversized_body_is_413_and_the_connection_is_closed(server: tuple[str, int]) -> None:
    _, port = server
    with raw_connection(port) as sock:
        sock.sendall(post("/rest/v1/rpc/interest_domains", b"", extra="X-Pad: 1\r\n").replace(
            b"Content-Length: 0", b"Content-Length: 50000000"
        ))  # fmt: skip
        status, headers, body = read_response(sock)
        assert status == 413 and json.loads(body)["code"] == "payload_too_large"
        assert headers["connection"] == "close"
        assert closed_within(sock, 3)[0]


def test_an_idle_new_connection_is_closed(server: tuple[str, int]) -> None:
    _, port = server
    started = time.monotonic()
    with raw_connection(port) as sock:
        closed, _ = closed_within(sock, HEADER_TIMEOUT_S + 3)
    assert closed and time.monotonic() - started < HEADER_TIMEOUT_S + 2


def test_slow_headers_get_408_and_a_close(server: tuple[str, int]) -> None:
    _, port = server
    with raw_connection(port) as sock:
        sock.sendall(b"GET /functions/v1/health HTTP/1.1\r\nHost: api\r\n")
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 3
        answer = b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while time.monotonic() < deadline:  # a header line every 0.2 s, never the blank line
                sock.sendall(f"X-Slow-{uuid.uuid4().hex[:6]}: 1\r\n".encode())
                closed, answer = closed_within(sock, 0.2)
                if closed:
                    break
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"code": "request_timeout"' in answer


def test_oversized_headers_get_431(server: tuple[str, int]) -> None:
    _, port = server
    with raw_connection(port) as sock:
        sock.sendall(b"GET /functions/v1/health HTTP/1.1\r\nHost: api\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES + 1024))
        closed, answer = closed_within(sock, 3)
    assert closed and answer.startswith(b"HTTP/1.1 431"), answer[:200]
    # Headers under the limit are fine.
    with raw_connection(port) as sock:
        sock.sendall(b"GET /functions/v1/health HTTP/1.1\r\nHost: api\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
        assert read_response(sock)[0] == 200


def test_idle_keep_alive_connections_are_closed(server: tuple[str, int]) -> None:
    _, port = server
    with raw_connection(port) as sock:
        sock.sendall(b"GET /functions/v1/health HTTP/1.1\r\nHost: api\r\n\r\n")
        assert read_response(sock)[0] == 200
        closed, _ = closed_within(sock, TIMEOUT_KEEP_ALIVE_S + 2)
    assert closed


def test_the_stack_starts_the_api_with_its_limits(gauntlet_stack: StackState) -> None:
    record = gauntlet_stack.services["api"]
    if record.pid is None:
        pytest.skip("the API runs in a container here")
    argv = psutil.Process(record.pid).cmdline()
    assert argv[argv.index("--limit-concurrency") + 1] == str(LIMIT_CONCURRENCY)
    assert argv[argv.index("--timeout-keep-alive") + 1] == str(TIMEOUT_KEEP_ALIVE_S)
    assert argv[argv.index("--h11-max-incomplete-event-size") + 1] == str(MAX_HEADER_BYTES)
    assert argv[argv.index("--http") + 1].endswith("serve:GuardedHttpToolsProtocol")
