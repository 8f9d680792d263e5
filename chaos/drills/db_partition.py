"""db-partition: the API and the workers lose the primary for a few seconds, then get it back.

Variant `disable` (default) disables the `pg_primary` proxy: open connections
are cut and new ones refused. Variant `reset-peer` adds a `reset_peer` toxic
instead: connections are reset as soon as they send anything. Meanwhile the
drill publishes work straight into the primary (as another service inside
the database network would), which the workers cannot reach until the heal.

While partitioned, writes must fail fast with a 503 and a Retry-After hint,
replica reads must keep working, and nothing may be half-written: every write
the API acknowledged is stored once, none it refused is. After the heal the
work queued meanwhile drains, each effect exactly once.
"""

from __future__ import annotations

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import Action, Drill, ErrorBudget, JsonValue, LoadSpec, ProviderCall, RequestGroup
from gauntlet.chaos.invariants import (
    effects_exactly_once,
    event_prefix,
    every_item_settled,
    failed_fast_with_retry_hint,
    load_writes_exactly_once,
    platform_two_effects,
    unsettled,
)
from gauntlet.chaos.probes import health_ok, nothing_unsettled, recent_error_rate
from gauntlet.chaos.providers import provided_action
from gauntlet.chaos.providers.toxiproxy import MODULE as TOXIPROXY
from gauntlet.chaos.sql import sql

NAME = "db-partition"
ROLE = "primary_db"  # the embedded stack's pg_primary proxy
TOXIC = "chaos_db_partition"
LABEL = "partition"
SIGNAL = "chaos.partition"
EVENTS = 12
FAULT_S = 4.0
FAIL_FAST_MS = 3000.0  # a refused or reset connection must not cost a user more than this
VARIANTS = ("disable", "reset-peer")


async def _publish_backlog(ctx: DrillContext) -> JsonValue:
    async with ctx.primary() as conn:
        rows = await conn.fetch(
            sql("fixtures", "enqueue_signal_events"),
            event_prefix(ctx, LABEL),
            str(ctx.subject_id()),
            EVENTS,
            SIGNAL,
            ctx.run_id,
        )
    return {"events": len(rows)}


async def _unsettled(ctx: DrillContext) -> int:
    return await unsettled(ctx, LABEL)


def build(variant: str | None = None) -> Drill:
    variant = variant or VARIANTS[0]

    role = {"role": ROLE}
    if variant == "reset-peer":
        toxic: dict[str, JsonValue] = {"type": "reset_peer", "name": TOXIC, "attributes": {"timeout": 0}}
        cut = ProviderCall(TOXIPROXY, "add_toxic", {**role, **toxic, "stream": "upstream"})
        heal = ProviderCall(TOXIPROXY, "remove_toxic", {**role, "name": TOXIC})
    else:
        cut = ProviderCall(TOXIPROXY, "disable_proxy", role)
        heal = ProviderCall(TOXIPROXY, "enable_proxy", role)

    writes: frozenset[RequestGroup] = frozenset({"write", "primary_read"})
    return Drill(
        name=NAME,
        title="The platform loses the primary; writes fail fast, nothing is half-written, work drains after",
        proves=(
            "Partitioned from the primary, the API answers writes with a quick 503 and a Retry-After hint, "
            "keeps serving replica reads, stores no write it refused and loses none it acknowledged; after "
            "the heal the work queued during the partition drains, each effect exactly once."
        ),
        steady_state=(
            health_ok(),
            recent_error_rate(writes),
            nothing_unsettled("no drill work waiting or stuck", _unsettled),
        ),
        method=(
            provided_action(
                f"partition the platform from the primary ({variant})", cut, fault="start", pause_after_s=1.0
            ),
            Action("publish work while partitioned", _publish_backlog, pause_after_s=FAULT_S - 1.0),
            provided_action("heal the partition", heal, fault="end"),
        ),
        invariants=(
            failed_fast_with_retry_hint(writes, FAIL_FAST_MS),
            load_writes_exactly_once(),
            every_item_settled(LABEL),
            effects_exactly_once(LABEL, SIGNAL),
            *platform_two_effects(),
        ),
        # Writes are expected to fail while partitioned (their own invariant checks how);
        # replica reads are not. After the heal everything must work again.
        error_budget=ErrorBudget(during_error_rate=0.02, groups=frozenset({"replica_read"}), after_error_rate=0.05),
        load=LoadSpec(rate_per_s=20, before_s=1.5, after_s=2.0),
        requires=frozenset({"fault_proxy", "database"}),
        roles=frozenset({ROLE}),
    )


SPEC = DrillSpec(NAME, "partition the platform from the primary", build, VARIANTS)
