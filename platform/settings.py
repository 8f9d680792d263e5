"""The one settings object of the reference platform (API and workers).

`gauntlet up` passes these as environment variables; a deployment may set
them the same way. Every connection string points at a Toxiproxy proxy, so
drills can inject faults between the platform and its backing services.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator, model_validator
from typing import Annotated

from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "gauntlet-development-secret-change-me-0123456789"


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAUNTLET_", extra="ignore")

    environment: str = "development"
    primary_dsn: str = "postgresql://postgres@127.0.0.1:5432/rocker"
    replica_dsns: Annotated[list[str], NoDecode] = []
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_ttl_seconds: int = 3600
    state_dir: Path = Path(".gauntlet")
    worker_name: str = "worker"
    # A statement that runs longer is cancelled: protects the pool and the user (seeds: 5 s).
    statement_timeout_ms: int = 5000
    pool_max_size: int = 10

    @field_validator("replica_dsns", mode="before")
    @classmethod
    def _split_replicas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> PlatformSettings:
        if self.environment != "development" and self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("GAUNTLET_JWT_SECRET must be set outside development")
        return self


@lru_cache(maxsize=1)
def get_settings() -> PlatformSettings:
    return PlatformSettings()
