"""GoTrue sessions and refresh-token rotation with reuse detection (tables of migration 800).

A refresh token is an opaque random string; only its SHA-256 is stored. Each refresh
grant revokes the token it used and issues a child in the same family (session). A
revoked token presented again means a copy is in someone else's hands: the whole family
is revoked (the session is deleted), as GoTrue does, and the grant is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

import asyncpg

from gauntlet.platform.auth.live_sessions import Lookup, LookupUnavailable
from gauntlet.platform.db import UNAVAILABLE, Database
from gauntlet.platform.queries import sql

Scope = Literal["global", "local", "others"]
SCOPES: frozenset[str] = frozenset({"global", "local", "others"})


class RefreshRefused(Exception):
    """A refresh grant that must fail; `code` is GoTrue's error_code, `ended` the session it revoked (reuse)."""

    def __init__(self, code: str, message: str, ended: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ended = ended


@dataclass(frozen=True, slots=True)
class Issued:
    session_id: str
    user_id: str
    refresh_token: str


def new_refresh_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(conn: asyncpg.Connection, user_id: str) -> Issued:
    token, digest = new_refresh_token()
    session_id = await conn.fetchval(sql("sessions", "create_session"), uuid.UUID(user_id), digest)
    return Issued(str(session_id), user_id, token)


async def rotate(conn: asyncpg.Connection, presented: str) -> Issued:
    """Exchange a refresh token for its child; RefreshRefused when unknown or reused."""
    digest = token_hash(presented)
    async with conn.transaction():
        row = await conn.fetchrow(sql("sessions", "lock_refresh_token"), digest)
        if row is None:
            raise RefreshRefused(
                "refresh_token_not_found",
                "Invalid Refresh Token: Refresh Token Not Found (not a refresh token of a live session)",
            )
        if row["revoked"]:
            await conn.execute(sql("sessions", "delete_session"), row["session_id"])
            revoked = str(row["session_id"])
        else:
            token, child = new_refresh_token()
            session_id = await conn.fetchval(sql("sessions", "rotate_refresh_token"), row["id"], child, digest)
            return Issued(str(session_id), str(row["user_id"]), token)
    raise RefreshRefused(
        "refresh_token_already_used",
        "Invalid Refresh Token: Already Used (the session was revoked because a rotated refresh token was reused)",
        ended=revoked,
    )


async def end_sessions(conn: asyncpg.Connection, user_id: str, session_id: str | None, scope: Scope) -> list[str]:
    """Logout: every session of the user (global), the caller's (local), or all but it (others).

    Returns the ids of the sessions ended (their access tokens are refused from now on).
    """
    user = uuid.UUID(user_id)
    session = uuid.UUID(session_id) if session_id else None
    if scope == "global" or (scope == "local" and session is None):
        # local without a session (a token minted by tooling): nothing narrower to end
        rows = await conn.fetch(sql("sessions", "delete_user_sessions"), user, None)
    elif scope == "local":
        rows = await conn.fetch(sql("sessions", "delete_session"), session)
    elif session is not None:
        rows = await conn.fetch(sql("sessions", "delete_user_sessions"), user, session)
    else:
        rows = []
    return [str(r["id"]) for r in rows]


def session_lookup(db: Database) -> Lookup:
    """The lookup of LiveSessions: a replica first; a session it does not (yet) show is asked of the primary.

    A replica may lag behind a sign-in, so only its "alive" is final: "gone" is confirmed on the
    primary before a token is refused for good.
    """

    async def exists(conn: asyncpg.Connection, session_id: str) -> bool:
        return bool(await conn.fetchval(sql("sessions", "session_exists"), uuid.UUID(session_id)))

    async def lookup(session_id: str) -> bool:
        try:
            if await db.read(lambda conn: exists(conn, session_id)):
                return True
            async with db.primary() as conn:
                return await exists(conn, session_id)
        except (*UNAVAILABLE, asyncpg.PostgresError) as exc:  # the id is a valid uuid: any error is the server's
            raise LookupUnavailable(repr(exc)) from exc

    return lookup
