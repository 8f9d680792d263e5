"""Benchmark (issue 21): the platform's capacity knee at 100k users / 1M posts, over HTTP and direct, in one run.

    .venv/bin/python -m benchmarks.bench_knee [--users 100000 --posts 1000000] [--small]
        [--start 20 --step 20 --every 8 --max 400 --repeats 2 --warmup 10] [--only TEXT] [--keep-stack]
        [--state-dir DIR] [--floors [floor proxied ruled]]

(``-m`` from the repository's root: it reuses ``benchmarks/bench_platform.py``'s clients, set-up and calls.)

Brings a fresh embedded stack up and loads the scale data set exactly as ``bench_platform.py``
does (``--state-dir``: a running stack and its data), then climbs, for each target, an open-model
arrival rate in steps, each step held ``--every`` seconds and run ``--repeats`` times, over HTTP
(the lean keep-alive client -> API -> fault proxy -> Postgres) and as direct asyncpg calls of
the same SQL/RPCs (the API's own ``bind``/``execute``, the API's pool size and reset; suggestions
on the replica, where the API reads them), and, as the best peers on this machine, over HTTP to
``benchmarks/floor_api.py`` (the same server and SQL with no framework, middleware, rate limit
or metrics: the floor of a Python HTTP API here) three times: ``floor`` reaching Postgres
straight, ``proxied`` through the fault proxy as the API does (so the proxy's cost and the
framework's come apart), and ``ruled``: the API's own settings, process state, RPC lane and
middlewares (token and session check, rate limit, body limits, rpc_metrics, request metrics,
security headers) with no FastAPI app, so the rules' cost and FastAPI's come apart (``--floors``
picks which; ``--floors`` alone leaves all out). The paths take turns at each rate, so a burst
from elsewhere on the machine lands on each. Targets:

  feed_fusion_home for_you / following / shop, marketplace_suggestions_for_user, login, and
  mixed: the ``mixed`` profile's blend (load/profiles/catalog.py MIXED_WEIGHTS: for_you 40,
  following 20, shop 15, suggestions 15, onboarding 10; an onboarding arrival completes a fresh
  user's onboarding).

Login climbs a tenth of the ladder's rates (``LOGIN_RATES``): each is an Argon2id password check.

Each step is judged by the platform's published SLOs (load/slo_defaults.yaml: overall p95 < 500
ms, p99 < 1 s, errors < 0.1 %, and the per-request p95s of the requests the target makes) on that
step's samples only; an arrival not sent because ``MAX_IN_FLIGHT`` calls were still running counts
as a failure. The knee, its band over the repeats, the first SLO broken and the generator's own
saturation (its scheduler woke > 100 ms late for > 5 % of a step: the limit is the generator's,
not the target's) come from the harness's pure ``load/breakpoint.py``, as ``gauntlet load
--scenario breakpoint --repeats N`` reports them. The table prints each path's knee and band and
the ratio HTTP/direct with its band (low: HTTP low / direct high; high: HTTP high / direct low).
Target: every HTTP knee at least 0.8x its direct knee; exit 1 when one is below (or no knee). Each
floor's knee over the direct knee is printed beside it: the most any Python HTTP layer reached in
the same run (straight to Postgres, and over the API's own link), so a target above it is out of
reach on this machine.

Every step also charges the CPU time the machine's processes spent during it (``CpuMeter``: this
generator, the API, the fault proxy, Redis, Postgres with its backends, the workers, the floors)
to its requests; each step's line shows the total and its three largest parts, and the table each
path's median at the rates every path ran with direct/HTTP, the knee ratio the cores allow. On a
shared VM that ratio is the steady figure: its stalls move p95 (so short steps' knees) but not the
CPU a request costs.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import uvloop

from benchmarks.bench_platform import (
    FEED_LIMIT,
    MAX_IN_FLIGHT,
    PASSWORD,
    RATE_LIMIT_ENV,
    REQUEST_TIMEOUT_S,
    SUGGESTIONS_LIMIT,
    Account,
    Direct,
    Http,
    LeanClient,
    direct_pool,
    expect,
    loadavg,
    onboarding_pool,
    sign_up_accounts,
    wait_for_replica,
)
from benchmarks.cpu import task_cpu_ns, tree_cpu_ns
from gauntlet.fixtures.scale import load_scale_data
from gauntlet.load.arrivals import ArrivalSchedule
from gauntlet.load.async_pacing import Op, PacedCalls, run_open_model
from gauntlet.load.breakpoint import Knee, Ladder, StepOutcome, find_knee, keep_climbing
from gauntlet.load.hdr import percentile_ms
from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.catalog import MIXED_WEIGHTS
from gauntlet.load.runner import die_with_parent
from gauntlet.load.thresholds import OVERALL, HistogramMetrics, ScopeMetrics, applicable, default_slo, evaluate
from gauntlet.platform.api.serve import uvicorn_flags
from gauntlet.stack import supervisor
from gauntlet.stack.ports import free_ports
from gauntlet.stack.state import StackState, load_state

TARGET_RATIO = 0.8
LOGIN_RATES = 0.1  # login climbs a tenth of the ladder: each one is an Argon2id password check
PATHS = ("http", "direct", "floor", "proxied", "ruled")
# benchmarks/floor_api.py reaching Postgres straight, through the fault proxy, and through it with the
# RPC route's rules in a plain function (no FastAPI): what each says in the table.
FLOORS = {
    "floor": "the best a Python HTTP layer reached here",
    "proxied": "the same over the API's own link to Postgres, the fault proxy",
    "ruled": "the API's rules and process state over that link, without FastAPI",
}
FLOOR_START_S = 20.0
FEED, SUGGESTIONS, LOGIN, ONBOARDING = (
    s.rpc_name(s.FEED),
    s.rpc_name(s.SUGGESTIONS),
    s.AUTH_TOKEN,
    s.rpc_name(s.COMPLETE_ONBOARDING),
)
# The mixed profile's Locust classes as the calls each arrival makes.
MIXED_CALLS = {
    "HomeForYouUser": "for_you",
    "FollowingUser": "following",
    "ShopUser": "shop",
    "SuggestionsUser": "suggestions",
    "OnboardingUser": "onboarding",
}


# The stack's processes by what they do, for the CPU a step costs (ServiceRecord.kind -> role).
CPU_ROLES = {
    "api": "api",
    "toxiproxy": "proxy",
    "redis": "redis",
    "postgres-primary": "postgres",
    "postgres-replica": "postgres",
    "worker": "workers",
}


@dataclass(frozen=True)
class CpuMeter:
    """CPU time by role: the stack's processes (Postgres with its backends), the floor, and this generator.

    A step's CPU per request is the steady figure on a shared VM: stalls there (steal time, other
    tenants) move a step's p95 by hundreds of ms but not the CPU each request cost. When the
    machine's cores are the limit, a path's knee goes as 1 / its CPU per request, so direct CPU /
    HTTP CPU is the knee ratio the cores allow.
    """

    roots: dict[str, tuple[int, ...]]  # each role's processes, counted with their descendants
    generator: int  # this process, counted alone: the stack and the floors are its children

    @classmethod
    def of(cls, state: StackState, floor_pids: list[int]) -> CpuMeter:
        roots: dict[str, list[int]] = {}
        for record in state.services.values():
            role = CPU_ROLES.get(record.kind)
            if role is not None and record.pid is not None and not record.external:
                roots.setdefault(role, []).append(record.pid)
        if floor_pids:  # both floors: a step runs one path, the other floor idles
            roots["floor"] = floor_pids
        return cls({role: tuple(pids) for role, pids in roots.items()}, os.getpid())

    def read_ns(self) -> dict[str, int]:
        spent = {role: sum(tree_cpu_ns(pid) for pid in pids) for role, pids in self.roots.items()}
        return {"generator": task_cpu_ns(self.generator), **spent}

    @staticmethod
    def per_request_ms(before: dict[str, int], after: dict[str, int], requests: int) -> dict[str, float]:
        """Each role's CPU per request over a step, in ms (roles that used none left out)."""
        if requests <= 0:
            return {}
        spent = {role: (after[role] - before.get(role, 0)) / 1e6 / requests for role in after}
        return {role: ms for role, ms in spent.items() if ms > 0.0005}


