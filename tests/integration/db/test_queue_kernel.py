"""The queue kernel (migration 125): one retry policy per queue, read by the decision, the RPCs and the workers.

Tests that change a policy do it inside a transaction they roll back, so other tests sharing the
database never see it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from gauntlet.platform.workers.retry import load_retry_policy
from tests.integration.moving_time import end_leases

pytestmark = pytest.mark.integration


@asynccontextmanager
async def _rolled_back(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """A service_role transaction that is always rolled back (policy changes stay private to the test)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute("set local role service_role")
        yield conn
    finally:
        await transaction.rollback()


async def _retry_in_s(conn: asyncpg.Connection, table: str, item: int, column: str = "available_at") -> float:
    assert column in ("available_at", "run_at")
    return float(
        await conn.fetchval(f"select extract(epoch from {column} - now()) from public.{table} where id = $1", item)
    )


async def test_each_queue_publishes_its_schedule_and_the_worker_reads_it(conn: asyncpg.Connection) -> None:
    async with _rolled_back(conn):
        schedules = {
            table: [r["retry_in_s"] for r in await conn.fetch("select * from public.queue_retry_schedule($1)", table)]
            for table in ("events_queue", "marketplace_discovery_queue", "worker_jobs")
        }
        events = await load_retry_policy(conn, "events_queue")
    assert schedules == {
        "events_queue": [10, 20, 40, 80, None],
        "marketplace_discovery_queue": [10, 20, 40, 80, None],
        "worker_jobs": [60, 120, 240, None],
    }
    assert events.retry_in_s == (10, 20, 40, 80) and events.dead_letter_failure == 5


async def test_changing_a_policy_changes_the_decision_of_the_rpcs_and_what_the_worker_reads(
    conn: asyncpg.Connection,
) -> None:
    topic = f"test.kernel.{uuid.uuid4().hex[:12]}"
    async with _rolled_back(conn):
        await conn.execute(
            "update public.queue_policy set max_retries = 1, backoff_first_s = 7 where queue = 'events_queue'::regclass"
        )
        event = (await conn.fetchrow("select * from public.enqueue_event($1, 'k')", topic))["id"]
        (leased,) = await conn.fetch("select * from public.lease_events($1, 1, 60)", topic)
        first = await conn.fetchval("select public.fail_event($1, $2, 'one')", event, leased["lease_token"])
        waited = await _retry_in_s(conn, "events_queue", event)
        await conn.execute("update public.events_queue set available_at = now() where id = $1", event)
        (again,) = await conn.fetch("select * from public.lease_events($1, 1, 60)", topic)
        second = await conn.fetchval("select public.fail_event($1, $2, 'two')", event, again["lease_token"])
        policy = await load_retry_policy(conn, "events_queue")
        # Jobs take their decision from their own row of the same table.
        await conn.execute("update public.queue_policy set backoff_first_s = 5 where queue = 'worker_jobs'::regclass")
        (job,) = await conn.fetch("select * from public.worker_enqueue_job($1)", topic)
        (claim,) = await conn.fetch("select * from public.worker_claim_job('kernel-test', array[$1])", topic)
        job_outcome = await conn.fetchval("select public.worker_fail_job($1, $2, 'x')", job["id"], claim["lease_token"])
        job_waited = await _retry_in_s(conn, "worker_jobs", job["id"], "run_at")
    assert (first, second) == ("queued", "error")
    assert abs(waited - 7) < 1
    assert policy.retry_in_s == (7,) and policy.dead_letters(2)
    assert claim["max_attempts"] == 3  # a job without its own max_attempts reports the policy's
    assert job_outcome == "pending" and abs(job_waited - 5) < 1


async def test_a_caller_given_wait_overrides_only_the_wait(conn: asyncpg.Connection) -> None:
    topic = f"test.kernel.{uuid.uuid4().hex[:12]}"
    async with _rolled_back(conn):
        await conn.execute("update public.queue_policy set max_retries = 0 where queue = 'events_queue'::regclass")
        event = (await conn.fetchrow("select * from public.enqueue_event($1, 'k')", topic))["id"]
        (leased,) = await conn.fetch("select * from public.lease_events($1, 1, 60)", topic)
        outcome = await conn.fetchval("select public.fail_event($1, $2, 'x', 0)", event, leased["lease_token"])
    assert outcome == "error"  # retrying "at once" does not buy a retry the policy does not allow


