"""The reference platform's HTTP app: `uvicorn gauntlet.platform.api.main:app`.

Nothing here connects at start: pools and Redis connect on first use, so the
process comes up (and answers health) while Postgres or Redis is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from gauntlet.base.logfmt import configure_logging
from gauntlet.platform.api import errors, health
from gauntlet.platform.api.http_metrics import HttpMetrics
from gauntlet.platform.api.routes import auth, auth_admin, functions, observability, realtime, rest, rpc
from gauntlet.platform.api.rpc_lane import RpcLane
from gauntlet.platform.api.security import SecurityHeaders
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.settings import PlatformSettings, get_settings
from gauntlet.platform.web import routes as web_routes


def create_app(settings: PlatformSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: PlatformState = app.state.platform
        flusher = asyncio.create_task(state.metrics.flush_forever(state.db), name="rpc-metrics-flush")
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await state.close()

    configure_logging()
    app = FastAPI(title="Rocker reference platform", version="0.1.0", lifespan=lifespan)
    app.state.platform = PlatformState.create(settings)
    errors.install_handlers(app)
    # rest before rpc: its POST /rest/v1/rpc/{function} applies PostgREST's modifiers and hands a
    # plain call to rpc's route; /rest/v1/{relation} serves tables and the observability views.
    # The prefixes do not overlap, so the order is the matching order only: FastAPI tries each
    # router's routes in turn, and the data API's requests, most of the traffic, come first.
    for router in (rest.router, rpc.router, auth.router, functions.router, health.router, observability.router):
        app.include_router(router)
    app.include_router(auth_admin.router)  # /auth/v1/admin/users (service role)
    app.include_router(realtime.router)
    app.include_router(web_routes.router)  # the web pages (platform/web)

    app.add_middleware(RpcLane)  # innermost: plain RPC calls answered before routing (rpc_lane.py)
    app.add_middleware(HttpMetrics, metrics=app.state.platform.metrics)
    app.add_middleware(SecurityHeaders)  # outermost: error responses get the headers too

    return app


logging.getLogger("gauntlet").setLevel(logging.INFO)
app = create_app()