def cpu_text(per_request: dict[str, float]) -> str:
    """`cpu/req 6.3 ms (postgres 4.1, api 1.6, proxy 0.4)`: the total and the three largest roles."""
    if not per_request:
        return "cpu/req -"
    top = sorted(per_request.items(), key=lambda kv: -kv[1])[:3]
    return f"cpu/req {sum(per_request.values()):.2f} ms (" + ", ".join(f"{r} {ms:.2f}" for r, ms in top) + ")"


# ------------------------------------------------------------------ the calls, per path
@dataclass
class Calls:
    """One path's calls: feed lanes, suggestions, login, onboarding (fresh users made on demand)."""

    path: str
    http: Http
    direct: Direct
    accounts: list[Account]
    jwt_secret: str
    run: str
    replica: Direct | None = None  # where the API reads suggestions (REPLICA_READS), when the stack has one
    fresh: list[Account] = field(default_factory=list)

    @property
    def over_http(self) -> bool:
        """Every path but direct calls over HTTP (the API, or a floor)."""
        return self.path != "direct"

    def pick(self, i: int) -> Account:
        return self.accounts[i % len(self.accounts)]

    async def feed(self, lane: str, i: int) -> None:
        args = {"p_lane": lane, "p_cursor": None, "p_limit": FEED_LIMIT}
        a = self.pick(i)
        body = await (
            self.http.rpc(s.FEED, args, a.token) if self.over_http else self.direct.rpc(s.FEED, args, a.claims)
        )
        expect(isinstance(body, dict) and bool(body.get("items")), f"feed {lane}", body)

    async def suggestions(self, i: int) -> None:
        a = self.pick(i)
        args = {"p_user_id": a.user_id, "p_limit": SUGGESTIONS_LIMIT}
        direct = self.replica or self.direct
        rows = await (
            self.http.rpc(s.SUGGESTIONS, args, a.token) if self.over_http else direct.rpc(s.SUGGESTIONS, args, a.claims)
        )
        expect(isinstance(rows, list) and bool(rows), "suggestions", rows)

    async def login(self, i: int) -> None:
        a = self.pick(i)
        if self.path == "http":
            session = await self.http.post(
                "/auth/v1/token?grant_type=password", {"email": a.email, "password": PASSWORD}
            )
            expect(isinstance(session, dict) and "access_token" in session, "login", session)
        else:
            await self.direct.login(a.email, PASSWORD)

    async def onboarding(self, ordinal: int) -> None:
        a = self.fresh[ordinal]
        body = await (
            self.http.rpc(s.COMPLETE_ONBOARDING, {}, a.token)
            if self.over_http
            else self.direct.rpc(s.COMPLETE_ONBOARDING, {}, a.claims)
        )
        expect(isinstance(body, dict) and body.get("onboarding_complete") is True, "complete_onboarding", body)

    async def fresh_users(self, count: int) -> None:
        """At least `count` users one step before the end of onboarding (bench_platform's onboarding_pool)."""
        if count > len(self.fresh):
            tag = f"{self.path[0]}{len(self.fresh)}"
            self.fresh += await onboarding_pool(self.direct, self.jwt_secret, count - len(self.fresh), self.run, tag)


