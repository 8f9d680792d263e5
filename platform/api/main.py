"""The reference platform's HTTP app: `uvicorn gauntlet.platform.api.main:app`."""

from __future__ import annotations

from fastapi import FastAPI

from gauntlet.platform.api import health


def create_app() -> FastAPI:
    app = FastAPI(title="Rocker reference platform", version="0.1.0")
    app.include_router(health.router)
    return app


app = create_app()
