"""redis-stall: Redis stops answering; the API keeps serving within SLO and goes back to Redis after.

A `timeout` toxic on the `redis` proxy swallows every byte (a stalled Redis:
connections stay open, nothing comes back); the `latency` variant delays
every answer far beyond the platform's Redis timeout instead. Redis backs
only optional things, so the API must answer from its fallbacks: features
computed from the database, rate limits from in-process buckets, each with a
warning in the log. When the toxic is removed it must return to Redis.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import (
    USER_GROUPS,
    Action,
    Drill,
    ErrorBudget,
    Invariant,
    InvariantResult,
    JsonValue,
    LoadSpec,
    ProviderCall,
)
from gauntlet.chaos.probes import fallback_counters, feature_store_cached, health_ok, recent_error_rate
from gauntlet.chaos.providers import provided_action
from gauntlet.chaos.providers.toxiproxy import MODULE as TOXIPROXY

NAME = "redis-stall"
ROLE = "redis"  # the embedded stack's redis proxy
TOXIC = "chaos_redis_stall"
FAULT_S = 4.0
VARIANTS = ("timeout", "latency")
LOG_TAIL_BYTES = 4_000_000
_LOG_LINE = re.compile(r"^ts=(?P<ts>\S+) .*\baction=(?P<action>feature_cache_miss|ratelimit_fallback)\b")
# Signed-in requests that go through the rate limiter, to show it is back on Redis.
_PROBE_REQUESTS = 5


@dataclass
class _Counters:
    before: dict[str, float] = field(default_factory=dict)


def _toxic(variant: str) -> tuple[str, dict[str, JsonValue]]:
    if variant == "latency":
        return "latency", {"latency": 2000, "jitter": 0}
    return "timeout", {"timeout": 0}  # 0: never close, never answer


def fallback_used(counters: _Counters) -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        after = await fallback_counters(ctx)
        delta = {kind: after.get(kind, 0.0) - counters.before.get(kind, 0.0) for kind in after}
        used = {kind: n for kind, n in delta.items() if n > 0}
        return InvariantResult.check(
            bool(used),
            {kind: round(n) for kind, n in delta.items()},
            "ratelimit_memory or feature_store_database fallbacks during the stall",
            f"degraded answers: {used}" if used else "no fallback was counted: the stall never reached the API",
        )

    return Invariant("served from the fallbacks during the stall", check)


def warning_logged() -> Invariant:
    async def check(ctx: DrillContext) -> InvariantResult:
        log = ctx.log_path("api")
        if log is None:
            return InvariantResult.skipped("the API's log is not reachable on this target: warnings not checked")
        start, end = ctx.fault_started_at, ctx.fault_ended_at
        if start is None or end is None:
            return InvariantResult("failed", None, None, "the fault window never closed")
        found = _warnings_between(log, start, end + 1.0)  # the last fallback may log just after removal
        observed: dict[str, JsonValue] = {action: n for action, n in found.items()}
        return InvariantResult.check(
            sum(found.values()) > 0,
            observed,
            "at least one feature_cache_miss or ratelimit_fallback warning",
            f"warnings logged during the stall: {found}" if found else "the API logged no fallback warning",
        )

    return Invariant("a warning was logged", check)


def _warnings_between(log: Path, start: float, end: float) -> dict[str, int]:
    size = log.stat().st_size
    with log.open("rb") as handle:
        handle.seek(max(0, size - LOG_TAIL_BYTES), os.SEEK_SET)
        text = handle.read().decode("utf-8", errors="replace")
    found: dict[str, int] = {}
    for line in text.splitlines():
        match = _LOG_LINE.match(line)
        if match is None:
            continue
        try:
            at = dt.datetime.fromisoformat(match["ts"].replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
        if start <= at <= end:
            found[match["action"]] = found.get(match["action"], 0) + 1
    return found


def back_on_redis() -> Invariant:
    """After recovery, signed-in requests are rate limited through Redis again (no new memory fallbacks)."""

    async def check(ctx: DrillContext) -> InvariantResult:
        if not ctx.users:
            return InvariantResult.skipped("no signed-in load users to send requests as")
        before = (await fallback_counters(ctx)).get("ratelimit_memory", 0.0)
        for _ in range(_PROBE_REQUESTS):
            await ctx.rpc("flags_for", {}, token=ctx.users[0].token)
        after = (await fallback_counters(ctx)).get("ratelimit_memory", 0.0)
        return InvariantResult.check(
            after == before,
            {"memory_fallbacks_during_check": round(after - before)},
            f"0 memory fallbacks over {_PROBE_REQUESTS} signed-in requests",
            "rate limits are back on Redis" if after == before else "rate limits still fall back to memory",
        )

    return Invariant("back on Redis after the stall", check)


def build(variant: str | None = None) -> Drill:
    variant = variant or VARIANTS[0]
    toxic_type, attributes = _toxic(variant)
    counters = _Counters()

    async def note_counters(ctx: DrillContext) -> JsonValue:
        counters.before = await fallback_counters(ctx)
        return {kind: round(n) for kind, n in counters.before.items()}

    return Drill(
        name=NAME,
        title="Redis stalls; the API serves from its fallbacks within SLO and returns to Redis",
        proves=(
            "With Redis stalled the API keeps answering within its SLO (p99 < 1 s, errors within budget): "
            "features come from the database, rate limits from memory, and a warning is logged; once Redis "
            "answers again, features are cached and rate limits use Redis again."
        ),
        steady_state=(health_ok(), feature_store_cached(), recent_error_rate(USER_GROUPS)),
        setup=(Action("note the fallback counters", note_counters),),
        method=(
            provided_action(
                f"stall redis ({variant} toxic)",
                ProviderCall(
                    TOXIPROXY, "add_toxic", {"role": ROLE, "type": toxic_type, "name": TOXIC, "attributes": attributes}
                ),
                fault="start",
                pause_after_s=FAULT_S,
            ),
            provided_action(
                "remove the toxic", ProviderCall(TOXIPROXY, "remove_toxic", {"role": ROLE, "name": TOXIC}), fault="end"
            ),
        ),
        invariants=(fallback_used(counters), warning_logged(), back_on_redis()),
        error_budget=ErrorBudget(during_error_rate=0.01, during_p99_ms=1000.0, after_error_rate=0.02),
        load=LoadSpec(rate_per_s=20, before_s=1.5, after_s=2.0),
        requires=frozenset({"fault_proxy"}),
        roles=frozenset({ROLE}),
    )


SPEC = DrillSpec(NAME, "Redis stalls (timeout or latency toxic)", build, VARIANTS)
