"""`GET /metrics`: the process's Prometheus series in text exposition format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from gauntlet.platform.api.deps import StateDep

router = APIRouter(tags=["observability"])


@router.get("/metrics")
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
