"""The job worker and the notifications drain as edge functions (worker-process, notifications-worker).

Against real Postgres through the in-process API (no worker processes run beside it, so a job is
claimed by the call the test makes), and once through a real `queue` worker process, which runs
the same jobs beside its queue loop. Time is moved in the database (a job's run_at), not waited for.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from gauntlet.platform.db import Database
from gauntlet.platform.workers import jobs

if TYPE_CHECKING:
    from tests.integration.api.conftest import ApiClient, Services

pytestmark = pytest.mark.integration

WORKER_PROCESS = "/functions/v1/worker-process"
NOTIFICATIONS_WORKER = "/functions/v1/notifications-worker"


@pytest.fixture
async def enqueue(db: asyncpg.Connection) -> AsyncIterator[Any]:
    """`await enqueue(kind, payload)`: a job's id; the test's jobs are deleted at the end."""
    ids: list[int] = []

    async def factory(kind: str, payload: Any) -> int:
        job_id: int = await db.fetchval(
            "select id from public.worker_enqueue_job($1, $2::jsonb)", kind, json.dumps(payload)
        )
        ids.append(job_id)
        return job_id

    yield factory
    await db.execute("delete from public.dead_letter_queue where job_id = any($1::bigint[])", ids)
    await db.execute("delete from public.worker_jobs where id = any($1::bigint[])", ids)


async def _run(api: ApiClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await api.http.post(WORKER_PROCESS, json=body or {}, headers=api.service_headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _outcomes(answer: dict[str, Any], ids: list[int]) -> dict[int, str]:
    return {job["id"]: job["outcome"] for job in answer["jobs"] if job["id"] in ids}


async def _job(db: asyncpg.Connection, job_id: int) -> dict[str, Any]:
    row = await db.fetchrow(
        "select status, attempts, last_error, result::text as result, locked_by, "
        "extract(epoch from run_at - now())::float8 as due_in_s from public.worker_jobs where id = $1",
        job_id,
    )
    assert row is not None, f"job {job_id} is gone"
    job = dict(row)
    job["result"] = json.loads(job["result"]) if job["result"] else None
    return job


async def _user(db: asyncpg.Connection) -> uuid.UUID:
    user: uuid.UUID = await db.fetchval(
        "insert into auth.users (email, encrypted_password) values ($1, '!') returning id",
        f"jobs-{uuid.uuid4().hex[:10]}@example.test",
    )
    return user


async def test_worker_process_runs_handled_jobs_with_their_effect(
    api: ApiClient, db: asyncpg.Connection, enqueue: Any
) -> None:
    user = await _user(db)
    await db.execute("select public.earnings_record_event($1, 'tip', 500, $2)", user, f"tip-{uuid.uuid4().hex}")
    # The ledger drifted from the events: the recompute job must write it back.
    await db.execute("update public.earnings_ledger set total_cents = 0, captured_cents = 0 where user_id = $1", user)
    title = f"job {uuid.uuid4().hex[:8]}"
    recompute = await enqueue("earnings.recompute", {"user_id": str(user)})
    send = await enqueue("notifications.send", {"user_id": str(user), "channel": "snackbar", "title": title})
    other = await enqueue(f"test.other-{uuid.uuid4().hex[:8]}", {"user_id": str(user)})

    answer = await _run(api, {"limit": 100})

    assert _outcomes(answer, [recompute, send, other]) == {recompute: "completed", send: "completed"}, answer
    assert answer["claimed"] == len(answer["jobs"]) >= 2 and answer["completed"] >= 2
    ledger = await db.fetchrow(
        "select total_cents, captured_cents from public.earnings_ledger where user_id = $1", user
    )
    assert ledger is not None and (ledger["total_cents"], ledger["captured_cents"]) == (500, 500)
    done = await _job(db, recompute)
    assert done["status"] == "completed" and done["result"]["written"] is True, done
    assert done["locked_by"] == "api:worker-process"
    notification = await db.fetchval(
        "select id from public.notifications where user_id = $1 and title = $2 and channel = 'snackbar'", user, title
    )
    sent = await _job(db, send)
    assert notification is not None and sent["status"] == "completed"
    assert sent["result"] == {"sent": True, "reason": None, "notification_id": notification}
    # A job of a kind no handler runs is left pending for another worker, not claimed or failed.
    assert (await _job(db, other))["status"] == "pending" and (await _job(db, other))["attempts"] == 0


async def test_worker_process_runs_only_the_kinds_asked_for(
    api: ApiClient, db: asyncpg.Connection, enqueue: Any
) -> None:
    user = await _user(db)
    send = await enqueue("notifications.send", {"user_id": str(user), "channel": "dm", "title": "later"})
    answer = await _run(api, {"kinds": ["earnings.recompute"]})
    assert send not in _outcomes(answer, [send]) and (await _job(db, send))["status"] == "pending"
    assert all(job["kind"] == "earnings.recompute" for job in answer["jobs"]), answer


async def test_a_bad_payload_backs_off_then_is_dead_lettered(
    api: ApiClient, db: asyncpg.Connection, enqueue: Any
) -> None:
    missing = await enqueue("earnings.recompute", {})
    bad = await enqueue("earnings.recompute", {"user_id": "not-a-uuid"})
    answer = await _run(api, {"kinds": ["earnings.recompute"]})
    assert _outcomes(answer, [missing, bad]) == {missing: "failed", bad: "failed"}, answer
    assert "user_id" in (await _job(db, missing))["last_error"]
    # The kernel's schedule: 60, 120, 240 s after the 1st, 2nd and 3rd failure; the 4th dead-letters.
    for attempt, backoff in enumerate((60, 120, 240), start=1):
        job = await _job(db, bad)
        assert job["status"] == "pending" and job["attempts"] == attempt, job
        assert "not-a-uuid" in job["last_error"] and abs(job["due_in_s"] - backoff) < 5, job
        await db.execute("update public.worker_jobs set run_at = now() where id = $1", bad)  # the backoff passed
        answer = await _run(api, {"kinds": ["earnings.recompute"]})
        assert _outcomes(answer, [bad]) == {bad: "failed" if attempt < 3 else "dead_lettered"}, answer
    job = await _job(db, bad)
    assert job["status"] == "dlq" and job["attempts"] == 4, job
    letter = await db.fetchrow("select kind, reason, attempts from public.dead_letter_queue where job_id = $1", bad)
    assert letter is not None and letter["kind"] == "earnings.recompute" and letter["attempts"] == 3
    assert "not-a-uuid" in letter["reason"]


async def test_a_lost_lease_is_reported_and_does_nothing(
    services: Services, db: asyncpg.Connection, enqueue: Any
) -> None:
    user = await _user(db)
    title = f"lost {uuid.uuid4().hex[:8]}"
    job_id = await enqueue("notifications.send", {"user_id": str(user), "channel": "push", "title": title})
    database = Database(services.settings(replica_dsns=[]))
    try:
        claimed = await jobs.claim(database, kinds=["notifications.send"], lease_s=60, worker="test")
        while claimed is not None and claimed.id != job_id:  # another test's leftovers first
            await jobs.process_job(database, claimed, worker="test")
            claimed = await jobs.claim(database, kinds=["notifications.send"], lease_s=60, worker="test")
        assert claimed is not None
        stolen = jobs.Claimed(claimed.id, claimed.kind, claimed.payload, claimed.attempts, uuid.uuid4())
        assert await jobs.process_job(database, stolen, worker="test") == ("lost", None)
    finally:
        await database.close()
    assert (await _job(db, job_id))["status"] == "running"
    assert await db.fetchval("select count(*) from public.notifications where user_id = $1", user) == 0


@pytest.mark.parametrize("path", [WORKER_PROCESS, NOTIFICATIONS_WORKER])
async def test_only_the_service_role_runs_the_workers(api: ApiClient, db: asyncpg.Connection, path: str) -> None:
    user = await api.signup()
    job_id = await db.fetchval(
        "select id from public.worker_enqueue_job('earnings.recompute', $1::jsonb)",
        json.dumps({"user_id": user.user_id}),
    )
    try:
        as_user = await api.http.post(path, json={}, headers={"Authorization": f"Bearer {user.token}"})
        anon = await api.http.post(path, json={})
        assert as_user.status_code in (401, 403) and as_user.json()["code"], as_user.text
        assert anon.status_code in (401, 403) and anon.json()["code"], anon.text
        assert (await _job(db, job_id))["status"] == "pending"
    finally:
        await db.execute("delete from public.worker_jobs where id = $1", job_id)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (WORKER_PROCESS, {"limit": 0}, 422),
        (WORKER_PROCESS, {"limit": 101}, 422),
        (WORKER_PROCESS, {"lease": 4}, 422),
        (WORKER_PROCESS, {"kinds": []}, 422),
        (WORKER_PROCESS, {"kinds": "earnings.recompute"}, 422),
        (WORKER_PROCESS, {"kinds": ["earnings.recompute", "no.such-kind"]}, 400),
        (WORKER_PROCESS, {"extra": 1}, 422),
        (WORKER_PROCESS, [1], 400),
        (NOTIFICATIONS_WORKER, {"limit": 1001}, 422),
        (NOTIFICATIONS_WORKER, {"limit": "many"}, 422),
    ],
)
async def test_bad_bodies_are_refused_with_a_code(api: ApiClient, path: str, body: Any, status: int) -> None:
    response = await api.http.post(path, json=body, headers=api.service_headers)
    assert response.status_code == status and response.json()["code"], response.text


async def test_notifications_worker_delivers_a_sent_notification(api: ApiClient, db: asyncpg.Connection) -> None:
    user = await _user(db)
    sent = json.loads(await db.fetchval("select public.notif_send($1, 'email', 'drain me')::text", user))
    assert sent["sent"], sent
    delivered_at = None
    for _ in range(20):  # other tests' notifications may be in the outbox before it
        response = await api.http.post(NOTIFICATIONS_WORKER, json={"limit": 1000}, headers=api.service_headers)
        assert response.status_code == 200 and set(response.json()) == {"drained"}, response.text
        delivered_at = await db.fetchval(
            "select delivered_at from public.notifications where id = $1", sent["notification_id"]
        )
        if delivered_at is not None:
            break
    assert delivered_at is not None
    outbox = await db.fetchval(
        "select status from public.events_queue where topic = 'notifications.deliver' and key = $1",
        str(sent["notification_id"]),
    )
    assert outbox == "done"


async def test_the_queue_worker_process_runs_jobs_too(services: Services, db: asyncpg.Connection, enqueue: Any) -> None:
    user = await _user(db)
    title = f"process {uuid.uuid4().hex[:8]}"
    job_id = await enqueue("notifications.send", {"user_id": str(user), "channel": "snackbar", "title": title})
    name = f"queue-jobs-{uuid.uuid4().hex[:6]}"
    log = services.root / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gauntlet.platform.workers", "queue"],
            env=services.env(GAUNTLET_WORKER_NAME=name, GAUNTLET_QUEUE_POLL_INTERVAL_S="0.1"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while (await _job(db, job_id))["status"] != "completed":
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-2000:]
            await asyncio.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
    assert code == 0, log.read_text()[-2000:]
    assert (await _job(db, job_id))["locked_by"] == name
    assert (
        await db.fetchval("select count(*) from public.notifications where user_id = $1 and title = $2", user, title)
        == 1
    )
