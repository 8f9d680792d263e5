"""Benchmark (issue "Platform II"): feed, suggestions, login and onboarding latency at scale, HTTP vs direct.

    .venv/bin/python benchmarks/bench_platform.py [--users 100000 --posts 1000000 --rate 30 --seconds 20]
                                                  [--small] [--keep-stack] [--state-dir DIR] [--only TEXT]
                                                  [--client lean|httpx]

Brings a fresh embedded stack up (``gauntlet up`` in a temporary state dir), loads the scale data
set (``gauntlet fixtures load``; ``--small`` is 10k users / 100k posts), VACUUM ANALYZEs it, then
measures, one call at a time, at a fixed request rate (open model: request *i* is sent at
``i / rate`` s whatever happened before, and its latency counts from that scheduled time, so a
slow server cannot hide behind a waiting client; a send more than 10 ms behind schedule counts as
late). The driver is the harness's own: ``gauntlet.load.async_pacing`` (the arrival schedule and
start policy of load/arrivals.py, latencies in load/hdr.py's histograms and percentiles):

  feed_fusion_home per lane (for_you, following, shop; first page, 20 items)
  marketplace_suggestions_for_user (the caller's own, 12 items)
  login (POST /auth/v1/token?grant_type=password)
  complete_onboarding (each call a fresh user with handle, display name, source and 3 interests)

each twice: through the HTTP surface (HTTP/1.1 keep-alive, at most 32 connections -> uvicorn API ->
Toxiproxy -> Postgres) and directly over asyncpg to the primary, skipping the API and the proxy
but running the very SQL the API runs: the API's own ``bind`` and ``execute`` (one transaction,
``begin_as_caller``, the call, COMMIT); for login the API's two queries plus the Argon2id check the
API does in a thread, and the session it starts. HTTP rows also show the API's own handler time
(its ``rpc_metrics`` rows for the window), so the gap splits into HTTP + client (HTTP - handler)
and proxy + rate limit + pool (handler - direct). Suggestions are a replica read in the API, so that call also gets a
direct row against the replica. Each row has an unrecorded warm-up at the same rate first.

The HTTP client is a lean keep-alive client on asyncio streams (``--client lean``, default) so
that the load generator's own CPU stays out of the numbers: against a bare ASGI app on this
2-core machine it measures p50 ~1.0 ms at 30 req/s, where httpx.AsyncClient (``--client httpx``)
measures ~3.4 ms; httpx alone costs 1-2 ms of Python per request.

Set-up: ``--accounts`` (40) people sign up through /auth/v1/signup, onboard through the RPCs and
follow ~20 pages each (10 of the 200 most-followed, 10 at random); the feed, suggestions and
login rows rotate over them. The onboarding rows need one fresh user per request: those are
made with the API's own SQL (insert_user, update_profile, user_interests_upsert through
``execute``) and a token minted with the stack's JWT secret, because ``rate * seconds`` real
sign-ups would spend minutes hashing passwords before anything is measured.

Targets: every HTTP p95 at least 10x under the seeds' SLOs (DESIGN.md): feed < 80 ms,
suggestions < 20 ms, login < 50 ms, onboarding < 100 ms. The stack runs with
GAUNTLET_RATE_LIMIT_MULTIPLIER=1000 (the documented setting) so the edge limiter does not answer
the benchmark's single loopback client with 429s. Everything is on 127.0.0.1 and bounded: at most
``rate * seconds`` requests per row, ``MAX_IN_FLIGHT`` at once, ``REQUEST_TIMEOUT_S`` each.
Exit status 1 when an HTTP row misses its target (or had errors), else 0.

The machine is small and shared, so the output says how busy it was: load averages at start and
end, and per call the Linux PSI share of the window in which some task waited for a CPU (cpu%)
or every task was stalled on I/O (io%). HTTP and direct take turns in ``--blocks`` blocks so a
burst from elsewhere lands on both; tails still move with cpu%, p50s much less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop

from gauntlet.fixtures.scale import load_scale_data
from gauntlet.load.arrivals import ArrivalSchedule
from gauntlet.load.async_pacing import Op, PacedCalls, run_open_model
from gauntlet.load.hdr import percentile_ms
from gauntlet.platform.api.rpc_args import bind, choose_overload
from gauntlet.platform.api.rpc_catalog import SignatureCache, execute
from gauntlet.platform.auth.passwords import hash_password, verify_password
from gauntlet.platform.auth.sessions import start_session
from gauntlet.platform.auth.tokens import Claims, mint
from gauntlet.platform.db import init_connection, keep_session
from gauntlet.platform.queries import sql
from gauntlet.stack import supervisor
from gauntlet.stack.state import StackState, load_state

RATE_LIMIT_ENV = {"GAUNTLET_RATE_LIMIT_MULTIPLIER": "1000"}
# DESIGN.md SLO p95s divided by 10 (the targets), in ms.
TARGET_P95_MS = {"feed": 80.0, "suggestions": 20.0, "login": 50.0, "onboarding": 100.0}
LANES = ("for_you", "following", "shop")
PASSWORD = "bench-platform-pw-1"
MAX_IN_FLIGHT = 256
REQUEST_TIMEOUT_S = 10.0
DIRECT_POOL_SIZE = 10  # the API's pool_max_size default
HTTP_POOL_SIZE = 32
FEED_LIMIT, SUGGESTIONS_LIMIT = 20, 12


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: read the numbers with them)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pressure() -> tuple[float, float]:
    """Cumulative seconds some task waited for CPU, and all tasks stalled on I/O (Linux PSI; NaN without it)."""
    try:
        cpu = Path("/proc/pressure/cpu").read_text().split("\n")[0]
        io = Path("/proc/pressure/io").read_text().split("\n")[1]
    except (OSError, IndexError):
        return math.nan, math.nan
    return float(cpu.rsplit("total=", 1)[1]) / 1e6, float(io.rsplit("total=", 1)[1]) / 1e6


# ------------------------------------------------------------------ the fixed-rate driver (load/async_pacing.py)
@dataclass
class Row:
    call: str
    path: str  # http | direct | direct-replica
    target_ms: float | None
    calls: PacedCalls = field(default_factory=PacedCalls, repr=False)  # what the paced runs of this row did
    p50: float = math.nan
    p95: float = math.nan
    p99: float = math.nan
    max: float = math.nan
    api_p50: float = math.nan
    api_p95: float = math.nan
    cpu_wait: float = math.nan  # % of the case's wall time some task on the machine waited for a CPU (PSI)
    io_stall: float = math.nan  # % of it every task was stalled on I/O (PSI "full")

    @property
    def ok(self) -> int:
        return self.calls.ok

    @property
    def errors(self) -> int:
        return self.calls.errors

    @property
    def late(self) -> int:
        return self.calls.tally.late

    @property
    def dropped(self) -> int:
        """Arrivals not sent: MAX_IN_FLIGHT calls were still running."""
        return self.calls.tally.missed

    @property
    def seconds(self) -> float:
        return self.calls.seconds

    @property
    def error_kinds(self) -> Counter[str]:
        return self.calls.error_kinds

    def finish(self) -> None:
        """Percentiles (ms) from everything recorded."""
        if self.ok:
            self.p50, self.p95, self.p99, self.max = (
                percentile_ms(self.calls.histogram, p) for p in (50.0, 95.0, 99.0, 100.0)
            )


async def drive(row: Row, op: Op, rate: float, seconds: float, first_index: int = 0) -> int:
    """Send ``op(first_index + i)`` at ``rate`` for ``seconds`` into ``row``; return how many indices it used."""
    schedule = ArrivalSchedule(rate_per_s=rate, duration_s=seconds)
    return await run_open_model(
        op, schedule, row.calls, max_in_flight=MAX_IN_FLIGHT, timeout_s=REQUEST_TIMEOUT_S, first_index=first_index
    )


# ------------------------------------------------------------------ calling the platform
class Http:
    """POST JSON, expect 200 and a JSON answer; ``rpc`` is ``POST /rest/v1/rpc/{function}``."""

    async def post(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        raise NotImplementedError

    async def rpc(self, function: str, body: dict[str, Any], token: str) -> Any:
        return await self.post(f"/rest/v1/rpc/{function}", body, token)

    async def aclose(self) -> None:
        """Close every connection."""


class HttpxClient(Http):
    """httpx.AsyncClient (HTTP/1.1 keep-alive, bounded pool): ~1-2 ms of Python per request on this machine."""

    def __init__(self, api_url: str) -> None:
        limits = httpx.Limits(max_connections=HTTP_POOL_SIZE, max_keepalive_connections=HTTP_POOL_SIZE)
        self.client = httpx.AsyncClient(base_url=api_url, limits=limits, timeout=REQUEST_TIMEOUT_S)

    async def post(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(path, json=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} {response.text[:160]}")
        return response.json()

    async def aclose(self) -> None:
        await self.client.aclose()


class LeanClient(Http):
    """HTTP/1.1 keep-alive on asyncio streams, at most HTTP_POOL_SIZE connections, Content-Length framing.

    The load generator's own cost stays out of the numbers: ~0.2 ms a request here, where httpx
    takes 1-2 ms (see the module docstring). An idle connection older than IDLE_S is closed rather
    than reused (uvicorn drops keep-alive connections after 5 s).
    """

    IDLE_S = 3.0

    def __init__(self, api_url: str) -> None:
        url = urllib.parse.urlsplit(api_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.gate = asyncio.Semaphore(HTTP_POOL_SIZE)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            used, reader, writer = self.idle.pop()
            if time.monotonic() - used < self.IDLE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        payload = json.dumps(body).encode()
        auth = f"authorization: Bearer {token}\r\n" if token else ""
        request = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n{auth}\r\n"
        ).encode() + payload
        async with self.gate:
            reader, writer = await self._connection()
            try:
                writer.write(request)
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                status = int(head[0].split(" ", 2)[1])
                headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
                data = await reader.readexactly(int(headers["content-length"]))
            except BaseException:
                writer.close()
                raise
            if headers.get("connection") == "close":
                writer.close()
            else:
                self.idle.append((time.monotonic(), reader, writer))
        if status != 200:
            raise RuntimeError(f"HTTP {status} {data[:160].decode(errors='replace')}")
        return json.loads(data)

    async def aclose(self) -> None:
        for _, _, writer in self.idle:
            writer.close()
        self.idle.clear()


class Direct:
    """The API's own binding and execution of an RPC, on a direct (unproxied) pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.signatures = SignatureCache()  # the API's: a cached signature costs no query

    async def rpc(self, function: str, args: dict[str, Any], claims: Claims) -> Any:
        async with self.pool.acquire() as conn:
            overloads = await self.signatures.get(conn, function)
            call = bind(choose_overload(function, overloads, args), args)
            return await execute(conn, call, claims)

    async def login(self, email: str, password: str) -> None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(sql("auth", "user_for_login"), email)
        if row is None or not await asyncio.to_thread(verify_password, password, row["encrypted_password"]):
            raise RuntimeError("invalid credentials")
        async with self.pool.acquire() as conn:
            await conn.fetchval(sql("auth", "touch_last_sign_in"), row["id"], None, row["encrypted_password"])
        async with self.pool.acquire() as conn:  # the session (and first refresh token) the API's login issues
            await start_session(conn, str(row["id"]))


