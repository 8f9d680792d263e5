"""`GET /metrics`: the process's Prometheus series in text exposition format (who may read it: security.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from gauntlet.platform.api.deps import StateDep
from gauntlet.platform.api.security import authorize_metrics

router = APIRouter(tags=["observability"])


@router.get("/metrics")
async def metrics(request: Request, state: StateDep) -> Response:
    authorize_metrics(state.settings, request.headers.get("authorization"))
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