@dataclass(frozen=True)
class Mix:
    """The mixed blend as a fixed, shuffled cycle of 100 slots: arrival i makes slot i % 100's call."""

    slots: tuple[str, ...]

    @classmethod
    def of_profile(cls) -> Mix:
        slots = [MIXED_CALLS[cls_name] for cls_name, weight in MIXED_WEIGHTS.items() for _ in range(weight)]
        random.Random(21).shuffle(slots)
        return cls(tuple(slots))

    def call(self, i: int) -> str:
        return self.slots[i % len(self.slots)]

    def onboarding_ordinal(self, i: int) -> int:
        """How many onboarding arrivals come before arrival i: the fresh user arrival i (an onboarding) takes."""
        per_cycle = self.slots.count("onboarding")
        return (i // len(self.slots)) * per_cycle + self.slots[: i % len(self.slots)].count("onboarding")


@dataclass(frozen=True)
class Target:
    name: str
    requests: frozenset[str]  # request names (the SLO file's), what the steps are judged on
    op: Callable[[Calls], Op]
    name_of: Callable[[int], str] | None = None  # a blend: each arrival's request name
    fresh_users: Callable[[int], int] | None = None  # fresh users the first n arrivals need
    rates_scale: float = 1.0  # times the ladder's rates: a password check (Argon2id) costs far more than a read
    paths: tuple[str, ...] = PATHS  # the floors serve RPCs only

    def ladder(self, ladder: Ladder) -> Ladder:
        if self.rates_scale == 1.0:
            return ladder
        return replace(
            ladder,
            start_per_s=ladder.start_per_s * self.rates_scale,
            step_per_s=ladder.step_per_s * self.rates_scale,
            max_per_s=ladder.max_per_s * self.rates_scale,
        )


def targets(mix: Mix) -> list[Target]:
    def lane(name: str) -> Callable[[Calls], Op]:
        return lambda c: lambda i: c.feed(name, i)

    def mixed(c: Calls) -> Op:
        async def op(i: int) -> None:
            call = mix.call(i)
            if call == "suggestions":
                await c.suggestions(i)
            elif call == "onboarding":
                await c.onboarding(mix.onboarding_ordinal(i))
            else:
                await c.feed(call, i)

        return op

    named = {"suggestions": SUGGESTIONS, "onboarding": ONBOARDING}
    return [
        *(
            Target(f"feed {lane_name}", frozenset({FEED}), lane(lane_name))
            for lane_name in ("for_you", "following", "shop")
        ),
        Target("suggestions", frozenset({SUGGESTIONS}), lambda c: c.suggestions),
        Target("login", frozenset({LOGIN}), lambda c: c.login, rates_scale=LOGIN_RATES, paths=("http", "direct")),
        Target(
            "mixed",
            frozenset({FEED, SUGGESTIONS, ONBOARDING}),
            mixed,
            name_of=lambda i: named.get(mix.call(i), FEED),
            fresh_users=mix.onboarding_ordinal,
        ),
    ]


# ------------------------------------------------------------------ one step, judged by the SLOs
def judge(target: Target, rate: float, calls: PacedCalls, seconds: float) -> StepOutcome:
    """The step's outcome under the platform's SLOs: failures and arrivals never sent count as errors."""
    dropped = calls.tally.missed
    failures = calls.errors + dropped
    requests = calls.ok + failures
    overall = HistogramMetrics(calls.histogram, requests=requests, failures=failures)
    scopes: dict[str, ScopeMetrics] = {OVERALL: overall}
    if target.name_of is None:
        scopes.update({name: overall for name in target.requests})
    else:
        scopes.update(
            {
                n: HistogramMetrics(c.histogram, requests=c.ok + c.errors, failures=c.errors)
                for n, c in calls.by_name.items()
            }
        )
    verdicts = evaluate(applicable(default_slo(), target.requests), scopes, duration_s=seconds)
    tally = calls.tally
    return StepOutcome(
        rate_per_s=rate,
        requests=requests,
        error_rate=failures / requests if requests else 0.0,
        p95_ms=percentile_ms(calls.histogram, 95.0) if calls.ok else math.nan,
        p99_ms=percentile_ms(calls.histogram, 99.0) if calls.ok else math.nan,
        missed=tuple(v.describe() for v in verdicts if not v.passed),
        late_arrival_rate=tally.not_on_time / tally.scheduled if tally.scheduled else 0.0,
        wakeups=tally.wakeups,
        lagged_wakeups=tally.lagged_wakeups,
    )


@dataclass
class Climb:
    """One target on one path: its steps so far and the next arrival index."""

    target: Target
    calls: Calls
    meter: CpuMeter | None = None
    steps: list[StepOutcome] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)  # each recorded step's CPU ms per request, by role
    next_index: int = 0
    climbing: bool = True

    async def step(self, rate: float, seconds: float, *, record: bool = True) -> StepOutcome:
        schedule = ArrivalSchedule(rate_per_s=rate, duration_s=seconds)
        if self.target.fresh_users is not None:  # fresh users for the step's onboarding arrivals, made now
            await self.calls.fresh_users(self.target.fresh_users(self.next_index + schedule.total))
        paced = PacedCalls()
        meter = self.meter if record else None  # an unrecorded warm-up step is not measured
        before = meter.read_ns() if meter is not None else {}
        self.next_index += await run_open_model(
            self.target.op(self.calls),
            schedule,
            paced,
            max_in_flight=MAX_IN_FLIGHT,
            timeout_s=REQUEST_TIMEOUT_S,
            first_index=self.next_index,
            name_of=self.target.name_of,
        )
        outcome = judge(self.target, rate, paced, seconds)
        cpu = CpuMeter.per_request_ms(before, meter.read_ns(), outcome.requests) if meter is not None else {}
        if record:
            self.steps.append(outcome)
            self.cpu.append(cpu)
            kinds = "; ".join(f"{k} x{n}" for k, n in paced.error_kinds.most_common(2))
            print(
                f"  {self.target.name:<15} {self.calls.path:<7} {rate:>6g}/s  n {outcome.requests:>6}  "
                f"err {outcome.error_rate * 100:5.2f} %  p95 {outcome.p95_ms:8.1f}  p99 {outcome.p99_ms:8.1f} ms  "
                f"gen. lag {outcome.generator_lagged_share * 100:4.1f} %  {outcome.verdict}"
                + (f"  [{kinds}]" if kinds else "")
                + f"  {cpu_text(cpu)}  (load {loadavg()})",
                flush=True,
            )
        return outcome


