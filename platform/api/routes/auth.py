"""`/auth/v1`: the GoTrue subset the platform needs (signup, password and refresh grants, user,
logout, settings, health).

Passwords are hashed with Argon2id in a worker thread (it is deliberately slow;
the event loop must keep serving); a login whose stored hash predates today's
parameters stores a fresh one. Sessions are GoTrue-shaped, so a
supabase-js client and our load profiles read them the same way.

Each sign-in is a session (auth.sessions, migration 800): the access token carries its
`session_id`, the refresh token is opaque and single-use (rotation; a reused one revokes the
session's whole family, platform/auth/sessions.py), and logout ends sessions (scope global,
local or others). Stricter than GoTrue, an access token is refused everywhere once its session
has ended: 403 session_not_found on `/auth/v1/user` (as GoTrue), 401 session_not_found on
PostgREST tables, RPCs, functions and Realtime (platform/auth/live_sessions.py). Errors
carry GoTrue's `error_code` and `msg` besides the API's `code`/`message`/`details`/`hint`.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gauntlet.platform.api.bodies import (
    AUTH_BODY_BYTES,
    SIGNUP_BODY_BYTES,
    USER_METADATA_BYTES,
    json_object,
    json_size,
    openapi_body,
    parse,
)
from gauntlet.platform.api.deps import CurrentUser, StateDep, client_address, enforce_rate_limit
from gauntlet.platform.api.errors import ApiError, gotrue_body
from gauntlet.platform.api.rpc_catalog import to_json
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth import sessions
from gauntlet.platform.auth.passwords import WeakPassword, hash_password, needs_rehash, rehash, verify_password
from gauntlet.platform.auth.tokens import ANON, Claims, mint
from gauntlet.platform.metrics import RpcSample
from gauntlet.platform.queries import sql
from gauntlet.platform.ratelimit import Profile


class GoTrueRoute(APIRoute):
    """Errors of /auth/v1 also carry GoTrue's fields (`error_code`, `msg`), which supabase clients read."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def gotrue_handler(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except ApiError as exc:
                return JSONResponse(gotrue_body(exc), status_code=exc.status, headers=exc.headers)

        return gotrue_handler


router = APIRouter(prefix="/auth/v1", tags=["auth"], route_class=GoTrueRoute)

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# Verified against when the e-mail is unknown, so a miss costs as much as a wrong password
# (response time must not reveal which e-mails have accounts).
_DUMMY_HASH = hash_password("not-a-real-password-0")


class SignupBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    data: dict[str, Any] = Field(
        default_factory=dict, description=f"user_metadata: at most {USER_METADATA_BYTES} bytes as JSON"
    )

    @field_validator("data")
    @classmethod
    def _bounded_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        if json_size(value) > USER_METADATA_BYTES:
            raise ValueError(f"user metadata is limited to {USER_METADATA_BYTES} bytes as JSON")
        return value


class PasswordGrant(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class RefreshGrant(BaseModel):
    model_config = ConfigDict(extra="ignore")
    refresh_token: str = Field(max_length=4096)


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if not EMAIL.match(email):
        raise ApiError(400, "validation_failed", "Unable to validate email address: invalid format")
    return email


def user_json(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "aud": "authenticated",
        "role": "authenticated",
        "email": row["email"],
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": to_json(row["raw_user_meta_data"] or {}),
        "created_at": to_json(row["created_at"]),
        "last_sign_in_at": to_json(row["last_sign_in_at"]),
    }


async def issue_session(state: PlatformState, user: dict[str, Any]) -> dict[str, Any]:
    """A new session (auth.sessions row, first refresh token) for a signed-in user."""
    async with state.db.primary() as conn:
        issued = await sessions.start_session(conn, user["id"])
    return session_json(state, user, issued)


def session_json(state: PlatformState, user: dict[str, Any], issued: sessions.Issued) -> dict[str, Any]:
    secret, ttl = state.settings.jwt_secret, state.settings.jwt_ttl_seconds
    now = time.time()
    access = mint(
        secret,
        role="authenticated",
        ttl_s=ttl,
        sub=user["id"],
        email=user["email"],
        now=now,
        session_id=issued.session_id,
    )
    refresh = issued.refresh_token
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ttl,
        "expires_at": int(now) + ttl,
        "refresh_token": refresh,
        "user": user,
    }


