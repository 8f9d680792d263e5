"""Queue worker and discovery run against real Postgres: exactly-once effects, expiry, backoff, DLQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from gauntlet.platform.db import Database
from gauntlet.platform.workers import discovery, gc, queue
from gauntlet.platform.workers.queue import Leased
from tests.integration.moving_time import end_leases

if TYPE_CHECKING:
    from tests.integration.api.conftest import ApiClient, Services

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(services: Services) -> Any:
    database = Database(services.settings(replica_dsns=[]))
    try:
        yield database
    finally:
        await database.close()


async def _publish_signals(db: asyncpg.Connection, user_id: str, n: int) -> list[int]:
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(n):
        payload = {"user_id": user_id, "name": "watch", "metadata": {"seconds": 5, "tag": tag, "i": i}}
        ids.append(
            await db.fetchval(
                "SELECT id FROM enqueue_event('telemetry.signal', $1, $2::jsonb)", f"{tag}-{i}", json.dumps(payload)
            )
        )
    return ids


async def _signals(db: asyncpg.Connection, event_ids: list[int]) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM intent_signals s JOIN events_queue e ON e.payload->'metadata' = s.metadata "
        "WHERE e.id = ANY($1::bigint[])",
        event_ids,
    )
    return count


async def _end_leases(db: asyncpg.Connection, items: list[Leased]) -> None:
    """Every lease of `items` runs out now, as if their worker had stalled past the TTL."""
    await end_leases(db, "events_queue", [item.id for item in items if item.queue == "events"])
    await end_leases(db, "marketplace_discovery_queue", [item.id for item in items if item.queue == "discovery"])


async def test_concurrent_workers_process_each_event_exactly_once(
    database: Database, db: asyncpg.Connection, api: ApiClient
) -> None:
    user = await api.signup()
    ids = await _publish_signals(db, user.user_id, 30)
    results = await asyncio.gather(
        *(queue.run_batch(database, topics=("telemetry.signal",), limit=7, worker=f"w{i}") for i in range(4))
    )
    while sum(r.leased for r in results) < 30:
        results.append(await queue.run_batch(database, topics=("telemetry.signal",), limit=30, worker="tail"))
    assert sum(r.processed for r in results) == 30 and sum(r.errors for r in results) == 0
    assert await _signals(db, ids) == 30
    statuses = await db.fetch("SELECT DISTINCT status FROM events_queue WHERE id = ANY($1::bigint[])", ids)
    assert [r["status"] for r in statuses] == ["done"]


async def test_crashed_workers_leases_expire_and_items_are_done_once(
    database: Database, db: asyncpg.Connection, api: ApiClient
) -> None:
    user = await api.signup()
    ids = await _publish_signals(db, user.user_id, 3)
    # A worker leases and dies (never acks); its leases run out.
    crashed = await queue.lease(database, topics=("telemetry.signal",), limit=10, ttl_s=60)
    assert {item.id for item in crashed} >= set(ids)
    assert (await queue.run_batch(database, topics=("telemetry.signal",), worker="early")).leased == 0
    await _end_leases(db, crashed)
    result = await queue.run_batch(database, topics=("telemetry.signal",), worker="rescuer")
    assert result.processed >= 3
    assert await _signals(db, ids) == 3
    # The dead worker waking up cannot ack or double-apply: its lease is gone.
    late = [item for item in crashed if item.id in ids]
    outcome = await queue.process_item(database, late[0], worker="zombie")
    assert outcome.lease_lost == 1 and outcome.processed == 0
    assert await _signals(db, ids) == 3
    attempts = await db.fetchval("SELECT max(attempts) FROM events_queue WHERE id = ANY($1::bigint[])", ids)
    assert attempts == 1  # the expired lease counted as one failed attempt


async def test_an_expired_lease_is_not_acked_and_the_effect_not_applied(
    database: Database, db: asyncpg.Connection, api: ApiClient
) -> None:
    user = await api.signup()
    ids = await _publish_signals(db, user.user_id, 1)
    leased = await queue.lease(database, topics=("telemetry.signal",), limit=10, ttl_s=60)
    [item] = [i for i in leased if i.id == ids[0]]
    await _end_leases(db, leased)  # the worker stalls past its lease before starting the item
    outcome = await queue.process_item(database, item, worker="stalled")
    assert outcome.lease_lost == 1 and outcome.processed == 0
    assert await _signals(db, ids) == 0
    await queue.run_batch(database, topics=("telemetry.signal",), worker="second")
    assert await _signals(db, ids) == 1


async def test_a_slow_effect_keeps_other_workers_off_the_item(
    database: Database, db: asyncpg.Connection, api: ApiClient
) -> None:
    user = await api.signup()
    ids = await _publish_signals(db, user.user_id, 1)
    [item] = [i for i in await queue.lease(database, topics=("telemetry.signal",), limit=10, ttl_s=1) if i.id == ids[0]]
    started, rival_tried = asyncio.Event(), asyncio.Event()

    async def slow_signal(conn: Any, leased: Leased) -> None:
        started.set()
        await rival_tried.wait()  # holds the ack's row lock, past the lease's end, until the rival has tried
        await queue.EFFECTS["telemetry.signal"](conn, leased)

    slow = asyncio.create_task(
        queue.process_item(database, item, worker="slow", effects={**queue.EFFECTS, "telemetry.signal": slow_signal})
    )
    await started.wait()
    # Here time cannot be moved in the database: the slow worker's ack holds the item's row lock (that is
    # what is tested), so nothing can rewrite its lease end. The 1 s lease is waited out on the database's clock.
    try:
        await db.execute(
            "select pg_sleep(extract(epoch from lease_expires_at - clock_timestamp()) + 0.05) "
            "from public.events_queue where id = $1",
            item.id,
        )
        rival = await queue.lease(database, topics=("telemetry.signal",), limit=50, ttl_s=30)
    finally:
        rival_tried.set()
    assert ids[0] not in {i.id for i in rival}
    assert (await slow).processed == 1
    await queue.release(database, rival, worker="rival")
    assert await _signals(db, ids) == 1


async def test_poison_event_backs_off_then_dead_letters(database: Database, db: asyncpg.Connection) -> None:
    key = f"poison-{uuid.uuid4().hex[:8]}"
    event_id = await db.fetchval("SELECT id FROM enqueue_event('telemetry.signal', $1, '{\"name\": \"x\"}')", key)
    delays = []
    for attempt in range(1, 6):
        result = await queue.run_batch(database, topics=("telemetry.signal",), worker="poison")
        assert result.errors >= 1
        row = await db.fetchrow(
            "SELECT status, attempts, available_at - now() AS wait, last_error FROM events_queue WHERE id = $1",
            event_id,
        )
        assert row["attempts"] == attempt and "user_id" in row["last_error"]
        if attempt < 5:
            assert row["status"] == "queued"
            delays.append(round(row["wait"].total_seconds()))
            await db.execute("UPDATE events_queue SET available_at = now() WHERE id = $1", event_id)
        else:
            assert row["status"] == "error"
    assert delays == [10, 20, 40, 80]
    dead = await db.fetchval(
        "SELECT count(*) FROM vw_dead_letter_queue WHERE source = 'events_queue' AND id = $1", event_id
    )
    assert dead == 1


async def test_stop_releases_the_unprocessed_rest_of_a_batch(
    database: Database, db: asyncpg.Connection, api: ApiClient
) -> None:
    user = await api.signup()
    ids = await _publish_signals(db, user.user_id, 3)
    stop = asyncio.Event()
    stop.set()
    result = await queue.run_batch(database, topics=("telemetry.signal",), limit=50, worker="stopping", stop=stop)
    assert result.released == result.leased >= 3 and result.processed == 0
    rows = await db.fetch("SELECT status, attempts FROM events_queue WHERE id = ANY($1::bigint[])", ids)
    assert {(r["status"], r["attempts"]) for r in rows} == {("queued", 0)}


async def test_signup_event_enqueues_discovery_and_discovery_fills_gaps(
    database: Database, db: asyncpg.Connection, api: ApiClient, onboard: Any
) -> None:
    user = await onboard()
    assert (await api.rpc("complete_onboarding", {}, user.token)).status_code == 200
    await db.execute("DELETE FROM marketplace_discovery_queue WHERE user_id = $1", uuid.UUID(user.user_id))
    result = await queue.run_batch(database, topics=("discovery.user-signup",), worker="signup")
    assert result.by_kind.get("discovery.user-signup", 0) >= 1 and result.errors == 0
    categories = await db.fetch(
        "SELECT m.category_id FROM user_interests ui JOIN marketplace_interest_map m USING (interest_id) "
        "WHERE ui.user_id = $1",
        uuid.UUID(user.user_id),
    )
    await discovery.run_discovery(database, worker="discovery")
    gaps = await db.fetch(
        "SELECT category_id, gap_level FROM marketplace_gaps WHERE category_id = ANY($1::uuid[])",
        [r["category_id"] for r in categories],
    )
    assert len(gaps) == len({r["category_id"] for r in categories})
    full = await discovery.run_discovery(database, worker="discovery", full=True)
    again = await discovery.run_discovery(database, worker="discovery", full=True)
    assert full.categories == again.categories > 0 and full.gap_levels == again.gap_levels
    assert await db.fetchval("SELECT count(*) FROM marketplace_gaps") == full.categories


async def test_gc_runs_every_gc_function(database: Database) -> None:
    results = await gc.run_gc(database)
    assert {"gc_learning_events", "gc_intent_signals", "gc_rpc_metrics"} <= set(results)
    assert all(not isinstance(v, dict) for v in results.values()), results


async def test_queue_worker_and_discovery_functions_over_http(api: ApiClient) -> None:
    denied = await api.http.post("/functions/v1/queue-worker", json={})
    assert denied.status_code == 403
    bad = await api.http.post("/functions/v1/queue-worker", json={"topic": "nope"}, headers=api.service_headers)
    assert bad.status_code == 400 and "nope" in bad.json()["message"]
    ran = await api.http.post(
        "/functions/v1/queue-worker",
        json={"topic": "discovery.user-signup", "limit": 20, "ttl": 120},
        headers=api.service_headers,
    )
    assert ran.status_code == 200 and ran.json()["errors"] == 0
    run = await api.http.post("/functions/v1/rocker-discovery-run", json={"full": True}, headers=api.service_headers)
    assert run.status_code == 200 and run.json()["categories"] > 0
