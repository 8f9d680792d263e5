"""db-latency: the primary becomes slow (latency + jitter); bounded waits keep the API responsive.

Every round trip between the platform and the primary is delayed. Requests
that need the primary get slow, and with a pool of `pool_max_size`
connections the primary path can serve fewer of them than arrive: the pool
acquire timeout and the statement/command timeouts turn the excess into
quick 503s instead of a queue that grows for as long as the fault lasts.
Reads served by the replica stay fast. When the toxic is removed, the API is
back to normal within the recovery timeout.
"""

from __future__ import annotations

from gauntlet.chaos.drills import DrillSpec
from gauntlet.chaos.experiment import USER_GROUPS, Drill, ErrorBudget, JsonValue, LoadSpec, ProviderCall
from gauntlet.chaos.invariants import served_during_fault
from gauntlet.chaos.probes import health_ok, recent_error_rate, recent_p95_ms
from gauntlet.chaos.providers import provided_action
from gauntlet.chaos.providers.toxiproxy import MODULE as TOXIPROXY

NAME = "db-latency"
ROLE = "primary_db"  # the embedded stack's pg_primary proxy
TOXIC = "chaos_db_latency"
LATENCY_MS = 400
JITTER_MS = 100
ATTRIBUTES: dict[str, JsonValue] = {"latency": LATENCY_MS, "jitter": JITTER_MS}
FAULT_S = 8.0  # long enough that an unbounded queue grows well past the bound below
# The platform's bound on one request that waits for the primary: the pool acquire timeout
# (connect_timeout_s, 2 s) plus a few slowed round trips. A request slower than this waited
# without a bound.
RESPONSIVE_P99_MS = 5000.0
# Steady state: twice the SLO's p95, so a busy CI machine does not fail the hypothesis before the fault;
# the slowed primary path is far above it (about 2 s).
STEADY_P95_MS = 1000.0


def build(variant: str | None = None) -> Drill:
    return Drill(
        name=NAME,
        title="The primary is slow; timeouts and pool limits keep the API responsive",
        proves=(
            f"With {LATENCY_MS} ms (+/- {JITTER_MS} ms) on every primary round trip, requests keep a bounded "
            f"latency (p99 <= {RESPONSIVE_P99_MS:g} ms: excess work fails fast with 503 instead of queueing), "
            "replica reads stay fast, errors stay within the budget, and the API recovers once the latency goes."
        ),
        steady_state=(
            health_ok(),
            recent_p95_ms(frozenset({"primary_read", "write"}), limit_ms=STEADY_P95_MS),
            recent_p95_ms(frozenset({"replica_read"}), limit_ms=STEADY_P95_MS),
            recent_error_rate(USER_GROUPS),
        ),
        method=(
            provided_action(
                f"add {LATENCY_MS} ms latency to the {ROLE} proxy",
                ProviderCall(
                    TOXIPROXY, "add_toxic", {"role": ROLE, "type": "latency", "name": TOXIC, "attributes": ATTRIBUTES}
                ),
                fault="start",
                pause_after_s=FAULT_S,
            ),
            provided_action(
                "remove the latency",
                ProviderCall(TOXIPROXY, "remove_toxic", {"role": ROLE, "name": TOXIC}),
                fault="end",
            ),
        ),
        invariants=(served_during_fault("replica_read", max_error_rate=0.01, max_p95_ms=STEADY_P95_MS),),
        error_budget=ErrorBudget(during_error_rate=0.5, during_p99_ms=RESPONSIVE_P99_MS, after_error_rate=0.05),
        load=LoadSpec(rate_per_s=25, before_s=1.5, after_s=2.0, request_timeout_s=15.0),
        requires=frozenset({"fault_proxy"}),
        roles=frozenset({ROLE}),
    )


SPEC = DrillSpec(NAME, "latency and jitter on the primary", build)
