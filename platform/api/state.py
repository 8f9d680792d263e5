"""What one API process holds for its lifetime.

Pools, Redis, limiter, metrics, live sessions, verified tokens, RPC signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gauntlet.platform.api.rpc_catalog import SignatureCache
from gauntlet.platform.auth.live_sessions import LiveSessions
from gauntlet.platform.auth.sessions import session_lookup
from gauntlet.platform.auth.tokens import VerifiedTokens
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
    sessions: LiveSessions
    tokens: VerifiedTokens
    signatures: SignatureCache = field(default_factory=SignatureCache)

    @classmethod
    def create(cls, settings: PlatformSettings) -> PlatformState:
        redis = RedisGate(settings)
        db = Database(settings)
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            limiter=RateLimiter(redis, enabled=settings.rate_limits_enabled, multiplier=settings.rate_limit_multiplier),
            metrics=PlatformMetrics(),
            sessions=LiveSessions(session_lookup(db)),
            tokens=VerifiedTokens(settings.jwt_secret),
        )

    async def close(self) -> None:
        await self.metrics.drain(self.db)
        await self.db.close()
        await self.redis.close()