async def direct_pool(dsn: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=DIRECT_POOL_SIZE,
        max_size=DIRECT_POOL_SIZE,
        init=init_connection,
        reset=keep_session,  # the API's pools' reset on release (none beyond asyncpg's rollback)
        server_settings={"statement_timeout": "5000", "application_name": "bench-platform"},
    )
    assert pool is not None
    return pool


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str
    token: str

    @property
    def claims(self) -> Claims:
        return Claims(role="authenticated", sub=self.user_id, email=self.email, exp=int(time.time()) + 86_400)


def expect(ok: bool, what: str, body: Any) -> None:
    if not ok:
        raise RuntimeError(f"{what}: unexpected answer {json.dumps(body, default=str)[:160]}")


# ------------------------------------------------------------------ set-up
async def sign_up_accounts(http: Http, conn: asyncpg.Connection, count: int, run: str, seed: int) -> list[Account]:
    """Real sign-ups through /auth/v1/signup, onboarded, each following ~20 pages (half of them popular)."""
    rng = random.Random(seed)
    popular = [
        str(r[0])
        for r in await conn.fetch(
            "select entity_id from public.entity_edges group by entity_id order by count(*) desc limit 200"
        )
    ]
    every = [str(r[0]) for r in await conn.fetch("select id from public.entities")]
    interests = [
        str(r[0])
        for r in await conn.fetch(
            "select id from public.interest_catalog where is_active order by popularity desc limit 40"
        )
    ]
    gate = asyncio.Semaphore(4)

    async def one(n: int) -> Account:
        async with gate:
            email = f"bench.{run}.{n}@bench.invalid"
            session = await http.post("/auth/v1/signup", {"email": email, "password": PASSWORD})
            account = Account(session["user"]["id"], email, session["access_token"])
            await http.rpc(
                "update_profile",
                {"p_handle": f"b{run}_{n}", "p_display_name": f"Bench {n}", "p_acquisition_source": "benchmark"},
                account.token,
            )
            for interest in rng.sample(interests, k=rng.randint(3, 5)):
                await http.rpc("user_interests_upsert", {"p_interest_id": interest, "p_affinity": 0.8}, account.token)
            done = await http.rpc("complete_onboarding", {}, account.token)
            expect(isinstance(done, dict) and done.get("onboarding_complete") is True, "complete_onboarding", done)
            pages = set(rng.sample(popular, k=min(10, len(popular)))) | set(rng.sample(every, k=min(10, len(every))))
            for page in sorted(pages):
                await http.rpc("entity_follow", {"p_entity_id": page}, account.token)
            return account

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def onboarding_pool(direct: Direct, jwt_secret: str, count: int, run: str, tag: str) -> list[Account]:
    """Fresh users one step before the end of onboarding: handle, display name, source, 3 interests.

    Made with the API's own SQL (insert_user; the RPCs through the API's execute) and a token
    minted with the stack's secret, like the one login issues: the hashing cost of ``count`` real
    sign-ups would dominate the set-up and is not what is measured here.
    """
    encrypted = hash_password(PASSWORD)
    async with direct.pool.acquire() as conn:
        interests = [
            str(r[0])
            for r in await conn.fetch(
                "select id from public.interest_catalog where is_active order by popularity desc limit 40"
            )
        ]
    rng = random.Random(f"{run}:{tag}")
    gate = asyncio.Semaphore(DIRECT_POOL_SIZE - 2)

    async def one(n: int) -> Account:
        async with gate:
            email = f"onb.{run}.{tag}.{n}@bench.invalid"
            async with direct.pool.acquire() as conn:
                row = await conn.fetchrow(sql("auth", "insert_user"), email, encrypted, {})
            user_id = str(row["id"])
            token = mint(jwt_secret, role="authenticated", ttl_s=86_400, sub=user_id, email=email)
            account = Account(user_id, email, token)
            await direct.rpc(
                "update_profile",
                {"p_handle": f"o{run}{tag}_{n}", "p_display_name": f"Onb {n}", "p_acquisition_source": "benchmark"},
                account.claims,
            )
            for interest in rng.sample(interests, k=3):
                await direct.rpc(
                    "user_interests_upsert", {"p_interest_id": interest, "p_affinity": 0.7}, account.claims
                )
            return account

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def wait_for_replica(primary: asyncpg.Pool, timeout_s: float = 120.0) -> float:
    """Seconds until every replica has replayed the primary's current WAL position."""
    started = time.monotonic()
    async with primary.acquire() as conn:
        lsn = await conn.fetchval("select pg_current_wal_lsn()")
        while time.monotonic() - started < timeout_s:
            if await conn.fetchval(
                "select count(*) > 0 and bool_and(replay_lsn >= $1::pg_lsn) from pg_stat_replication", lsn
            ):
                return time.monotonic() - started
            await asyncio.sleep(0.25)
    raise RuntimeError(f"the replica did not catch up within {timeout_s:.0f} s")


