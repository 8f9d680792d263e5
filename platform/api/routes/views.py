"""The observability views of `GET /rest/v1/{view}` (served by routes/rest.py, PostgREST's grammar).

These views are read from a replica when one is up (staleness is fine for dashboards and
`gauntlet gate canary`); every other relation is read on the primary, so a client reads its
own writes. The migrations grant them to service_role only: other callers get 403.
"""

from __future__ import annotations

HEALTH_VIEWS: frozenset[str] = frozenset(
    {
        "vw_discovery_queue_health",
        "vw_events_queue_health",
        "vw_worker_jobs_health",
        "vw_dead_letter_queue",
        "vw_gap_severity",
        "vw_kernel_slos",
        "vw_policy_health",
        "vw_slo_burnrate",
        "rpc_metrics_hourly",
        "vw_canary_metrics",
    }
)
