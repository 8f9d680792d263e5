"""The signed-in users a drill's load runs as, and the drill's own subject user.

On the embedded stack they are created once, straight in the database (the
same row the signup route writes, with a password nobody can use), and given
access tokens signed with the stack's JWT secret (`access_token`: the claims a Rocker
deployment's auth issues, minted here, not by the platform's code): the signup route is rate limited
per address (10 per minute), which repeated drills would exhaust. On a remote
target they are signed up through the API.
"""

from __future__ import annotations

import secrets
import time
import uuid

import httpx
import jwt

from gauntlet.chaos.context import DrillContext, DrillUser
from gauntlet.chaos.experiment import DrillError
from gauntlet.chaos.sql import sql

TOKEN_TTL_S = 3600
EMAIL_DOMAIN = "chaos.gauntlet.invalid"  # .invalid: never a real mailbox


def access_token(secret: str, user_id: str, email: str, *, now: float | None = None) -> str:
    """A user's access token as a Rocker (Supabase-style) deployment signs them: HS256 with the
    project's JWT secret, role and audience `authenticated`, the user's id as `sub`."""
    issued = int(time.time() if now is None else now)
    claims = {
        "role": "authenticated",
        "aud": "authenticated",
        "sub": user_id,
        "email": email,
        "iat": issued,
        "exp": issued + TOKEN_TTL_S,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def load_user_email(index: int) -> str:
    return f"chaos-load-{index}@{EMAIL_DOMAIN}"


def subject_email(drill: str) -> str:
    return f"chaos-subject-{drill}@{EMAIL_DOMAIN}"


async def ensure_users(ctx: DrillContext, emails: list[str], *, offset: int = 0) -> list[DrillUser]:
    """A signed-in user for each e-mail: created if missing (embedded), else the target's accounts.

    A remote target with accounts (its target file's `accounts_file`) signs in as them, from the
    `offset`-th on, round robin; only without accounts are users signed up (one per e-mail).
    """
    if ctx.target.jwt_secret and ctx.target.primary_dsn:
        return await _embedded_users(ctx, emails, ctx.target.jwt_secret)
    accounts = ctx.target.accounts
    if accounts:
        chosen = [accounts[(offset + i) % len(accounts)] for i in range(len(emails))]
        return [await _sign_in(ctx, email, password) for email, password in chosen]
    return [await _signup(ctx) for _ in emails]


async def _sign_in(ctx: DrillContext, email: str, password: str) -> DrillUser:
    try:
        response = await ctx.http().post(
            "/auth/v1/token", params={"grant_type": "password"}, json={"email": email, "password": password}
        )
    except httpx.HTTPError as exc:
        raise DrillError(f"cannot sign in as {email} at {ctx.target.api_url}: {exc}") from exc
    if response.status_code != 200:
        raise DrillError(
            f"signing in as {email} at {ctx.target.api_url} answered {response.status_code}: {response.text[:200]}"
            " (check the target's accounts: gauntlet target check)"
        )
    payload = response.json()
    return DrillUser(str(payload["user"]["id"]), email, str(payload["access_token"]))


async def _embedded_users(ctx: DrillContext, emails: list[str], secret: str) -> list[DrillUser]:
    users: list[DrillUser] = []
    async with ctx.primary() as conn:
        for email in emails:
            user_id = await conn.fetchval(sql("fixtures", "ensure_drill_user"), email, {"chaos": True})
            users.append(DrillUser(str(user_id), email, access_token(secret, str(user_id), email)))
    return users


async def _signup(ctx: DrillContext) -> DrillUser:
    email = f"chaos-{uuid.uuid4().hex[:12]}@{EMAIL_DOMAIN}"
    body = {"email": email, "password": secrets.token_urlsafe(18), "data": {"chaos": True}}
    try:
        response = await ctx.http().post("/auth/v1/signup", json=body)
    except httpx.HTTPError as exc:
        raise DrillError(f"cannot sign up a drill user at {ctx.target.api_url}: {exc}") from exc
    if response.status_code != 200:
        raise DrillError(
            f"signing up a drill user at {ctx.target.api_url} answered {response.status_code}: {response.text[:200]}"
            " (429: the signup rate limit; wait a minute or run fewer drills at once)"
        )
    payload = response.json()
    return DrillUser(str(payload["user"]["id"]), email, str(payload["access_token"]))


async def catalog_interest_ids(ctx: DrillContext, limit: int = 200) -> list[str]:
    """Interest ids the load's writes pick from (the catalog is public)."""
    response = await ctx.rpc("interest_catalog_browse", {"p_limit": limit})
    if response.status_code != 200:
        raise DrillError(f"cannot read the interest catalog ({response.status_code}): {response.text[:200]}")
    return [str(row["id"]) for row in response.json()]
