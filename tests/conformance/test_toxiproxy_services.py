"""Proxies carry real Postgres and Redis traffic under concurrent load, with no errors."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from gauntlet.faultproxy.client import ToxiproxyClient

from .services import PostgresService, RedisService, postgres_server, redis_server

WORKERS = 8
ROUNDS = 60


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresService]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def redis_service() -> Iterator[RedisService]:
    with redis_server() as server:
        yield server


async def _postgres_load(dsn: str) -> int:
    async def worker(index: int) -> int:
        conn = await asyncpg.connect(dsn, timeout=10)
        done = 0
        try:
            for round_ in range(ROUNDS):
                assert await conn.fetchval("SELECT $1::int + 1", round_) == round_ + 1
                # Large rows exercise flow control through the proxy in both directions.
                text = await conn.fetchval("SELECT repeat(md5($1), 2000)", f"{index}-{round_}")
                assert text == hashlib.md5(f"{index}-{round_}".encode()).hexdigest() * 2000
                rows = await conn.fetch("SELECT g, g * 2 AS twice FROM generate_series(1, 500) AS g")
                assert [row["twice"] for row in rows] == [2 * g for g in range(1, 501)]
                async with conn.transaction():
                    echoed = await conn.fetchval("SELECT length($1::text)", "y" * 50_000)
                assert echoed == 50_000
                done += 4
        finally:
            await conn.close()
        return done

    results = await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(WORKERS))), timeout=60)
    return sum(results)


async def _redis_load(port: int) -> int:
    async def worker(index: int) -> int:
        client = aioredis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        done = 0
        try:
            for round_ in range(ROUNDS):
                key = f"conformance:{index}:{round_}"
                value = hashlib.sha256(key.encode()).hexdigest().encode() * 1000  # 64 KB
                async with client.pipeline(transaction=False) as pipe:
                    pipe.set(key, value)
                    pipe.get(key)
                    pipe.incr(f"conformance:counter:{index}")
                    pipe.ping()
                    ok, got, count, pong = await pipe.execute()
                assert ok is True and got == value and count == round_ + 1 and pong is True
                done += 4
        finally:
            await client.aclose()
        return done

    results = await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(WORKERS))), timeout=60)
    return sum(results)


def test_postgres_traffic_through_a_proxy_under_load(client: ToxiproxyClient, postgres: PostgresService) -> None:
    proxy = client.create_proxy("postgres", postgres.address)
    done = asyncio.run(_postgres_load(postgres.dsn(proxy.listen_port)))
    assert done == WORKERS * ROUNDS * 4


def test_redis_traffic_through_a_proxy_under_load(client: ToxiproxyClient, redis_service: RedisService) -> None:
    proxy = client.create_proxy("redis", redis_service.address)
    done = asyncio.run(_redis_load(proxy.listen_port))
    assert done == WORKERS * ROUNDS * 4


def test_postgres_survives_toxics_added_and_removed_under_load(
    client: ToxiproxyClient, postgres: PostgresService
) -> None:
    proxy = client.create_proxy("postgres_chaos", postgres.address)

    async def churn_toxics() -> None:
        for round_ in range(6):
            await asyncio.to_thread(
                client.add_toxic, "postgres_chaos", "latency", name="lag", attributes={"latency": 2, "jitter": 1}
            )
            await asyncio.to_thread(
                client.add_toxic,
                "postgres_chaos",
                "slicer",
                stream="upstream" if round_ % 2 else "downstream",
                name="slices",
                attributes={"average_size": 512, "size_variation": 128, "delay": 10},
            )
            await asyncio.sleep(0.05)
            await asyncio.to_thread(client.remove_toxic, "postgres_chaos", "lag")
            await asyncio.to_thread(client.remove_toxic, "postgres_chaos", "slices")

    async def main() -> int:
        load = asyncio.create_task(_postgres_load(postgres.dsn(proxy.listen_port)))
        await churn_toxics()
        return await load

    assert asyncio.run(main()) == WORKERS * ROUNDS * 4
