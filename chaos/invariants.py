"""Nothing lost, nothing twice: the data checks drills end with.

Every drill marks what it creates with its run id (event keys
`chaos:<run>:<label>:<n>`, discovery reason `chaos:<run>`, signal metadata
`chaos_run`), so its checks count exactly its own items, whatever else the
platform is doing. The SQL is in chaos/sql/invariants.sql.

Effects of Platform II (notifications, the earnings ledger) are checked by
name once their tables exist; until then each check is *skipped* with the
reason recorded, never passed silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Set

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.experiment import Invariant, InvariantResult, JsonValue, ProviderCall, RequestGroup
from gauntlet.chaos.sql import sql
from gauntlet.chaos.windows import NO_RESPONSE, stats

PROVIDERS = "gauntlet.chaos.providers.invariants"  # how experiment files name these checks


def event_prefix(ctx: DrillContext, label: str) -> str:
    """The key prefix of a drill's events: `chaos:<run>:<label>:`; the sequence number follows."""
    return f"chaos:{ctx.run_id}:{label}:"


def discovery_reason(ctx: DrillContext) -> str:
    return f"chaos:{ctx.run_id}"


async def unsettled(ctx: DrillContext, label: str, *, discovery: bool = False) -> int:
    """How many of the drill's items are neither done nor dead-lettered."""
    async with ctx.primary() as conn:
        count = int(await conn.fetchval(sql("invariants", "unsettled_events"), event_prefix(ctx, label)))
        if discovery:
            count += int(await conn.fetchval(sql("invariants", "unsettled_discovery_items"), discovery_reason(ctx)))
    return count


def every_item_settled(label: str, *, discovery: bool = False) -> Invariant:
    """Every enqueued item ended done or dead-lettered: none queued, none stuck in a lease."""

    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            events = await conn.fetch(sql("invariants", "event_outcomes"), event_prefix(ctx, label))
            items = (
                await conn.fetch(sql("invariants", "discovery_outcomes"), discovery_reason(ctx)) if discovery else []
            )
        outcomes: dict[str, JsonValue] = {
            "events": {r["status"]: {"items": r["items"], "retried": r["retried"]} for r in events},
        }
        if discovery:
            outcomes["discovery_items"] = {r["status"]: {"items": r["items"], "retried": r["retried"]} for r in items}
        stuck = sum(r["items"] for r in [*events, *items] if r["status"] not in ("done", "error"))
        total = sum(r["items"] for r in [*events, *items])
        return InvariantResult.check(
            stuck == 0 and total > 0,
            outcomes,
            "every item done or dead-lettered",
            f"{stuck} of {total} items neither done nor dead-lettered"
            if stuck or not total
            else f"all {total} settled",
        )

    return Invariant("every item done or dead-lettered", check)


def effects_exactly_once(label: str, signal_name: str) -> Invariant:
    """Each done event wrote its effect exactly once; a dead-lettered one wrote none."""

    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            rows = await conn.fetch(
                sql("invariants", "signal_effects"), signal_name, ctx.run_id, event_prefix(ctx, label)
            )
        duplicated = [r["seq"] for r in rows if r["signals"] > 1]
        missing = [r["seq"] for r in rows if r["status"] == "done" and r["signals"] == 0]
        unexpected = [r["seq"] for r in rows if r["status"] != "done" and r["signals"] > 0]
        observed: dict[str, JsonValue] = {
            "events": sum(1 for r in rows if r["status"] is not None),
            "done": sum(1 for r in rows if r["status"] == "done"),
            "dead_lettered": sum(1 for r in rows if r["status"] == "error"),
            "effects": sum(r["signals"] for r in rows),
            "duplicated": duplicated[:20],
            "missing": missing[:20],
            "unexpected": unexpected[:20],
        }
        problems = []
        if duplicated:
            problems.append(f"{len(duplicated)} events wrote their effect more than once")
        if missing:
            problems.append(f"{len(missing)} done events have no effect (lost)")
        if unexpected:
            problems.append(f"{len(unexpected)} effects belong to events not done (half-written)")
        return InvariantResult.check(
            not problems and bool(rows),
            observed,
            "one effect per done event, none for dead-lettered ones",
            "; ".join(problems) or f"{observed['effects']} effects for {observed['done']} done events",
        )

    return Invariant("each effect exactly once", check)


