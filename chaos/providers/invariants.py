"""The nothing-lost invariants, checked once the platform recovered (they judge themselves: no tolerance)."""

from __future__ import annotations

from typing import cast

from gauntlet.chaos import invariants
from gauntlet.chaos.experiment import ALL_GROUPS, RequestGroup
from gauntlet.chaos.providers import Args, Built, Param, Provider, Session

MODULE = "gauntlet.chaos.providers.invariants"
GROUPS = tuple(sorted(ALL_GROUPS))


def _writes(args: Args, session: Session) -> Built:
    return Built(invariant=invariants.load_writes_exactly_once().fn, requires=frozenset({"database"}))


def _fail_fast(args: Args, session: Session) -> Built:
    groups = frozenset(cast(list[RequestGroup], args.strings("groups")))
    return Built(invariant=invariants.failed_fast_with_retry_hint(groups, args.number("max_latency_ms")).fn)


def _served(args: Args, session: Session) -> Built:
    check = invariants.served_during_fault(
        cast(RequestGroup, args.text("group")),
        max_error_rate=args.number("max_error_rate"),
        max_p95_ms=args.number("max_p95_ms"),
    )
    return Built(invariant=check.fn)


def _gaps(args: Args, session: Session) -> Built:
    return Built(invariant=invariants.no_duplicate_gaps().fn, requires=frozenset({"database"}))


def _notifications(args: Args, session: Session) -> Built:
    return Built(invariant=invariants.no_duplicate_notifications().fn, requires=frozenset({"database"}))


def _ledger(args: Args, session: Session) -> Built:
    return Built(invariant=invariants.ledger_matches_events().fn, requires=frozenset({"database"}))


PROVIDERS = {
    "load_writes_exactly_once": Provider(
        "invariant", "the load's acknowledged writes stored once, refused ones not stored", _writes
    ),
    "failed_fast_with_retry_hint": Provider(
        "invariant",
        "during the fault, every failed request of these groups was a quick 503 with Retry-After",
        _fail_fast,
        (
            Param("groups", "strings", "the load's request groups", required=True, choices=GROUPS),
            Param("max_latency_ms", "number", "how long a failure may take", default=3000.0),
        ),
    ),
    "served_during_fault": Provider(
        "invariant",
        "during the fault, the load's requests of this group kept succeeding, quickly",
        _served,
        (
            Param("group", "str", "the load's request group", required=True, choices=GROUPS),
            Param("max_error_rate", "number", "share that may fail", default=0.01),
            Param("max_p95_ms", "number", "p95 bound in ms", default=1000.0),
        ),
    ),
    "no_duplicate_gaps": Provider("invariant", "one gap row per category", _gaps),
    "no_duplicate_notifications": Provider("invariant", "no notification written twice (Platform II)", _notifications),
    "ledger_matches_events": Provider("invariant", "ledger totals equal the sum of events (Platform II)", _ledger),
}
