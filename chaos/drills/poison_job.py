"""poison-job: work that always fails ends in the dead letter queue, with its reason, on schedule.

Two queues, two lanes:
- events: a telemetry.signal event with no user id is published; the real
  queue workers fail it with backoff and the failure after the last retry
  dead-letters it (status `error`);
- worker jobs: a job is enqueued over the API and worked through the RPC
  kernels the platform's job worker uses (claim, fail); the kernel reschedules
  it with backoff and moves it to the DLQ with the reason after the last retry.

The schedule each lane must follow is the one the platform publishes
(`queue_retry_schedule`, one policy per queue), read at the start of the run:
the drill holds no copy of the numbers.

The drill observes each scheduled delay, then moves the item's due time to
now instead of sitting the wait out, so a run takes seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import Action, Drill, Invariant, InvariantResult, JsonValue, LoadSpec
from gauntlet.chaos.invariants import event_prefix, unsettled
from gauntlet.chaos.probes import health_ok, nothing_unsettled
from gauntlet.chaos.sql import sql

NAME = "poison-job"
LABEL = "poison"
SIGNAL = "chaos.poison"
EVENT_REASON = "telemetry.signal needs payload.user_id"  # what the queue worker says about this payload
JOB_ERROR = "chaos drill: this job always fails"
EVENT_QUEUE = "events_queue"
JOB_QUEUE = "worker_jobs"
TOLERANCE_S = 1.0
DelaysFn = Callable[[], list[float]]
LANE_TIMEOUT_S = 45.0


@dataclass
class _Lanes:
    event_backoff_s: list[int] = field(default_factory=list)  # the platform's policy: wait after each retried failure
    job_backoff_s: list[int] = field(default_factory=list)
    event_id: int | None = None
    event_delays: list[float] = field(default_factory=list)
    job_id: int | None = None
    job_delays: list[float] = field(default_factory=list)
    job_answers: list[JsonValue] = field(default_factory=list)


def build(variant: str | None = None) -> Drill:
    lanes = _Lanes()

    async def publish_poison(ctx: DrillContext) -> JsonValue:
        payload = {"name": SIGNAL, "user_id": "not-a-user", "metadata": {"chaos_run": ctx.run_id, "seq": 1}}
        async with ctx.primary() as conn:
            lanes.event_backoff_s = await _backoff_s(conn, EVENT_QUEUE)
            lanes.job_backoff_s = await _backoff_s(conn, JOB_QUEUE)
            row = await conn.fetchrow(
                sql("fixtures", "enqueue_event"), "telemetry.signal", f"{event_prefix(ctx, LABEL)}1", payload
            )
        assert row is not None
        lanes.event_id = int(row["id"])
        return {
            "event_id": lanes.event_id,
            "event_backoff_s": [*lanes.event_backoff_s],
            "job_backoff_s": [*lanes.job_backoff_s],
        }

    async def watch_event(ctx: DrillContext) -> JsonValue:
        """Each time a worker fails the event, note the delay it scheduled and skip the wait."""
        assert lanes.event_id is not None
        deadline = time.monotonic() + LANE_TIMEOUT_S
        seen_attempts = 0
        async with ctx.primary() as conn:
            while time.monotonic() < deadline:
                row = await conn.fetchrow(sql("fixtures", "event_state"), lanes.event_id)
                assert row is not None
                if row["status"] == "error":
                    return {"status": "error", "attempts": row["attempts"], "delays_s": list(lanes.event_delays)}
                if row["status"] == "queued" and row["attempts"] > seen_attempts:
                    seen_attempts = row["attempts"]
                    lanes.event_delays.append(round(float(row["delay_s"]), 3))
                    await conn.fetchval(sql("fixtures", "fast_forward_event"), lanes.event_id, seen_attempts)
                await asyncio.sleep(0.05)
        return {"status": "timeout", "delays_s": list(lanes.event_delays)}

    async def enqueue_job(ctx: DrillContext) -> JsonValue:
        response = await ctx.rpc(
            "worker_enqueue_job",
            {
                "p_kind": _job_kind(ctx),
                "p_payload": {"chaos_run": ctx.run_id},
                "p_idempotency_key": f"chaos:{ctx.run_id}:poison-job",
            },
        )
        response.raise_for_status()
        lanes.job_id = int(response.json()[0]["id"])
        return {"job_id": lanes.job_id}

    async def work_job(ctx: DrillContext) -> JsonValue:
        """Act as the platform's job worker: claim, fail with the reason, note the backoff, repeat."""
        assert lanes.job_id is not None
        for _ in range(len(lanes.job_backoff_s) + 2):
            claim = await ctx.rpc(
                "worker_claim_job",
                {"p_worker_id": f"chaos-{ctx.run_id}", "p_kinds": [_job_kind(ctx)], "p_lease_seconds": 30},
            )
            claim.raise_for_status()
            rows = claim.json()
            if not rows:
                lanes.job_answers.append("nothing to claim")
                break
            failed = await ctx.rpc(
                "worker_fail_job", {"p_id": rows[0]["id"], "p_token": rows[0]["lease_token"], "p_error": JOB_ERROR}
            )
            failed.raise_for_status()
            answer = failed.json()
            lanes.job_answers.append(answer)
            if answer != "pending":
                break
            async with ctx.primary() as conn:
                row = await conn.fetchrow(sql("fixtures", "job_state"), lanes.job_id)
                assert row is not None
                lanes.job_delays.append(round(float(row["delay_s"]), 3))
                await conn.fetchval(sql("fixtures", "fast_forward_job"), lanes.job_id)
        return {"answers": list(lanes.job_answers), "delays_s": list(lanes.job_delays)}

    async def remove_jobs(ctx: DrillContext) -> JsonValue:
        async with ctx.primary() as conn:
            row = await conn.fetchrow(sql("fixtures", "delete_drill_jobs"), ctx.run_id)
        return {"jobs": row["jobs"] if row else 0, "dead_letters": row["letters"] if row else 0}

    async def retrying(ctx: DrillContext) -> int:
        return await unsettled(ctx, LABEL)

    return Drill(
        name=NAME,
        title="A poison event and a poison job reach the DLQ with their reason, on the backoff schedule",
        proves=(
            "Work that always fails is retried on the backoff of its queue's published policy "
            "(queue_retry_schedule), then dead-lettered with its reason after the policy's retries, "
            "and writes no effect."
        ),
        steady_state=(health_ok(), nothing_unsettled("no poison work retrying", retrying)),
        method=(
            Action("publish a poison event", publish_poison, fault="start"),
            Action("watch the workers retry it until the DLQ", watch_event, timeout_s=LANE_TIMEOUT_S + 5),
            Action("enqueue a poison job", enqueue_job),
            Action("work the job until the DLQ", work_job),
        ),
        rollbacks=(Action("remove the drill's jobs", remove_jobs),),
        invariants=(
            _event_dead_lettered(lanes),
            _schedule("event retries back off on schedule", lambda: lanes.event_delays, lambda: lanes.event_backoff_s),
            _no_effect(),
            _job_dead_lettered(lanes),
            _schedule("job retries back off on schedule", lambda: lanes.job_delays, lambda: lanes.job_backoff_s),
        ),
        load=LoadSpec(rate_per_s=10, before_s=1.0, after_s=1.0),
        requires=frozenset({"database"}),
    )