async def test_release_gives_an_item_back_without_an_attempt_on_both_queues(conn: asyncpg.Connection) -> None:
    topic = f"test.kernel.{uuid.uuid4().hex[:12]}"
    async with _rolled_back(conn):
        event = (await conn.fetchrow("select * from public.enqueue_event($1, 'k')", topic))["id"]
        (leased,) = await conn.fetch("select * from public.lease_events($1, 1, 60)", topic)
        released = await conn.fetchval("select public.release_event($1, $2)", event, leased["lease_token"])
        twice = await conn.fetchval("select public.release_event($1, $2)", event, leased["lease_token"])
        erow = await conn.fetchrow("select status, attempts from public.events_queue where id = $1", event)
        item = await conn.fetchval(
            "insert into public.marketplace_discovery_queue (interest_id, category_id, reason, priority) "
            "select m.interest_id, m.category_id, $1, 2000000000 from public.marketplace_interest_map m limit 1 "
            "returning id",
            topic[-40:],
        )
        rows = await conn.fetch("select * from public.lease_discovery_items(5, 60)")
        mine = next(r for r in rows if r["id"] == item)
        held = await conn.fetchval("select status from public.marketplace_discovery_queue where id = $1", item)
        given_back = await conn.fetchval("select public.release_discovery_item($1, $2)", item, mine["lease_token"])
        drow = await conn.fetchrow(
            "select status, attempts from public.marketplace_discovery_queue where id = $1", item
        )
    assert (released, twice, erow["status"], erow["attempts"]) == (True, False, "queued", 0)
    assert held == "processing"  # seed 000's word for the discovery queue's leased state
    assert (given_back, drow["status"], drow["attempts"]) == (True, "queued", 0)


async def test_a_table_without_a_policy_is_refused(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="no queue_policy row"):
        async with _rolled_back(conn):
            await conn.fetchval("select public.queue_retry_delay('public.profiles', 1)")


async def test_a_lost_lease_is_a_failure_retried_as_the_policy_says(conn: asyncpg.Connection) -> None:
    topic = f"test.kernel.{uuid.uuid4().hex[:12]}"
    async with _rolled_back(conn):
        # Events: retried at once, in the place it had (before an event queued after it).
        first = (await conn.fetchrow("select * from public.enqueue_event($1, 'a')", topic))["id"]
        await conn.execute(
            "update public.events_queue set available_at = now() - interval '1 minute' where id = $1", first
        )
        await conn.fetchrow("select * from public.lease_events($1, 1, 60)", topic)
        later = (await conn.fetchrow("select * from public.enqueue_event($1, 'b')", topic))["id"]
        await conn.execute("update public.events_queue set available_at = now() - interval '30 s' where id = $1", later)
        await end_leases(conn, "events_queue", [first])
        (again,) = await conn.fetch("select * from public.lease_events($1, 1, 60)", topic)
        # Jobs: the backoff first, and a job that loses the lease of its last retry is dead-lettered.
        (job,) = await conn.fetch("select * from public.worker_enqueue_job($1, p_max_attempts => 1)", topic)
        await conn.fetch("select * from public.worker_claim_job('kernel-test', array[$1])", topic)
        await end_leases(conn, "worker_jobs", [job["id"]])
        after_first = await conn.fetch("select * from public.worker_claim_job('kernel-test', array[$1])", topic)
        waited = await _retry_in_s(conn, "worker_jobs", job["id"], "run_at")
        await conn.execute("update public.worker_jobs set run_at = now() where id = $1", job["id"])
        await conn.fetch("select * from public.worker_claim_job('kernel-test', array[$1])", topic)
        await end_leases(conn, "worker_jobs", [job["id"]])
        after_last = await conn.fetch("select * from public.worker_claim_job('kernel-test', array[$1])", topic)
        jrow = await conn.fetchrow(
            "select status, attempts, last_error from public.worker_jobs where id = $1", job["id"]
        )
        letters = await conn.fetch("select reason, attempts from public.dead_letter_queue where job_id = $1", job["id"])
    assert (again["id"], again["attempts"]) == (first, 1)
    assert after_first == [] and abs(waited - 60) < 1
    assert after_last == [] and (jrow["status"], jrow["attempts"]) == ("dlq", 2)
    assert [(r["reason"], r["attempts"]) for r in letters] == [
        ("gave up after 1 retries: lease expired (worker lost)", 1)
    ]


async def test_each_queue_has_its_own_lease_limit(conn: asyncpg.Connection) -> None:
    topic = f"test.kernel.{uuid.uuid4().hex[:12]}"
    async with _rolled_back(conn):
        await conn.fetch("select * from public.worker_enqueue_job($1)", topic)
        (claim,) = await conn.fetch("select * from public.worker_claim_job('kernel-test', array[$1], 7200)", topic)
    assert claim["lease_expires_at"] is not None
    with pytest.raises(asyncpg.InvalidParameterValueError, match="between 1 and 3600 seconds"):
        async with _rolled_back(conn):
            await conn.fetch("select * from public.lease_events($1, 1, 7200)", topic)
