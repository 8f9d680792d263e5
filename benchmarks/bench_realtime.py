"""Benchmark (issue #19 part 3): one committed change reaching 1,000 realtime subscribers (postgres_changes).

    .venv/bin/python benchmarks/bench_realtime.py [--state-dir DIR] [--rounds 20] [--gap-ms 300]

Uses the stack in --state-dir (``gauntlet up --state-dir DIR``), else brings a fresh embedded one
up in a temporary dir and takes it down at the end. Subscribers are raw WebSocket clients
(``websockets``, Phoenix serializer 1.0.0, exactly the frames supabase's client sends) in this
process, so the client side costs as little CPU as possible on this 2-core machine.

Two scenarios, 1,000 subscriptions each, every round one write, latency = a subscriber's receipt
minus the moment just before the write was sent (so it includes the commit, the NOTIFY, the
visibility re-reads as each subscriber and the fan-out):

  feature_flags  100 users x 5 sockets x 2 channels (filter key=eq.<bench key>): one UPDATE
                 reaches 1,000 subscriptions of 100 distinct callers = 100 RLS re-reads per change
  notifications  one user x 10 sockets (the per-user cap) x 100 channels (the per-connection cap):
                 one INSERT for that user reaches 1,000 subscriptions (one RLS re-read)

Target: p95 delivery < 500 ms in both. Prints figures; exit 1 when a target is missed or a
subscriber missed a change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import websockets

from gauntlet.load.hdr import nearest_rank
from gauntlet.platform.auth.tokens import mint
from gauntlet.stack import supervisor
from gauntlet.stack.state import StackState, load_state

TARGET_P95_MS = 500.0


def _pct(values: list[float], q: float) -> float:
    """The `q` (0-1) percentile by the harness's one convention (load/hdr.py nearest_rank); nan with no values."""
    value = nearest_rank(values, q * 100)
    return math.nan if value is None else value


class Subscriber:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            if '"event":"postgres_changes"' in raw:
                self.received.append((now, json.loads(raw)))


async def _open(url: str, token: str, topics: list[str], binding: dict[str, Any]) -> Subscriber:
    ws = await websockets.connect(url, max_queue=None, open_timeout=30)
    for i, topic in enumerate(topics):
        join = {"config": {"postgres_changes": [binding]}, "access_token": token}
        await ws.send(
            json.dumps({"topic": topic, "event": "phx_join", "payload": join, "ref": str(i), "join_ref": str(i)})
        )
    ok = 0
    while ok < len(topics):
        reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if reply["event"] == "phx_reply":
            if reply["payload"]["status"] != "ok":
                raise RuntimeError(f"join refused: {reply['payload']}")
            ok += 1
    return Subscriber(ws)


async def _rounds(
    name: str, subs: list[Subscriber], expected: int, write: Callable[[int], Awaitable[None]], rounds: int, gap_s: float
) -> bool:
    latencies: list[float] = []
    missed = 0
    for r in range(rounds):
        for s in subs:
            s.received.clear()
        t0 = time.perf_counter()
        await write(r)
        deadline = time.perf_counter() + 5.0
        while sum(len(s.received) for s in subs) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        got = [(t, m) for s in subs for t, m in s.received]
        per_sub = sum(len(m["payload"]["ids"]) for _, m in got)
        missed += max(0, expected - per_sub)
        latencies += [(t - t0) * 1000 for t, m in got for _ in m["payload"]["ids"]]
        await asyncio.sleep(gap_s)
    p50, p95, p99 = (_pct(latencies, q) for q in (0.5, 0.95, 0.99))
    ok = bool(latencies) and p95 < TARGET_P95_MS and missed == 0
    print(
        f"{name:<14} subscriptions {expected:>5}  deliveries {len(latencies):>6}  missed {missed:>3}  "
        f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms  max {max(latencies):7.1f} ms  "
        f"mean {statistics.fmean(latencies):7.1f} ms  {'ok' if ok else 'MISSED TARGET'}"
    )
    return ok


async def bench(state: StackState, rounds: int, gap_s: float) -> bool:
    url = state.api_url.replace("http://", "ws://") + f"/realtime/v1/websocket?vsn=1.0.0&apikey={state.anon_key}"
    conn = await asyncpg.connect(state.primary_dsn)
    results = []
    try:
        key = f"bench_rt_{uuid.uuid4().hex[:8]}"
        await conn.execute("INSERT INTO public.feature_flags (key) VALUES ($1)", key)
        users = [str(uuid.uuid4()) for _ in range(100)]
        tokens = [mint(state.jwt_secret, role="authenticated", ttl_s=3600, sub=u) for u in users]
        binding = {"event": "UPDATE", "schema": "public", "table": "feature_flags", "filter": f"key=eq.{key}"}
        subs: list[Subscriber] = []
        for token in tokens:
            for s in range(5):
                subs.append(await _open(url, token, [f"realtime:flags-{s}-a", f"realtime:flags-{s}-b"], binding))

        async def update_flag(r: int) -> None:
            await conn.execute("UPDATE public.feature_flags SET rollout_pct = $2 WHERE key = $1", key, r % 100)

        results.append(await _rounds("feature_flags", subs, 1000, update_flag, rounds, gap_s))
        for sub in subs:
            await sub.ws.close()
        await conn.execute("DELETE FROM public.feature_flags WHERE key = $1", key)

        owner = await conn.fetchval(
            "INSERT INTO auth.users (email, encrypted_password) VALUES ($1, 'x') RETURNING id",
            f"bench-rt-{uuid.uuid4().hex[:8]}@example.test",
        )
        token = mint(state.jwt_secret, role="authenticated", ttl_s=3600, sub=str(owner))
        binding = {"event": "INSERT", "schema": "public", "table": "notifications", "filter": f"user_id=eq.{owner}"}
        subs = [await _open(url, token, [f"realtime:n-{c}" for c in range(100)], binding) for _ in range(10)]

        async def insert_notification(r: int) -> None:
            await conn.execute(
                "INSERT INTO public.notifications (user_id, channel, title) VALUES ($1, 'snackbar', $2)", owner, f"b{r}"
            )

        results.append(await _rounds("notifications", subs, 1000, insert_notification, rounds, gap_s))
        for sub in subs:
            await sub.ws.close()
        await conn.execute("DELETE FROM auth.users WHERE id = $1", owner)
    finally:
        await conn.close()
    return all(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--gap-ms", type=int, default=300)
    args = parser.parse_args()
    temp: Path | None = None
    if args.state_dir is None:
        temp = Path(tempfile.mkdtemp(prefix="gauntlet-bench-rt-"))
        temp.chmod(0o755)
        supervisor.up(temp, supervisor.UpOptions.from_env())
    try:
        state = load_state(args.state_dir or temp)  # type: ignore[arg-type]
        if state is None or state.status != "up":
            print(f"no running stack in {args.state_dir}", file=sys.stderr)
            return 2
        print(f"bench_realtime: {args.rounds} rounds, {args.gap_ms} ms apart, target p95 < {TARGET_P95_MS:.0f} ms")
        return 0 if asyncio.run(bench(state, max(1, min(args.rounds, 1000)), args.gap_ms / 1000)) else 1
    finally:
        if temp is not None:
            supervisor.down(temp, purge=True)
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
