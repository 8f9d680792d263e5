"""Benchmark (issue #19): a PostgREST table read vs the equivalent RPC, at a fixed open-model arrival rate.

    .venv/bin/python benchmarks/bench_table_vs_rpc.py [--state-dir DIR] [--rate 30] [--seconds 60]
        [--users 20] [--rows 50] [--confidence 0.95]

Uses the stack in --state-dir (``gauntlet up --state-dir DIR``), else brings a fresh embedded one
up in a temporary dir and takes it down at the end.

The same data both ways: a signed-in user's newest 20 notifications (index (user_id, id desc),
RLS as the user), read as

  table            GET  /rest/v1/notifications?select=<notif_list's columns>&user_id=eq.<uid>&order=id.desc&limit=20
  rpc              POST /rest/v1/rpc/notif_list {"p_limit": 20}
  rpc_no_session   the same RPC with a token that carries no session id: what the logout check
                   (platform/auth/live_sessions.py: a session lookup per session per 5 s) costs

Open model (load/async_pacing.py, the harness's asyncio pacer): arrivals are due at a fixed rate
per kind (`--rate`, interleaved table, rpc, rpc_no_session, table, ... over `--users` users),
each sent when due whatever is still in flight (up to 200 at once; beyond that an arrival is not
sent and the run counts as saturated), and its latency counts from when it was due (so a slow
server is not hidden by a client that waits: no coordinated omission). Latencies go into HDR
histograms (load/hdr.py); each p95 gets a distribution-free order-statistic interval
(load/baseline.py, `--confidence`), and a ratio of two p95s the interval [low_a / high_b,
high_a / low_b], which covers the true ratio with at least 2 * confidence - 1 (90 % for 0.95).
The first 2 s are a warm-up, not counted.

Target (issue #19): table p95 <= 1.5 x rpc p95. Exit 1 when it is missed, a response is not
200 with the 20 rows, the two reads do not return the same rows, or the server did not keep up
with the rate (more than 1 % of a kind's requests ended over 1 s after they were due: the
figures then measure a queue, not the reads); 2 when no stack is there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from hdrh.histogram import HdrHistogram

from gauntlet.load.arrivals import ArrivalSchedule
from gauntlet.load.async_pacing import NamedCalls, PacedCalls, run_open_model
from gauntlet.load.baseline import QuantileInterval, quantile_interval
from gauntlet.platform.auth.tokens import mint
from gauntlet.stack import supervisor
from gauntlet.stack.state import StackState, load_state

TARGET_RATIO = 1.5
MAX_IN_FLIGHT = 200
TIMEOUT_S = 30.0
KEPT_UP_WITHIN_MS = 1000.0  # a run is valid when >= 99 % of each kind's requests end this soon after due
WARMUP_S = 2.0
PAGE = 20
COLUMNS = "id,channel,kind,title,body,payload,sender_id,created_at,read_at"  # notif_list's, in its order
KINDS = ("table", "rpc", "rpc_no_session")


@dataclass(frozen=True)
class BenchUser:
    id: str
    token: str  # with the session id of a live auth.sessions row
    token_no_session: str


def ratio_interval(a: QuantileInterval, b: QuantileInterval) -> tuple[float | None, float | None]:
    """Bounds of a / b from the two quantiles' intervals (None where a bound does not exist)."""
    low = a.low_ms / b.high_ms if a.low_ms is not None and b.high_ms else None
    high = a.high_ms / b.low_ms if a.high_ms is not None and b.low_ms else None
    return low, high