async def api_handler_times(pool: asyncpg.Pool, name: str, since: float, until: float) -> tuple[float, float]:
    """p50/p95 (ms) of the API's own handler time for ``name`` between two wall-clock times (rpc_metrics)."""
    await asyncio.sleep(2.5)  # the API flushes rpc_metrics every second
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "select percentile_cont(0.5) within group (order by duration_ms) as p50, "
            "percentile_cont(0.95) within group (order by duration_ms) as p95 from public.rpc_metrics "
            "where name = $1 and ts between to_timestamp($2) and to_timestamp($3) and ok and error is null",
            name,
            since,
            until,
        )
    return (float(row["p50"]), float(row["p95"])) if row and row["p50"] is not None else (math.nan, math.nan)


# ------------------------------------------------------------------ the cases
@dataclass(frozen=True)
class Case:
    call: str
    kind: str  # key of TARGET_P95_MS
    metric_name: str  # the API's rpc_metrics name
    http: Op
    direct: Op
    replica: Op | None = None


def cases(
    http: Http,
    direct: Direct,
    replica: Direct | None,
    accounts: list[Account],
    onb_http: list[Account],
    onb_direct: list[Account],
) -> list[Case]:
    def pick(i: int) -> Account:
        return accounts[i % len(accounts)]

    def feed_http(lane: str) -> Op:
        async def op(i: int) -> None:
            body = await http.rpc(
                "feed_fusion_home", {"p_lane": lane, "p_cursor": None, "p_limit": FEED_LIMIT}, pick(i).token
            )
            expect(isinstance(body, dict) and bool(body.get("items")), f"feed {lane}", body)

        return op

    def feed_direct(lane: str) -> Op:
        async def op(i: int) -> None:
            body = await direct.rpc(
                "feed_fusion_home", {"p_lane": lane, "p_cursor": None, "p_limit": FEED_LIMIT}, pick(i).claims
            )
            expect(isinstance(body, dict) and bool(body.get("items")), f"feed {lane}", body)

        return op

    def suggestions(via: Direct) -> Op:
        async def op(i: int) -> None:
            a = pick(i)
            rows = await via.rpc(
                "marketplace_suggestions_for_user", {"p_user_id": a.user_id, "p_limit": SUGGESTIONS_LIMIT}, a.claims
            )
            expect(isinstance(rows, list) and bool(rows), "suggestions", rows)

        return op

    async def suggestions_http(i: int) -> None:
        a = pick(i)
        rows = await http.rpc(
            "marketplace_suggestions_for_user", {"p_user_id": a.user_id, "p_limit": SUGGESTIONS_LIMIT}, a.token
        )
        expect(isinstance(rows, list) and bool(rows), "suggestions", rows)

    async def login_http(i: int) -> None:
        session = await http.post("/auth/v1/token?grant_type=password", {"email": pick(i).email, "password": PASSWORD})
        expect(isinstance(session, dict) and "access_token" in session, "login", session)

    async def login_direct(i: int) -> None:
        await direct.login(pick(i).email, PASSWORD)

    async def onboarding_http(i: int) -> None:
        body = await http.rpc("complete_onboarding", {}, onb_http[i].token)
        expect(isinstance(body, dict) and body.get("onboarding_complete") is True, "complete_onboarding", body)

    async def onboarding_direct(i: int) -> None:
        body = await direct.rpc("complete_onboarding", {}, onb_direct[i].claims)
        expect(isinstance(body, dict) and body.get("onboarding_complete") is True, "complete_onboarding", body)

    return [
        *(
            Case(f"feed_fusion_home {lane}", "feed", "feed_fusion_home", feed_http(lane), feed_direct(lane))
            for lane in LANES
        ),
        Case(
            "marketplace_suggestions_for_user",
            "suggestions",
            "marketplace_suggestions_for_user",
            suggestions_http,
            suggestions(direct),
            suggestions(replica) if replica else None,
        ),
        Case("login (password grant)", "login", "auth.login", login_http, login_direct),
        Case("complete_onboarding", "onboarding", "complete_onboarding", onboarding_http, onboarding_direct),
    ]


