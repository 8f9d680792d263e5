"""Each toxic's observable effect on real TCP traffic through the proxy.

Timing bounds are generous on purpose (two noisy cores): they separate "toxic applied"
from "toxic not applied", not milliseconds of scheduling noise.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

import pytest

from gauntlet.faultproxy.client import ToxiproxyClient

from .upstreams import (
    TcpUpstream,
    connect,
    read_to_close,
    recv_exactly,
    recv_until_closed,
    round_trip,
    sender,
    upstream,
    wait_for,
)

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes, position-dependent so reordering shows


def median_rtt(sock: socket.socket, rounds: int = 3) -> float:
    return statistics.median(round_trip(sock) for _ in range(rounds))


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_latency_delays_each_direction(client: ToxiproxyClient, echo_upstream: TcpUpstream, stream: str) -> None:
    proxy = client.create_proxy("lat", echo_upstream.address)
    client.add_toxic("lat", "latency", stream=stream, attributes={"latency": 100})
    with connect(proxy.listen_port) as sock:
        rtts = [round_trip(sock) for _ in range(3)]
    assert all(0.090 <= rtt <= 0.250 for rtt in rtts), rtts


def test_latency_jitter_stays_in_range(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("jit", echo_upstream.address)
    client.add_toxic("jit", "latency", attributes={"latency": 100, "jitter": 50})
    with connect(proxy.listen_port) as sock:
        rtts = [round_trip(sock) for _ in range(8)]
    assert all(0.045 <= rtt <= 0.300 for rtt in rtts), rtts
    assert max(rtts) - min(rtts) > 0.010, f"jitter 50 ms gave no spread: {rtts}"


def test_latency_toxics_accumulate_in_a_chain(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("chain", echo_upstream.address)
    client.add_toxic("chain", "latency", name="first", attributes={"latency": 60})
    client.add_toxic("chain", "latency", name="second", attributes={"latency": 60})
    with connect(proxy.listen_port) as sock:
        rtt = median_rtt(sock)
    assert 0.110 <= rtt <= 0.350, rtt


def test_latency_does_not_accumulate_over_back_to_back_chunks(client: ToxiproxyClient) -> None:
    # 20 replies sent 10 ms apart through 100 ms of latency must all land within ~100 ms + 200 ms.
    def talker(conn: socket.socket) -> None:
        conn.recv(16)
        for _ in range(20):
            conn.sendall(b"r")
            time.sleep(0.01)

    with upstream(talker) as server:
        proxy = client.create_proxy("pipelined", server.address)
        client.add_toxic("pipelined", "latency", attributes={"latency": 100})
        with connect(proxy.listen_port) as sock:
            started = time.perf_counter()
            sock.sendall(b"go")
            assert recv_exactly(sock, 20) == b"r" * 20
            elapsed = time.perf_counter() - started
    assert 0.280 <= elapsed <= 0.700, elapsed


def test_adding_and_removing_a_toxic_affects_live_connections(
    client: ToxiproxyClient, echo_upstream: TcpUpstream
) -> None:
    proxy = client.create_proxy("live", echo_upstream.address)
    with connect(proxy.listen_port) as sock:
        assert median_rtt(sock) < 0.050
        client.add_toxic("live", "latency", attributes={"latency": 100})
        assert 0.090 <= median_rtt(sock) <= 0.250
        client.update_toxic("live", "latency_downstream", attributes={"latency": 200})
        assert 0.190 <= median_rtt(sock) <= 0.400
        client.remove_toxic("live", "latency_downstream")
        assert median_rtt(sock) < 0.050


def test_bandwidth_limits_the_downstream_rate_within_20_percent(client: ToxiproxyClient) -> None:
    size = 100_000
    with upstream(sender(b"b" * size)) as server:
        proxy = client.create_proxy("bw", server.address)
        client.add_toxic("bw", "bandwidth", attributes={"rate": 100})  # 100 KB/s, KB = 1000 bytes
        with connect(proxy.listen_port) as sock:
            started = time.perf_counter()
            data, _ = recv_until_closed(sock)
            elapsed = time.perf_counter() - started
    assert len(data) == size
    rate_kb_s = size / 1000 / elapsed
    assert 80 <= rate_kb_s <= 120, f"{rate_kb_s:.1f} KB/s for a 100 KB/s toxic"


def test_bandwidth_limits_the_upstream_rate_within_20_percent(client: ToxiproxyClient) -> None:
    size = 100_000
    arrivals: list[tuple[float, int]] = []

    def sink(conn: socket.socket) -> None:
        while chunk := conn.recv(65536):
            arrivals.append((time.perf_counter(), len(chunk)))

    with upstream(sink) as server:
        proxy = client.create_proxy("bw", server.address)
        client.add_toxic("bw", "bandwidth", stream="upstream", attributes={"rate": 100})
        with connect(proxy.listen_port) as sock:
            started = time.perf_counter()
            sock.sendall(b"u" * size)
            assert wait_for(lambda: sum(n for _, n in arrivals) >= size, timeout=5.0)
    assert sum(n for _, n in arrivals) == size
    rate_kb_s = size / 1000 / (arrivals[-1][0] - started)
    assert 80 <= rate_kb_s <= 120, f"{rate_kb_s:.1f} KB/s for a 100 KB/s toxic"


def test_removing_a_toxic_mid_stream_loses_and_reorders_nothing(client: ToxiproxyClient) -> None:
    with upstream(sender(PAYLOAD)) as server:
        proxy = client.create_proxy("flush", server.address)
        client.add_toxic("flush", "bandwidth", attributes={"rate": 50})
        client.add_toxic("flush", "latency", attributes={"latency": 20})
        with connect(proxy.listen_port) as sock:
            first = recv_exactly(sock, 5_000)
            client.remove_toxic("flush", "bandwidth_downstream")
            client.remove_toxic("flush", "latency_downstream")
            started = time.perf_counter()
            rest, _ = recv_until_closed(sock)
            elapsed = time.perf_counter() - started
    assert first + rest == PAYLOAD
    assert elapsed < 1.5, f"the rest took {elapsed:.2f}s after the bandwidth toxic was removed"


def test_slow_close_delays_the_close_not_the_data(client: ToxiproxyClient) -> None:
    with upstream(sender(b"bye")) as server:
        proxy = client.create_proxy("sc", server.address)
        client.add_toxic("sc", "slow_close", attributes={"delay": 300})
        with connect(proxy.listen_port) as sock:
            started = time.perf_counter()
            assert recv_exactly(sock, 3) == b"bye"
            data_at = time.perf_counter() - started
            rest, _ = recv_until_closed(sock)
            closed_at = time.perf_counter() - started
    assert rest == b""
    assert data_at < 0.150, data_at
    assert 0.280 <= closed_at <= 1.0, closed_at


def test_timeout_drops_data_then_closes(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("to", echo_upstream.address)
    client.add_toxic("to", "timeout", attributes={"timeout": 300})
    with connect(proxy.listen_port) as sock:
        started = time.perf_counter()
        sock.sendall(b"anyone there?")
        data = read_to_close(sock)
        elapsed = time.perf_counter() - started
    assert data == b""
    assert 0.270 <= elapsed <= 1.5, elapsed


def test_timeout_zero_holds_the_connection_until_the_toxic_goes(
    client: ToxiproxyClient, echo_upstream: TcpUpstream
) -> None:
    proxy = client.create_proxy("stall", echo_upstream.address)
    client.add_toxic("stall", "timeout", stream="upstream", attributes={"timeout": 0})
    with connect(proxy.listen_port) as sock:
        sock.sendall(b"lost")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(16)  # neither data nor a close: the connection just hangs
        # Toxiproxy's timeout toxic closes the link when it is removed.
        client.remove_toxic("stall", "timeout_upstream")
        data = read_to_close(sock, limit=3.0)
    assert data == b""


def test_reset_peer_makes_the_client_see_a_reset(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("rst", echo_upstream.address)
    client.add_toxic("rst", "reset_peer", attributes={"timeout": 200})
    with connect(proxy.listen_port) as sock:
        started = time.perf_counter()
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            recv_until_closed(sock, limit=5.0)
        elapsed = time.perf_counter() - started
    assert 0.180 <= elapsed <= 1.5, elapsed


def test_slicer_splits_data_into_small_delayed_pieces(client: ToxiproxyClient) -> None:
    payload = PAYLOAD[:2_000]
    with upstream(sender(payload)) as server:
        proxy = client.create_proxy("slice", server.address)
        attributes: dict[str, int | float] = {"average_size": 100, "size_variation": 20, "delay": 20_000}  # µs
        client.add_toxic("slice", "slicer", attributes=attributes)
        with connect(proxy.listen_port) as sock:
            started = time.perf_counter()
            data, sizes = recv_until_closed(sock)
            elapsed = time.perf_counter() - started
    assert data == payload
    assert len(sizes) >= 10, sizes  # ~20 slices of ~100 bytes, 20 ms apart
    assert max(sizes) <= 400, sizes
    assert elapsed >= 0.150, elapsed


@pytest.mark.parametrize("limit", [0, 1, 1_234, 65_536])
def test_limit_data_cuts_at_exactly_bytes(client: ToxiproxyClient, limit: int) -> None:
    with upstream(sender(PAYLOAD, then_close=False)) as server:
        proxy = client.create_proxy("limit", server.address)
        client.add_toxic("limit", "limit_data", attributes={"bytes": limit})
        with connect(proxy.listen_port) as sock:
            data, _ = recv_until_closed(sock, limit=5.0)
    assert data == PAYLOAD[:limit]


def test_limit_data_upstream_cuts_what_reaches_the_server(client: ToxiproxyClient) -> None:
    received = bytearray()
    closed = threading.Event()

    def sink(conn: socket.socket) -> None:
        while chunk := conn.recv(65536):
            received.extend(chunk)
        closed.set()

    with upstream(sink) as server:
        proxy = client.create_proxy("limit_up", server.address)
        client.add_toxic("limit_up", "limit_data", stream="upstream", attributes={"bytes": 10})
        with connect(proxy.listen_port) as sock:
            sock.sendall(b"0123456789")
            sock.sendall(b"abcdef")
            recv_until_closed(sock, limit=5.0)  # the proxy closes the whole connection
            assert closed.wait(5.0)
    assert bytes(received) == b"0123456789"


def test_toxicity_is_drawn_per_connection_near_half(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("coin", echo_upstream.address)
    client.add_toxic("coin", "latency", toxicity=0.5, attributes={"latency": 60})
    connections = 40
    slow = 0
    for _ in range(connections):
        with connect(proxy.listen_port) as sock:
            rtts = [round_trip(sock) for _ in range(3)]
        delayed = [rtt >= 0.050 for rtt in rtts]
        # Drawn once per connection and direction, not per packet: all or none.
        assert len(set(delayed)) == 1, rtts
        slow += delayed[0]
    # Binomial(40, 0.5): 10..30 is beyond +/- 3 standard deviations.
    assert 10 <= slow <= 30, f"{slow}/{connections} connections got the toxic at toxicity 0.5"


@pytest.mark.parametrize(("toxicity", "expect_slow"), [(0.0, False), (1.0, True)])
def test_toxicity_zero_and_one(
    client: ToxiproxyClient, echo_upstream: TcpUpstream, toxicity: float, expect_slow: bool
) -> None:
    proxy = client.create_proxy("edge", echo_upstream.address)
    client.add_toxic("edge", "latency", toxicity=toxicity, attributes={"latency": 80})
    for _ in range(5):
        with connect(proxy.listen_port) as sock:
            assert (round_trip(sock) >= 0.070) is expect_slow
