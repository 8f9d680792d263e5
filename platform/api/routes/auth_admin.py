"""`/auth/v1/admin/users`: GoTrue's admin endpoint for creating users (service role only).

`POST /auth/v1/admin/users` with `{email, password, email_confirm, user_metadata}`
creates a confirmed user without a session, as GoTrue's admin API does. It is not
rate limited per address like `/signup` (the caller holds the service key), which
is how `gauntlet target accounts create` makes a deployment's test accounts once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gauntlet.platform.api.bodies import SIGNUP_BODY_BYTES, USER_METADATA_BYTES, json_object, json_size, parse
from gauntlet.platform.api.deps import ServiceCaller, StateDep
from gauntlet.platform.api.errors import ApiError
from gauntlet.platform.api.routes.auth import GoTrueRoute, normalise_email, user_json
from gauntlet.platform.auth.passwords import WeakPassword, hash_password
from gauntlet.platform.queries import sql

router = APIRouter(prefix="/auth/v1/admin", tags=["auth"], route_class=GoTrueRoute)


class AdminCreateUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    email_confirm: bool = False
    user_metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("user_metadata")
    @classmethod
    def _bounded_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        if json_size(value) > USER_METADATA_BYTES:
            raise ValueError(f"user metadata is limited to {USER_METADATA_BYTES} bytes as JSON")
        return value


@router.post("/users")
async def create_user(request: Request, state: StateDep, _caller: ServiceCaller) -> JSONResponse:
    """Create a user (service role only); 422 `email_exists` when the e-mail is taken."""
    body = parse(AdminCreateUser, await json_object(request, limit=SIGNUP_BODY_BYTES))
    email = normalise_email(body.email)
    try:
        encrypted = await asyncio.to_thread(hash_password, body.password)
    except WeakPassword as exc:
        raise ApiError(422, "weak_password", str(exc)) from exc
    async with state.db.primary() as conn:
        row = await conn.fetchrow(sql("auth", "insert_user"), email, encrypted, body.user_metadata)
    if row is None:
        raise ApiError(422, "email_exists", "A user with this email address has already been registered")
    return JSONResponse(user_json(row))