# ------------------------------------------------------------------ reporting
def meets_target(row: Row) -> bool:
    """p95 under the target, with no error and nothing dropped."""
    return row.ok > 0 and row.errors == 0 and row.dropped == 0 and row.p95 < (row.target_ms or 0.0)


def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'call':<33} {'path':<14} {'n':>5} {'rps':>6} {'err':>4} {'late':>4} {'p50':>7} {'p95':>7} "
        f"{'p99':>7} {'max':>7} {'api p50':>7} {'api p95':>7} {'x p95':>6} {'+p50':>6} {'cpu%':>4} {'io%':>4} "
        f"{'target':>7}  verdict"
    )
    print(head)
    print("-" * len(head))
    direct_of = {r.call: r for r in rows if r.path == "direct"}
    for r in rows:
        ratio = added = math.nan
        verdict, target = "(reference)", "-"
        if r.path == "http":
            d = direct_of.get(r.call)
            if d is not None and d.ok:
                ratio, added = r.p95 / d.p95, r.p50 - d.p50
            if r.target_ms is not None:
                target, verdict = f"<{r.target_ms:.0f}", "PASS" if meets_target(r) else "MISS"
        print(
            f"{r.call:<33} {r.path:<14} {r.ok:>5} {r.ok / r.seconds:>6.1f} {r.errors + r.dropped:>4} {r.late:>4} "
            f"{fmt(r.p50):>7} {fmt(r.p95):>7} {fmt(r.p99):>7} {fmt(r.max):>7} {fmt(r.api_p50):>7} "
            f"{fmt(r.api_p95):>7} {fmt(ratio, 2):>6} {fmt(added):>6} {fmt(r.cpu_wait, 0):>4} {fmt(r.io_stall, 0):>4} "
            f"{target:>7}  {verdict}"
        )
    for r in rows:
        for kind, n in r.error_kinds.most_common(3):
            print(f"  errors {r.call} [{r.path}] x{n}: {kind}")


