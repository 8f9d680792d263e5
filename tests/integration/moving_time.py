"""Time moved in the database instead of waited for: a lease ends, a key or a window expires, now.

Each function moves the one timestamp the platform's SQL compares with `now()` /
`clock_timestamp()` into the past, which is what waiting out the TTL would have done, without
the wait (and without the flakiness of a sleep racing a 1 s TTL on a loaded machine). Each
checks that it changed a row, so a renamed column or a wrong id fails here, not as a test that
silently proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

import asyncpg

# The leased queues (platform/migrations/050_queues.sql, 040_marketplace.sql): each has lease_expires_at.
QueueTable = Literal["marketplace_discovery_queue", "events_queue", "worker_jobs"]


async def end_leases(conn: asyncpg.Connection, table: QueueTable, item_ids: Iterable[int]) -> None:
    """The leases on these items have run out: each one's end moves a second into the past."""
    assert table in get_args(QueueTable), table
    ids = list(item_ids)
    status = await conn.execute(
        f"update public.{table} set lease_expires_at = now() - interval '1 second' "
        "where id = any($1::bigint[]) and lease_expires_at is not null",
        ids,
    )
    assert status == f"UPDATE {len(ids)}", f"{table}: {status} for leases {ids} (is each item leased?)"


async def expire_idempotency_key(conn: asyncpg.Connection, key: str, scope: str = "global") -> None:
    """The idempotency key's TTL has run out."""
    status = await conn.execute(
        "update public.idempotency_registry set expires_at = now() - interval '1 second' where scope = $1 and key = $2",
        scope,
        key,
    )
    assert status == "UPDATE 1", f"idempotency key {scope}/{key}: {status}"


async def end_rate_window(conn: asyncpg.Connection, bucket: str) -> None:
    """The fixed rate-limit window of `bucket` is over (bump_rate starts a new one)."""
    status = await conn.execute(
        "update public.rate_limits set expires_at = clock_timestamp() - interval '1 second' where bucket = $1", bucket
    )
    assert status == "UPDATE 1", f"rate-limit bucket {bucket}: {status}"


async def age_token_bucket(conn: asyncpg.Connection, scope: str, subject: str, seconds: float) -> None:
    """`seconds` pass for a token bucket: it refills as if its last take were that much longer ago."""
    status = await conn.execute(
        "update public.rate_limit_counters set updated_at = updated_at - make_interval(secs => $3) "
        "where scope = $1 and subject = $2",
        scope,
        subject,
        seconds,
    )
    assert status == "UPDATE 1", f"token bucket {scope}/{subject}: {status}"
