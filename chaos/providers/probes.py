"""Probes of the platform: health, what the background load's users see, replicas, the feature store.

Each gives the value its tolerance judges (the tolerance is the experiment's: a range, a value...).
"""

from __future__ import annotations

from typing import cast

from gauntlet.chaos import probes
from gauntlet.chaos.experiment import ALL_GROUPS, RequestGroup
from gauntlet.chaos.providers import Args, Built, Param, Provider, Session

MODULE = "gauntlet.chaos.providers.probes"
GROUPS = tuple(sorted(ALL_GROUPS))
_GROUPS = Param("groups", "strings", "the load's request groups to count", required=True, choices=GROUPS)
_SECONDS = Param("seconds", "number", "how far back 'recent' goes, in seconds", default=probes.RECENT_S)


def _groups(args: Args) -> frozenset[RequestGroup]:
    return frozenset(cast(list[RequestGroup], args.strings("groups")))


def _health(args: Args, session: Session) -> Built:
    return Built(fn=probes.health_ok().fn)


def _error_rate(args: Args, session: Session) -> Built:
    return Built(fn=probes.recent_error_rate(_groups(args), seconds=args.number("seconds")).fn)


def _p95(args: Args, session: Session) -> Built:
    # The limit is the experiment's tolerance; the probe only observes.
    return Built(fn=probes.recent_p95_ms(_groups(args), limit_ms=0, seconds=args.number("seconds")).fn)


def _replica_reads(args: Args, session: Session) -> Built:
    probe = probes.replica_serving_reads(args.whole("index"), window_s=args.number("window_s"))
    return Built(fn=probe.fn, requires=frozenset({"database"}), timeout_s=probe.timeout_s)


def _replica_streaming(args: Args, session: Session) -> Built:
    return Built(fn=probes.replica_streaming(args.text("replica")).fn, requires=frozenset({"database"}))


def _cached(args: Args, session: Session) -> Built:
    return Built(fn=probes.feature_store_cached().fn)


PROVIDERS = {
    "health": Provider("probe", "the platform's health function: 'ok' when every part answers", _health),
    "recent_error_rate": Provider(
        "probe",
        "share of the load's recent requests of these groups that failed (0-1)",
        _error_rate,
        (_GROUPS, _SECONDS),
    ),
    "recent_p95_ms": Provider(
        "probe", "p95 latency (ms) of the load's recent requests of these groups", _p95, (_GROUPS, _SECONDS)
    ),
    "replica_serving_reads": Provider(
        "probe",
        "table scans replica #index served during window_s (reads are routed to it)",
        _replica_reads,
        (
            Param("index", "int", "which replica, from 0", default=0),
            Param("window_s", "number", "how long to watch", default=probes.REPLICA_READ_WINDOW_S),
        ),
    ),
    "replica_streaming": Provider(
        "probe",
        "the replica's replay lag in bytes as the primary sees it (-1: not streaming)",
        _replica_streaming,
        (Param("replica", "str", "the replica's application name, e.g. pg_replica_1", required=True),),
    ),
    "feature_store_cached": Provider(
        "probe", "hydrate-features for the experiment's subject user is cached in Redis (true/false)", _cached
    ),
}