# ------------------------------------------------------------------ main
async def benchmark(state: StackState, args: argparse.Namespace, load: bool) -> list[Row]:
    dsn = state.direct["primary_dsn"]
    if load:
        started = time.perf_counter()
        written = await load_scale_data(dsn, users=args.users, posts=args.posts, seed=args.seed)
        print(
            f"scale data: {written['auth.users']:,} users, {written['posts']:,} posts, "
            f"{written['entity_edges']:,} follows, {written['marketplace_listings']:,} listings loaded in "
            f"{time.perf_counter() - started:.1f} s"
        )
    replica_dsns: list[str] = state.direct.get("replica_dsns") or []
    primary = await direct_pool(dsn)
    replica_pool = await direct_pool(replica_dsns[0]) if replica_dsns else None
    direct, replica = Direct(primary), Direct(replica_pool) if replica_pool else None
    http = LeanClient(state.api_url) if args.client == "lean" else HttpxClient(state.api_url)
    try:
        started = time.perf_counter()
        async with primary.acquire() as conn:
            await conn.execute(
                "vacuum analyze auth.users, public.profiles, public.entities, public.entity_edges, "
                "public.posts, public.post_targets, public.marketplace_listings, public.events"
            )
            counts = await conn.fetchrow(
                "select (select count(*) from auth.users) users, (select count(*) from public.posts) posts"
            )
        print(
            f"vacuum analyze: {time.perf_counter() - started:.1f} s; database holds {counts['users']:,} users, "
            f"{counts['posts']:,} posts"
        )
        started = time.perf_counter()
        run = f"{int(time.time()) % 100_000:05d}"
        async with primary.acquire() as conn:
            accounts = await sign_up_accounts(http, conn, args.accounts, run, args.seed)
        per_row = (
            math.ceil(args.rate * args.warmup) + args.blocks * math.ceil(args.rate * args.seconds / args.blocks) + 2
        )
        onb_http = await onboarding_pool(direct, state.jwt_secret, per_row, run, "h")
        onb_direct = await onboarding_pool(direct, state.jwt_secret, per_row, run, "d")
        lag = await wait_for_replica(primary)
        setup_s, started = time.perf_counter() - started, time.perf_counter()
        async with primary.acquire() as conn:
            # Write the load's dirty pages now: otherwise the spread checkpoint that follows a bulk load runs
            # through the measured windows and its I/O slows every commit's WAL flush.
            await conn.execute("checkpoint")
        print(
            f"set-up: {len(accounts)} accounts signed up over HTTP (onboarded, ~20 follows each), "
            f"2 x {per_row} onboarding-ready users, replica caught up in {lag:.1f} s; {setup_s:.1f} s; "
            f"checkpoint {time.perf_counter() - started:.1f} s"
        )
        sample = await direct.rpc("feed_fusion_home", {"p_lane": "following"}, accounts[0].claims)
        print(
            f"sample following page: {sample['blend']}; password verify alone (Argon2id, in-process): "
            f"{password_verify_ms():.1f} ms median of 5"
        )

        rows: list[Row] = []
        for case in cases(http, direct, replica, accounts, onb_http, onb_direct):
            if args.only and not any(text in case.call for text in args.only):
                continue
            target = TARGET_P95_MS[case.kind]
            paths: list[tuple[str, Op]] = [("http", case.http), ("direct", case.direct)]
            if case.replica is not None:
                paths.append(("direct-replica", case.replica))
            # Warm-up per path at the same rate (not recorded); then the paths take turns in blocks, so a burst of
            # load from elsewhere on the machine lands on both. Onboarding users are used once: indices move on.
            offsets = {
                path: await drive(Row(case.call, path, None), op, args.rate, args.warmup) if args.warmup else 0
                for path, op in paths
            }
            measured = {path: Row(case.call, path, target) for path, _ in paths}
            wall, (cpu0, io0) = time.time(), pressure()
            for _ in range(args.blocks):
                for path, op in paths:
                    offsets[path] += await drive(
                        measured[path], op, args.rate, args.seconds / args.blocks, offsets[path]
                    )
            until, (cpu1, io1) = time.time(), pressure()
            for row in measured.values():
                row.finish()
                row.cpu_wait, row.io_stall = ((cpu1 - cpu0) * 100 / (until - wall), (io1 - io0) * 100 / (until - wall))
            # Only the HTTP path reaches the API, so its rpc_metrics rows in the window are the HTTP requests.
            measured["http"].api_p50, measured["http"].api_p95 = await api_handler_times(
                primary, case.metric_name, wall, until
            )
            rows.extend(measured.values())
            print(
                f"  measured {case.call}: "
                + ", ".join(f"{r.path} p95 {fmt(r.p95)} ms ({r.errors + r.dropped} failed)" for r in measured.values())
                + f"  (load {loadavg()})",
                flush=True,
            )
        return rows
    finally:
        await http.aclose()
        await primary.close()
        if replica_pool is not None:
            await replica_pool.close()