def _record(state: PlatformState, name: str, started: float, error: ApiError | None, user_id: str | None) -> None:
    """Auth paths are kernel paths too: vw_kernel_slos reports auth.login's p95 from these."""
    state.metrics.record_rpc(
        RpcSample(
            name=name,
            role="anon",
            duration_ms=(time.perf_counter() - started) * 1000,
            status=200 if error is None else error.status,
            error_code=None if error is None else error.code,
            user_id=user_id,
            at=time.time(),
        )
    )


@router.post("/signup", openapi_extra=openapi_body(SignupBody))
async def signup(request: Request, state: StateDep) -> JSONResponse:
    started, error, user_id = time.perf_counter(), None, None
    try:
        body = parse(SignupBody, await json_object(request, limit=SIGNUP_BODY_BYTES))
        email = normalise_email(body.email)
        await enforce_rate_limit(state, "auth", f"signup:{client_address(request)}", ANON)
        try:
            encrypted = await asyncio.to_thread(hash_password, body.password)
        except WeakPassword as exc:
            raise ApiError(422, "weak_password", str(exc)) from exc
        async with state.db.primary() as conn:
            row = await conn.fetchrow(sql("auth", "insert_user"), email, encrypted, body.data)
        if row is None:
            raise ApiError(422, "user_already_exists", "User already registered")
        user = user_json(row)
        user_id = user["id"]
        return JSONResponse(await issue_session(state, user))
    except ApiError as exc:
        error = exc
        raise
    finally:
        _record(state, "auth.signup", started, error, user_id)


@router.post("/token", openapi_extra=openapi_body(PasswordGrant, RefreshGrant))
async def token(request: Request, state: StateDep, grant_type: str = Query(default="")) -> JSONResponse:
    if grant_type == "password":
        return await _password_grant(
            request, state, parse(PasswordGrant, await json_object(request, limit=AUTH_BODY_BYTES))
        )
    if grant_type == "refresh_token":
        return await _refresh_grant(state, parse(RefreshGrant, await json_object(request, limit=AUTH_BODY_BYTES)))
    raise ApiError(
        400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported; use 'password' or 'refresh_token'"
    )


async def _password_grant(request: Request, state: PlatformState, body: PasswordGrant) -> JSONResponse:
    started, error, user_id = time.perf_counter(), None, None
    try:
        email = normalise_email(body.email)
        # Keyed by address and account: one noisy client cannot lock out everyone behind the same NAT.
        address = client_address(request)
        await enforce_rate_limit(state, "auth", f"login:{address}:{email}", ANON)
        # Failed logins per address (spraying many e-mails) and per account (one e-mail from many
        # addresses): charged up front, given back when the password is right.
        failures: tuple[tuple[Profile, str], ...] = (
            ("login_address", f"address:{address}"),
            ("login_account", f"account:{email}"),
        )
        for profile, subject in failures:
            await enforce_rate_limit(state, profile, subject, ANON)
        async with state.db.primary() as conn:
            row = await conn.fetchrow(sql("auth", "user_for_login"), email)
        stored = row["encrypted_password"] if row is not None else _DUMMY_HASH
        matches = await asyncio.to_thread(verify_password, body.password, stored)
        if row is None or not matches:
            raise ApiError(400, "invalid_credentials", "Invalid login credentials")
        for profile, subject in failures:
            await state.limiter.refund(profile, subject)
        rehashed = await asyncio.to_thread(rehash, body.password, stored) if needs_rehash(stored) else None
        async with state.db.primary() as conn:
            signed_in = await conn.fetchval(sql("auth", "touch_last_sign_in"), row["id"], rehashed, stored)
        user = user_json({**dict(row), "last_sign_in_at": signed_in})
        user_id = user["id"]
        return JSONResponse(await issue_session(state, user))
    except ApiError as exc:
        error = exc
        raise
    finally:
        _record(state, "auth.login", started, error, user_id)


