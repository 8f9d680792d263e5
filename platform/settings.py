"""The one settings object of the reference platform (API and workers).

`gauntlet up` passes these as environment variables; a deployment may set
them the same way. Every connection string points at a Toxiproxy proxy, so
drills can inject faults between the platform and its backing services.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import field_validator, model_validator
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
    # Connecting to a proxy whose backend is gone can hang; bound it so a dead replica costs little.
    connect_timeout_s: float = 2.0
    # After a replica fails, reads skip it this long (then probe again) instead of paying the
    # failure on every request.
    replica_retry_after_s: float = 5.0
    # Redis calls (feature store, rate limits) slower than this count as "Redis down": the caller
    # falls back instead of waiting.
    redis_timeout_ms: int = 150
    # Edge rate limits: off switch and a multiplier on every profile's capacity and refill rate
    # (except the per-account failed-login limit: see platform/ratelimit.py UNSCALED)
    # (load profiles from one loopback address raise it instead of turning limits off).
    rate_limits_enabled: bool = True
    rate_limit_multiplier: float = 1.0
    # Outside development, /metrics answers only to this bearer token (or the service_role key).
    metrics_token: str = ""
    # HTTP hardening (docs/security.md; the other limits are uvicorn's flags, api/serve.py): a
    # request's headers must arrive within this long of its first byte (and a new connection must
    # start a request within it), and a request body must arrive whole within http_body_timeout_s.
    http_header_timeout_s: float = 10.0
    http_body_timeout_s: float = 30.0
    # Workers: how long a lease lasts, how many items one lease takes, how often idle workers poll,
    # and the schedules of the discovery run and the GC job.
    lease_ttl_seconds: int = 120
    queue_batch_size: int = 20
    queue_poll_interval_s: float = 1.0
    discovery_interval_s: float = 60.0
    gc_interval_s: float = 3600.0
    # Test-only fault switches for the web pages (journeys must be shown to fail when a page breaks):
    # the home feed shows items that are in the cart again, and the live bell badge never updates.
    fault_web_no_cart_suppression: bool = False
    fault_web_no_live_badge: bool = False
    # Test-only fault switches for the chaos drills (each drill must be shown to fail without the
    # protection it checks; see chaos/README.md). Never set them outside a test.
    fault_disable_replica_fallback: bool = False  # a failed replica read is an error, not a primary read
    fault_disable_redis_fallback: bool = False  # a failed Redis call is an error, not a degraded answer
    fault_retry_without_backoff: bool = False  # a failed queue item is retried at once
    fault_worker_exits_on_db_loss: bool = False  # a queue worker exits when the database is unreachable

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