def password_verify_ms() -> float:
    stored = hash_password(PASSWORD)
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        verify_password(PASSWORD, stored)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="10k users, 100k posts")
    parser.add_argument("--rate", type=float, default=30.0, help="requests per second per measured call")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per row")
    parser.add_argument("--warmup", type=float, default=2.0, help="unrecorded warm-up per row, same rate")
    parser.add_argument("--blocks", type=int, default=4, help="HTTP and direct take turns in this many blocks")
    parser.add_argument("--accounts", type=int, default=40, help="signed-up accounts the feed/login calls rotate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-stack", action="store_true", help="leave the stack running (prints its state dir)")
    parser.add_argument("--state-dir", help="use this running stack with its data (no up, load or down)")
    parser.add_argument("--client", choices=("lean", "httpx"), default="lean", help="the HTTP client (see docstring)")
    parser.add_argument("--only", action="append", default=[], help="measure only calls containing this text")
    args = parser.parse_args()
    if args.small:
        args.users, args.posts = 10_000, 100_000
    if not (0 < args.rate <= 500 and 0 < args.seconds <= 600 and 0 <= args.warmup <= 60 and 1 <= args.accounts <= 500):
        parser.error("--rate must be in (0, 500], --seconds in (0, 600], --warmup in [0, 60], --accounts in [1, 500]")
    if not 1 <= args.blocks <= 20 or args.rate * args.seconds / args.blocks < 1:
        parser.error("--blocks must be in [1, 20] and leave at least one request per block")
    size = "the running stack's data" if args.state_dir else f"{args.users:,} users / {args.posts:,} posts"
    print(
        f"bench_platform: {size}, {args.rate:g} req/s per call for "
        f"{args.seconds:g} s (+{args.warmup:g} s warm-up), {os.cpu_count()} cores, load average at start "
        f"{loadavg()}"
    )
    print(
        f"stack platform settings: {RATE_LIMIT_ENV} (edge rate limits x1000, so one loopback client is not 429'd); "
        f"HTTP client: {args.client}"
    )
    owned = args.state_dir is None
    state_dir = Path(tempfile.mkdtemp(prefix="gauntlet-bench-platform-")) if owned else Path(args.state_dir)
    try:
        if owned:
            state_dir.chmod(0o755)  # the Postgres OS user must traverse it
            started = time.perf_counter()
            state = supervisor.up(state_dir, supervisor.UpOptions.from_env(platform_env=RATE_LIMIT_ENV)).state
            print(f"stack up in {time.perf_counter() - started:.1f} s ({state_dir})")
        else:
            found = load_state(state_dir)
            if found is None or found.status != "up":
                parser.error(f"no running stack in {state_dir}")
            state = found
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            rows = runner.run(benchmark(state, args, load=owned))
    finally:
        if owned and not args.keep_stack:
            supervisor.down(state_dir, purge=True)
            shutil.rmtree(state_dir, ignore_errors=True)
        elif owned:
            print(f"stack kept running: --state-dir {state_dir}  (stop: gauntlet down --state-dir {state_dir} --purge)")
    print()
    print_table(rows)
    print(
        f"\nlatency in ms from each request's scheduled send time; n = successful requests in the window; "
        f"api = the API's own handler time (rpc_metrics); x p95 = HTTP p95 / direct p95; +p50 = HTTP p50 - "
        f"direct p50; cpu% / io% = share of the call's window in which some task on the machine waited for a "
        f"CPU / every task was stalled on I/O (Linux PSI: noise from other work on this shared machine)"
        f"\nload average at end {loadavg()}"
    )
    return 1 if any(r.path == "http" and not meets_target(r) for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