@dataclass(frozen=True)
class TargetResult:
    """One target's knee on each path, and each path's median CPU per request at the rates every path ran."""

    knees: dict[str, Knee]
    cpu_ms: dict[str, float]


def median_cpu_ms(climbs: list[Climb]) -> dict[str, float]:
    """Each path's median CPU a request over the steps at the rates every path ran.

    Not over each path's own steps: a path that climbs further spreads its fixed costs (pools,
    timers, the metrics flush) over more requests, so its median would read cheaper than the
    others' for no work saved.
    """
    common = set.intersection(*({step.rate_per_s for step in c.steps} for c in climbs)) if climbs else set()
    medians: dict[str, float] = {}
    for c in climbs:
        totals = [
            sum(cpu.values()) for step, cpu in zip(c.steps, c.cpu, strict=True) if cpu and step.rate_per_s in common
        ]
        if totals:
            medians[c.calls.path] = statistics.median_high(totals)
    return medians


async def climb_target(
    target: Target, paths: dict[str, Calls], ladder: Ladder, meter: CpuMeter | None = None
) -> TargetResult:
    """Climb every path at once: at each rate, each repeat runs HTTP, direct, then the floors; each stops on its own."""
    climbs = {path: Climb(target, calls, meter) for path, calls in paths.items() if path in target.paths}
    for c in climbs.values():  # an unrecorded warm-up at the first rate: pools, caches, plans
        await c.step(ladder.start_per_s, min(3.0, ladder.every_s), record=False)
    for rate in ladder.rates():
        runs: dict[str, list[StepOutcome]] = {path: [] for path in climbs}
        for _ in range(ladder.repeats):
            for path, c in climbs.items():
                if c.climbing and all(r.verdict != "generator_saturated" for r in runs[path]):
                    runs[path].append(await c.step(rate, ladder.every_s))
        for path, c in climbs.items():
            c.climbing = c.climbing and keep_climbing(runs[path])
        if not any(c.climbing for c in climbs.values()):
            break
    recorded = {path: c for path, c in climbs.items() if c.steps}
    knees = {path: find_knee(c.steps, repeats=ladder.repeats) for path, c in recorded.items()}
    return TargetResult(knees, median_cpu_ms(list(recorded.values())))


