"""lease-expiry: a worker that stalls past its lease cannot ack; the item is re-leased and done once.

The drill plays two workers against the platform's queue kernels over the
API (`lease_events`, `ack_event`, `fail_event`: what every queue worker
calls), on a topic of its own so the real workers leave the item alone:
worker A leases with a 1 s TTL and stalls; its late ack (before and after
worker B re-leased the item) and its late failure report must change
nothing; B's re-lease counts one attempt, and B's ack completes the item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import (
    Action,
    Drill,
    Invariant,
    InvariantFn,
    InvariantResult,
    JsonValue,
    LoadSpec,
    Probe,
    equals,
)
from gauntlet.chaos.probes import health_ok
from gauntlet.chaos.sql import sql

NAME = "lease-expiry"
LEASE_TTL_S = 1
STALL_S = LEASE_TTL_S + 0.8  # long enough for the lease to expire, with clock slack


@dataclass
class _Workers:
    event_id: int | None = None
    token_a: str | None = None
    token_b: str | None = None
    seen: dict[str, dict[str, JsonValue]] = field(default_factory=dict)  # step -> what the API answered, state after


def _topic(ctx: DrillContext) -> str:
    return f"chaos.lease.{ctx.run_id}"


async def _state(ctx: DrillContext, event_id: int) -> dict[str, JsonValue]:
    async with ctx.primary() as conn:
        row = await conn.fetchrow(sql("fixtures", "event_state"), event_id)
    assert row is not None
    token = row["lease_token"]
    return {"status": row["status"], "attempts": row["attempts"], "lease_token": None if token is None else str(token)}


def build(variant: str | None = None) -> Drill:
    workers = _Workers()

    async def publish(ctx: DrillContext) -> JsonValue:
        async with ctx.primary() as conn:
            row = await conn.fetchrow(
                sql("fixtures", "enqueue_event"), _topic(ctx), f"chaos:{ctx.run_id}:lease:1", {"chaos_run": ctx.run_id}
            )
        assert row is not None
        workers.event_id = int(row["id"])
        return {"event_id": workers.event_id, "topic": _topic(ctx)}

    async def lease(ctx: DrillContext, who: str) -> JsonValue:
        response = await ctx.rpc("lease_events", {"p_topic": _topic(ctx), "p_limit": 1, "p_ttl_seconds": LEASE_TTL_S})
        response.raise_for_status()
        rows = response.json()
        leased = rows[0] if rows else None
        if leased is not None and leased["id"] == workers.event_id:
            if who == "A":
                workers.token_a = str(leased["lease_token"])
            else:
                workers.token_b = str(leased["lease_token"])
        answer: JsonValue = None if leased is None else {"id": leased["id"], "attempts": leased["attempts"]}
        return await record(ctx, f"lease_{who}", answer)

    async def ack(ctx: DrillContext, step: str, token: str | None) -> JsonValue:
        if token is None:
            return await record(ctx, step, "no lease to ack with")
        response = await ctx.rpc("ack_event", {"p_id": workers.event_id, "p_token": token})
        response.raise_for_status()
        return await record(ctx, step, response.json())

    async def fail_late(ctx: DrillContext) -> JsonValue:
        args = {
            "p_id": workers.event_id,
            "p_token": workers.token_a,
            "p_error": "late failure",
            "p_retry_in_seconds": 5,
        }
        response = await ctx.rpc("fail_event", args)
        response.raise_for_status()
        return await record(ctx, "late_fail_A", response.json())

    async def record(ctx: DrillContext, step: str, answer: JsonValue) -> JsonValue:
        assert workers.event_id is not None
        workers.seen[step] = {"answer": answer, "after": await _state(ctx, workers.event_id)}
        return workers.seen[step]

    async def stuck(ctx: DrillContext) -> JsonValue:
        """Leases on the drill's topic that expired and nobody took over (0 before and after)."""
        if workers.event_id is None:
            return 0
        async with ctx.primary() as conn:
            row = await conn.fetchrow(sql("fixtures", "event_state"), workers.event_id)
        return 1 if row is not None and row["status"] == "leased" and row["lease_expired"] else 0

    async def lease_a(ctx: DrillContext) -> JsonValue:
        return await lease(ctx, "A")

    async def lease_b(ctx: DrillContext) -> JsonValue:
        return await lease(ctx, "B")

    async def late_ack_a(ctx: DrillContext) -> JsonValue:
        return await ack(ctx, "late_ack_A", workers.token_a)

    async def stale_ack_a(ctx: DrillContext) -> JsonValue:
        return await ack(ctx, "stale_ack_A", workers.token_a)

    async def ack_b(ctx: DrillContext) -> JsonValue:
        return await ack(ctx, "ack_B", workers.token_b)

    return Drill(
        name=NAME,
        title="An ack after the lease expired is a no-op; the item is re-leased and done once",
        proves=(
            "A worker whose lease expired can neither ack nor fail the item (before or after another worker "
            "re-leased it); the re-lease counts one attempt and the new holder completes the item exactly once."
        ),
        steady_state=(health_ok(), Probe("no expired lease left behind", stuck, equals(0))),
        setup=(Action("publish an event on the drill's own topic", publish),),
        method=(
            Action(f"worker A leases it for {LEASE_TTL_S} s and stalls", lease_a, fault="start", pause_after_s=STALL_S),
            Action("worker A acks after its lease expired", late_ack_a),
            Action("worker B re-leases it", lease_b),
            Action("worker A acks again, after the re-lease", stale_ack_a),
            Action("worker A reports a failure, late", fail_late),
            Action("worker B acks in time", ack_b, fault="end"),
        ),
        invariants=_invariants(workers),
        load=LoadSpec(rate_per_s=10, before_s=1.0, after_s=1.0),
        requires=frozenset({"database"}),
    )


