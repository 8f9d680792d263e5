"""Events queue, worker jobs (backoff 60/120/240 s, DLQ after 3 retries) and the idempotency registry.

Each test uses its own event topic or job kind, so it leases or claims only its own work.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as, make_user
from tests.integration.moving_time import end_leases, expire_idempotency_key

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


async def test_enqueue_event_is_idempotent_on_topic_and_key(conn: asyncpg.Connection) -> None:
    topic = _name("test")
    async with acting_as(conn, "service_role"):
        first = await conn.fetchrow("select * from public.enqueue_event($1, 'k', '{\"n\": 1}')", topic)
        again = await conn.fetchrow("select * from public.enqueue_event($1, 'k', '{\"n\": 2}')", topic)
        other = await conn.fetchrow("select * from public.enqueue_event($1, 'k2')", topic)
    assert first is not None and again is not None and other is not None
    assert (first["created"], again["created"], again["id"]) == (True, False, first["id"])
    assert other["created"] and other["id"] != first["id"]
    payload = await conn.fetchval("select payload from public.events_queue where id = $1", first["id"])
    assert json.loads(payload) == {"n": 1}  # the duplicate changed nothing


async def test_events_lease_ack_fail_and_dead_letter(conn: asyncpg.Connection) -> None:
    topic = _name("test")
    async with acting_as(conn, "service_role"):
        done_id = (await conn.fetchrow("select * from public.enqueue_event($1, 'ok')", topic))["id"]
        poison_id = (await conn.fetchrow("select * from public.enqueue_event($1, 'poison')", topic))["id"]
        leased = {row["key"]: row for row in await conn.fetch("select * from public.lease_events($1, 10, 60)", topic)}
        assert set(leased) == {"ok", "poison"}
        assert await conn.fetchval("select public.ack_event($1, $2)", done_id, leased["ok"]["lease_token"])
        token = leased["poison"]["lease_token"]
    outcomes = []
    for attempt in range(5):
        async with acting_as(conn, "service_role"):
            outcomes.append(
                await conn.fetchval("select public.fail_event($1, $2, $3, 0)", poison_id, token, f"bad {attempt}")
            )
            rows = await conn.fetch("select * from public.lease_events($1, 10, 60)", topic)
        token = rows[0]["lease_token"] if rows else None
    assert outcomes == ["queued"] * 4 + ["error"] and token is None
    assert await conn.fetchval("select status from public.events_queue where id = $1", done_id) == "done"
    assert (
        await conn.fetchval(
            "select count(*) from public.vw_dead_letter_queue where source = 'events_queue' and id = $1", poison_id
        )
        == 1
    )
    health = await conn.fetch("select * from public.vw_events_queue_health where topic = $1", topic)
    assert {(row["status"], row["ct"]) for row in health} == {("done", 1), ("error", 1)}


async def test_event_ack_after_lease_expiry_is_a_no_op(conn: asyncpg.Connection) -> None:
    topic = _name("test")
    async with acting_as(conn, "service_role"):
        event = (await conn.fetchrow("select * from public.enqueue_event($1, 'k')", topic))["id"]
        (stale,) = await conn.fetch("select * from public.lease_events($1, 1, 60)", topic)
        assert await conn.fetch("select * from public.lease_events($1, 1, 60)", topic) == []  # a live lease holds it
    await end_leases(conn, "events_queue", [event])
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.ack_event($1, $2)", event, stale["lease_token"]) is False
        (again,) = await conn.fetch("select * from public.lease_events($1, 1, 60)", topic)
        assert again["id"] == event and again["attempts"] == 1
        assert await conn.fetchval("select public.ack_event($1, $2)", event, again["lease_token"]) is True


async def _enqueue_job(conn: asyncpg.Connection, kind: str, key: str | None = None) -> asyncpg.Record:
    async with acting_as(conn, "service_role"):
        row = await conn.fetchrow(
            "select * from public.worker_enqueue_job(p_kind => $1, p_payload => '{\"x\": 1}', p_idempotency_key => $2)",
            kind,
            key,
        )
    assert row is not None
    return row


async def _claim(conn: asyncpg.Connection, kind: str, lease_seconds: int = 300) -> asyncpg.Record | None:
    async with acting_as(conn, "service_role"):
        return await conn.fetchrow(
            "select * from public.worker_claim_job(p_worker_id => 'test-worker', p_kinds => $1, p_lease_seconds => $2)",
            [kind],
            lease_seconds,
        )


async def test_worker_job_backs_off_60_120_240_then_dead_letters_with_reason(conn: asyncpg.Connection) -> None:
    kind = _name("test")
    job = (await _enqueue_job(conn, kind))["id"]
    delays = []
    for attempt in range(4):
        claimed = await _claim(conn, kind)
        assert claimed is not None and claimed["id"] == job and claimed["attempts"] == attempt
        async with acting_as(conn, "service_role"):
            outcome = await conn.fetchval(
                "select public.worker_fail_job(p_id => $1, p_token => $2, p_error => $3)",
                job,
                claimed["lease_token"],
                f"poison {attempt}",
            )
        row = await conn.fetchrow(
            "select status, attempts, extract(epoch from run_at - now())::float8 as delay "
            "from public.worker_jobs where id = $1",
            job,
        )
        assert row is not None
        if attempt < 3:
            assert outcome == "pending" and row["status"] == "pending" and row["attempts"] == attempt + 1
            delays.append(round(row["delay"]))
            assert await _claim(conn, kind) is None  # not claimable during the backoff
            await conn.execute("update public.worker_jobs set run_at = now() where id = $1", job)  # time passes
        else:
            # attempts counts the failures (the kernel's word), the dead letter the retries spent
            assert outcome == "dlq" and row["status"] == "dlq" and row["attempts"] == 4
    assert delays == [60, 120, 240]
    dead = await conn.fetchrow("select * from public.dead_letter_queue where job_id = $1", job)
    assert dead is not None and dead["attempts"] == 3 and dead["kind"] == kind
    assert "poison 3" in dead["reason"] and "3 retries" in dead["reason"]
    assert json.loads(dead["payload"]) == {"x": 1}
    assert (
        await conn.fetchval(
            "select count(*) from public.vw_dead_letter_queue where source = 'worker_jobs' and id = $1", dead["id"]
        )
        == 1
    )


async def test_worker_job_complete_needs_the_live_lease(conn: asyncpg.Connection) -> None:
    kind = _name("test")
    job = (await _enqueue_job(conn, kind))["id"]
    stale = await _claim(conn, kind, lease_seconds=60)
    assert stale is not None
    assert await _claim(conn, kind) is None  # a live lease holds it
    await end_leases(conn, "worker_jobs", [job])
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.worker_complete_job($1, $2)", job, stale["lease_token"]) is False
    again = await _claim(conn, kind)  # the lost lease counts as a failure: backoff first
    assert again is None
    assert await conn.fetchval("select attempts from public.worker_jobs where id = $1", job) == 1
    await conn.execute("update public.worker_jobs set run_at = now() where id = $1", job)
    again = await _claim(conn, kind)
    assert again is not None
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval(
            "select public.worker_complete_job($1, $2, '{\"ok\": true}')", job, again["lease_token"]
        )
    assert await conn.fetchval("select status from public.worker_jobs where id = $1", job) == "completed"


async def test_worker_enqueue_is_idempotent_by_key(conn: asyncpg.Connection) -> None:
    kind = _name("test")
    key = f"webhook-{uuid.uuid4()}"
    results = [await _enqueue_job(conn, kind, key) for _ in range(10)]
    assert [row["created"] for row in results] == [True] + [False] * 9
    assert len({row["id"] for row in results}) == 1
    assert await conn.fetchval("select count(*) from public.worker_jobs where kind = $1", kind) == 1


async def test_admin_retries_a_dead_letter(conn: asyncpg.Connection) -> None:
    kind = _name("test")
    job = (await _enqueue_job(conn, kind))["id"]
    await conn.execute("update public.worker_jobs set max_attempts = 0 where id = $1", job)
    claimed = await _claim(conn, kind)
    assert claimed is not None
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.worker_fail_job($1, $2, 'x')", job, claimed["lease_token"]) == "dlq"
    dead = await conn.fetchval("select id from public.dead_letter_queue where job_id = $1", job)
    user, admin = await make_user(conn), await make_user(conn)
    await conn.execute("insert into public.user_roles values ($1, 'admin')", admin)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only admins"):
        async with acting_as(conn, "authenticated", user):
            await conn.fetchval("select public.worker_retry_dead_letter($1)", dead)
    async with acting_as(conn, "authenticated", admin):
        assert await conn.fetchval("select public.worker_retry_dead_letter(p_dead_letter_id => $1)", dead) == job
    assert await conn.fetchval("select status from public.worker_jobs where id = $1", job) == "pending"
    assert await conn.fetchval("select resolution from public.dead_letter_queue where id = $1", dead) == "retried"


async def test_idempotency_registry_records_once_and_expires(conn: asyncpg.Connection) -> None:
    key = f"evt-{uuid.uuid4()}"
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.check_idempotency(p_key => $1)", key) is False
        assert await conn.fetchval("select public.record_idempotency(p_key => $1, p_ttl_seconds => 60)", key)
        assert await conn.fetchval("select public.record_idempotency(p_key => $1, p_ttl_seconds => 60)", key) is False
        assert await conn.fetchval("select public.check_idempotency(p_key => $1)", key) is True
        assert await conn.fetchval("select public.check_idempotency(p_key => $1, p_scope => 'other')", key) is False
    ttl = await conn.fetchval(
        "select extract(epoch from expires_at - created_at) from public.idempotency_registry where key = $1", key
    )
    assert round(ttl) == 60
    await expire_idempotency_key(conn, key)
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.check_idempotency($1)", key) is False
        assert await conn.fetchval("select public.record_idempotency($1)", key) is True  # expired: claimable again
    expires = await conn.fetchval(
        "select extract(epoch from expires_at - created_at) from public.idempotency_registry where key = $1", key
    )
    assert round(expires) == 24 * 3600  # the default TTL


async def test_record_idempotency_lets_exactly_one_of_many_concurrent_callers_win(db_dsn: str) -> None:
    key = f"race-{uuid.uuid4()}"
    callers = [await asyncpg.connect(db_dsn) for _ in range(8)]
    try:

        async def record(caller: asyncpg.Connection) -> bool:
            async with acting_as(caller, "service_role"):
                won: bool = await caller.fetchval("select public.record_idempotency($1)", key)
            return won

        results = await asyncio.gather(*(record(caller) for caller in callers))
    finally:
        for caller in callers:
            await caller.close()
    assert sorted(results) == [False] * 7 + [True]
