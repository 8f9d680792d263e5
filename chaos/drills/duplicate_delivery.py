"""duplicate-delivery: the same job, the same webhook event and the same claim, each 10 times at once.

At-least-once delivery means the platform will see the same message again,
often concurrently. Each door must let exactly one through:
- a job enqueued 10 times with one idempotency key (`worker_enqueue_job`, over the API) is one job;
- an event published 10 times with one (topic, key) (`enqueue_event`, what a webhook receiver
  calls) is one event, processed by the real queue workers into one effect;
- 10 concurrent `record_idempotency` claims of one key (over the API) have one winner;
- an earnings event recorded 10 times with one idempotency key (`earnings_record_event`, the
  payment webhook's path) is one event and one ledger write (Platform II; skipped without it).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import asyncpg

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import Action, Drill, Invariant, InvariantResult, JsonValue, LoadSpec
from gauntlet.chaos.invariants import platform_two_effects
from gauntlet.chaos.probes import health_ok, nothing_unsettled
from gauntlet.chaos.sql import sql

NAME = "duplicate-delivery"
COPIES = 10
SIGNAL = "chaos.replay"


@dataclass
class _Deliveries:
    jobs: list[JsonValue] = field(default_factory=list)  # each worker_enqueue_job answer
    events: list[JsonValue] = field(default_factory=list)  # each enqueue_event answer
    claims: list[JsonValue] = field(default_factory=list)  # each record_idempotency answer
    earnings: list[JsonValue] = field(default_factory=list)  # each earnings_record_event answer
    ledger_writes_before: int | None = None  # None: the platform has no earnings ledger


def _job_key(ctx: DrillContext) -> str:
    return f"chaos:{ctx.run_id}:replay-job"


def _event_key(ctx: DrillContext) -> str:
    return f"chaos:{ctx.run_id}:replay:1"


async def _rpc_json(ctx: DrillContext, function: str, args: dict[str, object]) -> JsonValue:
    response = await ctx.rpc(function, args)
    body: JsonValue = response.json() if response.content else None
    return {"status": response.status_code, "body": body}


def build(variant: str | None = None) -> Drill:
    seen = _Deliveries()

    async def replay_job(ctx: DrillContext) -> JsonValue:
        args: dict[str, object] = {
            "p_kind": f"chaos.replay.{ctx.run_id}",
            "p_payload": {"chaos_run": ctx.run_id},
            "p_idempotency_key": _job_key(ctx),
        }
        seen.jobs = list(await asyncio.gather(*(_rpc_json(ctx, "worker_enqueue_job", args) for _ in range(COPIES))))
        return {"deliveries": len(seen.jobs)}

    async def replay_event(ctx: DrillContext) -> JsonValue:
        payload = {
            "user_id": str(ctx.subject_id()),
            "name": SIGNAL,
            "metadata": {"chaos_run": ctx.run_id, "seq": 1},
            "chaos_delivery": ctx.run_id,
        }
        dsn = ctx.target.primary_dsn
        assert dsn is not None

        async def deliver() -> JsonValue:
            # One connection per delivery: concurrent, like ten receiver instances.
            conn = await asyncpg.connect(dsn, timeout=5)
            try:
                await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
                row = await conn.fetchrow(
                    sql("fixtures", "enqueue_event"), "telemetry.signal", _event_key(ctx), payload
                )
            finally:
                await conn.close(timeout=5)
            return None if row is None else {"id": row["id"], "created": row["created"]}

        seen.events = list(await asyncio.gather(*(deliver() for _ in range(COPIES))))
        return {"deliveries": len(seen.events)}

    async def replay_claim(ctx: DrillContext) -> JsonValue:
        args: dict[str, object] = {"p_key": f"chaos:{ctx.run_id}:claim", "p_scope": "chaos"}
        seen.claims = list(await asyncio.gather(*(_rpc_json(ctx, "record_idempotency", args) for _ in range(COPIES))))
        return {"deliveries": len(seen.claims)}

    async def replay_earning(ctx: DrillContext) -> JsonValue:
        async with ctx.primary() as conn:
            if not await conn.fetchval(sql("invariants", "table_exists"), "public.earnings_ledger"):
                return {"skipped": "no earnings ledger on this platform"}
            seen.ledger_writes_before = int(await conn.fetchval(sql("invariants", "ledger_writes"), ctx.subject_id()))
        args: dict[str, object] = {
            "p_user_id": str(ctx.subject_id()),
            "p_kind": "tip",
            "p_amount_cents": 100,
            "p_idempotency_key": _earning_key(ctx),
            "p_metadata": {"chaos_run": ctx.run_id},
        }
        replays = (_rpc_json(ctx, "earnings_record_event", args) for _ in range(COPIES))
        seen.earnings = list(await asyncio.gather(*replays))
        return {"deliveries": len(seen.earnings)}

    async def remove_jobs(ctx: DrillContext) -> JsonValue:
        # Nothing in the platform runs chaos jobs: take them out so they do not wait forever.
        async with ctx.primary() as conn:
            row = await conn.fetchrow(sql("fixtures", "delete_drill_jobs"), ctx.run_id)
        return {"jobs": row["jobs"] if row else 0, "dead_letters": row["letters"] if row else 0}

    async def pending(ctx: DrillContext) -> int:
        async with ctx.primary() as conn:
            return int(await conn.fetchval(sql("invariants", "unsettled_delivered_events"), ctx.run_id))

    return Drill(
        name=NAME,
        title="The same job, event, claim and earning delivered 10 times at once; exactly one effect each",
        proves=(
            f"{COPIES} concurrent deliveries of one job (same idempotency key) make one job; of one event "
            "(same topic and key) make one event and one effect; of one idempotency claim have one winner; "
            "of one earnings event make one event and one ledger write."
        ),
        steady_state=(health_ok(), nothing_unsettled("no replayed event waiting", pending)),
        method=(
            Action(f"enqueue one job {COPIES} times at once", replay_job, fault="start"),
            Action(f"publish one webhook event {COPIES} times at once", replay_event),
            Action(f"claim one idempotency key {COPIES} times at once", replay_claim),
            Action(f"record one earnings event {COPIES} times at once", replay_earning, fault="end"),
        ),
        rollbacks=(Action("remove the drill's jobs", remove_jobs),),
        invariants=(
            _one_job(seen),
            _one_event(),
            _one_effect(),
            _one_claim(seen),
            _one_ledger_write(seen),
            *platform_two_effects(),
        ),
        load=LoadSpec(rate_per_s=10, before_s=1.0, after_s=1.0),
        requires=frozenset({"database"}),
    )


def _one_job(seen: _Deliveries) -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            jobs = await conn.fetch(sql("invariants", "jobs_for_run"), ctx.run_id)
        created = sum(1 for d in seen.jobs if _first_row(d).get("created") is True)
        ok = [d for d in seen.jobs if isinstance(d, dict) and d.get("status") == 200]
        observed: dict[str, JsonValue] = {"jobs": len(jobs), "created_answers": created, "ok_answers": len(ok)}
        return InvariantResult.check(
            len(jobs) == 1 and created == 1 and len(ok) == COPIES,
            observed,
            {"jobs": 1, "created_answers": 1, "ok_answers": COPIES},
            f"{len(jobs)} jobs and {created} 'created' answers from {COPIES} deliveries of one idempotency key",
        )

    return Invariant("one job however often it is delivered", check)


def _one_event() -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            events = await conn.fetch(sql("invariants", "events_for_run"), ctx.run_id)
        return InvariantResult.check(
            len(events) == 1,
            len(events),
            1,
            f"{len(events)} events from {COPIES} deliveries of one (topic, key)",
        )

    return Invariant("one event however often it is delivered", check)


def _one_effect() -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            effects = int(await conn.fetchval(sql("invariants", "signals_for_run"), SIGNAL, ctx.run_id))
        return InvariantResult.check(effects == 1, effects, 1, f"{effects} intent signals written for one delivery")

    return Invariant("one effect for the replayed event", check)


def _one_claim(seen: _Deliveries) -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        wins = sum(1 for d in seen.claims if isinstance(d, dict) and d.get("body") is True)
        return InvariantResult.check(wins == 1, wins, 1, f"{wins} of {COPIES} concurrent claims of one key won")

    return Invariant("exactly one idempotency claim wins", check)


def _one_ledger_write(seen: _Deliveries) -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        if seen.ledger_writes_before is None:
            return InvariantResult.skipped("public.earnings_ledger does not exist (Platform II): not checked")
        async with ctx.primary() as conn:
            events = int(await conn.fetchval(sql("invariants", "earnings_events_for_key"), _earning_key(ctx)))
            writes = int(await conn.fetchval(sql("invariants", "ledger_writes"), ctx.subject_id()))
        created = sum(1 for d in seen.earnings if isinstance(d, dict) and _body(d).get("created") is True)
        observed: dict[str, JsonValue] = {
            "events": events,
            "created_answers": created,
            "ledger_writes": writes - seen.ledger_writes_before,
        }
        return InvariantResult.check(
            observed == {"events": 1, "created_answers": 1, "ledger_writes": 1},
            observed,
            {"events": 1, "created_answers": 1, "ledger_writes": 1},
            f"{events} earnings events, {created} 'created' answers and {writes - seen.ledger_writes_before} "
            f"ledger writes from {COPIES} deliveries of one idempotency key",
        )

    return Invariant("one ledger write for the replayed earnings event", check)


def _earning_key(ctx: DrillContext) -> str:
    return f"chaos:{ctx.run_id}:tip"


def _body(delivery: dict[str, JsonValue]) -> dict[str, JsonValue]:
    body = delivery.get("body")
    return body if isinstance(body, dict) else {}


def _first_row(delivery: JsonValue) -> dict[str, JsonValue]:
    """The row of a set-returning RPC answer (`[{"id": ..., "created": ...}]`), or {}."""
    if isinstance(delivery, dict):
        body = delivery.get("body")
        if isinstance(body, list) and body and isinstance(body[0], dict):
            return body[0]
    return {}


SPEC = DrillSpec(NAME, "replay one job, event and claim 10 times concurrently", build)
