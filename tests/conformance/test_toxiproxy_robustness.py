"""Bad input never crashes the server; dead upstreams and rude clients are handled cleanly."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time

import httpx
import pytest

from gauntlet.faultproxy.client import ToxiproxyClient

from .conftest import ToxiproxyTarget
from .upstreams import TcpUpstream, connect, free_port, recv_exactly, recv_until_closed, round_trip, sender, upstream

ROUTES = [
    ("POST", "/proxies"),
    ("POST", "/populate"),
    ("POST", "/proxies/p"),
    ("PATCH", "/proxies/p"),
    ("POST", "/proxies/p/toxics"),
    ("PATCH", "/proxies/p/toxics/latency_downstream"),
    ("POST", "/reset"),
]

NASTY_JSON = [
    b"null",
    b"true",
    b"0",
    b"-1",
    b'"string"',
    b"[]",
    b"[null]",
    b"[{}]",
    b'[{"name": "x"}]',
    b"{}",
    b'{"name": null, "upstream": null}',
    b'{"name": ["x"], "upstream": {"a": 1}}',
    b'{"enabled": "yes"}',
    b'{"listen": 8080}',
    b'{"type": "latency", "attributes": []}',
    b'{"type": "latency", "attributes": {"latency": "100"}}',
    b'{"type": "latency", "attributes": {"latency": 1e400}}',
    b'{"type": "latency", "attributes": {"latency": 123456789012345678901234567890}}',
    b'{"type": "latency", "toxicity": "high"}',
    b'{"type": "latency", "toxicity": NaN}',
    b'{"type": "latency", "stream": 7}',
    b'{"type": 5}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"\xff\xfe\x00garbage",
    b'{"name": "\\ud800", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:0"}',
]


def server_is_healthy(http: httpx.Client) -> bool:
    return http.get("/version").status_code == 200 and http.get("/proxies").status_code == 200


def test_garbage_bodies_get_4xx_never_a_crash(http: httpx.Client, client: ToxiproxyClient) -> None:
    client.create_proxy("p", "127.0.0.1:1")
    client.add_toxic("p", "latency")
    rng = random.Random(20240601)
    bodies = NASTY_JSON + [rng.randbytes(rng.randint(1, 300)) for _ in range(40)]
    for body in bodies:
        for method, path in ROUTES:
            response = http.request(method, path, content=body)
            assert response.status_code < 500, (method, path, body[:80], response.text)
            if response.status_code == 400:
                assert response.json()["status"] == 400
    assert server_is_healthy(http)
    assert client.get_proxy("p").upstream == "127.0.0.1:1"


def test_malformed_http_is_refused_and_the_server_stays_up(target: ToxiproxyTarget, http: httpx.Client) -> None:
    port = httpx.URL(target.url).port
    assert port is not None
    junk = [
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\x03" * 100,
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",  # then hang up
        b"POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /proxies HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
        b"GET /proxies HTTP/1.1\r\n",  # incomplete, then hang up
    ]
    for data in junk:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                reply = recv_until_closed(sock, limit=5.0)[0]
            except ConnectionResetError:
                reply = b""
        assert reply == b"" or reply.startswith(b"HTTP/1.1 4"), (data[:60], reply[:200])
    assert server_is_healthy(http)


def test_upstream_down_closes_the_client_cleanly(http: httpx.Client, client: ToxiproxyClient) -> None:
    dead = f"127.0.0.1:{free_port()}"
    proxy = client.create_proxy("dead", dead)
    for _ in range(20):
        with connect(proxy.listen_port) as sock:
            sock.sendall(b"hello?")
            try:
                data, _ = recv_until_closed(sock, limit=5.0)
            except ConnectionResetError:
                data = b""
            assert data == b""
    assert server_is_healthy(http)
    assert client.get_proxy("dead").enabled is True
    with upstream(sender(b"back")) as alive:
        client.update_proxy("dead", upstream=alive.address)
        with connect(client.get_proxy("dead").listen_port) as sock:
            assert recv_until_closed(sock)[0] == b"back"


def test_clients_resetting_mid_stream_do_not_hurt(
    http: httpx.Client, client: ToxiproxyClient, echo_upstream: TcpUpstream
) -> None:
    with upstream(sender(b"z" * 2_000_000, then_close=False)) as firehose:
        proxy = client.create_proxy("rude", firehose.address)
        client.add_toxic("rude", "slicer", attributes={"average_size": 1000, "size_variation": 100, "delay": 0})
        for _ in range(10):
            sock = connect(proxy.listen_port)
            recv_exactly(sock, 10_000)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST while the proxy is still writing to us
    assert server_is_healthy(http)
    echo = client.create_proxy("still_fine", echo_upstream.address)
    with connect(echo.listen_port) as sock:
        round_trip(sock)


def test_live_toxic_churn_keeps_every_byte_in_order(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("churn", echo_upstream.address)
    errors: list[str] = []
    stop = threading.Event()

    def talk(worker: int) -> None:
        try:
            with connect(proxy.listen_port, timeout=10) as sock:
                for round_ in range(150):
                    if stop.is_set():
                        return
                    payload = f"{worker}:{round_}:".encode() * 300
                    sock.sendall(payload)
                    echoed = recv_exactly(sock, len(payload))
                    if echoed != payload:
                        errors.append(f"worker {worker} round {round_}: corrupted echo")
                        return
        except OSError as exc:
            errors.append(f"worker {worker}: {exc!r}")

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    cycles = 0
    toxics = [
        ("latency", {"latency": 3, "jitter": 2}),
        ("slicer", {"average_size": 64, "size_variation": 32, "delay": 50}),
        ("bandwidth", {"rate": 5000}),
        ("noop", {}),
    ]
    while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
        for kind, attributes in toxics:
            stream = random.choice(["upstream", "downstream"])
            client.add_toxic("churn", kind, stream=stream, attributes=dict(attributes))
        time.sleep(0.02)
        for kind, _ in reversed(toxics) if random.random() < 0.5 else toxics:
            name = next(toxic.name for toxic in client.get_proxy("churn").toxics if toxic.type == kind)
            client.remove_toxic("churn", name)
        cycles += 1
    stop.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert time.monotonic() < deadline, "echo traffic did not finish within 20 s of toxic churn"
    assert cycles >= 5, f"only {cycles} add/remove cycles overlapped the traffic"


def test_disabling_and_deleting_under_load(http: httpx.Client, client: ToxiproxyClient) -> None:
    with upstream(sender(b"q" * 500_000, then_close=False)) as server:
        proxy = client.create_proxy("busy", server.address)
        client.add_toxic("busy", "latency", attributes={"latency": 20})
        sockets = [connect(proxy.listen_port) for _ in range(10)]
        try:
            for sock in sockets:
                recv_exactly(sock, 1_000)
            client.update_proxy("busy", enabled=False)
            for sock in sockets:
                with contextlib.suppress(ConnectionResetError):
                    recv_until_closed(sock, limit=5.0)
            client.update_proxy("busy", enabled=True)
            again = connect(proxy.listen_port)
            sockets.append(again)
            assert recv_exactly(again, 1_000) == b"q" * 1_000
            client.delete_proxy("busy")
        finally:
            for sock in sockets:
                sock.close()
    assert server_is_healthy(http)


def test_builtin_logged_no_tracebacks(target: ToxiproxyTarget, http: httpx.Client) -> None:
    target.require_builtin("reads the built-in server's own log")
    assert server_is_healthy(http)
    log = target.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_nasty_json_payloads_are_valid_test_data() -> None:
    # Guards the table above: most entries must really be JSON (so they test decoding, not just lexing).
    decodable = 0
    for raw in NASTY_JSON:
        try:
            json.loads(raw)
        except (ValueError, RecursionError):
            continue
        decodable += 1
    assert decodable >= 15


@pytest.mark.parametrize("name", ["a b", "ünïcødé", "semi;colon", "x" * 200])
def test_odd_proxy_names_round_trip(target: ToxiproxyTarget, client: ToxiproxyClient, name: str) -> None:
    if target.is_builtin and name != "x" * 200:
        pytest.skip("the built-in server refuses names outside [A-Za-z0-9._-] (test_toxiproxy_validation.py)")
    client.create_proxy(name, "127.0.0.1:1")
    assert client.get_proxy(name).name == name
    assert name in client.proxies()
    client.add_toxic(name, "latency", name=f"{name}-toxic")
    assert client.get_proxy(name).toxics[0].name == f"{name}-toxic"
    client.remove_toxic(name, f"{name}-toxic")
    client.delete_proxy(name)
