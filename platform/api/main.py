"""The reference platform's HTTP app: `uvicorn gauntlet.platform.api.main:app`.

Nothing here connects at start: pools and Redis connect on first use, so the
process comes up (and answers health) while Postgres or Redis is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response

from gauntlet.platform.api import errors, health
from gauntlet.platform.api.routes import auth, functions, observability, realtime, rpc, views
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.settings import PlatformSettings, get_settings
from gauntlet.platform.web import routes as web_routes
from gauntlet.platform.workers.logfmt import configure_logging


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
    for router in (health.router, auth.router, rpc.router, functions.router, observability.router, views.router):
        app.include_router(router)
    app.include_router(realtime.router)
    app.include_router(web_routes.router)  # the web pages (platform/web)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            # The route template, not the raw path: bounded label cardinality.
            path = getattr(route, "path", "<unmatched>")
            app.state.platform.metrics.http_duration.labels(request.method, path, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )

    return app


logging.getLogger("gauntlet").setLevel(logging.INFO)
app = create_app()
