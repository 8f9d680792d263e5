"""The job worker: claim background jobs (`public.worker_jobs`), run each one's handler, complete or fail it.

Jobs are claimed one at a time (`worker_claim_job`), and only of the kinds this module has a
handler for: a job of another kind stays pending for whichever worker handles it. Each job's
completion and effect run in one transaction, completion first, as the queue worker does for
events (queue.process_item): if `worker_complete_job` finds the lease lost nothing is done;
otherwise its row lock keeps other workers off the job and the effect commits together with
the completion (and the handler's small JSON result), or neither does. So a job's effect
happens once, however often it is claimed. A handler that fails (a payload it cannot use, an
error of the SQL it calls) rolls the effect back and the job is failed with the error
(`worker_fail_job`): the kernel's policy retries it after 60, 120, 240 s and moves it to the
dead letter queue after the last retry (migration 150). A lost lease is reported, not an error.

The effect runs as the service role (set for the transaction), the caller the platform's RPCs
trust to act for any user. Every handler's effect is in the database; a handler with an effect
outside it would claim the effect with `record_idempotency` first.

Kinds:
- `earnings.recompute`, payload `{user_id}`: the user's earnings ledger rewritten from its
  events when they differ (`earnings_recompute`, not a preview).
- `notifications.send`, payload `{user_id, channel, title, body?, kind?, payload?,
  idempotency_key?}`: `notif_send` for the user (its consent, quiet hours and daily cap apply;
  a send they refuse completes the job with the reason in its result).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gauntlet.platform.db import UNAVAILABLE, Connection, Database
from gauntlet.platform.queries import sql
from gauntlet.platform.settings import PlatformSettings
from gauntlet.platform.workers.queue import ITEM_FAILURES, LeaseLost, PoisonItem
from gauntlet.platform.workers.runtime import WorkerRuntime

log = logging.getLogger("gauntlet.worker.jobs")

Outcome = Literal["completed", "failed", "dead_lettered", "lost"]


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed job."""

    id: int
    kind: str
    payload: Any  # the job's JSON as enqueued: a handler checks its shape
    attempts: int
    token: uuid.UUID


Handler = Callable[[Connection, Claimed], Awaitable[dict[str, Any]]]


def _fields(job: Claimed, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, Any]:
    """The payload's fields, refused (PoisonItem) when one is missing or unknown."""
    payload = job.payload
    if not isinstance(payload, dict):
        raise PoisonItem(f"{job.kind} needs a JSON object payload, got {payload!r}")
    missing = [name for name in required if payload.get(name) is None]
    unknown = sorted(set(payload) - {*required, *optional})
    if missing or unknown:
        raise PoisonItem(f"{job.kind}: payload missing {missing}, unknown {unknown}; expected {list(required)}")
    return payload


