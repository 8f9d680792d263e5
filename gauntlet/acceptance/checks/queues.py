"""Queues and workers (seeds 000 Phase 7 "Chaos & Recovery Tests", 003 Task 11 "Idempotency + DLQ").

Three queues: the discovery queue (lease/ack/fail, dead-lettered after 5 failures),
the events queue (same lease semantics, keyed UNIQUE (topic, key)) and worker jobs
(claim/complete/fail, backoff 60/120/240 s, dead-lettered after 3 retries).

The platform's own workers run meanwhile, so every check uses rows of its own:
events on a topic of this run (the workers only lease their own topics), worker
jobs of a kind of this run (no platform worker claims arbitrary kinds), and
discovery items with a reason of this run whose `available_at` is kept in the
future except inside the one transaction that leases them (the workers' leases
skip rows that transaction holds). Leasing, acking and failing go through the
service-role RPCs; the direct DSN only queues rows the surface cannot queue
(`enqueue_event` is not exposed), moves time (a lease's expiry, a backoff) and
reads what the surface does not show (run_at, the dead letter rows).

Dead letters are kept and can be retried: a retried dead-lettered job starts again with its
failures at 0 (its retries and backoff again), and the queue GC (gc_finished_queue_items) forgets
finished work older than 7 days but keeps dead letters of that age (the check's own rows, inserted
already aged: the touch trigger rewrites updated_at on update, not on insert).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from gauntlet.acceptance.registry import check, expect, fail
from gauntlet.acceptance.surface import Surface

PHASE7 = "000 Phase 7 Chaos & Recovery Tests"
TASK11 = "003 Task 11 Idempotency + Dead Letter Queue (Workers: poison job -> DLQ after 3 attempts, 60/120/240 s)"
TOP_PRIORITY = 1_000_000  # discovery items of a check are leased before anything else queued
LEASERS = 4
# Expired-lease tries before the workers are blamed for leaving nothing to observe (5 were all lost
# once, under the ci gate's load).
DISCOVERY_TRIES = 20
GC_KEEP_DAYS = 7  # gc_finished_queue_items' default retention
GC_AGE_DAYS = 8  # the age of the check's rows: past the retention


def _topic(t: Surface, tag: str) -> str:
    return f"acc.{t.run_id}.{tag}"


async def _queue_events(conn: asyncpg.Connection, topic: str, count: int) -> list[int]:
    rows = await conn.fetch(
        "insert into public.events_queue (topic, key, payload) "
        "select $1, 'k' || g, jsonb_build_object('n', g) from generate_series(1, $2) g returning id",
        topic,
        count,
    )
    return sorted(int(r["id"]) for r in rows)


async def _queue_discovery(
    conn: asyncpg.Connection, reason: str, count: int, priority: int = TOP_PRIORITY
) -> list[int]:
    """`count` discovery items of this check, not leasable (available in an hour) until `_lease_discovery`."""
    rows = await conn.fetch(
        """
        insert into public.marketplace_discovery_queue (interest_id, category_id, reason, priority, available_at)
        select m.interest_id, m.category_id, $1 || '#' || g, $2, now() + interval '1 hour'
          from generate_series(1, 20) g cross join public.marketplace_interest_map m
         order by g, 1, 2 limit $3
        returning id
        """,
        reason,
        priority,
        count,
    )
    ids = sorted(int(r["id"]) for r in rows)
    if len(ids) < count:
        fail(f"could queue only {len(ids)} discovery items (marketplace_interest_map is nearly empty); need {count}")
    return ids


async def _lease_discovery(conn: asyncpg.Connection, item: int, *, expire: bool = False) -> dict[str, Any] | None:
    """Make `item` ready (or, with `expire`, its lease expired) and lease it in one transaction.

    The platform's workers cannot take it in between: the transaction holds the row. The item is
    first raised above every other item's priority, so a lease of one hands out exactly it: other
    checks' ready or expired items (running concurrently) can neither come first nor be taken.
    Concurrent calls take turns (a transaction-scoped advisory lock): two of them reading the same
    highest priority would tie, and the older ready item of the other would be handed out first.

    Calls lease_discovery_items as the service role, as the RPC surface would. Returns the lease
    of `item`, or None when it was not handed out (anything else handed out is given back).
    """
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext('gauntlet.acceptance.lease_discovery'))")
        await conn.execute(
            "update public.marketplace_discovery_queue "
            "set priority = (select max(priority) + 1 from public.marketplace_discovery_queue) where id = $1",
            item,
        )
        await conn.execute(
            "update public.marketplace_discovery_queue set available_at = now() where id = $1 and status = 'queued'",
            item,
        )
        if expire:
            await _expire(conn, "marketplace_discovery_queue", item)
        await conn.execute("set local role service_role")
        rows = await conn.fetch("select * from public.lease_discovery_items(p_limit => 1, p_ttl_seconds => 120)")
    mine = None
    for row in rows:
        if row["id"] == item:
            mine = dict(row)
        else:
            await conn.fetchval("select public.release_discovery_item($1, $2)", row["id"], row["lease_token"])
    return mine


async def _expire(conn: asyncpg.Connection, table: str, item: int) -> None:
    """Move a lease's expiry into the past (what a crashed worker's lease looks like after its TTL)."""
    assert table in ("events_queue", "marketplace_discovery_queue", "worker_jobs")
    await conn.execute(f"update public.{table} set lease_expires_at = now() - interval '1 second' where id = $1", item)


async def _row(conn: asyncpg.Connection, table: str, item: int) -> dict[str, Any]:
    assert table in ("events_queue", "marketplace_discovery_queue", "worker_jobs")
    row = await conn.fetchrow(f"select * from public.{table} where id = $1", item)
    if row is None:
        fail(f"{table} row {item} disappeared during the check")
    return dict(row)


async def _lease_events(t: Surface, topic: str, limit: int = 10) -> list[dict[str, Any]]:
    rows = await t.rpc_ok("lease_events", {"p_topic": topic, "p_limit": limit, "p_ttl_seconds": 120}, as_="service")
    expect(isinstance(rows, list), f"lease_events returned {rows!r}; expected a list of leased events")
    return list(rows)


async def _claim(t: Surface, kind: str, worker: str = "acceptance") -> dict[str, Any] | None:
    rows = await t.rpc_ok(
        "worker_claim_job", {"p_worker_id": worker, "p_kinds": [kind], "p_lease_seconds": 300}, as_="service"
    )
    expect(isinstance(rows, list), f"worker_claim_job returned {rows!r}; expected a list of 0 or 1 job")
    return dict(rows[0]) if rows else None


async def _cleanup(conn: asyncpg.Connection, *, topic: str = "", kind: str = "", reason: str = "") -> None:
    if topic:
        await conn.execute("delete from public.events_queue where topic = $1", topic)
    if kind:
        await conn.execute(
            "delete from public.dead_letter_queue where job_id in (select id from public.worker_jobs where kind = $1)",
            kind,
        )
        await conn.execute("delete from public.worker_jobs where kind = $1", kind)
    if reason:
        await conn.execute(
            "delete from public.marketplace_discovery_queue where split_part(reason, '#', 1) = $1", reason
        )


# -- duplicate enqueue -------------------------------------------------------------------------------


@check(
    "queues.duplicate_enqueue_rejected",
    title="enqueueing the same event (topic, key), worker job (idempotency key) or discovery item twice "
    "creates one row: the second enqueue reports the existing row",
    seeds=f"{PHASE7} #2 (duplicate queue insertion rejected by UNIQUE); {TASK11}",
    needs=("dsn",),
)
async def duplicate_enqueue_rejected(t: Surface) -> None:
    topic, kind = _topic(t, "dup"), _topic(t, "dup-job")
    async with t.db() as conn:
        try:
            # Events: enqueue_event is not on the RPC surface; the workers call it as the service role.
            first = await conn.fetchrow("select * from public.enqueue_event($1, 'same-key', '{}'::jsonb)", topic)
            second = await conn.fetchrow("select * from public.enqueue_event($1, 'same-key', '{}'::jsonb)", topic)
            count = await conn.fetchval("select count(*) from public.events_queue where topic = $1", topic)
            expect(
                first is not None and second is not None and first["created"] and not second["created"],
                f"enqueue_event({topic!r}, 'same-key') twice answered {dict(first or {})} then {dict(second or {})}; "
                "expected created = true then false (UNIQUE (topic, key))",
            )
            assert first is not None and second is not None
            expect(
                second["id"] == first["id"] and count == 1,
                f"enqueue_event twice with the same (topic, key) left {count} rows (ids {first['id']}, "
                f"{second['id']}); expected one row, the second call naming the first",
            )
            # Worker jobs, through the RPC surface.
            args = {"p_kind": kind, "p_idempotency_key": f"acc-{t.run_id}-dup", "p_run_at": "2999-01-01T00:00:00Z"}
            one = await t.rpc_ok("worker_enqueue_job", args, as_="service")
            two = await t.rpc_ok("worker_enqueue_job", args, as_="service")
            jobs = await conn.fetchval("select count(*) from public.worker_jobs where kind = $1", kind)
            expect(
                len(one) == 1
                and len(two) == 1
                and one[0]["created"] is True
                and two[0]["created"] is False
                and one[0]["id"] == two[0]["id"]
                and jobs == 1,
                f"worker_enqueue_job twice with one idempotency key answered {one} then {two} and left {jobs} "
                "jobs; expected created = true then false, the same id, one job (enqueueing is idempotent)",
            )
            # Discovery items: enqueue_discovery_for_user twice for a user with 3 interests.
            user = await t.signup("dup-discovery")
            catalog = await t.rpc_ok("interest_catalog_browse", {"p_limit": 3}, as_=user)
            for row in catalog[:3]:
                await t.rpc_ok("user_interests_upsert", {"p_interest_id": row["id"], "p_affinity": 0.6}, as_=user)
            await t.rpc_ok("enqueue_discovery_for_user", {"p_user_id": user.id}, as_="service")
            again = await t.rpc_ok("enqueue_discovery_for_user", {"p_user_id": user.id}, as_="service")
            items = await conn.fetchval(
                "select count(*) - count(distinct (interest_id, category_id, reason)) "
                "from public.marketplace_discovery_queue where user_id = $1",
                uuid.UUID(user.id),
            )
            expect(
                again == 0 and items == 0,
                f"a second enqueue_discovery_for_user for the same user queued {again} more item(s) "
                f"({items} duplicate (interest, category, reason) rows); expected 0 "
                "(UNIQUE (interest_id, category_id, reason))",
            )
        finally:
            await _cleanup(conn, topic=topic, kind=kind)


# -- expired leases ---------------------------------------------------------------------------------


@check(
    "queues.expired_lease_cannot_ack_or_fail",
    title="once a lease has expired its holder can neither ack nor fail the item (a no-op), "
    "and the item is leased again with a new token",
    seeds=f"{PHASE7} #3 (expired lease ack attempt -> no-op)",
    needs=("dsn",),
)
async def expired_lease_cannot_ack_or_fail(t: Surface) -> None:
    topic, kind, reason = _topic(t, "expired"), _topic(t, "expired-job"), f"acc-{t.run_id}-expired"
    async with t.db() as conn:
        try:
            # Events.
            (event,) = await _queue_events(conn, topic, 1)
            (stale,) = await _lease_events(t, topic, 1)
            await _expire(conn, "events_queue", event)
            acked = await t.rpc_ok("ack_event", {"p_id": event, "p_token": stale["lease_token"]}, as_="service")
            failed = await t.rpc_ok(
                "fail_event", {"p_id": event, "p_token": stale["lease_token"], "p_error": "late"}, as_="service"
            )
            row = await _row(conn, "events_queue", event)
            expect(
                acked is False and failed is None and row["status"] == "leased" and row["attempts"] == 0,
                f"after event {event}'s lease expired, ack_event answered {acked!r} and fail_event {failed!r}, and "
                f"the row is {row['status']} with {row['attempts']} attempts; expected false, null and the row "
                "untouched (the lease guard makes a late ack or fail a no-op)",
            )
            again = await _lease_events(t, topic, 1)
            expect(
                [r["id"] for r in again] == [event] and again[0]["lease_token"] != stale["lease_token"],
                f"leasing topic {topic} after the expiry handed out {again}; expected event {event} with a new token",
            )
            # Discovery items. The stack's discovery workers reclaim expired leases too: when one took
            # the item between the expiry and the late calls, the stale token no longer matches even on a
            # broken platform, so that try proves nothing and is repeated with a fresh item.
            for item in await _queue_discovery(conn, reason, DISCOVERY_TRIES):
                lease = await _lease_discovery(conn, item)
                if lease is None:
                    fail(f"lease_discovery_items did not hand out ready top-priority discovery item {item}")
                await _expire(conn, "marketplace_discovery_queue", item)
                token = str(lease["lease_token"])
                acked = await t.rpc_ok("ack_discovery_item", {"p_id": item, "p_token": token}, as_="service")
                failed = await t.rpc_ok(
                    "fail_discovery_item", {"p_id": item, "p_token": token, "p_error": "late"}, as_="service"
                )
                drow = await _row(conn, "marketplace_discovery_queue", item)
                if str(drow["lease_token"]) == token or drow["last_error"] == "late" or drow["status"] == "done":
                    break  # the stale lease was still current when acked and failed: a real observation
            else:
                fail(
                    f"the stack's discovery workers re-leased every one of {DISCOVERY_TRIES} expired test items "
                    "before the late ack/fail reached them: nothing was observed"
                )
            # What must not be seen is this stale lease's ack (done, 0 attempts) or fail ('late').
            expect(
                acked is False
                and failed is None
                and not (drow["status"] == "done" and drow["attempts"] == 0)
                and drow["last_error"] != "late",
                f"after discovery item {item}'s lease expired, ack_discovery_item answered {acked!r} and "
                f"fail_discovery_item {failed!r}, and the row is {drow['status']} with {drow['attempts']} attempts "
                f"(last error {drow['last_error']!r}); expected false, null and the row untouched by them",
            )
            await _cleanup(conn, reason=reason)  # an expired top-priority item would be leased first elsewhere
            # Worker jobs.
            (job,) = await t.rpc_ok("worker_enqueue_job", {"p_kind": kind}, as_="service")
            claim = await _claim(t, kind)
            if claim is None:
                fail(f"worker_claim_job for kind {kind} handed out nothing; expected job {job['id']}")
            await _expire(conn, "worker_jobs", claim["id"])
            done = await t.rpc_ok(
                "worker_complete_job", {"p_id": claim["id"], "p_token": claim["lease_token"]}, as_="service"
            )
            jfailed = await t.rpc_ok(
                "worker_fail_job",
                {"p_id": claim["id"], "p_token": claim["lease_token"], "p_error": "late"},
                as_="service",
            )
            jrow = await _row(conn, "worker_jobs", claim["id"])
            # Any claim (another check's, a worker's) may reap the expired lease as a failure meanwhile
            # ('lease expired'): legitimate. The stale holder's complete or fail ('late') must not land.
            expect(
                done is False and jfailed is None and jrow["status"] != "completed" and jrow["last_error"] != "late",
                f"after job {claim['id']}'s lease expired, worker_complete_job answered {done!r} and "
                f"worker_fail_job {jfailed!r}, and the job is {jrow['status']} (last error {jrow['last_error']!r}); "
                "expected false, null and the job untouched by them",
            )
        finally:
            await _cleanup(conn, topic=topic, kind=kind, reason=reason)


@check(
    "queues.crashed_lease_requeues_after_ttl",
    title="an item leased and never acked (a crashed worker) is not handed out again before its lease TTL, "
    "and is handed out again, as a counted attempt, after it",
    seeds=f"{PHASE7} #1 (worker crash mid-batch -> items requeue after TTL)",
    needs=("dsn",),
)
async def crashed_lease_requeues_after_ttl(t: Surface) -> None:
    topic, kind, reason = _topic(t, "crash"), _topic(t, "crash-job"), f"acc-{t.run_id}-crash"
    async with t.db() as conn:
        try:
            # Events.
            (event,) = await _queue_events(conn, topic, 1)
            await _lease_events(t, topic, 1)
            early = await _lease_events(t, topic, 10)
            expect(
                early == [],
                f"event {event} was handed out again while its first lease (120 s) was live: {early}",
            )
            await _expire(conn, "events_queue", event)
            late = await _lease_events(t, topic, 10)
            expect(
                [r["id"] for r in late] == [event] and late[0]["attempts"] == 1,
                f"after event {event}'s lease expired (its worker crashed), lease_events handed out {late}; "
                "expected the event again, with attempts = 1 (the lost lease counts)",
            )
            # Discovery items.
            (item,) = await _queue_discovery(conn, reason, 1)
            if await _lease_discovery(conn, item) is None:
                fail(f"lease_discovery_items did not hand out ready top-priority discovery item {item}")
            if await _lease_discovery(conn, item) is not None:
                fail(f"discovery item {item} was handed out again while its first lease (120 s) was live")
            again = await _lease_discovery(conn, item, expire=True)
            drow = await _row(conn, "marketplace_discovery_queue", item)
            expect(
                again is not None and drow["attempts"] == 1,
                f"after discovery item {item}'s lease expired, lease_discovery_items did not hand it out again "
                f"(or did with {drow['attempts']} attempts); expected the item again with attempts = 1",
            )
            # Worker jobs: the next claim treats the lost lease as a failure (backoff), then hands it out.
            (job,) = await t.rpc_ok("worker_enqueue_job", {"p_kind": kind}, as_="service")
            if await _claim(t, kind) is None:
                fail(f"worker_claim_job for kind {kind} handed out nothing; expected job {job['id']}")
            expect(await _claim(t, kind) is None, f"job {job['id']} was claimed twice while its lease was live")
            await _expire(conn, "worker_jobs", job["id"])
            await _claim(t, kind, "acceptance-reaper")
            jrow = await _row(conn, "worker_jobs", job["id"])
            expect(
                jrow["status"] in ("pending", "running") and jrow["attempts"] == 1,
                f"after job {job['id']}'s lease expired, a claim left it {jrow['status']} with "
                f"{jrow['attempts']} attempts; expected it back to pending as a failed attempt (attempts = 1)",
            )
            await conn.execute("update public.worker_jobs set run_at = now() where id = $1", job["id"])
            reclaimed = await _claim(t, kind)
            expect(
                reclaimed is not None and reclaimed["id"] == job["id"],
                f"job {job['id']} is not claimable after its backoff (claim answered {reclaimed})",
            )
        finally:
            await _cleanup(conn, topic=topic, kind=kind, reason=reason)


# -- dead letters -----------------------------------------------------------------------------------


async def _dead_letter(conn: asyncpg.Connection, source: str, item: int) -> dict[str, Any] | None:
    if source == "worker_jobs":
        row = await conn.fetchrow(
            "select * from public.vw_dead_letter_queue where source = $1 and (details->>'job_id')::bigint = $2",
            source,
            item,
        )
    else:
        row = await conn.fetchrow(
            "select * from public.vw_dead_letter_queue where source = $1 and id = $2", source, item
        )
    return None if row is None else dict(row)


@check(
    "queues.discovery_dead_letter_after_five_failures",
    title="a discovery item failing 4 times is queued again; its 5th failure dead-letters it "
    "(status error, in vw_dead_letter_queue)",
    seeds=f"{PHASE7} #4 (5 consecutive failures -> DLQ, status='error')",
    needs=("dsn",),
)
async def discovery_dead_letter_after_five_failures(t: Surface) -> None:
    reason = f"acc-{t.run_id}-dlq"
    async with t.db() as conn:
        try:
            (item,) = await _queue_discovery(conn, reason, 1)
            outcomes: list[Any] = []
            for attempt in range(1, 6):
                lease = await _lease_discovery(conn, item)
                if lease is None:
                    fail(f"after {attempt - 1} failure(s) ({outcomes}), discovery item {item} is not leasable")
                outcomes.append(
                    await t.rpc_ok(
                        "fail_discovery_item",
                        {
                            "p_id": item,
                            "p_token": str(lease["lease_token"]),
                            "p_error": f"acceptance failure {attempt}",
                            "p_retry_in_seconds": 3600,  # out of the workers' reach until the next lease
                        },
                        as_="service",
                    )
                )
            row = await _row(conn, "marketplace_discovery_queue", item)
            dead = await _dead_letter(conn, "marketplace_discovery_queue", item)
            expect(
                outcomes == ["queued"] * 4 + ["error"] and row["status"] == "error" and row["attempts"] == 5,
                f"failing discovery item {item} 5 times answered {outcomes} and left it {row['status']} with "
                f"{row['attempts']} attempts; expected queued x4 then error, status error, 5 attempts",
            )
            expect(
                dead is not None and dead["attempts"] == 5 and dead["last_error"] == "acceptance failure 5",
                f"discovery item {item} is dead-lettered but vw_dead_letter_queue shows {dead}; expected its row "
                "with 5 attempts and the last error",
            )
        finally:
            await _cleanup(conn, reason=reason)


@check(
    "queues.event_dead_letter_after_five_failures",
    title="an event failing 4 times is queued again; its 5th failure dead-letters it "
    "(status error, in vw_dead_letter_queue)",
    seeds=f"{PHASE7} #4 (5 consecutive failures -> DLQ)",
    needs=("dsn",),
)
async def event_dead_letter_after_five_failures(t: Surface) -> None:
    topic = _topic(t, "dlq")
    async with t.db() as conn:
        try:
            (event,) = await _queue_events(conn, topic, 1)
            outcomes: list[Any] = []
            for attempt in range(1, 6):
                leased = await _lease_events(t, topic, 1)
                if [r["id"] for r in leased] != [event]:
                    fail(f"after {attempt - 1} failure(s) ({outcomes}), lease_events handed out {leased}, not {event}")
                outcomes.append(
                    await t.rpc_ok(
                        "fail_event",
                        {
                            "p_id": event,
                            "p_token": leased[0]["lease_token"],
                            "p_error": f"acceptance failure {attempt}",
                            "p_retry_in_seconds": 0,
                        },
                        as_="service",
                    )
                )
            row = await _row(conn, "events_queue", event)
            dead = await _dead_letter(conn, "events_queue", event)
            expect(
                outcomes == ["queued"] * 4 + ["error"] and row["status"] == "error" and row["attempts"] == 5,
                f"failing event {event} 5 times answered {outcomes} and left it {row['status']} with "
                f"{row['attempts']} attempts; expected queued x4 then error, status error, 5 attempts",
            )
            expect(
                dead is not None and dead["last_error"] == "acceptance failure 5",
                f"event {event} is dead-lettered but vw_dead_letter_queue shows {dead}",
            )
            expect(await _lease_events(t, topic, 10) == [], f"dead-lettered event {event} was handed out again")
        finally:
            await _cleanup(conn, topic=topic)


@check(
    "queues.worker_job_backoff_then_dead_letter",
    title="a failing worker job is retried after 60, 120 and 240 s, and the failure after the 3rd retry "
    "dead-letters it with its reason",
    seeds=TASK11,
    needs=("dsn",),
)
async def worker_job_backoff_then_dead_letter(t: Surface) -> None:
    kind = _topic(t, "poison")
    async with t.db() as conn:
        try:
            (job,) = await t.rpc_ok(
                "worker_enqueue_job", {"p_kind": kind, "p_payload": {"poison": True}}, as_="service"
            )
            outcomes: list[Any] = []
            delays: list[float] = []
            for attempt in range(1, 5):
                claim = await _claim(t, kind)
                if claim is None or claim["id"] != job["id"]:
                    fail(
                        f"after {attempt - 1} failure(s) ({outcomes}) and the backoff moved past, "
                        f"worker_claim_job handed out {claim}; expected job {job['id']}"
                    )
                outcomes.append(
                    await t.rpc_ok(
                        "worker_fail_job",
                        {"p_id": job["id"], "p_token": claim["lease_token"], "p_error": f"poison {attempt}"},
                        as_="service",
                    )
                )
                if outcomes[-1] == "pending":
                    # updated_at is the failure's own now() (a trigger), so this is the backoff exactly.
                    delays.append(
                        float(
                            await conn.fetchval(
                                "select extract(epoch from run_at - updated_at) from public.worker_jobs where id = $1",
                                job["id"],
                            )
                        )
                    )
                    expect(
                        await _claim(t, kind) is None,
                        f"job {job['id']} was claimable right after failure {attempt}; expected a backoff",
                    )
                    await conn.execute("update public.worker_jobs set run_at = now() where id = $1", job["id"])
            expect(
                outcomes == ["pending", "pending", "pending", "dlq"],
                f"failing job {job['id']} 4 times answered {outcomes}; expected pending x3 (3 retries) then dlq",
            )
            expect(
                len(delays) == 3 and all(abs(d - e) <= 2 for d, e in zip(delays, (60, 120, 240), strict=True)),
                f"the retries of job {job['id']} were scheduled {[round(d, 1) for d in delays]} s after each "
                "failure; expected 60, 120, 240 s (2^attempts * 60 s)",
            )
            dead = await _dead_letter(conn, "worker_jobs", job["id"])
            row = await _row(conn, "worker_jobs", job["id"])
            expect(
                dead is not None
                and dead["attempts"] == 3
                and "poison 4" in (dead["last_error"] or "")
                and row["status"] == "dlq",
                f"after the 4th failure job {job['id']} is {row['status']} and vw_dead_letter_queue shows {dead}; "
                "expected status dlq and a dead letter with attempts = 3 and the failure's reason",
            )
            expect(await _claim(t, kind) is None, f"dead-lettered job {job['id']} was claimed again")
        finally:
            await _cleanup(conn, kind=kind)


@check(
    "queues.retried_dead_letter_gets_its_retries",
    title="retrying a dead-lettered worker job (worker_retry_dead_letter) queues it again with 0 failures: "
    "its next failure is retried after the first backoff (60 s), not dead-lettered at once",
    seeds=f"{TASK11}; 003 Task 11 admin workers page (view jobs, DLQ, retry); "
    "002 Requeue: SET status='queued', attempts=0, last_error=NULL",
    needs=("dsn",),
)
async def retried_dead_letter_gets_its_retries(t: Surface) -> None:
    kind = _topic(t, "revive")
    async with t.db() as conn:
        try:
            # One retry allowed (p_max_attempts 1): the 2nd failure dead-letters the job.
            (job,) = await t.rpc_ok("worker_enqueue_job", {"p_kind": kind, "p_max_attempts": 1}, as_="service")

            async def claim_and_fail(step: str) -> tuple[dict[str, Any], Any]:
                await conn.execute("update public.worker_jobs set run_at = now() where id = $1", job["id"])
                claim = await _claim(t, kind)
                if claim is None or claim["id"] != job["id"]:
                    fail(f"{step}: worker_claim_job handed out {claim}; expected job {job['id']}")
                outcome = await t.rpc_ok(
                    "worker_fail_job",
                    {"p_id": job["id"], "p_token": claim["lease_token"], "p_error": step},
                    as_="service",
                )
                return claim, outcome

            before = [(await claim_and_fail(f"failure {n} before the retry"))[1] for n in (1, 2)]
            dead_id = await conn.fetchval(
                "select id from public.dead_letter_queue where job_id = $1 and resolved_at is null", job["id"]
            )
            expect(
                before == ["pending", "dlq"] and dead_id is not None,
                f"failing job {job['id']} (max_attempts 1) twice answered {before} and left dead letter {dead_id}; "
                "expected pending then dlq, and an open dead letter",
            )
            revived = await t.rpc_ok("worker_retry_dead_letter", {"p_dead_letter_id": dead_id}, as_="service")
            row = await _row(conn, "worker_jobs", job["id"])
            expect(
                revived == job["id"] and row["status"] == "pending" and row["attempts"] == 0,
                f"worker_retry_dead_letter({dead_id}) answered {revived!r} and left job {job['id']} "
                f"{row['status']} with {row['attempts']} failures; expected the job's id, and the job pending "
                "with 0 failures (requeued: attempts = 0)",
            )
            claim, after = await claim_and_fail("failure 1 after the retry")
            delay = await conn.fetchval(
                "select extract(epoch from run_at - updated_at) from public.worker_jobs where id = $1", job["id"]
            )
            expect(
                claim["attempts"] == 0 and after == "pending" and delay is not None and abs(float(delay) - 60) <= 2,
                f"after the retry, job {job['id']} was claimed with {claim['attempts']} failures, and its next "
                f"failure answered {after!r} (retry in {delay} s); expected 0 failures, then pending with a 60 s "
                "backoff: a retried dead letter gets its retries and backoff again",
            )
        finally:
            await _cleanup(conn, kind=kind)


@check(
    "queues.gc_keeps_dead_letters",
    title=f"the queue GC (gc_finished_queue_items) deletes finished discovery items and events older than "
    f"{GC_KEEP_DAYS} days but keeps dead-lettered ones (status error) of that age, in vw_dead_letter_queue",
    seeds="000 vw_dead_letter_queue: items that failed >= 5 times for manual investigation; "
    "001 Clear DLQ (after manual review); 002 Inspect errors (status='error')",
    needs=("dsn",),
)
async def gc_keeps_dead_letters(t: Surface) -> None:
    topic, reason = _topic(t, "gc"), f"acc-{t.run_id}-gc"
    async with t.db() as conn:
        try:
            # The check's own finished and dead-lettered rows, last updated past the retention.
            items = {
                str(r["status"]): int(r["id"])
                for r in await conn.fetch(
                    """
                    insert into public.marketplace_discovery_queue
                        (interest_id, category_id, reason, status, attempts, last_error, created_at, updated_at)
                    select m.interest_id, m.category_id, $1::text || '#' || s.status, s.status,
                           case s.status when 'error' then 5 else 0 end,
                           case s.status when 'error' then 'acceptance failure 5' end,
                           now() - make_interval(days => $2), now() - make_interval(days => $2)
                      from (select interest_id, category_id from public.marketplace_interest_map
                             order by 1, 2 limit 1) m
                     cross join (values ('done'), ('error')) s (status)
                    returning id, status
                    """,
                    reason,
                    GC_AGE_DAYS,
                )
            }
            events = {
                str(r["status"]): int(r["id"])
                for r in await conn.fetch(
                    """
                    insert into public.events_queue (topic, key, status, attempts, last_error, created_at, updated_at)
                    select $1, s.status, s.status, case s.status when 'error' then 5 else 0 end,
                           case s.status when 'error' then 'acceptance failure 5' end,
                           now() - make_interval(days => $2), now() - make_interval(days => $2)
                      from (values ('done'), ('error')) s (status)
                    returning id, status
                    """,
                    topic,
                    GC_AGE_DAYS,
                )
            }
            if set(items) != {"done", "error"}:
                fail(f"could not queue the check's discovery items ({items}): marketplace_interest_map is empty")
            deleted = await t.rpc_ok("gc_finished_queue_items", {}, as_="service")
            left_items = {
                str(r["status"])
                for r in await conn.fetch(
                    "select status from public.marketplace_discovery_queue where id = any ($1::bigint[])",
                    list(items.values()),
                )
            }
            left_events = {
                str(r["status"])
                for r in await conn.fetch(
                    "select status from public.events_queue where id = any ($1::bigint[])", list(events.values())
                )
            }
            expect(
                left_items == {"error"} and left_events == {"error"},
                f"after gc_finished_queue_items() (answered {deleted!r}), of the check's discovery items and "
                f"events last updated {GC_AGE_DAYS} days ago, one done and one dead-lettered (error) each, these "
                f"are left: discovery items {sorted(left_items)}, events {sorted(left_events)}; expected the done ones "
                "deleted and the dead letters kept for manual review",
            )
            dead = [
                await _dead_letter(conn, "marketplace_discovery_queue", items["error"]),
                await _dead_letter(conn, "events_queue", events["error"]),
            ]
            expect(
                all(d is not None and d["last_error"] == "acceptance failure 5" for d in dead),
                f"after the GC, vw_dead_letter_queue shows {dead} for the check's dead-lettered discovery item "
                f"{items['error']} and event {events['error']}; expected both, with their last error",
            )
        finally:
            await _cleanup(conn, topic=topic, reason=reason)


# -- concurrent leasers -----------------------------------------------------------------------------


async def _drain(leasers: int, lease_once: Callable[[], Awaitable[list[Any]]], *, cap: int) -> list[list[Any]]:
    """Run `leasers` loops concurrently, each leasing until a lease hands out nothing (or `cap` leases in all:
    a kernel that keeps handing items out must fail the check, not hang it)."""
    total = 0

    async def loop() -> list[Any]:
        nonlocal total
        got: list[Any] = []
        while total < cap and (batch := await lease_once()):
            got.extend(batch)
            total += len(batch)
        return got

    return list(await asyncio.gather(*(loop() for _ in range(leasers))))


def _duplicates(batches: list[list[int]]) -> list[int]:
    seen: set[int] = set()
    dups = []
    for item in (i for batch in batches for i in batch):
        if item in seen:
            dups.append(item)
        seen.add(item)
    return dups


@check(
    "queues.concurrent_leasers_never_share",
    title=f"{LEASERS} concurrent leasers over hundreds of events, discovery items and worker jobs never "
    "receive the same item twice, and together receive every item",
    seeds=f"{PHASE7}; 130/140 lease semantics (FOR UPDATE SKIP LOCKED)",
    needs=("dsn",),
    timeout_s=45,
)
async def concurrent_leasers_never_share(t: Surface) -> None:
    topic, kind, reason = _topic(t, "race"), _topic(t, "race-job"), f"acc-{t.run_id}-race"
    async with t.db() as conn:
        try:
            # Events: 200 on a topic of this run.
            events = await _queue_events(conn, topic, 200)

            async def lease_events() -> list[int]:
                return [int(r["id"]) for r in await _lease_events(t, topic, 10)]

            batches = await _drain(LEASERS, lease_events, cap=3 * len(events))
            dups = _duplicates(batches)
            got = sorted(i for b in batches for i in b)
            expect(
                not dups and got == events,
                f"{LEASERS} concurrent lease_events loops over {len(events)} events handed out {len(got)} leases, "
                f"{len(dups)} of them duplicates (e.g. {dups[:5]}), {len(set(events) - set(got))} events never; "
                "expected each event exactly once",
            )
            # Worker jobs: 80 of a kind of this run.
            jobs = sorted(
                int(r["id"])
                for r in await conn.fetch(
                    "insert into public.worker_jobs (kind, payload) select $1, '{}'::jsonb "
                    "from generate_series(1, 80) returning id",
                    kind,
                )
            )

            async def claim() -> list[int]:
                job = await _claim(t, kind)
                return [] if job is None else [int(job["id"])]

            batches = await _drain(LEASERS, claim, cap=3 * len(jobs))
            dups = _duplicates(batches)
            got = sorted(i for b in batches for i in b)
            expect(
                not dups and got == jobs,
                f"{LEASERS} concurrent worker_claim_job loops over {len(jobs)} jobs claimed {len(got)}, "
                f"{len(dups)} duplicates (e.g. {dups[:5]}), {len(set(jobs) - set(got))} never; expected each once",
            )
            # Discovery items: 200 at the top priority; the platform's discovery workers lease too, so
            # besides duplicates among these leasers, every item leased here must still carry the token
            # handed out here (a second lease anywhere would have replaced it).
            items = await _queue_discovery(conn, reason, 200, TOP_PRIORITY - 1)
            await conn.execute(
                "update public.marketplace_discovery_queue set available_at = now() "
                "where split_part(reason, '#', 1) = $1",
                reason,
            )
            mine = set(items)
            leases: dict[int, str] = {}
            foreign: list[tuple[int, str]] = []

            async def lease_discovery() -> list[int]:
                rows = await t.rpc_ok("lease_discovery_items", {"p_limit": 10, "p_ttl_seconds": 120}, as_="service")
                ours = []
                for r in rows:
                    if int(r["id"]) in mine:
                        ours.append(int(r["id"]))
                        leases[int(r["id"])] = str(r["lease_token"])
                    else:
                        foreign.append((int(r["id"]), str(r["lease_token"])))
                return ours

            batches = await _drain(LEASERS, lease_discovery, cap=3 * len(items))
            for other, token in foreign:  # not ours: give it back at once
                await conn.fetchval("select public.release_discovery_item($1, $2::uuid)", other, token)
            dups = _duplicates(batches)
            tokens = {
                int(r["id"]): str(r["lease_token"])
                for r in await conn.fetch(
                    "select id, lease_token from public.marketplace_discovery_queue "
                    "where split_part(reason, '#', 1) = $1",
                    reason,
                )
            }
            replaced = [i for i, token in leases.items() if tokens.get(i) != token]
            expect(
                not dups and not replaced and len(leases) >= len(items) // 2,
                f"{LEASERS} concurrent lease_discovery_items loops over {len(items)} ready items leased "
                f"{len(leases)} of them: {len(dups)} handed out twice among these leasers (e.g. {dups[:5]}), "
                f"{len(replaced)} whose lease was replaced by another leaser (e.g. {replaced[:5]}); expected "
                "each item leased once (and at least half of them here)",
            )
        finally:
            await _cleanup(conn, topic=topic, kind=kind, reason=reason)