async def _users(conn: asyncpg.Connection, state: StackState, count: int, rows: int) -> list[BenchUser]:
    made = []
    for _ in range(count):
        user_id = await conn.fetchval(
            "INSERT INTO auth.users (email, encrypted_password) VALUES ($1, 'x') RETURNING id",
            f"bench-tr-{uuid.uuid4().hex[:10]}@example.test",
        )
        session_id = await conn.fetchval("INSERT INTO auth.sessions (user_id) VALUES ($1) RETURNING id", user_id)
        await conn.execute(
            "INSERT INTO public.notifications (user_id, channel, kind, title, body) "
            "SELECT $1, 'snackbar', 'bench', 'note ' || g, 'body ' || g FROM generate_series(1, $2) g",
            user_id,
            rows,
        )
        sub = str(user_id)
        made.append(
            BenchUser(
                id=sub,
                token=mint(state.jwt_secret, role="authenticated", ttl_s=3600, sub=sub, session_id=str(session_id)),
                token_no_session=mint(state.jwt_secret, role="authenticated", ttl_s=3600, sub=sub),
            )
        )
    return made


def _request(kind: str, user: BenchUser) -> tuple[str, str, dict[str, str] | None, dict[str, str]]:
    if kind == "table":
        params = {"select": COLUMNS, "user_id": f"eq.{user.id}", "order": "id.desc", "limit": str(PAGE)}
        return "GET", "/rest/v1/notifications", params, {"Authorization": f"Bearer {user.token}"}
    token = user.token if kind == "rpc" else user.token_no_session
    return "POST", "/rest/v1/rpc/notif_list", None, {"Authorization": f"Bearer {token}"}


async def _same_rows(http: httpx.AsyncClient, user: BenchUser) -> bool:
    bodies = []
    for kind in ("table", "rpc"):
        method, path, params, headers = _request(kind, user)
        response = await http.request(method, path, params=params, headers=headers, json=_body(kind))
        bodies.append(response.json())
    return bool(bodies[0]) and bodies[0] == bodies[1]


def _body(kind: str) -> dict[str, int] | None:
    return None if kind == "table" else {"p_limit": PAGE}


class WrongAnswer(Exception):
    """A read that did not answer 200 with a page of rows: counted as that kind's failure."""


