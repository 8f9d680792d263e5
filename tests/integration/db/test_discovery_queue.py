"""The leased discovery queue: lease, ack, fail, lease expiry and the DLQ after 5 attempts.

Each test queues its own items with a unique reason and priority 1000 and
leases only as many as it queued, so items of other tests are never touched
(lease order is priority first).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as
from tests.integration.moving_time import end_leases

pytestmark = pytest.mark.integration

TOP_PRIORITY = 1000


@pytest.fixture(autouse=True)
async def _remove_test_items(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Each test's items are deleted after it, so none lingers at the top priority."""
    yield
    await conn.execute("delete from public.marketplace_discovery_queue where priority = $1", TOP_PRIORITY)


async def _queue_items(conn: asyncpg.Connection, count: int) -> list[int]:
    reason = f"test-{uuid.uuid4().hex[:12]}"
    rows = await conn.fetch(
        """
        insert into public.marketplace_discovery_queue (interest_id, category_id, reason, priority)
        select interest_id, category_id, $1, $2 from public.marketplace_interest_map order by 1, 2 limit $3
        returning id
        """,
        reason,
        TOP_PRIORITY,
        count,
    )
    return [row["id"] for row in rows]


async def _lease(conn: asyncpg.Connection, limit: int, ttl: int = 60) -> list[asyncpg.Record]:
    async with acting_as(conn, "service_role"):
        rows: list[asyncpg.Record] = await conn.fetch(
            "select * from public.lease_discovery_items(p_limit => $1, p_ttl_seconds => $2)", limit, ttl
        )
    return rows


async def _would_lease(conn: asyncpg.Connection, limit: int) -> list[int]:
    """The ids a lease would hand out now, leaving every item as it was (rolled back)."""
    probe = conn.transaction()
    await probe.start()
    try:
        return [row["id"] for row in await _lease(conn, limit)]
    finally:
        await probe.rollback()


async def _status(conn: asyncpg.Connection, item: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "select status, attempts, last_error, lease_token from public.marketplace_discovery_queue where id = $1", item
    )
    assert row is not None
    return row


async def test_lease_then_ack_marks_done(conn: asyncpg.Connection) -> None:
    items = await _queue_items(conn, 2)
    leased = await _lease(conn, 2)
    assert sorted(row["id"] for row in leased) == sorted(items)
    assert all(row["lease_token"] is not None for row in leased)
    assert (await _status(conn, items[0]))["status"] == "processing"
    async with acting_as(conn, "service_role"):
        for row in leased:
            assert await conn.fetchval("select public.ack_discovery_item($1, $2)", row["id"], row["lease_token"])
            # A second ack (or any ack after done) is a no-op.
            assert not await conn.fetchval("select public.ack_discovery_item($1, $2)", row["id"], row["lease_token"])
    assert {(await _status(conn, item))["status"] for item in items} == {"done"}


async def test_ack_with_a_wrong_token_is_refused(conn: asyncpg.Connection) -> None:
    (item,) = await _queue_items(conn, 1)
    (lease,) = await _lease(conn, 1)
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.ack_discovery_item($1, $2)", item, uuid.uuid4()) is False
        assert await conn.fetchval("select public.fail_discovery_item($1, $2, 'x')", item, uuid.uuid4()) is None
    assert (await _status(conn, item))["status"] == "processing"
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.ack_discovery_item($1, $2)", item, lease["lease_token"]) is True


async def _lease_seconds(conn: asyncpg.Connection, lease: asyncpg.Record) -> float:
    seconds: float = await conn.fetchval(
        "select extract(epoch from $1::timestamptz - now())::float8", lease["lease_expires_at"]
    )
    return seconds


async def test_ack_after_lease_expiry_is_a_no_op_and_the_item_is_released(conn: asyncpg.Connection) -> None:
    (item,) = await _queue_items(conn, 1)
    (stale,) = await _lease(conn, 1, ttl=30)
    assert 25 <= await _lease_seconds(conn, stale) <= 30  # the lease lasts the TTL asked for
    await end_leases(conn, "marketplace_discovery_queue", [item])
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.ack_discovery_item($1, $2)", item, stale["lease_token"]) is False
    assert (await _status(conn, item))["status"] == "processing"  # not done: the ack was refused
    (again,) = await _lease(conn, 1)
    assert again["id"] == item and again["lease_token"] != stale["lease_token"]
    assert again["attempts"] == 1  # the lost lease counted as an attempt
    async with acting_as(conn, "service_role"):
        # The first worker, late, still cannot ack; the new holder can.
        assert await conn.fetchval("select public.ack_discovery_item($1, $2)", item, stale["lease_token"]) is False
        assert await conn.fetchval("select public.ack_discovery_item($1, $2)", item, again["lease_token"]) is True


