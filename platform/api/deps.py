"""Request dependencies as Annotated aliases, so route signatures stay short.

Every dependency is `async def`, even those that never wait: FastAPI runs a plain `def` dependency
in its thread pool, and that hop (a worker thread's wake-up and the hand-back to the loop, twice a
request for the state and the token) cost more than the work itself on a busy machine.

None of them has dependencies of its own: each reads what it needs from the request with the
plain functions here (`platform_state`, `token_claims`). FastAPI solves every sub-dependency
per request (its cache key, scopes and parameters, in Python), and the dependency solving was
a sixth of the API's CPU on an RPC (py-spy); flat, an RPC solves two instead of four.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from gauntlet.platform.api.errors import ApiError, SessionEnded
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.tokens import ANON, Claims, InvalidToken
from gauntlet.platform.ratelimit import Profile


def platform_state(connection: HTTPConnection) -> PlatformState:
    """What this API process holds (pools, Redis, limiter, ...), for a request or a WebSocket."""
    state: PlatformState = connection.app.state.platform
    return state


async def get_state(request: Request) -> PlatformState:
    return platform_state(request)


StateDep = Annotated[PlatformState, Depends(get_state)]


def bearer_token(request: Request) -> str | None:
    """The caller's token: `Authorization: Bearer ...`, else Supabase's `apikey` header."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "invalid_authorization", "Authorization header must be 'Bearer <jwt>'")
        return token.strip()
    apikey = request.headers.get("apikey")
    return apikey.strip() if apikey else None


def token_claims(request: Request) -> Claims:
    """Claims of a valid token, anon without one; a bad token is a 401 naming the problem."""
    token = bearer_token(request)
    if token is None:
        return ANON
    try:
        return platform_state(request).tokens.verify(token)
    except InvalidToken as exc:
        raise ApiError(401, "invalid_jwt", str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


async def get_claims(request: Request) -> Claims:
    """The caller of PostgREST tables, RPCs and functions: a valid token whose session has not ended.

    A token carrying `session_id` is refused (401 session_not_found) once that session ended
    (logout, refresh-token reuse); see platform/auth/live_sessions.py for what that costs.
    """
    claims = token_claims(request)
    if not await platform_state(request).sessions.alive(claims.session_id):
        raise SessionEnded()
    return claims


ClaimsDep = Annotated[Claims, Depends(get_claims)]


async def get_current_user(request: Request) -> Claims:
    """The signed-in user of an /auth/v1 route; those apply GoTrue's own session rule (403 session_not_found)."""
    claims = token_claims(request)
    if claims.role != "authenticated" or claims.sub is None:
        raise ApiError(401, "not_signed_in", "This endpoint needs a signed-in user's access token")
    return claims


CurrentUser = Annotated[Claims, Depends(get_current_user)]


async def get_service(request: Request) -> Claims:
    claims = await get_claims(request)
    if claims.role != "service_role":
        raise ApiError(403, "service_role_required", "This endpoint needs the service_role key")
    return claims


ServiceCaller = Annotated[Claims, Depends(get_service)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_subject(request: Request, claims: Claims) -> str:
    """Signed-in callers are limited per user, everyone else per address."""
    return f"user:{claims.sub}" if claims.sub else f"ip:{client_address(request)}"


async def enforce_rate_limit(state: PlatformState, profile: Profile, subject: str, claims: Claims) -> None:
    """Raise 429 with Retry-After when the caller's bucket is empty; service_role is exempt."""
    if claims.role == "service_role":
        # The service key is the platform's own backend (workers, supervisor, drills).
        return
    decision = await state.limiter.check(profile, subject)
    if decision.backend == "memory":
        state.metrics.fallbacks.labels("ratelimit_memory").inc()
    if not decision.allowed:
        state.metrics.rate_limited.labels(profile).inc()
        raise ApiError(
            429,
            "rate_limited",
            f"Too many requests ({profile} limit); retry in {decision.retry_after_s} s",
            headers={"Retry-After": str(decision.retry_after_s)},
        )
