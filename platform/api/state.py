"""What one API process holds for its lifetime: pools, Redis, limiter, metrics, RPC signatures."""

from __future__ import annotations

from dataclasses import dataclass, field

from gauntlet.platform.api.rpc_catalog import SignatureCache
from gauntlet.platform.db import Database, RedisGate
from gauntlet.platform.metrics import PlatformMetrics
from gauntlet.platform.ratelimit import RateLimiter
from gauntlet.platform.settings import PlatformSettings


@dataclass
class PlatformState:
    settings: PlatformSettings
    db: Database
    redis: RedisGate
    limiter: RateLimiter
    metrics: PlatformMetrics
    signatures: SignatureCache = field(default_factory=SignatureCache)

    @classmethod
    def create(cls, settings: PlatformSettings) -> PlatformState:
        redis = RedisGate(settings)
        return cls(
            settings=settings,
            db=Database(settings),
            redis=redis,
            limiter=RateLimiter(redis, enabled=settings.rate_limits_enabled, multiplier=settings.rate_limit_multiplier),
            metrics=PlatformMetrics(),
        )

    async def close(self) -> None:
        await self.metrics.drain(self.db)
        await self.db.close()
        await self.redis.close()