# ------------------------------------------------------------------ reporting
def band_text(knee: Knee) -> str:
    if knee.band_per_s is None:
        return "-"
    low, high = knee.band_per_s
    return f"{low:g}-{high:g}" if high is not None else f"{low:g}-?"


def knee_band(knee: Knee) -> tuple[float, float] | None:
    """The knee's band over the repeats (low: every repeat held; high: one did); one run per step: the knee."""
    if knee.knee_per_s is None:
        return None
    high = knee.band_per_s[1] if knee.repeats > 1 and knee.band_per_s and knee.band_per_s[1] is not None else None
    return knee.knee_per_s, high if high is not None else knee.knee_per_s


def ratio_of(http: Knee, direct: Knee) -> tuple[float, float, float] | None:
    """HTTP knee / direct knee, with its band: (HTTP low / direct high, HTTP high / direct low)."""
    h, d = knee_band(http), knee_band(direct)
    if h is None or d is None:
        return None
    return h[0] / d[0], h[0] / d[1], h[1] / d[0]


def print_table(results: dict[str, TargetResult]) -> bool:
    head = (
        f"{'target':<16} {'path':<7} {'knee/s':>7} {'band/s':>10} {'limited by':<10} {'broke at':>8}  first SLO broken"
    )
    print(head)
    print("-" * len(head))
    ok = True
    for name, result in results.items():
        by_path = result.knees
        for path in PATHS:
            k = by_path.get(path)
            if k is None:
                continue
            knee = f"{k.knee_per_s:g}" if k.knee_per_s is not None else "none"
            broke = f"{k.broke_at_per_s:g}" if k.broke_at_per_s is not None else "-"
            first = k.first_broken or ("the load generator fell behind" if k.limited_by == "generator" else "-")
            print(f"{name:<16} {path:<7} {knee:>7} {band_text(k):>10} {k.limited_by:<10} {broke:>8}  {first}")
        r = ratio_of(by_path["http"], by_path["direct"]) if {"http", "direct"} <= set(by_path) else None
        verdict = "no knee to compare" if r is None else ("PASS" if r[0] >= TARGET_RATIO else "MISS")
        if r is not None and by_path["direct"].limited_by == "max":
            verdict += " (direct never broke: its knee is a lower bound, the ratio an upper bound)"
        ok = ok and verdict.startswith("PASS")
        print(f"{'':<16} {'ratio':<7} HTTP/direct {ratio_text(r)}  target >= {TARGET_RATIO:g}: {verdict}")
        for floor, what in FLOORS.items():
            if floor in by_path:
                to_direct = ratio_text(ratio_of(by_path[floor], by_path["direct"]))
                print(f"{'':<16} {'':<7} {floor}/direct {to_direct} ({what})")
                print(f"{'':<16} {'':<7} HTTP/{floor} {ratio_text(ratio_of(by_path['http'], by_path[floor]))}")
        if result.cpu_ms:
            cpu = ", ".join(f"{path} {ms:.2f}" for path, ms in result.cpu_ms.items())
            line = f"{'':<16} {'cpu':<7} ms a request, whole machine (median at the rates every path ran): {cpu}"
            if {"http", "direct"} <= set(result.cpu_ms):
                allowed = result.cpu_ms["direct"] / result.cpu_ms["http"]
                line += f"; direct/HTTP {allowed:.2f} (the knee ratio the cores allow)"
            print(line)
    return ok