def _user_id(job: Claimed, value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise PoisonItem(f"{job.kind} needs payload.user_id as a uuid, got {value!r}") from exc


def _text(job: Claimed, payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise PoisonItem(f"{job.kind} needs payload.{name} as a string, got {value!r}")
    return value


async def _earnings_recompute(conn: Connection, job: Claimed) -> dict[str, Any]:
    payload = _fields(job, ("user_id",))
    answer = await conn.fetchval(sql("workers", "job_earnings_recompute"), _user_id(job, payload["user_id"]))
    return {"in_sync": answer["in_sync"], "written": answer["written"], "recomputed": answer["recomputed"]}


async def _notifications_send(conn: Connection, job: Claimed) -> dict[str, Any]:
    payload = _fields(job, ("user_id", "channel", "title"), ("body", "kind", "payload", "idempotency_key"))
    extra = payload.get("payload")
    if extra is not None and not isinstance(extra, dict):
        raise PoisonItem(f"{job.kind} needs payload.payload as a JSON object, got {extra!r}")
    answer = await conn.fetchval(
        sql("workers", "job_notif_send"),
        _user_id(job, payload["user_id"]),
        _text(job, payload, "channel"),
        _text(job, payload, "title"),
        _text(job, payload, "body"),
        _text(job, payload, "kind"),
        extra,
        _text(job, payload, "idempotency_key"),
    )
    return {"sent": answer["sent"], "reason": answer["reason"], "notification_id": answer["notification_id"]}


HANDLERS: dict[str, Handler] = {
    "earnings.recompute": _earnings_recompute,
    "notifications.send": _notifications_send,
}
KINDS: tuple[str, ...] = tuple(HANDLERS)


def unhandled(kinds: Sequence[str]) -> list[str]:
    """The kinds of `kinds` no handler runs (a worker must never claim a job it cannot run)."""
    return sorted(set(kinds) - set(HANDLERS))


@dataclass
class JobsResult:
    claimed: int = 0
    completed: int = 0
    failed: int = 0  # failed, retried after the backoff
    dead_lettered: int = 0  # failed after the last retry: in the dead letter queue
    lost: int = 0  # the lease was lost before the completion or the failure was recorded
    jobs: list[dict[str, Any]] = field(default_factory=list)  # {id, kind, outcome[, error]} per job

    def add(self, job: Claimed, outcome: Outcome, error: str | None = None) -> None:
        self.claimed += 1
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.jobs.append({"id": job.id, "kind": job.kind, "outcome": outcome, **({"error": error} if error else {})})

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def process_job(
    db: Database, job: Claimed, *, worker: str, handlers: dict[str, Handler] = HANDLERS
) -> tuple[Outcome, str | None]:
    """Run one claimed job's effect and completion atomically; on failure record it. The outcome and error."""
    context = {"worker": worker, "kind": job.kind, "job_id": job.id, "attempt": job.attempts + 1}
    started = time.perf_counter()
    try:
        async with db.primary() as conn, conn.transaction():
            await conn.execute(sql("workers", "act_as_service_role"))
            # Complete first: the lease guard compares with now(), the transaction's start, and the
            # completion's row lock keeps every other claim off the job until the effect commits with it.
            if not await conn.fetchval(sql("workers", "complete_job"), job.id, job.token):
                raise LeaseLost(f"job {job.id}: lease lost before completion")
            result = await handlers[job.kind](conn, job)
            await conn.execute(sql("workers", "record_job_result"), job.id, result)
        log.info(
            "job done",
            extra={"action": "complete", **context, "ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        return "completed", None
    except LeaseLost:
        log.warning("lease lost; effect rolled back", extra={"action": "lease_lost", **context})
        return "lost", None
    except UNAVAILABLE:
        # The database went away mid-job: nothing committed, the lease will expire and the job be
        # claimed again (as a failure). Re-raise so the caller backs off.
        raise
    except ITEM_FAILURES as exc:
        error = f"{type(exc).__name__}: {exc}"
    async with db.primary() as conn:
        status = await conn.fetchval(sql("workers", "fail_job"), job.id, job.token, error[:2000])
    if status == "dlq":
        log.error("job dead-lettered", extra={"action": "dead_letter", **context, "error": error})
        return "dead_lettered", error
    if status is None:
        log.warning("failure not recorded: lease lost", extra={"action": "lease_lost", **context, "error": error})
        return "lost", error
    log.warning("job failed; will retry", extra={"action": "fail", **context, "error": error})
    return "failed", error


async def claim(db: Database, *, kinds: Sequence[str], lease_s: int, worker: str) -> Claimed | None:
    """Claim one ready job of `kinds`, or None."""
    async with db.primary() as conn:
        row = await conn.fetchrow(sql("workers", "claim_job"), worker, list(kinds), lease_s)
    if row is None:
        return None
    return Claimed(row["id"], row["kind"], row["payload"], row["attempts"], row["lease_token"])


async def run_batch(
    db: Database,
    *,
    kinds: Sequence[str] = KINDS,
    limit: int = 10,
    lease_s: int = 300,
    worker: str,
    stop: asyncio.Event | None = None,
) -> JobsResult:
    """One pass: claim and process up to `limit` jobs of `kinds` (handled kinds only), one at a time."""
    if unhandled(kinds):
        raise ValueError(f"no handler for job kind(s) {unhandled(kinds)}")
    result = JobsResult()
    for _ in range(limit):
        if stop is not None and stop.is_set():
            break
        job = await claim(db, kinds=kinds, lease_s=lease_s, worker=worker)
        if job is None:
            break
        result.add(job, *await process_job(db, job, worker=worker))
    return result


async def run_forever(runtime: WorkerRuntime, db: Database, settings: PlatformSettings) -> None:
    """Jobs in a worker process, beside its queue loop: batches back to back while there are jobs."""

    async def tick() -> float:
        result = await run_batch(
            db,
            limit=settings.queue_batch_size,
            lease_s=settings.lease_ttl_seconds,
            worker=runtime.name,
            stop=runtime.stop,
        )
        for name in ("completed", "failed", "dead_lettered", "lost"):
            runtime.stats[f"jobs_{name}"] = runtime.stats.get(f"jobs_{name}", 0) + getattr(result, name)
        # A full pass means more may be waiting: go again at once.
        return 0.0 if result.claimed >= settings.queue_batch_size else settings.queue_poll_interval_s

    await runtime.every(settings.queue_poll_interval_s, tick)