async def test_five_failures_dead_letter_the_item(conn: asyncpg.Connection) -> None:
    (item,) = await _queue_items(conn, 1)
    outcomes = []
    for attempt in range(1, 6):
        (lease,) = await _lease(conn, 1)
        assert lease["id"] == item
        async with acting_as(conn, "service_role"):
            outcomes.append(
                await conn.fetchval(
                    "select public.fail_discovery_item(p_id => $1, p_token => $2, p_error => $3, "
                    "p_retry_in_seconds => 0)",
                    item,
                    lease["lease_token"],
                    f"boom {attempt}",
                )
            )
    assert outcomes == ["queued"] * 4 + ["error"]
    state = await _status(conn, item)
    assert (state["status"], state["attempts"], state["last_error"]) == ("error", 5, "boom 5")
    dead = await conn.fetchrow(
        "select * from public.vw_dead_letter_queue where source = 'marketplace_discovery_queue' and id = $1", item
    )
    assert dead is not None and dead["attempts"] == 5 and dead["last_error"] == "boom 5"
    assert item not in await _would_lease(conn, 100)


async def test_failure_backs_off_before_the_item_is_leasable_again(conn: asyncpg.Connection) -> None:
    (item,) = await _queue_items(conn, 1)
    (lease,) = await _lease(conn, 1)
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.fail_discovery_item($1, $2, 'slow')", item, lease["lease_token"])
    delay = await conn.fetchval(
        "select extract(epoch from available_at - now()) from public.marketplace_discovery_queue where id = $1", item
    )
    assert 9 <= delay <= 11  # 2^1 * 5 s after the first failure
    assert item not in await _would_lease(conn, 100)
    await conn.execute("update public.marketplace_discovery_queue set available_at = now() where id = $1", item)
    assert item in await _would_lease(conn, 100)  # the backoff, and only it, held the item back


async def test_expired_leases_dead_letter_a_poison_item_that_kills_its_worker(conn: asyncpg.Connection) -> None:
    (item,) = await _queue_items(conn, 1)
    await conn.execute("update public.marketplace_discovery_queue set attempts = 4 where id = $1", item)
    (lease,) = await _lease(conn, 1)
    assert lease["id"] == item
    assert item not in await _would_lease(conn, 100)  # a live lease holds it
    await end_leases(conn, "marketplace_discovery_queue", [item])
    assert item not in await _would_lease(conn, 100)  # reaped instead of handed out a 6th time
    probe = conn.transaction()
    await probe.start()
    try:
        await _lease(conn, 1)
        state = await _status(conn, item)
    finally:
        await probe.rollback()
    assert (state["status"], state["attempts"]) == ("error", 5)
    assert "lease expired" in state["last_error"]


async def test_concurrent_workers_never_lease_the_same_item(db_dsn: str, conn: asyncpg.Connection) -> None:
    items = await _queue_items(conn, 20)
    workers = [await asyncpg.connect(db_dsn) for _ in range(4)]
    try:

        async def lease_five(worker: asyncpg.Connection) -> list[int]:
            async with acting_as(worker, "service_role"):
                rows = await worker.fetch("select id from public.lease_discovery_items(5, 60)")
            return [row["id"] for row in rows]

        batches = await asyncio.gather(*(lease_five(worker) for worker in workers))
    finally:
        for worker in workers:
            await worker.close()
    leased = [item for batch in batches for item in batch]
    assert len(leased) == len(set(leased)) == 20
    assert set(leased) == set(items)


async def test_queue_rpcs_are_for_service_role_only(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for function"):
        async with acting_as(conn, "authenticated", uuid.uuid4()):
            await conn.fetch("select * from public.lease_discovery_items(1, 60)")