def ratio_text(r: tuple[float, float, float] | None) -> str:
    return "-" if r is None else f"{r[0]:.2f} (band {r[1]:.2f}-{r[2]:.2f})"


def start_floor(state: StackState, path: str) -> tuple[subprocess.Popen[bytes], str]:
    """benchmarks/floor_api.py as the floor `path` (a key of FLOORS) on a free port, at the API's priority.

    `floor` reads Postgres straight (the direct DSNs); `proxied` as the API does, through the fault
    proxy (the stack's own DSNs), so the two part the proxy's cost from the framework's; `ruled` is
    the API's own settings, process state and RPC rules served without FastAPI by the API's own
    uvicorn command line (its limits and guarded protocol), so it parts the framework's cost from
    the rules'.
    """
    port = free_ports(1)[0]
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    argv += ["--no-access-log", "--loop", "uvloop"]
    api = state.services.get("api")
    if path == "ruled":
        if api is None:
            raise RuntimeError("the ruled floor needs the stack's API record (its settings)")
        env = {**os.environ, **api.env, "GAUNTLET_WORKER_NAME": "floor-ruled"}
        argv += ["benchmarks.floor_api:ruled_app", *uvicorn_flags()]
    else:
        proxied = path == "proxied"
        primary: str = state.primary_dsn if proxied else state.direct["primary_dsn"]
        replicas: list[str] = (state.replica_dsns if proxied else state.direct.get("replica_dsns")) or []
        env = {
            **os.environ,
            "FLOOR_PRIMARY_DSN": primary,
            "FLOOR_JWT_SECRET": state.jwt_secret,
            **({"FLOOR_REPLICA_DSN": replicas[0]} if replicas else {}),
        }
        argv += ["benchmarks.floor_api:app", "--http", "httptools"]
    # The floor dies with the benchmark, however the benchmark ends (even SIGKILL).
    server = subprocess.Popen(argv, env=env, cwd=Path(__file__).resolve().parent.parent, preexec_fn=die_with_parent)
    if api is not None and api.pid:
        os.setpriority(os.PRIO_PROCESS, server.pid, os.getpriority(os.PRIO_PROCESS, api.pid))
    deadline = time.monotonic() + FLOOR_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"benchmarks/floor_api.py exited at start with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"benchmarks/floor_api.py did not listen on port {port} within {FLOOR_START_S:g} s")


