"""The embedded stack is wired as DESIGN.md says: real services, every path through a proxy."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import pytest
import redis.asyncio as aioredis

from gauntlet.stack.state import StackState

pytestmark = pytest.mark.integration


async def test_row_written_through_primary_proxy_is_read_back_through_replica_proxy(
    gauntlet_stack: StackState,
) -> None:
    token = uuid.uuid4().hex
    primary = await asyncpg.connect(gauntlet_stack.primary_dsn)
    replica = await asyncpg.connect(gauntlet_stack.replica_dsns[0])
    try:
        await primary.execute("CREATE TABLE IF NOT EXISTS gauntlet_test_replication (token text PRIMARY KEY)")
        await primary.execute("INSERT INTO gauntlet_test_replication VALUES ($1)", token)
        assert await replica.fetchval("SELECT pg_is_in_recovery()") is True
        for _ in range(1000):  # streaming: usually milliseconds; bounded at ~10 s for a loaded machine
            with contextlib.suppress(asyncpg.UndefinedTableError):  # the CREATE may not be replayed yet
                if await replica.fetchval("SELECT 1 FROM gauntlet_test_replication WHERE token = $1", token):
                    break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("row written on the primary never appeared on the replica")
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await replica.execute("INSERT INTO gauntlet_test_replication VALUES ('x')")
    finally:
        await primary.close()
        await replica.close()


def test_every_platform_connection_goes_through_a_named_proxy(gauntlet_stack: StackState) -> None:
    proxies = gauntlet_stack.proxies
    assert set(proxies) == {"pg_primary", "pg_replica_1", "redis"}
    listen_ports = {p.listen.rsplit(":", 1)[1] for p in proxies.values()}
    used = [gauntlet_stack.primary_dsn, *gauntlet_stack.replica_dsns, gauntlet_stack.redis_url]
    for url in used:
        assert url.rsplit(":", 1)[1].split("/")[0] in listen_ports, url
    # and the proxies point at the real services, not at each other
    services = gauntlet_stack.services
    assert proxies["pg_primary"].upstream.endswith(f":{services['pg_primary'].port}")
    assert proxies["pg_replica_1"].upstream.endswith(f":{services['pg_replica_1'].port}")


async def test_pgvector_knn_query_uses_an_index(gauntlet_stack: StackState) -> None:
    conn = await asyncpg.connect(gauntlet_stack.primary_dsn)
    try:
        async with conn.transaction():
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            await conn.execute("CREATE TEMP TABLE knn (id int PRIMARY KEY, emb vector(3))")
            await conn.execute(
                "INSERT INTO knn SELECT i, ARRAY[sin(i), cos(i), i % 7]::vector FROM generate_series(1, 2000) i"
            )
            await conn.execute("CREATE INDEX ON knn USING hnsw (emb vector_l2_ops)")
            await conn.execute("ANALYZE knn")
            await conn.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(
                r[0] for r in await conn.fetch("EXPLAIN SELECT id FROM knn ORDER BY emb <-> '[0,1,3]' LIMIT 5")
            )
            nearest = await conn.fetch("SELECT id FROM knn ORDER BY emb <-> '[0,1,3]' LIMIT 5")
        assert "Index Scan using knn_emb_idx" in plan, plan
        assert len(nearest) == 5
    finally:
        await conn.close()


async def test_redis_ping_through_its_proxy(gauntlet_stack: StackState) -> None:
    client = aioredis.from_url(gauntlet_stack.redis_url)
    try:
        assert await client.ping() is True
        await client.set("gauntlet:test:proxy", "ok", ex=10)
        direct = aioredis.from_url(gauntlet_stack.direct["redis_url"])
        try:
            assert await direct.get("gauntlet:test:proxy") == b"ok"
        finally:
            await direct.aclose()
    finally:
        await client.aclose()


async def test_disabling_the_redis_proxy_cuts_redis_off(gauntlet_stack: StackState, toxiproxy: object) -> None:
    """The proxy is really in the path: taking it down makes Redis unreachable through it."""
    from gauntlet.faultproxy.client import ToxiproxyClient

    assert isinstance(toxiproxy, ToxiproxyClient)
    toxiproxy.update_proxy("redis", enabled=False)
    client = aioredis.from_url(gauntlet_stack.redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        with pytest.raises((aioredis.ConnectionError, aioredis.TimeoutError)):
            await client.ping()
    finally:
        await client.aclose()
        toxiproxy.update_proxy("redis", enabled=True)
