"""Connection pools of the reference platform: one primary, any number of read replicas.

Pools are created lazily and with `min_size=0`, so the API process starts and
answers health while Postgres is down; the first query that needs a
connection pays the connect. Reads that tolerate staleness go through
`Database.read`, which tries a replica and, when it is unreachable (refused,
timed out, recovery conflict, read-only error), runs the same operation on
the primary within the same call. A replica that failed is skipped for
`replica_retry_after_s` so a dead replica does not add latency to every read.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeAlias, TypeVar

import asyncpg
import redis.asyncio as aioredis
import redis.exceptions
from pgvector.asyncpg import register_vector

from gauntlet.platform.queries import sql
from gauntlet.platform.settings import PlatformSettings

T = TypeVar("T")
Connection: TypeAlias = asyncpg.Connection
log = logging.getLogger("gauntlet.platform.db")

# Errors after which a read may be retried on the primary: the replica is gone, too slow to
# connect, behind a recovery conflict, or refused a write a "read" RPC turned out to make.
REPLICA_RETRYABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.SerializationError,  # 40001 "canceling statement due to conflict with recovery"
)

# Errors meaning "the database is unreachable right now"; the API maps them to 503 + Retry-After.
# asyncpg.InternalClientError is its protocol's "another operation is in progress": a pooled
# connection whose server said goodbye (FATAL 57P01, the server shutting down or the backend
# terminated) while it sat idle, handed out before the end of its socket was read. The connection
# is dead, as surely as if the socket had closed (test_on_stack.py's terminated sessions behind a held close).
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


async def keep_session(conn: Connection) -> None:
    """The pools' reset of a connection coming back: nothing beyond what asyncpg always does first.

    asyncpg rolls back a connection returned inside a transaction and drops its listeners before
    calling this. Its default reset would then send `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release, one more round trip per request (through the fault proxy, for the
    API), undoing nothing here: a request's role and claims are transaction-local
    (platform/api/caller.py), cursors live in transactions, and no pooled connection LISTENs (realtime
    has its own) or takes session advisory locks (the migrator has its own connection).
    """


async def init_connection(conn: Connection) -> None:
    """Per-connection setup: JSON codecs, and the pgvector codec once the extension exists."""
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # register_vector fails before migrations created the extension; a pool made at start must
    # still work then, and connections made after the migration get the codec.
    if await conn.fetchval(sql("platform", "vector_type_exists")):
        await register_vector(conn)


class Database:
    """The primary pool and the replica pools, created on first use."""

    def __init__(self, settings: PlatformSettings) -> None:
        self._settings = settings
        self._primary: asyncpg.Pool | None = None
        self._replicas: dict[str, asyncpg.Pool] = {}
        self._replica_down_until: dict[str, float] = {}
        self._round_robin = itertools.count()
        self._lock = asyncio.Lock()

    @property
    def replica_dsns(self) -> list[str]:
        return list(self._settings.replica_dsns)

    async def _pool(self, dsn: str) -> asyncpg.Pool:
        settings = self._settings
        pool = await asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=settings.pool_max_size,
            timeout=settings.connect_timeout_s,
            # Client-side bound a little above the server's statement_timeout, so a stalled
            # socket (proxy latency) cannot hold a request forever.
            command_timeout=settings.statement_timeout_ms / 1000 + settings.connect_timeout_s,
            server_settings={
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": f"gauntlet-{settings.worker_name}",
            },
            init=init_connection,
            reset=keep_session,
        )
        assert pool is not None
        return pool

    async def primary_pool(self) -> asyncpg.Pool:
        if self._primary is None:
            async with self._lock:
                if self._primary is None:
                    self._primary = await self._pool(self._settings.primary_dsn)
        return self._primary

    async def _replica_pool(self, dsn: str) -> asyncpg.Pool:
        pool = self._replicas.get(dsn)
        if pool is None:
            async with self._lock:
                pool = self._replicas.get(dsn)
                if pool is None:
                    pool = self._replicas[dsn] = await self._pool(dsn)
        return pool

    @asynccontextmanager
    async def primary(self) -> AsyncIterator[Connection]:
        """A primary connection for the duration of the block."""
        pool = await self.primary_pool()
        async with pool.acquire(timeout=self._settings.connect_timeout_s) as conn:
            yield conn

    def _live_replicas(self) -> list[str]:
        now = time.monotonic()
        live = [dsn for dsn in self._settings.replica_dsns if self._replica_down_until.get(dsn, 0.0) <= now]
        if not live:
            return []
        start = next(self._round_robin) % len(live)
        return live[start:] + live[:start]

    async def read(self, op: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a staleness-tolerant read on a replica, falling back to the primary on failure."""
        for dsn in self._live_replicas():
            try:
                pool = await self._replica_pool(dsn)
                async with pool.acquire(timeout=self._settings.connect_timeout_s) as conn:
                    return await op(conn)
            except REPLICA_RETRYABLE as exc:
                if self._settings.fault_disable_replica_fallback:  # test-only fault switch
                    raise
                if isinstance(exc, UNAVAILABLE):
                    # Only an unreachable replica is skipped for a while; a conflict or a
                    # read-only refusal is about this one statement.
                    self._replica_down_until[dsn] = time.monotonic() + self._settings.replica_retry_after_s
                log.warning(
                    "replica read failed; falling back",
                    extra={"action": "replica_fallback", "replica": _redact(dsn), "error": repr(exc)},
                )
        async with self.primary() as conn:
            return await op(conn)

    def replica_status(self) -> dict[str, bool]:
        """Which replicas reads currently use (False: skipped after a recent failure)."""
        now = time.monotonic()
        return {_redact(dsn): self._replica_down_until.get(dsn, 0.0) <= now for dsn in self._settings.replica_dsns}

    async def close(self) -> None:
        pools = [p for p in (self._primary, *self._replicas.values()) if p is not None]
        self._primary, self._replicas = None, {}
        for pool in pools:
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except (TimeoutError, OSError, asyncpg.InterfaceError):
                pool.terminate()


def _redact(dsn: str) -> str:
    """The host:port part of a DSN, for logs (never the password)."""
    tail = dsn.rsplit("@", 1)[-1]
    return tail.split("/", 1)[0]


class RedisUnavailable(Exception):
    """Redis did not answer in time (down, stalled or refusing); the caller falls back."""


class RedisGate:
    """The one Redis client, with short timeouts and a breaker.

    Redis backs only optional things (feature cache, edge rate limits), so a
    slow Redis must never make a request slow: every call is bounded by
    `redis_timeout_ms`, and after a failure Redis is skipped for
    `REDIS_RETRY_AFTER_S` before the next probe.
    """

    REDIS_RETRY_AFTER_S = 2.0

    def __init__(self, settings: PlatformSettings) -> None:
        timeout = settings.redis_timeout_ms / 1000
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            settings.redis_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._timeout = timeout
        self._no_fallback = settings.fault_disable_redis_fallback  # test-only fault switch
        self._down_until = 0.0
        self.failures = 0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def call(self, op: Callable[[Any], Awaitable[T]]) -> T:
        """Run `op(client)` within the timeout; RedisUnavailable when Redis is down or slow."""
        if self._no_fallback:  # no breaker and the raw error: callers cannot degrade
            async with asyncio.timeout(self._timeout * 2):
                return await op(self.client)
        if not self.available:
            raise RedisUnavailable("skipped: Redis failed recently")
        try:
            # Belt and braces: the socket timeout covers reads, this deadline everything else
            # (connect retries, a stalled proxy accepting but never answering). asyncio.timeout runs
            # the call in this task (wait_for would start one more task for every rate-limit check).
            async with asyncio.timeout(self._timeout * 2):
                return await op(self.client)
        except (OSError, TimeoutError, redis.exceptions.RedisError) as exc:
            self.failures += 1
            self._down_until = time.monotonic() + self.REDIS_RETRY_AFTER_S
            raise RedisUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        with suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.client.aclose(), timeout=1)