# ------------------------------------------------------------------ main
async def benchmark(state: StackState, args: argparse.Namespace, load: bool, ladder: Ladder) -> dict[str, TargetResult]:
    dsn = state.direct["primary_dsn"]
    if load:
        started = time.perf_counter()
        written = await load_scale_data(dsn, users=args.users, posts=args.posts, seed=args.seed)
        took = time.perf_counter() - started
        print(f"scale data: {written['auth.users']:,} users, {written['posts']:,} posts in {took:.1f} s")
    primary = await direct_pool(dsn)
    replica_dsns: list[str] = state.direct.get("replica_dsns") or []
    replica_pool = await direct_pool(replica_dsns[0]) if replica_dsns else None
    http = LeanClient(state.api_url)
    floors = {path: start_floor(state, path) for path in args.floors}
    floor_clients = {path: LeanClient(url) for path, (_, url) in floors.items()}
    try:
        async with primary.acquire() as conn:
            if load:
                await conn.execute(
                    "vacuum analyze auth.users, public.profiles, public.entities, public.entity_edges, "
                    "public.posts, public.post_targets, public.marketplace_listings, public.events"
                )
            counts = await conn.fetchrow(
                "select (select count(*) from auth.users) users, (select count(*) from public.posts) posts"
            )
        print(f"database holds {counts['users']:,} users, {counts['posts']:,} posts")
        run = f"{int(time.time()) % 100_000:05d}"
        async with primary.acquire() as conn:
            accounts = await sign_up_accounts(http, conn, args.accounts, run, args.seed)
        direct = Direct(primary)
        replica = Direct(replica_pool) if replica_pool else None
        clients = {"http": http, "direct": http, **floor_clients}
        paths = {
            path: Calls(path, client, direct, accounts, state.jwt_secret, run, replica)
            for path, client in clients.items()
        }
        await wait_for_replica(primary)
        async with primary.acquire() as conn:
            await conn.execute("checkpoint")
        print(f"set-up: {len(accounts)} accounts signed up over HTTP (onboarded, ~20 follows each); load {loadavg()}")
        # Warm both paths up before any climb, at three times the first rate: the API's pool opens its
        # connections on demand (min_size 0), and a climb must not pay for that where the direct pool did not.
        for calls in paths.values():
            warm = Climb(targets(Mix.of_profile())[0], calls)
            await warm.step(ladder.start_per_s * 3, args.warmup, record=False)
        print(f"warm-up: {args.warmup:g} s a path at {ladder.start_per_s * 3:g}/s (feed for_you); load {loadavg()}")
        meter = CpuMeter.of(state, [server.pid for server, _ in floors.values()])
        results: dict[str, TargetResult] = {}
        for target in targets(Mix.of_profile()):
            if args.only and not any(text in target.name for text in args.only):
                continue
            results[target.name] = await climb_target(target, paths, target.ladder(ladder), meter)
            for path, k in results[target.name].knees.items():
                print(f"  {target.name} [{path}] {k.describe()}", flush=True)
        return results
    finally:
        await http.aclose()
        for client in floor_clients.values():
            await client.aclose()
        for server, _ in floors.values():
            server.terminate()
            server.wait(timeout=10)
        await primary.close()
        if replica_pool is not None:
            await replica_pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="10k users, 100k posts")
    parser.add_argument("--start", type=float, default=20.0, help="first step's arrivals/s")
    parser.add_argument("--step", type=float, default=20.0, help="arrivals/s added each step")
    parser.add_argument("--every", type=float, default=8.0, help="seconds each step holds")
    parser.add_argument("--max", type=float, default=400.0, help="the last step's arrivals/s")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each step (the knee's band)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of unrecorded load a path before climbing")
    parser.add_argument("--accounts", type=int, default=40, help="signed-up accounts the calls rotate over")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", default=[], help="climb only targets containing this text")
    parser.add_argument("--keep-stack", action="store_true", help="leave the stack running (prints its state dir)")
    parser.add_argument("--state-dir", help="use this running stack with its data (no up, load or down)")
    parser.add_argument(
        "--floors",
        nargs="*",
        choices=list(FLOORS),
        default=list(FLOORS),
        help="the floors (benchmarks/floor_api.py) to climb beside HTTP and direct; none: --floors with no name",
    )
    args = parser.parse_args()
    if args.small:
        args.users, args.posts = 10_000, 100_000
    try:
        ladder = Ladder(
            start_per_s=args.start, step_per_s=args.step, every_s=args.every, max_per_s=args.max, repeats=args.repeats
        )
    except ValueError as exc:
        parser.error(str(exc))
    if not 1 <= args.accounts <= 500:
        parser.error("--accounts must be in [1, 500]")
    size = "the running stack's data" if args.state_dir else f"{args.users:,} users / {args.posts:,} posts"
    print(
        f"bench_knee: {size}; {ladder.start_per_s:g}/s up by {ladder.step_per_s:g}/s to {ladder.max_per_s:g}/s, "
        f"{ladder.every_s:g} s a step, {ladder.repeats} runs each; {os.cpu_count()} cores, "
        f"load average at start {loadavg()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    # SIGTERM ends the run as Ctrl-C does: the climb is cancelled, the floor stopped, the stack taken down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    owned = args.state_dir is None
    state_dir = Path(tempfile.mkdtemp(prefix="gauntlet-bench-knee-")) if owned else Path(args.state_dir)
    try:
        if owned:
            state_dir.chmod(0o755)  # the Postgres OS user must traverse it
            state = supervisor.up(state_dir, supervisor.UpOptions.from_env(platform_env=RATE_LIMIT_ENV)).state
        else:
            found = load_state(state_dir)
            if found is None or found.status != "up":
                parser.error(f"no running stack in {state_dir}")
            state = found
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            results = runner.run(benchmark(state, args, owned, ladder))
    except KeyboardInterrupt:
        print("bench_knee: interrupted; the steps above are all it measured", file=sys.stderr)
        return 130
    finally:
        if owned and not args.keep_stack:
            supervisor.down(state_dir, purge=True)
            shutil.rmtree(state_dir, ignore_errors=True)
        elif owned:
            print(f"stack kept running: --state-dir {state_dir}  (stop: gauntlet down --state-dir {state_dir} --purge)")
    print()
    ok = print_table(results)
    print(
        f"\nknee = the highest rate every repeat held with every SLO green; band = that to the highest rate one "
        f"repeat held; ratio band = HTTP low / direct high to HTTP high / direct low\nload average at end {loadavg()}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