async def bench(state: StackState, rate: float, seconds: float, n_users: int, rows: int, confidence: float) -> bool:
    conn = await asyncpg.connect(state.primary_dsn)
    measured = PacedCalls()
    try:
        users = await _users(conn, state, n_users, rows)
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
        async with httpx.AsyncClient(
            base_url=state.api_url, headers={"apikey": state.anon_key}, timeout=30, limits=limits
        ) as http:
            if not await _same_rows(http, users[0]):
                print("the table read and the RPC did not return the same rows", file=sys.stderr)
                return False

            async def read(index: int) -> None:
                kind = KINDS[index % len(KINDS)]
                method, path, params, headers = _request(kind, users[(index // len(KINDS)) % len(users)])
                response = await http.request(method, path, params=params, headers=headers, json=_body(kind))
                if response.status_code != 200 or len(json.loads(response.content)) != PAGE:
                    raise WrongAnswer(f"{kind}: HTTP {response.status_code} {response.text[:200]}")

            # One open-model run paced by load/async_pacing.py: a warm-up, then the measured part.
            per_s = rate * len(KINDS)
            warmup = ArrivalSchedule(rate_per_s=per_s, duration_s=WARMUP_S)
            await run_open_model(read, warmup, PacedCalls(), max_in_flight=MAX_IN_FLIGHT, timeout_s=TIMEOUT_S)
            await run_open_model(
                read,
                ArrivalSchedule(rate_per_s=per_s, duration_s=seconds),
                measured,
                max_in_flight=MAX_IN_FLIGHT,
                timeout_s=TIMEOUT_S,
                first_index=warmup.total,
                name_of=lambda index: KINDS[index % len(KINDS)],
            )
    finally:
        # Cascades to their sessions and notifications.
        await conn.execute("DELETE FROM auth.users WHERE email LIKE 'bench-tr-%@example.test'")
        await conn.close()

    calls = {kind: measured.by_name.get(kind, NamedCalls()) for kind in KINDS}
    histograms = {kind: calls[kind].histogram for kind in KINDS}
    failures = {kind: calls[kind].errors for kind in KINDS}
    first_failure = [kind for kind, _ in measured.error_kinds.most_common(1)]
    intervals = {kind: quantile_interval(histograms[kind], 95.0, confidence) for kind in KINDS}
    for kind in KINDS:
        h, ci = histograms[kind], intervals[kind]
        p50, p99 = (h.get_value_at_percentile(q) / 1000 for q in (50.0, 99.0))
        bounds = f"[{_ms(ci.low_ms)}, {_ms(ci.high_ms)}]"
        print(
            f"{kind:<15} n {h.get_total_count():>6}  failed {failures[kind]:>4}  p50 {p50:7.2f} ms  "
            f"p95 {ci.estimate_ms:7.2f} ms {bounds:<22} p99 {p99:7.2f} ms"
        )
    coverage = 2 * confidence - 1
    slow = {kind: 1.0 - _share_within(histograms[kind], KEPT_UP_WITHIN_MS) for kind in KINDS}
    turned_away = measured.tally.missed  # arrivals that found MAX_IN_FLIGHT reads still running
    verdict = all(share <= 0.01 for share in slow.values()) and turned_away == 0
    if not verdict:
        shares = ", ".join(f"{kind} {share:.1%}" for kind, share in slow.items())
        print(
            f"SATURATED: requests over {KEPT_UP_WITHIN_MS:.0f} ms after due: {shares}; "
            f"{turned_away} not sent ({MAX_IN_FLIGHT} in flight); lower --rate"
        )
    for a, b, what in (("table", "rpc", "table / rpc"), ("rpc", "rpc_no_session", "rpc / rpc_no_session")):
        low, high = ratio_interval(intervals[a], intervals[b])
        ratio = intervals[a].estimate_ms / intervals[b].estimate_ms if intervals[b].estimate_ms else float("inf")
        line = f"p95 {what:<22} {ratio:5.2f}  [{_x(low)}, {_x(high)}] ({coverage:.0%} interval)"
        if a == "table":
            met = ratio <= TARGET_RATIO
            verdict = verdict and met
            line += f"  target <= {TARGET_RATIO}: {'ok' if met else 'MISSED'}"
        print(line)
    if first_failure:
        print(f"first failure: {first_failure[0]}")
    return verdict and not any(failures.values())


def _share_within(histogram: HdrHistogram, limit_ms: float) -> float:
    total = int(histogram.get_total_count())
    if total == 0:
        return 0.0
    within = sum(
        int(item.count_at_value_iterated_to)
        for item in histogram.get_recorded_iterator()
        if item.value_iterated_to <= limit_ms * 1000
    )
    return within / total


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--rate", type=float, default=30.0, help="arrivals per second of each kind")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds (after a 2 s warm-up)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50, help="notifications per user (the reads take 20)")
    parser.add_argument("--confidence", type=float, default=0.95, help="of each p95's interval")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0 or args.users < 1 or args.rows < PAGE or not 0.5 <= args.confidence < 1:
        print(
            f"error: need --rate > 0, --seconds > 0, --users >= 1, --rows >= {PAGE} and 0.5 <= --confidence < 1",
            file=sys.stderr,
        )
        return 2
    temp: Path | None = None
    if args.state_dir is None:
        temp = Path(tempfile.mkdtemp(prefix="gauntlet-bench-tr-"))
        temp.chmod(0o755)
        supervisor.up(temp, supervisor.UpOptions.from_env())
    try:
        state = load_state(args.state_dir or temp)  # type: ignore[arg-type]
        if state is None or state.status != "up":
            print(f"error: no running stack in {args.state_dir} (run `gauntlet up --state-dir DIR`)", file=sys.stderr)
            return 2
        print(
            f"bench_table_vs_rpc: {args.rate:g}/s of each kind for {args.seconds:g} s (open model), "
            f"{args.users} users x {args.rows} notifications, target table p95 <= {TARGET_RATIO} x rpc p95"
        )
        ok = asyncio.run(bench(state, args.rate, args.seconds, args.users, args.rows, args.confidence))
        return 0 if ok else 1
    finally:
        if temp is not None:
            supervisor.down(temp, purge=True)
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