def no_duplicate_gaps() -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            duplicated = int(await conn.fetchval(sql("invariants", "duplicate_gaps")))
        return InvariantResult.check(
            duplicated == 0, duplicated, 0, f"{duplicated} categories with more than one gap row"
        )

    return Invariant("one gap row per category", check, provider=ProviderCall(PROVIDERS, "no_duplicate_gaps"))


def no_duplicate_notifications() -> Invariant:
    """Platform II: no two identical notifications written during the drill."""

    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            if not await conn.fetchval(sql("invariants", "table_exists"), "public.notifications"):
                return InvariantResult.skipped("public.notifications does not exist yet (Platform II): not checked")
            since = dt.datetime.fromtimestamp(ctx.started_at or 0, tz=dt.UTC)
            duplicated = int(await conn.fetchval(sql("invariants", "duplicate_notifications"), since))
        return InvariantResult.check(duplicated == 0, duplicated, 0, f"{duplicated} notifications written twice")

    call = ProviderCall(PROVIDERS, "no_duplicate_notifications")
    return Invariant("no duplicate notifications", check, provider=call)


def ledger_matches_events() -> Invariant:
    """Platform II: every user's ledger total equals the sum of their earnings events."""

    async def check(ctx: DrillContext) -> InvariantResult:
        async with ctx.primary() as conn:
            for table in ("public.earnings_events", "public.earnings_ledger"):
                if not await conn.fetchval(sql("invariants", "table_exists"), table):
                    return InvariantResult.skipped(f"{table} does not exist yet (Platform II): not checked")
            mismatched = int(await conn.fetchval(sql("invariants", "ledger_mismatches")))
        return InvariantResult.check(
            mismatched == 0, mismatched, 0, f"{mismatched} users whose ledger differs from their events"
        )

    call = ProviderCall(PROVIDERS, "ledger_matches_events")
    return Invariant("ledger totals equal the sum of events", check, provider=call)


def platform_two_effects() -> tuple[Invariant, ...]:
    """The Platform II effect checks, added to every drill that can cause side effects."""
    return (no_duplicate_notifications(), ledger_matches_events())


def judge_writes(outcomes: Mapping[int, int], in_doubt: Set[int], stored: Mapping[int, int]) -> InvariantResult:
    """Acknowledged writes stored once, refused ones not stored; in-doubt ones (the platform said the
    connection was lost mid-write) may be stored, but at most once. `outcomes`: seq -> HTTP status,
    `stored`: seq -> how many times it is stored."""
    acknowledged = {seq for seq, status in outcomes.items() if 200 <= status < 300}
    refused = {seq for seq, status in outcomes.items() if status >= 400 and seq not in in_doubt}
    lost: list[JsonValue] = [*sorted(acknowledged - set(stored))]
    twice: list[JsonValue] = [*sorted(seq for seq, n in stored.items() if n > 1)]
    half: list[JsonValue] = [*sorted(seq for seq in refused if seq in stored)]
    observed: dict[str, JsonValue] = {
        "acknowledged": len(acknowledged),
        "refused": len(refused),
        "in_doubt": len(in_doubt),
        "in_doubt_stored": sum(1 for seq in in_doubt if seq in stored),
        "no_answer": sum(1 for s in outcomes.values() if s == NO_RESPONSE),
        "stored": len(stored),
        "lost": lost[:20],
        "stored_twice": twice[:20],
        "refused_but_stored": half[:20],
    }
    problems = [
        f"{len(items)} {what}"
        for items, what in (
            (lost, "acknowledged writes lost"),
            (twice, "writes stored twice"),
            (half, "writes refused yet stored (half-written)"),
        )
        if items
    ]
    if not acknowledged:
        problems.append("no write was acknowledged, so nothing shows writes work")
    return InvariantResult.check(
        not problems,
        observed,
        "every acknowledged write stored once, no refused write stored, none in doubt stored twice",
        "; ".join(problems) or f"{len(acknowledged)} acknowledged writes stored once each",
    )


