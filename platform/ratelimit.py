"""Edge rate limits: token buckets in Redis, with an in-process fallback when Redis is gone.

Profiles follow the platform's edge limiter (high, standard, expensive, auth,
admin). The bucket maths is one pure function, `take`; the Redis script is the
same maths run atomically server-side, with Redis's clock, so several API
processes share one bucket. When Redis is down or slow the limiter keeps
limiting from process memory (per process, so the effective limit is looser)
and logs a warning; it never fails a request because Redis failed.

A caller who keeps calling does not cost a Redis round trip a request: the take that lets one
request through may also lease the process a few more of the bucket's tokens (`Leases`), which the
caller's next requests in this process spend without asking Redis. The limit stays exact: every
request spends a token taken from the shared bucket, a lease is at most half of what the bucket
holds after the take (so near the limit leases shrink to nothing and every request asks Redis),
it lasts `LEASE_S` (a second), and what is left of it goes back to the bucket with the caller's
next take. The price is the other way: while a lease is out, the same caller's requests to another
process may be limited up to its size sooner. A caller's first request leases nothing; the lease
grows with how often the caller called in the last second, up to `LEASE_MAX`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from gauntlet.platform.db import RedisGate, RedisUnavailable

Profile = Literal["high", "standard", "expensive", "auth", "admin", "login_address", "login_account"]
log = logging.getLogger("gauntlet.platform.ratelimit")


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketSpec:
    """A bucket holds up to `capacity` tokens and regains `refill_per_s` per second."""

    capacity: float
    refill_per_s: float

    def scaled(self, factor: float) -> BucketSpec:
        return BucketSpec(capacity=self.capacity * factor, refill_per_s=self.refill_per_s * factor)


PROFILES: dict[Profile, BucketSpec] = {
    # Cheap reads: catalog browse/search, flags.
    "high": BucketSpec(capacity=200, refill_per_s=20),
    # Ordinary RPCs of a signed-in user.
    "standard": BucketSpec(capacity=60, refill_per_s=5),
    # Suggestions, embedding recompute, feature hydration, discovery enqueue.
    "expensive": BucketSpec(capacity=20, refill_per_s=1),
    # Signup and password login, keyed by address and account: slows credential stuffing.
    "auth": BucketSpec(capacity=10, refill_per_s=10 / 60),
    # Operational endpoints (worker kicks, GC) called by a person rather than the service key.
    "admin": BucketSpec(capacity=30, refill_per_s=0.5),
    # Failed password logins from one address, whatever the e-mail (password spraying, credential
    # stuffing). Only failures count: a successful login gives its token back, so many people
    # signing in from one address (a NAT, the harness on loopback) are never limited by it.
    "login_address": BucketSpec(capacity=20, refill_per_s=20 / 300),
    # Failed password logins for one account, from any address (a distributed guess at one account).
    "login_account": BucketSpec(capacity=20, refill_per_s=20 / 600),
}
# The multiplier (GAUNTLET_RATE_LIMIT_MULTIPLIER) exists because a load generator sends every
# simulated user from one address; a limit on one account's failed logins never meets that
# situation, so it keeps its production size at any multiplier (and the gate can see it answer 429).
UNSCALED: frozenset[Profile] = frozenset({"login_account"})


def spec_for(profile: Profile, multiplier: float) -> BucketSpec:
    """The bucket a profile gets under a rate-limit multiplier."""
    return PROFILES[profile] if profile in UNSCALED else PROFILES[profile].scaled(multiplier)


@dataclass(frozen=True, slots=True)
class BucketState:
    tokens: float
    at: float


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: float
    retry_after_s: int
    backend: Literal["redis", "lease", "memory", "off"]


def take(spec: BucketSpec, state: BucketState | None, now: float, cost: float = 1.0) -> tuple[bool, BucketState]:
    """Refill the bucket up to `now`, then try to take `cost` tokens (a negative cost gives tokens back)."""
    if state is None:
        tokens = spec.capacity
    else:
        elapsed = max(0.0, now - state.at)  # a clock step backwards never adds or removes tokens
        tokens = min(spec.capacity, state.tokens + elapsed * spec.refill_per_s)
    if tokens >= cost:
        return True, BucketState(min(spec.capacity, tokens - cost), now)
    return False, BucketState(tokens, now)


def retry_after(spec: BucketSpec, tokens: float, cost: float = 1.0) -> int:
    """Whole seconds until the bucket holds `cost` tokens again (at least 1)."""
    missing = max(0.0, cost - tokens)
    if spec.refill_per_s <= 0:
        return 3600
    return max(1, math.ceil(missing / spec.refill_per_s))


# The same maths as `take`, atomically in Redis with Redis's own clock, and then the lease: what was
# wanted, at most half of what the bucket holds after the take.
# KEYS[1] bucket key; ARGV: capacity, refill_per_s, cost, tokens wanted as a lease.
# Returns {allowed, tokens left as a string, tokens leased}.
TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local data = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(data[1])
local at = tonumber(data[2])
if tokens == nil or at == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
end
local allowed = 0
local leased = 0
if tokens >= cost then
  tokens = math.min(capacity, tokens - cost)
  allowed = 1
  leased = math.max(0, math.min(want, math.floor(tokens / 2)))
  tokens = tokens - leased
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(tokens), leased}
"""

