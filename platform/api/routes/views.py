"""`GET /rest/v1/{view}`: the observability views, read-only, from a replica when one is up.

Only the views listed here are exposed (PostgREST would expose every table;
the reference platform does not need that). Each read runs as the caller's
role in a read-only transaction, so the view grants decide who may see what
(the migrations grant them to service_role only: others get 403).
"""

from __future__ import annotations

import json

import asyncpg
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from gauntlet.platform.api.deps import ClaimsDep, StateDep
from gauntlet.platform.api.errors import ApiError
from gauntlet.platform.api.rpc_args import quote_ident
from gauntlet.platform.api.rpc_catalog import to_json
from gauntlet.platform.queries import sql

router = APIRouter(prefix="/rest/v1", tags=["views"])

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


@router.get("/{view}")
async def read_view(
    view: str, state: StateDep, claims: ClaimsDep, limit: int = Query(default=100, ge=1, le=1000)
) -> JSONResponse:
    if view not in HEALTH_VIEWS:
        raise ApiError(
            404,
            "unknown_relation",
            f"No readable view named {view!r}",
            hint=f"Readable views: {', '.join(sorted(HEALTH_VIEWS))}",
        )
    # The one dynamic statement: the view name is from the allow-list above.
    statement = f"SELECT * FROM public.{quote_ident(view)} LIMIT $1"

    async def read(conn: asyncpg.Connection) -> list[dict[str, object]]:
        async with conn.transaction(readonly=True):
            await conn.fetchrow(sql("rpc", "set_request_context"), claims.role, json.dumps(claims.as_jwt_claims()))
            return [to_json(dict(r)) for r in await conn.fetch(statement, limit)]

    return JSONResponse(await state.db.read(read))
