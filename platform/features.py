"""The feature store: per-user features computed in Postgres and cached in Redis.

`hydrate` (called on login through `/functions/v1/hydrate-features`) computes
a user's top interests, profile embedding and 7-day engagement from the
database (a replica when one is up) and writes them to Redis under
`feat:user:{id}:v1` with a TTL of 3600 s +/- 10 %: the jitter spreads expiries
so a login wave does not expire (and recompute) all at once. Redis is
optional: when it is down or slow the features still come back, computed
from the database, and a warning is logged (`feature_cache_miss`).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from gauntlet.platform.db import Database, RedisGate, RedisUnavailable
from gauntlet.platform.queries import sql

log = logging.getLogger("gauntlet.platform.features")

FEATURE_TTL_S = 3600
TTL_JITTER = 0.10
TOP_INTERESTS = 10


def feature_key(user_id: str) -> str:
    return f"feat:user:{user_id}:v1"


def jittered_ttl(
    base_s: int = FEATURE_TTL_S, jitter: float = TTL_JITTER, rng: Callable[[], float] = random.random
) -> int:
    """`base_s` scaled by a uniform factor in [1 - jitter, 1 + jitter], in whole seconds."""
    return max(1, round(base_s * (1 + jitter * (2 * rng() - 1))))


@dataclass(frozen=True, slots=True)
class UserFeatures:
    top_interests: list[dict[str, Any]]
    emb: list[float] | None
    follows_ct: int
    watch_time_7d: float
    ctr_7d: float


@dataclass(frozen=True, slots=True)
class Hydration:
    user_id: str
    features: UserFeatures
    cached: bool
    source: Literal["database"]
    ttl_s: int | None
    warning: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self.features),
            "user_id": self.user_id,
            "cached": self.cached,
            "source": self.source,
            "ttl_s": self.ttl_s,
            "warning": self.warning,
        }


async def compute_features(db: Database, user_id: str) -> UserFeatures:
    """Read the features from Postgres (a replica when one is up: they tolerate staleness)."""
    row = await db.read(lambda conn: conn.fetchrow(sql("features", "user_features"), user_id, TOP_INTERESTS))
    assert row is not None  # the query is a single SELECT of scalar subqueries: always one row
    top = row["top_interests"]
    if isinstance(top, str):
        top = json.loads(top)
    emb = row["emb"]
    return UserFeatures(
        top_interests=[{**t, "interest_id": str(t["interest_id"])} for t in top],
        emb=None if emb is None else [float(x) for x in emb],
        follows_ct=int(row["follows_ct"]),
        watch_time_7d=float(row["watch_time_7d"]),
        ctr_7d=float(row["ctr_7d"]),
    )


async def hydrate(db: Database, redis: RedisGate, user_id: str) -> Hydration:
    """Compute a user's features and cache them; degrade to uncached when Redis fails."""
    features = await compute_features(db, user_id)
    ttl = jittered_ttl()
    payload = json.dumps(asdict(features), separators=(",", ":"))
    try:
        await redis.call(lambda client: client.set(feature_key(user_id), payload, ex=ttl))
    except RedisUnavailable as exc:
        log.warning(
            "feature store unavailable; serving features from the database",
            extra={"action": "feature_cache_miss", "user_id": user_id, "error": str(exc)},
        )
        return Hydration(
            user_id, features, cached=False, source="database", ttl_s=None, warning=f"feature store unavailable: {exc}"
        )
    return Hydration(user_id, features, cached=True, source="database", ttl_s=ttl, warning=None)


async def cached_features(db: Database, redis: RedisGate, user_id: str) -> tuple[UserFeatures, str]:
    """Features for ranking: Redis when cached, else the database (Redis down or key missing)."""
    try:
        raw = await redis.call(lambda client: client.get(feature_key(user_id)))
    except RedisUnavailable as exc:
        log.warning(
            "feature store unavailable; reading features from the database",
            extra={"action": "feature_cache_miss", "user_id": user_id, "error": str(exc)},
        )
        raw = None
    if raw is not None:
        return UserFeatures(**json.loads(raw)), "redis"
    return await compute_features(db, user_id), "database"