def _invariants(workers: _Workers) -> tuple[Invariant, ...]:
    def step(name: str) -> dict[str, JsonValue]:
        return workers.seen.get(name, {"answer": "step did not run", "after": {}})

    def after(name: str) -> dict[str, JsonValue]:
        found = step(name).get("after")
        return found if isinstance(found, dict) else {}

    def late_ack_is_noop() -> InvariantResult:
        seen = step("late_ack_A")
        ok = seen["answer"] is False and after("late_ack_A").get("status") == "leased"
        return InvariantResult.check(
            ok, seen, {"answer": False, "after": {"status": "leased"}}, _says("late ack", seen)
        )

    def re_leased() -> InvariantResult:
        seen = step("lease_B")
        answer = seen["answer"]
        ok = isinstance(answer, dict) and answer.get("attempts") == 1 and workers.token_b not in (None, workers.token_a)
        return InvariantResult.check(ok, seen, {"answer": {"attempts": 1}}, _says("re-lease", seen))

    def stale_ack_is_noop() -> InvariantResult:
        seen = step("stale_ack_A")
        state = after("stale_ack_A")
        ok = seen["answer"] is False and state.get("status") == "leased" and state.get("lease_token") == workers.token_b
        expected: JsonValue = {"answer": False, "after": {"status": "leased", "lease_token": "B's"}}
        return InvariantResult.check(ok, seen, expected, _says("stale ack", seen))

    def late_fail_is_noop() -> InvariantResult:
        seen = step("late_fail_A")
        state = after("late_fail_A")
        ok = seen["answer"] is None and state.get("status") == "leased" and state.get("attempts") == 1
        expected: JsonValue = {"answer": None, "after": {"status": "leased", "attempts": 1}}
        return InvariantResult.check(ok, seen, expected, _says("late failure report", seen))

    def done_once() -> InvariantResult:
        seen = step("ack_B")
        ok = seen["answer"] is True and after("ack_B").get("status") == "done"
        return InvariantResult.check(ok, seen, {"answer": True, "after": {"status": "done"}}, _says("B's ack", seen))

    checks = (
        ("an ack after the lease expired is a no-op", late_ack_is_noop),
        ("the expired item is re-leased, one attempt counted", re_leased),
        ("an ack after the re-lease is a no-op", stale_ack_is_noop),
        ("a late failure report is a no-op", late_fail_is_noop),
        ("the new holder completes the item", done_once),
    )
    return tuple(Invariant(name, _sync(fn)) for name, fn in checks)


def _says(what: str, seen: dict[str, JsonValue]) -> str:
    return f"{what}: the API answered {seen.get('answer')!r}; the item then was {seen.get('after')}"


def _sync(fn: Callable[[], InvariantResult]) -> InvariantFn:
    async def check(ctx: DrillContext) -> InvariantResult:
        return fn()

    return check


SPEC = DrillSpec(NAME, "ack after the lease expired", build)