async def _backoff_s(conn: asyncpg.Connection, queue: str) -> list[int]:
    """The waits of a queue's retry policy, as the platform publishes it; the failure after them dead-letters."""
    rows = await conn.fetch(sql("fixtures", "retry_schedule"), queue)
    if not rows or rows[-1]["retry_in_s"] is not None:
        raise RuntimeError(
            f"the platform publishes no dead-lettering retry schedule for {queue} (queue_retry_schedule)"
        )
    return [int(r["retry_in_s"]) for r in rows[:-1]]


def _job_kind(ctx: DrillContext) -> str:
    return f"chaos.poison.{ctx.run_id}"


def _event_dead_lettered(lanes: _Lanes) -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        assert lanes.event_id is not None
        async with ctx.primary() as conn:
            row = await conn.fetchrow(sql("fixtures", "event_state"), lanes.event_id)
        assert row is not None
        observed: dict[str, JsonValue] = {
            "status": row["status"],
            "attempts": row["attempts"],
            "last_error": row["last_error"],
        }
        ok = (
            row["status"] == "error"
            and row["attempts"] == len(lanes.event_backoff_s) + 1
            and EVENT_REASON in (row["last_error"] or "")
        )
        return InvariantResult.check(
            ok,
            observed,
            {"status": "error", "attempts": len(lanes.event_backoff_s) + 1, "last_error": f"... {EVENT_REASON} ..."},
            f"event {row['status']} after {row['attempts']} attempts: {row['last_error']}",
        )

    return Invariant("poison event dead-lettered with its reason", check)


def _job_dead_lettered(lanes: _Lanes) -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        assert lanes.job_id is not None
        async with ctx.primary() as conn:
            job = await conn.fetchrow(sql("fixtures", "job_state"), lanes.job_id)
            letters = await conn.fetch(sql("invariants", "dead_letters_for_job"), lanes.job_id)
        assert job is not None
        reasons = [str(r["reason"]) for r in letters]
        ok = (
            job["status"] == "dlq"
            and len(letters) == 1
            and JOB_ERROR in reasons[0]
            and letters[0]["attempts"] == len(lanes.job_backoff_s)
        )
        # The dead letter counts the retries; the job row counts every failure, the last one too.
        observed: dict[str, JsonValue] = {
            "status": job["status"],
            "retries": letters[0]["attempts"] if letters else None,
            "failures": job["attempts"],
            "dead_letters": [*reasons],
        }
        return InvariantResult.check(
            ok,
            observed,
            {"status": "dlq", "retries": len(lanes.job_backoff_s), "dead_letters": [f"... {JOB_ERROR}"]},
            f"job {job['status']} with {len(letters)} dead letters: {reasons}",
        )

    return Invariant("poison job dead-lettered with its reason", check)


def _schedule(name: str, observed: DelaysFn, published: Callable[[], list[int]]) -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        delays, expected = observed(), published()
        ok = len(delays) == len(expected) and all(
            abs(d - e) <= TOLERANCE_S for d, e in zip(delays, expected, strict=False)
        )
        return InvariantResult.check(
            ok,
            [*delays],
            [*expected],
            f"retries scheduled after {delays} s (expected {expected} s, +/- {TOLERANCE_S:g} s)",
        )

    return Invariant(name, check)


def _no_effect() -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            effects = int(await conn.fetchval(sql("invariants", "signals_for_run"), SIGNAL, ctx.run_id))
        return InvariantResult.check(effects == 0, effects, 0, f"{effects} effects written by the poison event")

    return Invariant("the poison wrote no effect", check)


SPEC = DrillSpec(NAME, "poison work goes to the DLQ on the backoff schedule", build)
