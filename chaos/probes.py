"""Probes several drills share: platform health, what users see, replicas, the feature store.

A probe returns what it observed (JSON); its tolerance judges it. A probe
that cannot observe (refused, timed out) raises, which the runner records as
out of tolerance.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import asyncpg

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.experiment import (
    JsonValue,
    Probe,
    ProviderCall,
    RequestGroup,
    Tolerance,
    at_least,
    at_most,
    equals,
)
from gauntlet.chaos.sql import sql
from gauntlet.chaos.windows import only_groups, percentile

CountFn = Callable[[DrillContext], Awaitable[int]]
RECENT_S = 2.0  # what "recent" means for the load-based probes
# Under load a replica backend's statistics reach pg_stat_user_tables about a second late (up to
# 10 s when it then idles), so the window must be longer than a second to see reads reliably.
REPLICA_READ_WINDOW_S = 2.0
DB_PROBE_TIMEOUT_S = 2.0
PROVIDERS = "gauntlet.chaos.providers.probes"  # how experiment files name these probes


async def _health(ctx: DrillContext) -> JsonValue:
    response = await ctx.http().get("/functions/v1/health", timeout=3.0)
    body = response.json()
    return str(body.get("status", "unknown"))


def health_ok() -> Probe:
    """The platform's own health function says `ok` (primary, replicas and Redis all answer)."""
    return Probe("platform health is ok", _health, equals("ok"), provider=ProviderCall(PROVIDERS, "health"))


def recent_error_rate(groups: frozenset[RequestGroup], *, limit: float = 0.01, seconds: float = RECENT_S) -> Probe:
    """The share of the load's requests of `groups` sent in the last `seconds` that failed."""

    async def observe(ctx: DrillContext) -> JsonValue:
        since = time.time() - seconds
        recent = only_groups((s for s in ctx.samples() if s.at >= since), groups)
        if not recent:
            return 0.0
        return round(sum(1 for s in recent if not s.ok) / len(recent), 4)

    label = "/".join(sorted(groups))
    call = ProviderCall(PROVIDERS, "recent_error_rate", {"groups": [*map(str, sorted(groups))], "seconds": seconds})
    return Probe(f"recent {label} error rate", observe, at_most(limit), provider=call)


def recent_p95_ms(groups: frozenset[RequestGroup], *, limit_ms: float, seconds: float = RECENT_S) -> Probe:
    """p95 latency of the load's successful and failed requests of `groups` from the last `seconds`."""

    async def observe(ctx: DrillContext) -> JsonValue:
        since = time.time() - seconds
        latencies = sorted(s.latency_ms for s in only_groups(ctx.samples(), groups) if s.at >= since)
        return percentile(latencies, 95) or 0.0

    label = "/".join(sorted(groups))
    call = ProviderCall(PROVIDERS, "recent_p95_ms", {"groups": [*map(str, sorted(groups))], "seconds": seconds})
    return Probe(f"recent {label} p95 ms", observe, at_most(limit_ms), provider=call)


def replica_serving_reads(index: int = 0, *, window_s: float = REPLICA_READ_WINDOW_S) -> Probe:
    """Replica `index` served RPC reads (table scans) during a `window_s` window: reads are routed to it.

    Counted from the replica's own table statistics, so a read the API sends to the primary instead
    (a replica marked down, or a routing bug) does not count, nor do catalog lookups or the pool's
    connection resets. Needs the background load: it watches the load's reads.
    """

    async def scans(dsn: str) -> int:
        conn = await asyncpg.connect(dsn, timeout=DB_PROBE_TIMEOUT_S)
        try:
            return int(await conn.fetchval(sql("fixtures", "user_table_scans")))
        finally:
            await conn.close(timeout=DB_PROBE_TIMEOUT_S)

    async def observe(ctx: DrillContext) -> JsonValue:
        dsns = ctx.target.replica_dsns
        if index >= len(dsns):
            raise RuntimeError(f"the target has {len(dsns)} replicas; no replica #{index + 1} to watch")
        first = await scans(dsns[index])
        await asyncio.sleep(window_s)
        return await scans(dsns[index]) - first

    call = ProviderCall(PROVIDERS, "replica_serving_reads", {"index": index, "window_s": window_s})
    return Probe(f"replica {index + 1} serving RPC reads", observe, at_least(1), timeout_s=window_s + 5, provider=call)


async def replica_lag_bytes(ctx: DrillContext, replica: str) -> int | None:
    """Replay lag of `replica` as the primary sees it; None when it is not streaming."""
    async with ctx.primary() as conn:
        row = await conn.fetchrow(sql("fixtures", "replication_state"), replica)
    if row is None or row["state"] != "streaming":
        return None
    return int(row["lag_bytes"])


def replica_streaming(replica: str, *, max_lag_bytes: int = 16 * 1024 * 1024) -> Probe:
    """The replica streams from the primary, at most `max_lag_bytes` behind (load keeps it a little behind)."""

    async def observe(ctx: DrillContext) -> JsonValue:
        lag = await replica_lag_bytes(ctx, replica)
        return -1 if lag is None else lag

    def accepts(value: JsonValue) -> bool:
        return isinstance(value, int) and 0 <= value <= max_lag_bytes

    tolerance = Tolerance(
        f"streaming, lag <= {max_lag_bytes} B (-1: not streaming)",
        accepts,
        {"type": "range", "range": [0, max_lag_bytes]},
    )
    call = ProviderCall(PROVIDERS, "replica_streaming", {"replica": replica})
    return Probe(f"{replica} streaming", observe, tolerance, provider=call)


def feature_store_cached() -> Probe:
    """hydrate-features for the drill's subject is cached in Redis (False: served from the database)."""

    async def observe(ctx: DrillContext) -> JsonValue:
        if ctx.subject is None:
            raise RuntimeError("the drill has no subject user to hydrate")
        response = await ctx.http().post(
            "/functions/v1/hydrate-features", json={"user_id": ctx.subject.user_id}, headers=ctx.service_headers
        )
        if response.status_code != 200:
            raise RuntimeError(f"hydrate-features answered {response.status_code}: {response.text[:200]}")
        return bool(response.json().get("cached"))

    call = ProviderCall(PROVIDERS, "feature_store_cached")
    return Probe("features cached in the feature store", observe, equals(True), provider=call)


def nothing_unsettled(name: str, count: CountFn) -> Probe:
    """None of the drill's own items is waiting or stuck (0 when the drill has not enqueued any yet)."""

    async def observe(ctx: DrillContext) -> JsonValue:
        return await count(ctx)

    return Probe(name, observe, equals(0), timeout_s=DB_PROBE_TIMEOUT_S + 3)


_FALLBACK_LINE = re.compile(r'^rocker_fallbacks_total\{kind="(?P<kind>[^"]+)"\}\s+(?P<value>[0-9.eE+-]+)$')


async def fallback_counters(ctx: DrillContext) -> dict[str, float]:
    """The API's degraded-mode counters from /metrics (kind -> count): ratelimit_memory, feature_store_database."""
    response = await ctx.http().get("/metrics", timeout=5.0)
    response.raise_for_status()
    counters: dict[str, float] = {}
    for line in response.text.splitlines():
        match = _FALLBACK_LINE.match(line.strip())
        if match:
            counters[match["kind"]] = float(match["value"])
    return counters
