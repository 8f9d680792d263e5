"""Request metrics: Prometheus series for `/metrics`, and RPC samples flushed to `rpc_metrics`.

Every RPC call records its latency and outcome twice: into Prometheus
histograms (scraped from `/metrics`) and into an in-memory buffer that a
background task writes to `public.rpc_metrics` in batches. The write is
off the request path and outside the RPC's transaction, so a failed call is
still recorded and recording never slows or fails a call; if the buffer
outgrows `MAX_BUFFERED` (database down a long time) the oldest samples are
dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gauntlet.platform.db import UNAVAILABLE, Database
from gauntlet.platform.queries import sql

log = logging.getLogger("gauntlet.platform.metrics")

MAX_BUFFERED = 50_000
FLUSH_EVERY_S = 1.0
# Fine buckets below 1 s: the SLOs (200/500/800/1000 ms) must fall on bucket edges.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class RpcSample:
    name: str
    role: str
    duration_ms: float
    status: int
    error_code: str | None
    user_id: str | None
    at: float


class PlatformMetrics:
    """The app's Prometheus registry and the rpc_metrics buffer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_duration = Histogram(
            "rocker_http_request_duration_seconds",
            "HTTP request latency by route and status class.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rpc_duration = Histogram(
            "rocker_rpc_duration_seconds",
            "RPC latency by function and outcome.",
            ["function", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rpc_calls = Counter(
            "rocker_rpc_calls_total",
            "RPC calls by function and HTTP status.",
            ["function", "status"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "rocker_rate_limited_total",
            "Requests refused with 429, by profile.",
            ["profile"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "rocker_fallbacks_total",
            "Degraded-mode decisions: replica->primary, redis->memory/db.",
            ["kind"],
            registry=self.registry,
        )
        self.rpc_metrics_dropped = Counter(
            "rocker_rpc_metrics_dropped_total",
            "RPC samples dropped because the buffer was full.",
            registry=self.registry,
        )
        self.rpc_metrics_buffered = Gauge(
            "rocker_rpc_metrics_buffered",
            "RPC samples waiting to be written to rpc_metrics.",
            registry=self.registry,
        )
        self._buffer: deque[RpcSample] = deque()

    def record_rpc(self, sample: RpcSample) -> None:
        outcome = "ok" if sample.status < 400 else ("client_error" if sample.status < 500 else "server_error")
        self.rpc_duration.labels(sample.name, outcome).observe(sample.duration_ms / 1000)
        self.rpc_calls.labels(sample.name, str(sample.status)).inc()
        if len(self._buffer) >= MAX_BUFFERED:
            self._buffer.popleft()
            self.rpc_metrics_dropped.inc()
        self._buffer.append(sample)
        self.rpc_metrics_buffered.set(len(self._buffer))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    async def flush(self, db: Database) -> int:
        """Write buffered samples to rpc_metrics; on failure they stay buffered for the next try."""
        if not self._buffer:
            return 0
        batch = list(self._buffer)
        try:
            async with db.primary() as conn:
                await conn.execute(
                    sql("metrics", "insert_rpc_metrics"),
                    [s.name for s in batch],
                    [s.role for s in batch],
                    [s.duration_ms for s in batch],
                    [s.status for s in batch],
                    [s.error_code for s in batch],
                    [s.user_id for s in batch],
                    [s.at for s in batch],
                )
        except UNAVAILABLE:
            return 0
        except Exception as exc:  # never let metrics take the process down; say why in the log
            log.warning("rpc_metrics flush failed", extra={"action": "rpc_metrics_flush", "error": repr(exc)})
            return 0
        for _ in batch:
            self._buffer.popleft()
        self.rpc_metrics_buffered.set(len(self._buffer))
        return len(batch)

    async def flush_forever(self, db: Database) -> None:
        """The background flusher the app starts in its lifespan."""
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self.flush(db)

    async def drain(self, db: Database, timeout_s: float = 3.0) -> None:
        """Final flush at shutdown, bounded in time."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(db), timeout=timeout_s)


def now() -> float:
    return time.time()