LEASE_S = 1.0
LEASE_MAX = 16


@dataclass(slots=True)
class Lease:
    """One caller's tokens leased to this process, and how often the caller called lately."""

    tokens: int = 0
    until: float = 0.0
    window_start: float = -math.inf
    calls: int = 0  # in the window that started at window_start
    calls_before: int = 0  # in the window before it


class Leases:
    """The tokens this process took ahead from shared buckets, per bucket key (bookkeeping only, no I/O)."""

    def __init__(self, lease_s: float = LEASE_S, max_keys: int = 100_000) -> None:
        self._leases: dict[str, Lease] = {}
        self._lease_s = lease_s
        self._max_keys = max_keys

    def spend(self, key: str, now: float) -> int | None:
        """Count a call; spend one leased token: the tokens left, or None when none is leased (ask Redis)."""
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = Lease()
            if len(self._leases) > self._max_keys:  # the oldest key goes (its tokens: the bucket's refill covers them)
                del self._leases[next(iter(self._leases))]
        if now - lease.window_start >= self._lease_s:
            lease.calls_before = lease.calls if now - lease.window_start < 2 * self._lease_s else 0
            lease.window_start, lease.calls = now, 0
        lease.calls += 1
        if lease.tokens > 0 and now < lease.until:
            lease.tokens -= 1
            return lease.tokens
        return None

    def renew(self, key: str) -> tuple[int, int]:
        """Before asking Redis: (tokens left of an expired lease, to give back; tokens to ask for)."""
        lease = self._leases.get(key)
        if lease is None:
            return 0, 0
        left, lease.tokens = lease.tokens, 0
        return left, min(LEASE_MAX, max(lease.calls - 1, lease.calls_before))

    def granted(self, key: str, tokens: int, now: float) -> None:
        lease = self._leases.get(key)
        if lease is not None:
            lease.tokens, lease.until = tokens, now + self._lease_s


class MemoryBuckets:
    """Per-process buckets used while Redis is unavailable; bounded, oldest evicted first."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._states: OrderedDict[str, BucketState] = OrderedDict()
        self._max_keys = max_keys

    def take(self, key: str, spec: BucketSpec, now: float, cost: float = 1.0) -> tuple[bool, float]:
        allowed, state = take(spec, self._states.get(key), now, cost)
        self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > self._max_keys:
            self._states.popitem(last=False)
        return allowed, state.tokens


class RateLimiter:
    """Decides whether a caller may proceed under a profile."""

    def __init__(
        self, redis: RedisGate, *, enabled: bool = True, multiplier: float = 1.0, lease_s: float = LEASE_S
    ) -> None:
        self._redis = redis
        self._enabled = enabled
        self._multiplier = multiplier
        self._memory = MemoryBuckets()
        self._leases = Leases(lease_s)
        self._script: Any = redis.client.register_script(TAKE_SCRIPT)
        self._warned_at = 0.0
        self.fallbacks = 0
        self.round_trips = 0  # takes asked of Redis; the other requests spent leased tokens

    def spec(self, profile: Profile) -> BucketSpec:
        return spec_for(profile, self._multiplier)

    async def check(self, profile: Profile, subject: str, cost: float = 1.0) -> Decision:
        if not self._enabled:
            return Decision(True, math.inf, 0, "off")
        spec = self.spec(profile)
        key = f"rl:{profile}:{subject}"
        given_back, want = 0, 0
        if cost == 1:  # a request (a refund, or another cost, always goes to Redis)
            now = time.monotonic()
            left = self._leases.spend(key, now)
            if left is not None:
                return Decision(True, left, 0, "lease")
            given_back, want = self._leases.renew(key)
        try:
            args = [spec.capacity, spec.refill_per_s, cost - given_back, want]
            self.round_trips += 1
            reply = await self._redis.call(lambda _client: self._script(keys=[key], args=args))
            allowed, tokens = bool(int(reply[0])), float(reply[1])
            if int(reply[2]) > 0:
                self._leases.granted(key, int(reply[2]), time.monotonic())
            backend: Literal["redis", "memory"] = "redis"
        except RedisUnavailable as exc:
            self.fallbacks += 1
            self._warn(exc)
            allowed, tokens = self._memory.take(key, spec, time.monotonic(), cost)
            backend = "memory"
        return Decision(allowed, tokens, 0 if allowed else retry_after(spec, tokens, cost), backend)

    async def refund(self, profile: Profile, subject: str, cost: float = 1.0) -> None:
        """Give back what a `check` took (an attempt that turned out not to count, e.g. a good login)."""
        await self.check(profile, subject, -cost)

    def _warn(self, exc: RedisUnavailable) -> None:
        # One warning per few seconds, not one per request, while Redis is out.
        now = time.monotonic()
        if now - self._warned_at >= 5.0:
            self._warned_at = now
            log.warning(
                "rate limits use in-memory buckets: Redis unavailable",
                extra={"action": "ratelimit_fallback", "error": str(exc)},
            )