async def _refresh_grant(state: PlatformState, body: RefreshGrant) -> JSONResponse:
    """Rotate the refresh token: the used one is revoked, a reused one revokes its whole family."""
    async with state.db.primary() as conn:
        try:
            issued = await sessions.rotate(conn, body.refresh_token)
        except sessions.RefreshRefused as exc:
            if exc.ended is not None:
                state.sessions.ended([exc.ended])
            raise ApiError(
                400, exc.code, exc.message, hint="Sign in again: refresh tokens are single-use opaque strings"
            ) from exc
        row = await conn.fetchrow(sql("auth", "user_by_id"), uuid.UUID(issued.user_id))
    if row is None:
        raise ApiError(400, "user_not_found", "Invalid refresh token: the user no longer exists")
    return JSONResponse(session_json(state, user_json(row), issued))


async def _live_user(state: PlatformState, user: Claims) -> asyncpg.Record:
    """The token's user, refusing a token whose session ended (logout, reuse detection)."""
    if not await state.sessions.alive(user.session_id):
        raise ApiError(403, "session_not_found", "Session from session_id claim in JWT does not exist")
    async with state.db.primary() as conn:
        row = await conn.fetchrow(sql("auth", "user_by_id"), user.sub)
    if row is None:
        raise ApiError(404, "user_not_found", "The token's user no longer exists")
    return row


@router.get("/user")
async def current_user(user: CurrentUser, state: StateDep) -> JSONResponse:
    return JSONResponse(user_json(await _live_user(state, user)))


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, max_length=256)
    data: dict[str, Any] | None = Field(
        default=None, description=f"merged into user_metadata (null removes a key); at most {USER_METADATA_BYTES} bytes"
    )


@router.put("/user", openapi_extra=openapi_body(UserUpdate))
async def update_user(request: Request, user: CurrentUser, state: StateDep) -> JSONResponse:
    """GoTrue's update: e-mail, password and/or `data` (merged into user_metadata)."""
    body = parse(UserUpdate, await json_object(request, limit=SIGNUP_BODY_BYTES))
    await enforce_rate_limit(state, "auth", f"user-update:{user.sub}", ANON)
    current = await _live_user(state, user)
    email = normalise_email(body.email) if body.email is not None else None
    encrypted = None
    if body.password is not None:
        try:
            encrypted = await asyncio.to_thread(hash_password, body.password)
        except WeakPassword as exc:
            raise ApiError(422, "weak_password", str(exc)) from exc
    metadata = None
    if body.data is not None:
        merged = dict(to_json(current["raw_user_meta_data"] or {}))
        for key, value in body.data.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        if json_size(merged) > USER_METADATA_BYTES:
            raise ApiError(
                422, "invalid_request", f"data: user metadata is limited to {USER_METADATA_BYTES} bytes as JSON"
            )
        metadata = merged
    ended: list[str] = []
    async with state.db.primary() as conn, conn.transaction():
        row = await conn.fetchrow(sql("sessions", "update_user"), current["id"], email, encrypted, metadata)
        if row is not None and encrypted is not None:
            # As GoTrue (since v2.79): a new password ends every other session of the user, the
            # caller's is kept (all of them for a token without a session), in the same transaction.
            scope: sessions.Scope = "others" if user.session_id else "global"
            ended = await sessions.end_sessions(conn, str(user.sub), user.session_id, scope)
    if row is None:
        raise ApiError(422, "email_exists", "A user with this email address has already been registered")
    state.sessions.ended(ended)  # their access tokens are refused from the next request on
    return JSONResponse(user_json(row))


@router.post("/logout", status_code=204)
async def logout(user: CurrentUser, state: StateDep, scope: str = Query(default="global")) -> Response:
    """End sessions: all of the user's (global), the caller's (local), or all the others (others)."""
    if scope not in sessions.SCOPES:
        raise ApiError(400, "validation_failed", f"scope must be global, local or others, got {scope[:40]!r}")
    async with state.db.primary() as conn:
        ended = await sessions.end_sessions(conn, str(user.sub), user.session_id, scope)  # type: ignore[arg-type]
    state.sessions.ended(ended)  # their access tokens are refused from the next request on
    return Response(status_code=204)


@router.get("/settings")
async def gotrue_settings() -> JSONResponse:
    return JSONResponse(
        {
            "external": {"email": True, "phone": False, "anonymous_users": False},
            "disable_signup": False,
            "mailer_autoconfirm": True,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        }
    )


@router.get("/health")
async def gotrue_health() -> JSONResponse:
    return JSONResponse(
        {"version": "gauntlet-reference", "name": "GoTrue", "description": "GoTrue-compatible auth of the reference"}
    )