def load_writes_exactly_once() -> Invariant:
    """The load's acknowledged writes are stored once; its refused ones are not stored (nothing half-written)."""

    async def check(ctx: DrillContext) -> InvariantResult:
        from gauntlet.chaos.load_driver import SIGNAL_NAME, LoadDriver

        if not isinstance(ctx.load, LoadDriver):
            return InvariantResult.skipped("no background load ran, so there are no writes to check")
        async with ctx.primary() as conn:
            stored = {
                r["seq"]: r["signals"]
                for r in await conn.fetch(sql("invariants", "signals_by_seq"), SIGNAL_NAME, ctx.run_id)
            }
        return judge_writes(ctx.load.signal_outcomes(), ctx.load.signals_in_doubt(), stored)

    call = ProviderCall(PROVIDERS, "load_writes_exactly_once")
    return Invariant("acknowledged writes stored exactly once", check, provider=call)


def failed_fast_with_retry_hint(groups: frozenset[RequestGroup], max_latency_ms: float) -> Invariant:
    """During the fault, every failed request of `groups` was a quick 503 carrying Retry-After."""

    async def check(ctx: DrillContext) -> InvariantResult:
        start, end = ctx.fault_started_at, ctx.fault_ended_at
        if start is None or end is None:
            return InvariantResult("failed", None, None, "the fault window never closed")
        failed = [s for s in ctx.samples() if start <= s.at < end and s.group in groups and not s.ok]
        not_503 = [s for s in failed if s.status != 503]
        no_hint = [s for s in failed if s.status == 503 and not s.retry_after]
        slow = [s for s in failed if s.latency_ms > max_latency_ms]
        statuses: dict[str, int] = {}
        for s in failed:
            statuses[str(s.status)] = statuses.get(str(s.status), 0) + 1
        observed: dict[str, JsonValue] = {
            "failed": len(failed),
            "statuses": dict(sorted(statuses.items())),
            "without_retry_after": len(no_hint),
            "slower_than_limit": len(slow),
            "slowest_ms": max((s.latency_ms for s in failed), default=None),
        }
        problems = [
            text
            for count, text in (
                (len(not_503), f"{len(not_503)} failures were not 503"),
                (len(no_hint), f"{len(no_hint)} 503s without Retry-After"),
                (len(slow), f"{len(slow)} failures took longer than {max_latency_ms:g} ms"),
            )
            if count
        ]
        if not failed:
            problems.append("no request failed: the fault did not reach the platform")
        return InvariantResult.check(
            not problems,
            observed,
            f"failures are 503 with Retry-After within {max_latency_ms:g} ms",
            "; ".join(problems) or f"{len(failed)} failures, all fast 503s with a retry hint",
        )

    call = ProviderCall(
        PROVIDERS,
        "failed_fast_with_retry_hint",
        {"groups": [*map(str, sorted(groups))], "max_latency_ms": max_latency_ms},
    )
    return Invariant("writes fail fast with 503 and a retry hint", check, provider=call)


def served_during_fault(group: RequestGroup, *, max_error_rate: float, max_p95_ms: float) -> Invariant:
    """While the fault was on, the load's `group` requests kept succeeding, and quickly."""

    async def check(ctx: DrillContext) -> InvariantResult:
        start, end = ctx.fault_started_at, ctx.fault_ended_at
        if start is None or end is None:
            return InvariantResult("failed", None, None, "the fault window never closed")
        counted = stats([s for s in ctx.samples() if start <= s.at < end and s.group == group])
        if counted["requests"] == 0:
            return InvariantResult("failed", 0, ">= 1 request", f"no {group} request was sent during the fault")
        p95 = counted["p95"] or 0.0
        ok = counted["error_rate"] <= max_error_rate and p95 <= max_p95_ms
        observed: dict[str, JsonValue] = {
            "requests": counted["requests"],
            "error_rate": counted["error_rate"],
            "p95_ms": p95,
        }
        return InvariantResult.check(
            ok,
            observed,
            {"error_rate": f"<= {max_error_rate:g}", "p95_ms": f"<= {max_p95_ms:g}"},
            f"{group} during the fault: {counted['errors']} of {counted['requests']} failed, p95 {p95:.0f} ms",
        )

    arguments: dict[str, JsonValue] = {"group": group, "max_error_rate": max_error_rate, "max_p95_ms": max_p95_ms}
    call = ProviderCall(PROVIDERS, "served_during_fault", arguments)
    return Invariant(f"{group.replace('_', ' ')}s unaffected by the fault", check, provider=call)
