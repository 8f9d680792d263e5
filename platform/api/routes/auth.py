"""`/auth/v1`: the GoTrue subset the platform needs (signup, password and refresh grants, user).

Passwords are hashed with Argon2id in a worker thread (it is deliberately slow;
the event loop must keep serving); a login whose stored hash predates today's
parameters stores a fresh one. Sessions are GoTrue-shaped, so a
supabase-js client and our load profiles read them the same way.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
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
from gauntlet.platform.api.errors import ApiError
from gauntlet.platform.api.rpc_catalog import to_json
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.passwords import WeakPassword, hash_password, needs_rehash, rehash, verify_password
from gauntlet.platform.auth.tokens import ANON, REFRESH_TTL_S, InvalidToken, mint, verify
from gauntlet.platform.metrics import RpcSample
from gauntlet.platform.queries import sql
from gauntlet.platform.ratelimit import Profile

router = APIRouter(prefix="/auth/v1", tags=["auth"])

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


def session_json(state: PlatformState, user: dict[str, Any]) -> dict[str, Any]:
    secret, ttl = state.settings.jwt_secret, state.settings.jwt_ttl_seconds
    now = time.time()
    access = mint(secret, role="authenticated", ttl_s=ttl, sub=user["id"], email=user["email"], now=now)
    refresh = mint(
        secret,
        role="authenticated",
        ttl_s=REFRESH_TTL_S,
        sub=user["id"],
        email=user["email"],
        now=now,
        token_type="refresh",
    )
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
        return JSONResponse(session_json(state, user))
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
        return JSONResponse(session_json(state, user))
    except ApiError as exc:
        error = exc
        raise
    finally:
        _record(state, "auth.login", started, error, user_id)


async def _refresh_grant(state: PlatformState, body: RefreshGrant) -> JSONResponse:
    try:
        claims = verify(state.settings.jwt_secret, body.refresh_token, expected_type="refresh")
    except InvalidToken as exc:
        raise ApiError(400, "invalid_grant", f"Invalid refresh token: {exc}") from exc
    async with state.db.primary() as conn:
        row = await conn.fetchrow(sql("auth", "user_by_id"), claims.sub)
    if row is None:
        raise ApiError(400, "invalid_grant", "Invalid refresh token: the user no longer exists")
    return JSONResponse(session_json(state, user_json(row)))


@router.get("/user")
async def current_user(user: CurrentUser, state: StateDep) -> JSONResponse:
    async with state.db.primary() as conn:
        row = await conn.fetchrow(sql("auth", "user_by_id"), user.sub)
    if row is None:
        raise ApiError(404, "user_not_found", "The token's user no longer exists")
    return JSONResponse(user_json(row))
