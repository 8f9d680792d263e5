"""JWTs the platform issues and accepts: HS256, claims `sub`, `role`, `email`, `exp` (GoTrue-like).

Roles map one to one onto Postgres roles the RPC surface switches to, so a
token's role is validated against a closed set before it ever reaches SQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import jwt
from jwt.types import Options

Role = Literal["anon", "authenticated", "service_role"]
ROLES: frozenset[str] = frozenset({"anon", "authenticated", "service_role"})
ISSUER = "gauntlet"
ALGORITHM = "HS256"
# Service keys and anon keys are long-lived, like Supabase's project keys.
API_KEY_TTL_S = 10 * 365 * 24 * 3600
REFRESH_TTL_S = 30 * 24 * 3600


class InvalidToken(ValueError):
    """A bearer token that is malformed, badly signed, expired or names an unknown role."""


@dataclass(frozen=True, slots=True)
class Claims:
    role: Role
    sub: str | None = None
    email: str | None = None
    exp: int | None = None
    session_id: str | None = None  # GoTrue's claim: the auth.sessions row the token was issued for

    def as_jwt_claims(self) -> dict[str, Any]:
        """The JSON that SQL sees as `request.jwt.claims` (auth.uid() reads `sub`)."""
        claims: dict[str, Any] = {"role": self.role}
        if self.sub is not None:
            claims["sub"] = self.sub
        if self.email is not None:
            claims["email"] = self.email
        if self.exp is not None:
            claims["exp"] = self.exp
        if self.session_id is not None:
            claims["session_id"] = self.session_id
        return claims


ANON = Claims(role="anon")


def mint(
    secret: str,
    *,
    role: Role,
    ttl_s: int,
    sub: str | None = None,
    email: str | None = None,
    now: float | None = None,
    token_type: str = "access",
    session_id: str | None = None,
) -> str:
    """Sign a token; `now` is injectable so expiry maths is testable."""
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "role": role,
        "iat": issued,
        "exp": issued + ttl_s,
        "typ": token_type,
        "aud": "authenticated" if role == "authenticated" else role,
    }
    if sub is not None:
        payload["sub"] = sub
    if email is not None:
        payload["email"] = email
    if session_id is not None:
        payload["session_id"] = session_id
    if token_type == "refresh":
        # Distinct refresh tokens for the same second (GoTrue returns opaque unique strings).
        payload["jti"] = uuid.uuid4().hex
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def mint_service_key(secret: str) -> str:
    """A long-lived `service_role` key (the supervisor stores one in the stack state)."""
    return mint(secret, role="service_role", ttl_s=API_KEY_TTL_S)


def mint_anon_key(secret: str) -> str:
    """A long-lived `anon` key, what a browser client sends before sign-in."""
    return mint(secret, role="anon", ttl_s=API_KEY_TTL_S)


def verify(secret: str, token: str, *, expected_type: str = "access", now: float | None = None) -> Claims:
    """Decode and validate a token into Claims; raises InvalidToken naming the problem."""
    # With an injected clock, expiry is checked below against it instead of the wall clock.
    options: Options = {"require": ["exp", "role"], "verify_aud": False, "verify_exp": now is None}
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options=options)
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("JWT expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("JWT signature is invalid") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"JWT is missing the {exc.claim!r} claim") from exc
    except jwt.DecodeError as exc:
        raise InvalidToken(f"JWT is malformed: {exc}") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"JWT is invalid: {exc}") from exc
    if now is not None and int(payload["exp"]) <= now:
        raise InvalidToken("JWT expired")
    role = payload.get("role")
    if role not in ROLES:
        raise InvalidToken(f"JWT role {role!r} is not one of anon, authenticated, service_role")
    if payload.get("typ", "access") != expected_type:
        raise InvalidToken(f"JWT is a {payload.get('typ')!r} token, expected {expected_type!r}")
    sub = payload.get("sub")
    if role == "authenticated" and not _is_uuid(sub):
        raise InvalidToken("JWT of role authenticated needs a uuid 'sub' claim")
    email = payload.get("email")
    session_id = payload.get("session_id")
    return Claims(
        role=cast(Role, role),
        sub=str(sub) if sub is not None else None,
        email=str(email) if email is not None else None,
        exp=int(payload["exp"]),
        session_id=str(session_id) if _is_uuid(session_id) else None,
    )


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class VerifiedTokens:
    """`verify` with a memory: an access token once verified is not decoded and HMAC-checked again.

    One token string under one secret always verifies the same way; only time changes the
    answer, and expiry is checked again on every use (as PyJWT does: expired once `exp <= now`).
    Only tokens that verified are kept (a bad one costs a full check each time), at most `size`
    of them, the oldest dropped first. It saved the HS256 check on every request of a signed-in
    client (a few percent of the API's CPU on a feed page).
    """

    def __init__(self, secret: str, *, size: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._size = size
        self._clock = clock
        self._seen: dict[str, Claims] = {}

    def verify(self, token: str) -> Claims:
        claims = self._seen.get(token)
        if claims is None:
            claims = verify(self._secret, token, now=self._clock())
            if len(self._seen) >= self._size:
                del self._seen[next(iter(self._seen))]
            self._seen[token] = claims
        elif claims.exp is not None and claims.exp <= self._clock():
            del self._seen[token]
            raise InvalidToken("JWT expired")
        return claims
