"""`/functions/v1/*`: the platform's edge functions (health lives in health.py).

- `hydrate-features`: a user's features into the feature store (Redis), falling
  back to the database when Redis is down or slow.
- `queue-worker`: one worker pass over the events and the discovery queue, in
  this process (what the seed's cron calls every minute; the worker
  processes do the same continuously).
- `rocker-discovery-run`: process leased discovery items and recompute gaps.
- `worker-process`: one pass of the job worker over `worker_jobs` (claim, run the kind's
  handler, complete or fail: backoff, then the DLQ), for the kinds platform/workers/jobs.py
  handles only.
- `notifications-worker`: one drain of the notifications outbox.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gauntlet.platform.api.bodies import FUNCTION_BODY_BYTES, json_object, openapi_body, parse
from gauntlet.platform.api.deps import ClaimsDep, ServiceCaller, StateDep, enforce_rate_limit, rate_subject
from gauntlet.platform.api.errors import ApiError
from gauntlet.platform.features import hydrate
from gauntlet.platform.workers import discovery, jobs, notifications, queue

router = APIRouter(prefix="/functions/v1", tags=["functions"])


class HydrateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Only the service role may name a user; a signed-in user hydrates itself.
    user_id: uuid.UUID | None = None


class QueueWorkerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topic: str | None = Field(
        default=None, max_length=64, description="one events topic; default: every topic the worker handles"
    )
    limit: int = Field(default=20, ge=1, le=500)
    ttl: int = Field(default=120, ge=5, le=3600, description="lease TTL in seconds")


class DiscoveryRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=1000)
    ttl: int = Field(default=120, ge=5, le=3600)
    full: bool = Field(default=False, description="also recompute the gap of every category")


class WorkerProcessBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=10, ge=1, le=100, description="at most this many jobs, claimed one at a time")
    kinds: list[str] | None = Field(
        default=None, min_length=1, max_length=16, description="job kinds to run; default: every kind handled"
    )
    lease: int = Field(default=300, ge=5, le=3600, description="lease of each claimed job, in seconds")


class NotificationsWorkerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=1000)


@router.post("/hydrate-features", openapi_extra=openapi_body(HydrateBody, required=False))
async def hydrate_features(request: Request, state: StateDep, claims: ClaimsDep) -> JSONResponse:
    body = parse(HydrateBody, await json_object(request, limit=FUNCTION_BODY_BYTES, required=False))
    if claims.role == "service_role":
        if body.user_id is None:
            raise ApiError(400, "invalid_request", "user_id is required when calling with the service key")
        user_id = str(body.user_id)
    elif claims.role == "authenticated" and claims.sub is not None:
        if body.user_id is not None and str(body.user_id) != claims.sub:
            raise ApiError(403, "42501", "you may only hydrate your own features")
        user_id = claims.sub
    else:
        raise ApiError(401, "not_signed_in", "hydrate-features needs a signed-in user's access token")
    await enforce_rate_limit(state, "expensive", rate_subject(request, claims), claims)
    result = await hydrate(state.db, state.redis, user_id)
    if not result.cached:
        state.metrics.fallbacks.labels("feature_store_database").inc()
    return JSONResponse(result.as_json())


@router.post("/queue-worker", openapi_extra=openapi_body(QueueWorkerBody, required=False))
async def queue_worker(request: Request, state: StateDep, _caller: ServiceCaller) -> JSONResponse:
    body = parse(QueueWorkerBody, await json_object(request, limit=FUNCTION_BODY_BYTES, required=False))
    if body.topic is not None and body.topic not in queue.TOPICS:
        raise ApiError(
            400, "invalid_request", f"topic {body.topic!r} is not handled; use one of {', '.join(queue.TOPICS)}"
        )
    topics = (body.topic,) if body.topic else queue.TOPICS
    result = await queue.run_batch(state.db, topics=topics, limit=body.limit, ttl_s=body.ttl, worker="api:queue-worker")
    return JSONResponse(result.as_json())


@router.post("/rocker-discovery-run", openapi_extra=openapi_body(DiscoveryRunBody, required=False))
async def rocker_discovery_run(request: Request, state: StateDep, _caller: ServiceCaller) -> JSONResponse:
    body = parse(DiscoveryRunBody, await json_object(request, limit=FUNCTION_BODY_BYTES, required=False))
    result = await discovery.run_discovery(
        state.db, limit=body.limit, ttl_s=body.ttl, full=body.full, worker="api:rocker-discovery-run"
    )
    return JSONResponse(result.as_json())


@router.post("/worker-process", openapi_extra=openapi_body(WorkerProcessBody, required=False))
async def worker_process(request: Request, state: StateDep, _caller: ServiceCaller) -> JSONResponse:
    body = parse(WorkerProcessBody, await json_object(request, limit=FUNCTION_BODY_BYTES, required=False))
    kinds = tuple(dict.fromkeys(body.kinds)) if body.kinds is not None else jobs.KINDS
    if jobs.unhandled(kinds):
        raise ApiError(
            400,
            "invalid_request",
            f"no handler for job kind(s) {jobs.unhandled(kinds)}; use any of {', '.join(jobs.KINDS)}",
        )
    result = await jobs.run_batch(
        state.db, kinds=kinds, limit=body.limit, lease_s=body.lease, worker="api:worker-process"
    )
    return JSONResponse(result.as_json())


@router.post("/notifications-worker", openapi_extra=openapi_body(NotificationsWorkerBody, required=False))
async def notifications_worker(request: Request, state: StateDep, _caller: ServiceCaller) -> JSONResponse:
    body = parse(NotificationsWorkerBody, await json_object(request, limit=FUNCTION_BODY_BYTES, required=False))
    # drain_once's count: outbox items drained, each now acked (a notification already delivered included).
    return JSONResponse({"drained": await notifications.drain_once(state.db, limit=body.limit)})
